//! The portal's limits: which reverse proxies name the client (`http.trusted_proxies`), and how
//! many verification codes and links members may have sent (`limits.verification_*`,
//! `sms.portal_monthly_budget_cents`): their rules and what the portal and store are given.

use super::Config;
use verteiler_portal::TrustedProxies;
use verteiler_store::VerificationLimits;

/// The most codes or links a limit may allow in its period; above it the limit protects nothing.
const MOST_VERIFICATIONS: u32 = 1_000;

impl Config {
    /// The proxies whose forwarding headers the portal believes.
    pub fn trusted_proxies(&self) -> anyhow::Result<TrustedProxies> {
        TrustedProxies::parse(&self.http.trusted_proxies)
            .map_err(|bad| anyhow::anyhow!("http.trusted_proxies: {bad}"))
    }

    /// The limits on verification texts and mails, in the store's terms.
    pub fn verification_limits(&self) -> VerificationLimits {
        let l = &self.limits;
        VerificationLimits {
            per_member_per_hour: l.verification_per_member_per_hour,
            per_member_per_day: l.verification_per_member_per_day,
            per_destination_per_hour: l.verification_per_destination_per_hour,
            per_destination_per_day: l.verification_per_destination_per_day,
            sms_cost_per_segment_cents: self.sms.cost_per_segment_cents,
            sms_monthly_budget_cents: self.sms.portal_monthly_budget_cents,
        }
    }
}

/// Every broken rule of these keys: (dotted key, what is wrong).
pub(super) fn problems(c: &Config) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Err(bad) = TrustedProxies::parse(&c.http.trusted_proxies) {
        problems.push(("http.trusted_proxies", bad.to_string()));
    }
    let l = &c.limits;
    for (hour_key, hour, day_key, day) in [
        (
            "limits.verification_per_member_per_hour",
            l.verification_per_member_per_hour,
            "limits.verification_per_member_per_day",
            l.verification_per_member_per_day,
        ),
        (
            "limits.verification_per_destination_per_hour",
            l.verification_per_destination_per_hour,
            "limits.verification_per_destination_per_day",
            l.verification_per_destination_per_day,
        ),
    ] {
        for (key, value) in [(hour_key, hour), (day_key, day)] {
            if !(1..=MOST_VERIFICATIONS).contains(&value) {
                problems.push((
                    key,
                    format!("{value} must be from 1 to {MOST_VERIFICATIONS}"),
                ));
            }
        }
        if hour > day {
            problems.push((
                hour_key,
                format!("{hour} must not be more than {day_key} ({day})"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_and_messages(c: &Config) -> Vec<String> {
        problems(c)
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect()
    }

    #[test]
    fn a_bad_proxy_entry_is_named_with_its_key() {
        let mut c = Config::default();
        c.http.trusted_proxies = vec!["10.0.0.0/8".into(), "proxy.internal".into()];
        let found = keys_and_messages(&c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("http.trusted_proxies: entry 2 (\"proxy.internal\")"),
            "{found:?}"
        );
        c.http.trusted_proxies = vec!["127.0.0.1".into(), "fd00::/8".into()];
        assert!(keys_and_messages(&c).is_empty());
        assert_eq!(
            c.trusted_proxies().unwrap(),
            TrustedProxies::parse(&["127.0.0.1", "fd00::/8"]).unwrap()
        );
    }

    #[test]
    fn proxies_come_from_one_environment_variable_and_a_bad_one_names_its_origin() {
        let env = |value: &str| {
            vec![(
                "VERTEILER_HTTP__TRUSTED_PROXIES".to_string(),
                value.to_string(),
            )]
        };
        let loaded = Config::load(None, env("127.0.0.1, ::1")).unwrap();
        assert_eq!(loaded.config.http.trusted_proxies, ["127.0.0.1", "::1"]);
        let errors = Config::load(None, env("127.0.0.1 nginx")).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("http.trusted_proxies"), "{text}");
        assert!(text.contains("VERTEILER_HTTP__TRUSTED_PROXIES"), "{text}");
        assert!(text.contains("entry 2 (\"nginx\")"), "{text}");
    }

    #[test]
    fn verification_limits_are_within_range_and_an_hour_allows_no_more_than_a_day() {
        let mut c = Config::default();
        c.limits.verification_per_member_per_hour = 0;
        c.limits.verification_per_destination_per_day = 1_001;
        c.limits.verification_per_destination_per_hour = 6;
        c.limits.verification_per_destination_per_day = 5;
        assert_eq!(
            keys_and_messages(&c),
            [
                "limits.verification_per_member_per_hour: 0 must be from 1 to 1000",
                "limits.verification_per_destination_per_hour: 6 must not be more than \
                 limits.verification_per_destination_per_day (5)",
            ]
        );
        c.limits.verification_per_destination_per_day = 1_001;
        assert!(keys_and_messages(&c).contains(
            &"limits.verification_per_destination_per_day: 1001 must be from 1 to 1000".into()
        ));
    }

    #[test]
    fn the_store_gets_the_configured_figures() {
        let mut c = Config::default();
        c.sms.cost_per_segment_cents = 9;
        c.sms.portal_monthly_budget_cents = 5_000;
        let limits = c.verification_limits();
        assert_eq!(
            limits,
            VerificationLimits {
                sms_cost_per_segment_cents: 9,
                sms_monthly_budget_cents: 5_000,
                ..VerificationLimits::default()
            }
        );
    }
}
