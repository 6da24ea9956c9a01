//! The SMS provider's keys (`[sms.http]`, `[sms.smpp]`): what each provider needs, what SMPP's
//! fields can carry, and a webhook secret long enough to be one.

use secrecy::ExposeSecret;

use super::validate::Validator;
use super::Config;

/// Adds every broken SMS rule of `c` to `v`.
pub(super) fn sms(c: &Config, v: &mut Validator<'_>) {
    // Fail closed: a configured SMS gateway this version cannot speak would leave every SMS
    // member without their texts while the sends look delivered.
    if c.sms.provider == super::SmsProvider::Http {
        let http = &c.sms.http;
        if http.url.is_empty() {
            v.missing("sms.http.url", "sms.provider", "= \"http\"");
        } else if !(http.url.starts_with("https://") || http.url.starts_with("http://")) {
            v.invalid(
                "sms.http.url",
                format!(
                    "{:?} must start with https:// (or http:// on this host)",
                    http.url
                ),
            );
        }
        if http.webhook_secret.is_none() {
            v.missing("sms.http.webhook_secret", "sms.provider", "= \"http\"");
        }
        v.in_range("sms.http.timeout_secs", http.timeout_secs, 1..=300);
    }
    // Anybody who knows the secret can stop members' texts and fake receipts: an empty or
    // short one is refused wherever it is set, never taken as "no check".
    if let Some(secret) = &c.sms.http.webhook_secret {
        let len = secret.expose_secret().len();
        let min = verteiler_portal::SMS_WEBHOOK_MIN_SECRET_BYTES;
        if len < min {
            v.invalid(
                "sms.http.webhook_secret",
                format!(
                    "must be at least {min} bytes, it has {len} (make one with `openssl rand -hex 32`)"
                ),
            );
        }
    }
    if c.sms.provider == super::SmsProvider::Smpp {
        let smpp = &c.sms.smpp;
        if smpp.address.is_empty() {
            v.missing("sms.smpp.address", "sms.provider", "= \"smpp\"");
        } else if smpp
            .address
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            v.invalid(
                "sms.smpp.address",
                format!(
                    "{:?} is not host:port (for example smsc.example.net:2775)",
                    smpp.address
                ),
            );
        }
        if smpp.system_id.is_empty() {
            v.missing("sms.smpp.system_id", "sms.provider", "= \"smpp\"");
        }
        if smpp.password.is_none() {
            v.missing("sms.smpp.password", "sms.provider", "= \"smpp\"");
        }
        // SMPP's fields are ASCII C strings of fixed capacity; anything else cannot be sent,
        // and the bind would fail on every attempt instead of at start-up.
        let password = smpp
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_string());
        for (key, value, max) in [
            ("sms.smpp.system_id", smpp.system_id.as_str(), 15),
            ("sms.smpp.password", password.as_deref().unwrap_or(""), 8),
            ("sms.smpp.system_type", smpp.system_type.as_str(), 12),
            ("sms.smpp.source_addr", smpp.source_addr.as_str(), 20),
        ] {
            let len = value.len();
            if len > max {
                v.invalid(
                    key,
                    format!("is {len} bytes long; SMPP allows at most {max}"),
                );
            } else if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                // The value itself stays out of the message: it may be the password.
                v.invalid(key, "may hold only printable ASCII characters".into());
            }
        }
        let source = smpp.source_addr.strip_prefix('+');
        let alphanumeric = source.is_none() && smpp.source_addr.len() <= 11;
        let number = source.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !(alphanumeric || number) {
            v.invalid(
                "sms.smpp.source_addr",
                format!(
                    "{:?} is neither a number in E.164 (+49…) nor a name of at most 11 characters",
                    smpp.source_addr
                ),
            );
        }
        v.in_range("sms.smpp.window", smpp.window, 1..=1000);
        v.in_range(
            "sms.smpp.enquire_link_secs",
            smpp.enquire_link_secs,
            1..=3600,
        );
        v.in_range(
            "sms.smpp.response_timeout_secs",
            smpp.response_timeout_secs,
            1..=300,
        );
        v.in_range(
            "sms.smpp.reconnect_max_secs",
            smpp.reconnect_max_secs,
            1..=3600,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::errors::Origin;
    use super::super::validate::validate;
    use super::*;

    fn errors_for(config: &Config) -> Vec<String> {
        validate(config, &|_| Origin::Default)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_smpp_provider_needs_its_smsc_and_fields_smpp_can_carry() {
        let mut c = Config::default();
        c.sms.provider = super::super::SmsProvider::Smpp;
        let errors = errors_for(&c);
        assert_eq!(errors.len(), 3, "{errors:?}");
        for (error, key) in errors.iter().zip(["address", "system_id", "password"]) {
            assert!(
                error.contains(&format!("sms.smpp.{key}")) && error.contains("sms.provider"),
                "{error}"
            );
        }
        c.sms.smpp.address = "smsc.example.net".into();
        c.sms.smpp.system_id = "a-system-id-too-long".into();
        c.sms.smpp.password = Some("ninechars".to_string().into());
        c.sms.smpp.source_addr = "Demo-Partei e.V.".into();
        c.sms.smpp.system_type = "Prüfung".into();
        c.sms.smpp.window = 0;
        let errors = errors_for(&c);
        for key in [
            "address",
            "system_id",
            "password",
            "system_type",
            "source_addr",
            "window",
        ] {
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains(&format!("sms.smpp.{key}"))),
                "{key} not in {errors:#?}"
            );
        }
        assert!(
            errors.iter().all(|e| !e.contains("ninechars")),
            "the password is never repeated: {errors:#?}"
        );
        c.sms.smpp.address = "smsc.example.net:2775".into();
        c.sms.smpp.system_id = "verteiler".into();
        c.sms.smpp.password = Some("secret".to_string().into());
        c.sms.smpp.source_addr = "+4930123456".into();
        c.sms.smpp.system_type = String::new();
        c.sms.smpp.window = 50;
        assert!(errors_for(&c).is_empty(), "{:?}", errors_for(&c));
        c.sms.smpp.source_addr = "DemoPartei".into();
        assert!(errors_for(&c).is_empty());
    }

    #[test]
    fn the_http_sms_provider_needs_its_url_and_webhook_secret() {
        let mut c = Config::default();
        c.sms.provider = super::super::SmsProvider::Http;
        let errors = errors_for(&c);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("sms.http.url") && errors[0].contains("sms.provider"));
        assert!(errors[1].contains("sms.http.webhook_secret"));
        c.sms.http.url = "ftp://sms.example.net".into();
        c.sms.http.webhook_secret = Some("s".repeat(32).into());
        let errors = errors_for(&c);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("must start with https://"));
        c.sms.http.url = "https://sms.example.net/v1/messages".into();
        assert!(errors_for(&c).is_empty());
    }

    #[test]
    fn an_empty_or_short_webhook_secret_is_refused() {
        let mut c = Config::default();
        c.sms.provider = super::super::SmsProvider::Http;
        c.sms.http.url = "https://sms.example.net/v1/messages".into();
        for short in ["", "hunter2", &"s".repeat(31)] {
            c.sms.http.webhook_secret = Some(short.to_string().into());
            let errors = errors_for(&c);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].contains("sms.http.webhook_secret")
                    && errors[0].contains("at least 32 bytes"),
                "{errors:?}"
            );
            assert!(
                short.is_empty() || !errors[0].contains(short),
                "never shown"
            );
        }
        c.sms.http.webhook_secret = Some("s".repeat(32).into());
        assert!(errors_for(&c).is_empty());
    }
}
