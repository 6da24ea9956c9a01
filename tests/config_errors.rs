//! A wrong configuration stops start-up with a message naming the key and where it came from.

mod support;

use support::*;

#[tokio::test]
async fn an_unknown_key_in_the_file_is_named_with_the_file_and_nothing_starts() {
    let env = Env::new().await;
    std::fs::write(
        env.path("verteiler.toml"),
        "[smtp]\nlisen = \"127.0.0.1:25\"\n",
    )
    .unwrap();
    let out = env.run(&["migrate"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("smtp.lisen") && err.contains("verteiler.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn every_bad_key_is_reported_at_once_with_its_variable() {
    let env = Env::new().await;
    let out = env
        .command()
        .args(["migrate"])
        .env("VERTEILER_HTTP__LISTEN", "nonsense")
        .env("VERTEILER_DELIVERY__WORKERS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("http.listen") && err.contains("VERTEILER_HTTP__LISTEN"),
        "{err}"
    );
    assert!(
        err.contains("delivery.workers") && err.contains("VERTEILER_DELIVERY__WORKERS"),
        "{err}"
    );
}

#[tokio::test]
async fn a_named_config_file_that_does_not_exist_is_an_error() {
    let env = Env::new().await;
    let out = env.run(&["--config", "missing.toml", "migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

#[tokio::test]
async fn bad_direct_delivery_settings_are_named_with_file_line_and_variable() {
    let env = Env::new().await;
    std::fs::write(
        env.path("verteiler.toml"),
        "[delivery]\ntransport = \"mx\"\n\n[delivery.mx]\nhelo_name = \"localhost\"\ntimeout_secs = 0\n",
    )
    .unwrap();
    let out = env
        .command()
        .args(["migrate"])
        .env(
            "VERTEILER_DELIVERY__MX__NAMESERVERS",
            "192.0.2.53, dns.example",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in [
        "delivery.mx.helo_name",
        "verteiler.toml:5",
        "delivery.mx.timeout_secs",
        "verteiler.toml:6",
        "delivery.mx.nameservers",
        "VERTEILER_DELIVERY__MX__NAMESERVERS",
        "\"dns.example\" is not a name server address",
    ] {
        assert!(err.contains(expected), "{expected} not in {err}");
    }
}

#[tokio::test]
async fn name_servers_from_one_variable_are_a_list() {
    let env = Env::new().await;
    let out = env
        .command()
        .args(["config", "show"])
        .env("VERTEILER_DELIVERY__TRANSPORT", "mx")
        .env(
            "VERTEILER_DELIVERY__MX__NAMESERVERS",
            "192.0.2.53, [2001:db8::53]:5353",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains(r#"nameservers = ["192.0.2.53:53", "[2001:db8::53]:5353"]"#),
        "{shown}"
    );
}

#[tokio::test]
async fn broken_list_templates_are_named_by_number_and_key_and_nothing_runs() {
    let env = Env::new().await;
    std::fs::write(
        env.path("verteiler.toml"),
        "[[lists.templates]]\nid = \"branch\"\nunits = \"branch\"\nslug = \"{unti}\"\n\n\
         [[lists.templates]]\nid = \"galaxy\"\nunits = \"galaxy\"\nslug = \"{unit}\"\n\n\
         [[lists.templates]]\nid = \"huge\"\nunits = \"top\"\nslug = \"alle\"\nmax_recipients = 99999999\n\n\
         [[lists.templates]]\nid = \"board\"\nunits = \"district\"\nslug = \"{name}-vorstand\"\nkind = \"functional\"\n",
    )
    .unwrap();
    let out = env.run(&["import", "units", "units.csv"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in [
        "lists.templates[1].slug",
        "unknown placeholder {unti}",
        "lists.templates[2].units",
        "\"galaxy\"",
        "lists.templates[3].max_recipients",
        "limits.max_recipients_per_send",
        "lists.templates[4].role",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert_eq!(env.db.store.directory_counts().await.unwrap().units, 0);
}
