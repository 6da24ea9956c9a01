//! Rules that types alone do not express: ranges, URL schemes, keys required by other keys.

use std::ops::RangeInclusive;

use super::errors::{ConfigError, Origin};
use super::{Config, Transport};

/// Every rule broken by `config`. `origin` says where a dotted key's value came from.
pub(super) fn validate(config: &Config, origin: &dyn Fn(&str) -> Origin) -> Vec<ConfigError> {
    let mut v = Validator {
        origin,
        errors: Vec::new(),
    };
    database(config, &mut v);
    smtp(config, &mut v);
    delivery(config, &mut v);
    mx_and_dkim(config, &mut v);
    limits_and_lists(config, &mut v);
    organisation(config, &mut v);
    v.errors
}

/// The database URL and pool, and the name this process's claims carry in it.
fn database(c: &Config, v: &mut Validator<'_>) {
    let url = &c.database.url;
    let schemes = ["sqlite://", "postgres://", "postgresql://"];
    if !schemes.iter().any(|s| url.starts_with(s)) {
        v.invalid(
            "database.url",
            format!("{url:?} must start with sqlite://, postgres:// or postgresql://"),
        );
    }
    v.in_range(
        "database.max_connections",
        c.database.max_connections,
        1..=1000,
    );
    if let Err(e) = c.instance.check() {
        v.invalid("instance.name", e);
    }
}

/// SMTP submission: host name, sizes, TLS files.
fn smtp(c: &Config, v: &mut Validator<'_>) {
    if c.smtp.hostname.trim().is_empty() {
        v.invalid("smtp.hostname", "must not be empty".into());
    }
    v.in_range(
        "smtp.max_message_bytes",
        c.smtp.max_message_bytes,
        1..=u64::MAX,
    );
    v.in_range("smtp.max_recipients", c.smtp.max_recipients, 1..=u32::MAX);
    match (&c.smtp.tls_cert_path, &c.smtp.tls_key_path) {
        (Some(_), None) => v.missing("smtp.tls_key_path", "smtp.tls_cert_path", "is set"),
        (None, Some(_)) => v.missing("smtp.tls_cert_path", "smtp.tls_key_path", "is set"),
        (None, None) if c.smtp.implicit_tls_listen.is_some() => {
            v.missing("smtp.tls_cert_path", "smtp.implicit_tls_listen", "is set");
        }
        _ => {}
    }
    listeners_apart(c, v);
}

/// Two listeners on one address cannot both bind, and the error at start would not say which
/// setting to change. Port 0 (the system picks one) never clashes.
fn listeners_apart(c: &Config, v: &mut Validator<'_>) {
    let listeners = [
        ("smtp.listen", Some(c.smtp.listen)),
        ("smtp.implicit_tls_listen", c.smtp.implicit_tls_listen),
        ("smtp.inbound_listen", c.smtp.inbound_listen),
    ];
    for (index, (key, address)) in listeners.iter().enumerate() {
        let Some(address) = address.filter(|a| a.port() != 0) else {
            continue;
        };
        let clashes = |other: &Option<std::net::SocketAddr>| {
            other.is_some_and(|other| {
                other.port() == address.port()
                    && (other.ip() == address.ip()
                        || other.ip().is_unspecified()
                        || address.ip().is_unspecified())
            })
        };
        if let Some((earlier, _)) = listeners[..index].iter().find(|(_, o)| clashes(o)) {
            v.invalid(
                key,
                format!("{address} is the port of {earlier}; give each listener its own port"),
            );
        }
    }
}

/// Delivery: workers, retries, pacing and the relay.
fn delivery(c: &Config, v: &mut Validator<'_>) {
    v.in_range("delivery.workers", c.delivery.workers, 1..=512);
    v.in_range(
        "delivery.hard_bounce_limit",
        c.delivery.hard_bounce_limit,
        1..=100,
    );
    v.in_range("delivery.lease_secs", c.delivery.lease_secs, 1..=86_400);
    v.in_range(
        "delivery.retry_first_secs",
        c.delivery.retry_first_secs,
        1..=86_400,
    );
    v.in_range(
        "delivery.retry_max_secs",
        c.delivery.retry_max_secs,
        1..=604_800,
    );
    // A cap below the first wait would make the doubling meaningless; say which key to fix.
    if c.delivery.retry_max_secs < c.delivery.retry_first_secs {
        v.invalid(
            "delivery.retry_max_secs",
            format!(
                "{} must not be less than delivery.retry_first_secs ({})",
                c.delivery.retry_max_secs, c.delivery.retry_first_secs
            ),
        );
    }
    v.in_range(
        "delivery.max_age_secs",
        c.delivery.max_age_secs,
        60..=2_592_000,
    );
    v.in_range(
        "delivery.max_per_second",
        c.delivery.max_per_second,
        0..=1_000_000,
    );
    v.in_range(
        "delivery.per_domain_per_second",
        c.delivery.per_domain_per_second,
        0..=1_000_000,
    );
    v.in_range(
        "delivery.per_domain_in_flight",
        c.delivery.per_domain_in_flight,
        1..=512,
    );
    let relay = &c.delivery.relay;
    if c.delivery.transport == Transport::Relay && relay.host.trim().is_empty() {
        v.missing("delivery.relay.host", "delivery.transport", "= \"relay\"");
    }
    if relay.password.is_some() && relay.username.is_none() {
        v.missing(
            "delivery.relay.username",
            "delivery.relay.password",
            "is set",
        );
    }
}

/// Direct delivery to MX hosts and DKIM signing.
fn mx_and_dkim(c: &Config, v: &mut Validator<'_>) {
    let mx = &c.delivery.mx;
    if let Some(name) = &mx.helo_name {
        if !looks_like_domain(name) {
            v.invalid(
                "delivery.mx.helo_name",
                format!("{name:?} is not a fully qualified host name like mail.example.org"),
            );
        }
    }
    v.in_range("delivery.mx.port", mx.port, 1..=u16::MAX);
    v.in_range("delivery.mx.timeout_secs", mx.timeout_secs, 1..=3600);
    for (i, server) in mx.nameservers.iter().enumerate() {
        if server.port() == 0 {
            v.invalid(
                "delivery.mx.nameservers",
                format!("entry {} ({server}) has port 0", i + 1),
            );
        }
    }
    let dkim = &c.delivery.dkim;
    for (selector_key, selector, file_key, file) in [
        (
            "delivery.dkim.rsa_selector",
            &dkim.rsa_selector,
            "delivery.dkim.rsa_key_file",
            dkim.rsa_key_file.is_some(),
        ),
        (
            "delivery.dkim.ed25519_selector",
            &dkim.ed25519_selector,
            "delivery.dkim.ed25519_key_file",
            dkim.ed25519_key_file.is_some(),
        ),
    ] {
        match selector {
            None if file => v.missing(selector_key, file_key, "is set"),
            Some(_) if !file => v.missing(file_key, selector_key, "is set"),
            Some(s) if !looks_like_selector(s) => v.invalid(
                selector_key,
                format!(
                    "{s:?} is not a DNS label like verteiler2026 (letters, digits, hyphens, dots)"
                ),
            ),
            _ => {}
        }
    }
    if let Some(domain) = &dkim.domain {
        if !looks_like_domain(domain) {
            v.invalid(
                "delivery.dkim.domain",
                format!("{domain:?} is not a domain name like example.org"),
            );
        }
    }
}

/// Limits, retention, lists and the portal.
fn limits_and_lists(c: &Config, v: &mut Validator<'_>) {
    let percent = c.limits.import_max_change_percent;
    if !(percent > 0.0 && percent <= 100.0) {
        v.invalid(
            "limits.import_max_change_percent",
            format!("{percent} must be more than 0 and at most 100"),
        );
    }

    let window = c.limits.approval_window_hours;
    if !(1..=720).contains(&window) {
        v.invalid(
            "limits.approval_window_hours",
            format!("{window} must be between 1 and 720 (30 days)"),
        );
    }

    for (key, message) in super::retention::problems(c) {
        v.invalid(key, message);
    }

    for (key, message) in c.lists.problems(&c.org_limits()) {
        v.invalid(&key, message);
    }
    for (key, message) in super::portal::problems(c) {
        v.invalid(key, message);
    }
    for (key, message) in super::api::problems(c) {
        v.invalid(key, message);
    }
    for (i, prefix) in c.lists.name_prefixes.iter().enumerate() {
        if prefix.trim().is_empty() {
            v.invalid(
                &format!("lists.name_prefixes[{}]", i + 1),
                "must not be empty".into(),
            );
        }
    }
}

/// The organisation's domain, portal address and region, and the SMS provider.
fn organisation(c: &Config, v: &mut Validator<'_>) {
    let org = &c.organisation;
    if !looks_like_domain(&org.list_domain) {
        v.invalid(
            "organisation.list_domain",
            format!(
                "{:?} is not a domain name like lists.example.org",
                org.list_domain
            ),
        );
    }
    let base = &org.portal_base_url;
    let after_scheme = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    if after_scheme.is_none_or(|rest| rest.is_empty()) {
        v.invalid(
            "organisation.portal_base_url",
            format!("{base:?} must start with http:// or https:// and name a host"),
        );
    }
    super::validate_sms::sms(c, v);
    let region = &org.default_region;
    if region.len() != 2 || !region.bytes().all(|b| b.is_ascii_uppercase()) {
        v.invalid(
            "organisation.default_region",
            format!("{region:?} is not a two-letter upper-case region code like DE"),
        );
    }
}

pub(super) struct Validator<'a> {
    origin: &'a dyn Fn(&str) -> Origin,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    pub(super) fn invalid(&mut self, key: &str, message: String) {
        self.errors.push(ConfigError::InvalidValue {
            key: key.into(),
            origin: (self.origin)(key),
            message,
        });
    }

    pub(super) fn in_range<T>(&mut self, key: &str, value: T, range: RangeInclusive<T>)
    where
        T: PartialOrd + std::fmt::Display + Copy + Bounded,
    {
        if !range.contains(&value) {
            let message = if *range.end() == T::MAX {
                format!("{value} must be at least {}", range.start())
            } else {
                format!("{value} must be from {} to {}", range.start(), range.end())
            };
            self.invalid(key, message);
        }
    }

    /// `key` must be set because `because` `condition` (e.g. `delivery.transport` `= "relay"`).
    pub(super) fn missing(&mut self, key: &str, because: &str, condition: &str) {
        let reason = format!(
            "required when {because} {condition} ({})",
            (self.origin)(because)
        );
        self.errors.push(ConfigError::MissingValue {
            key: key.into(),
            reason,
        });
    }
}

/// Integer types with a largest value, for range messages.
pub(super) trait Bounded {
    const MAX: Self;
}

impl Bounded for u16 {
    const MAX: Self = u16::MAX;
}

impl Bounded for u32 {
    const MAX: Self = u32::MAX;
}

impl Bounded for u64 {
    const MAX: Self = u64::MAX;
}

/// One or more dot-separated DNS labels (RFC 6376 3.1 allows dots in selectors).
fn looks_like_selector(name: &str) -> bool {
    looks_like_domain(&format!("{name}.example"))
}

/// Two or more dot-separated labels of letters, digits and inner hyphens; not all-numeric TLD.
fn looks_like_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_for(config: &Config) -> Vec<String> {
        validate(config, &|_| Origin::Default)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(errors_for(&Config::default()), Vec::<String>::new());
    }

    #[test]
    fn domain_names() {
        for ok in [
            "lists.example.org",
            "a.b",
            "xn--bcher-kva.de",
            "lists.example.org.",
        ] {
            assert!(looks_like_domain(ok), "{ok}");
        }
        for bad in [
            "",
            "localhost",
            "a..b",
            "-a.org",
            "a_b.org",
            "1.2.3.4",
            "a b.org",
        ] {
            assert!(!looks_like_domain(bad), "{bad}");
        }
    }

    #[test]
    fn every_rule_reports_its_key() {
        let mut c = Config::default();
        c.database.url = "mysql://x".into();
        c.database.max_connections = 0;
        c.smtp.hostname = " ".into();
        c.smtp.tls_cert_path = Some("cert.pem".into());
        c.delivery.workers = 513;
        c.delivery.lease_secs = 0;
        c.delivery.retry_first_secs = 0;
        c.delivery.max_age_secs = 59;
        c.delivery.per_domain_in_flight = 0;
        c.delivery.hard_bounce_limit = 0;
        c.delivery.transport = Transport::Relay;
        c.delivery.relay.password = Some("pw".into());
        c.delivery.mx.helo_name = Some("localhost".into());
        c.delivery.mx.port = 0;
        c.delivery.mx.timeout_secs = 0;
        c.delivery.mx.nameservers = vec!["192.0.2.53:0".parse().unwrap()];
        c.limits.import_max_change_percent = 0.0;
        c.organisation.list_domain = "nodot".into();
        c.organisation.portal_base_url = "ftp://x".into();
        c.organisation.default_region = "de".into();
        c.delivery.dkim.rsa_key_file = Some("rsa.pem".into());
        c.delivery.dkim.ed25519_selector = Some("bad_selector".into());
        c.delivery.dkim.domain = Some("nodot".into());
        let errors = errors_for(&c);
        for key in [
            "database.url",
            "database.max_connections",
            "smtp.hostname",
            "smtp.tls_key_path",
            "delivery.workers",
            "delivery.lease_secs",
            "delivery.retry_first_secs",
            "delivery.max_age_secs",
            "delivery.per_domain_in_flight",
            "delivery.hard_bounce_limit",
            "delivery.relay.host",
            "delivery.relay.username",
            "delivery.mx.helo_name",
            "delivery.mx.port",
            "delivery.mx.timeout_secs",
            "delivery.mx.nameservers",
            "limits.import_max_change_percent",
            "organisation.list_domain",
            "organisation.portal_base_url",
            "organisation.default_region",
            "delivery.dkim.rsa_selector",
            "delivery.dkim.ed25519_key_file",
            "delivery.dkim.domain",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(key)),
                "{key} not in {errors:#?}"
            );
        }
        // The bad selector without a key file is reported once, as the missing file.
        assert_eq!(errors.len(), 23, "{errors:#?}");
    }

    #[test]
    fn the_retry_cap_may_not_be_below_the_first_wait() {
        let mut c = Config::default();
        c.delivery.retry_first_secs = 600;
        c.delivery.retry_max_secs = 300;
        let errors = errors_for(&c);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains("delivery.retry_max_secs")
                && errors[0].contains("delivery.retry_first_secs (600)"),
            "{errors:#?}"
        );
    }

    #[test]
    fn percent_bounds() {
        let mut c = Config::default();
        for (p, ok) in [
            (100.0, true),
            (0.01, true),
            (100.5, false),
            (f64::NAN, false),
        ] {
            c.limits.import_max_change_percent = p;
            assert_eq!(errors_for(&c).is_empty(), ok, "{p}");
        }
    }
}
