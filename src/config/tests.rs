//! The configuration's defaults against its documentation.

use super::*;

/// Dotted keys of a TOML table's leaves.
fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (key, value) in table {
        let dotted = format!("{prefix}{key}");
        match value {
            toml::Value::Table(child) => keys(&format!("{dotted}."), child, out),
            _ => out.push(dotted),
        }
    }
}

#[test]
fn documented_defaults_equal_the_defaults_and_have_no_unknown_keys() {
    let parsed = Config::from_toml_str(Config::documented_defaults())
        .unwrap_or_else(|e| panic!("example config does not load:\n{e}"));
    assert_eq!(parsed, Config::default());
}

#[test]
fn the_production_example_loads_submits_on_587_and_465_and_takes_mail_on_25() {
    let text = include_str!("../../ops/verteiler.production.toml");
    let config = Config::from_toml_str(text).unwrap_or_else(|e| panic!("production example:\n{e}"));
    assert_eq!(config.smtp.listen.port(), 587);
    assert_eq!(config.smtp.implicit_tls_listen.map(|a| a.port()), Some(465));
    assert_eq!(config.smtp.inbound_listen.map(|a| a.port()), Some(25));
    assert_eq!(config.delivery.transport, Transport::Relay);
    assert_eq!(
        (
            config.delivery.retry_first_secs,
            config.delivery.retry_max_secs,
            config.delivery.max_age_secs
        ),
        (60, 14_400, 259_200)
    );
    assert_eq!(
        config.delivery.mx.helo_name.as_deref(),
        Some("mail.example.org")
    );
    assert_eq!(config.delivery.mx.nameservers.len(), 1);
    assert!(config.delivery.dkim.enabled());
    assert_eq!(config.http.trusted_proxies, ["127.0.0.1", "::1"]);
    assert!(config.trusted_proxies().is_ok());
}

#[test]
fn documented_defaults_mention_every_key() {
    // Set every optional key, so that serialising shows all of them.
    let mut all = Config::default();
    all.smtp.implicit_tls_listen = Some(SocketAddr::from(([0, 0, 0, 0], 465)));
    all.smtp.inbound_listen = Some(SocketAddr::from(([0, 0, 0, 0], 25)));
    all.http.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], 9464)));
    all.smtp.tls_cert_path = Some("cert.pem".into());
    all.smtp.tls_key_path = Some("key.pem".into());
    all.delivery.relay.username = Some("u".into());
    all.delivery.relay.password = Some("p".into());
    all.delivery.mx.helo_name = Some("mail.example.org".into());
    all.delivery.dkim = DkimConfig {
        domain: Some("example.org".into()),
        rsa_selector: Some("r".into()),
        rsa_key_file: Some("r.pem".into()),
        ed25519_selector: Some("e".into()),
        ed25519_key_file: Some("e.pem".into()),
        demo_key: true,
    };
    let table: toml::Table = toml::from_str(&all.render_effective()).unwrap();
    let mut all_keys = Vec::new();
    keys("", &table, &mut all_keys);
    assert!(all_keys.len() >= 30, "{all_keys:?}");

    let documented: toml::Table = toml::from_str(Config::documented_defaults()).unwrap();
    let mut set_keys = Vec::new();
    keys("", &documented, &mut set_keys);
    let text = Config::documented_defaults();
    for key in all_keys {
        let (section, name) = key.rsplit_once('.').unwrap();
        let commented = format!("[{section}]");
        let section_text = text
            .split_once(&commented)
            .map(|(_, rest)| rest.split("\n[").next().unwrap_or(""))
            .unwrap_or("");
        let documented_as_comment = section_text.contains(&format!("\n# {name} = "));
        assert!(
            set_keys.contains(&key) || documented_as_comment,
            "{key} is missing from verteiler.example.toml"
        );
    }
}

/// Keys of `[[array]]` entries (the list templates) are explained once, above the first entry.
#[test]
fn every_documented_key_has_a_comment_line_above_it() {
    let lines: Vec<&str> = Config::documented_defaults().lines().collect();
    let mut in_array = false;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('[') {
            in_array = line.starts_with("[[");
        }
        if line.contains(" = ") && !line.starts_with('#') && !in_array {
            assert!(
                i > 0 && lines[i - 1].starts_with("# "),
                "line {} has no comment: {line}",
                i + 1
            );
        }
    }
}

#[test]
fn rendered_config_loads_back_unchanged() {
    let mut c = Config::default();
    c.delivery.transport = Transport::Relay;
    c.delivery.relay.host = "smtp.example.org".into();
    c.organisation.default_language = Language::En;
    assert_eq!(Config::from_toml_str(&c.render_effective()).unwrap(), c);
}

#[test]
fn every_template_key_is_explained_above_the_templates() {
    let text = Config::documented_defaults();
    let explained = text
        .split("\n[[lists.templates]]")
        .next()
        .expect("the templates section");
    let template: toml::Table = toml::from_str(
        &toml::to_string(&TemplateConfig {
            role: Some("board".into()),
            approval_above: Some(1),
            max_recipients: Some(1),
            sender_address: Some("a@example.org".into()),
            ..TemplateConfig::default()
        })
        .unwrap(),
    )
    .unwrap();
    for key in template.keys() {
        assert!(
            explained.contains(&format!("#   {key} ")),
            "{key} is not explained above [[lists.templates]]"
        );
    }
}

#[test]
fn the_api_limits_default_reach_the_portal_and_zero_is_refused_with_its_key() {
    let c = Config::default();
    assert_eq!(c.api.requests_per_minute, 600);
    assert_eq!(c.api.max_body_bytes, 64 * 1024 * 1024);
    let settings = c.api_settings();
    assert_eq!(
        (settings.requests_per_minute, settings.max_body_bytes),
        (600, 64 * 1024 * 1024)
    );

    let set = Config::from_toml_str("[api]\nrequests_per_minute = 2\nmax_body_bytes = 4096\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let settings = set.api_settings();
    assert_eq!(
        (settings.requests_per_minute, settings.max_body_bytes),
        (2, 4096)
    );

    let errors = Config::from_toml_str("[api]\nrequests_per_minute = 0\nmax_body_bytes = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("api.requests_per_minute") && errors.contains("0 must be from 1"),
        "{errors}"
    );
    assert!(
        errors.contains("api.max_body_bytes") && errors.contains("0 must be from 1024"),
        "{errors}"
    );
    let too_large = Config::from_toml_str("[api]\nmax_body_bytes = 2147483648\n")
        .unwrap_err()
        .to_string();
    assert!(too_large.contains("api.max_body_bytes"), "{too_large}");
}
