//! `/metrics` end to end: the real binary (`serve --demo`, delivering through the relay
//! transport to a capturing sink) is scraped before, during and after a send; its counters
//! move, its gauges say where things stand, every family follows Prometheus' naming rules, and
//! every metric the sample dashboard and the alert rules in `ops/metrics/` use is served.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use support::fanout::relayed;
use support::*;
use verteiler_test_sink::{Script, Sink};

/// One scrape: every sample (`name{labels}` → value) and the declared type of every family.
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// The sum of a family's samples whose labels contain every one of `labels` (`k="v"`).
    fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.samples
            .iter()
            .filter(|(key, _)| {
                let (family, rest) = key.split_once('{').unwrap_or((key.as_str(), ""));
                family == name && labels.iter().all(|l| rest.contains(l))
            })
            .map(|(_, v)| v)
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.types.contains_key(name)
    }
}

async fn scrape(url: &str) -> Scrape {
    let response = reqwest::get(url).await.expect("scraping /metrics");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declared.split_once(' ').expect("# TYPE name kind");
            types.insert(name.to_string(), kind.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let (key, value) = line.rsplit_once(' ').expect("sample value");
            samples.insert(key.to_string(), value.parse().expect("a number"));
        }
    }
    Scrape { samples, types }
}

/// The metrics URL `serve` printed.
fn metrics_url(server: &Server) -> Option<String> {
    server
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("verteiler: metrics listening on "))
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_moves_the_counters_and_the_gauges_say_where_things_stand() {
    if !tool_available("python3") {
        return;
    }
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let sink = Sink::start(Script::default()).await;
    let vars = relayed(&sink);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = env.serve_with(&["--demo"], &vars);
    let url = metrics_url(&server).expect("the demo serves metrics");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let before = scrape(&url).await;
    let sessions = before.sum("verteiler_smtp_sessions_total", &[]);
    let released = before.sum("verteiler_decisions_total", &["outcome=\"release\""]);
    let sent = before.sum("verteiler_delivery_attempts_total", &["outcome=\"sent\""]);
    assert_eq!(before.sum("verteiler_delivery_paused", &[]), 0.0);
    assert_eq!(before.sum("verteiler_db_pool_max_connections", &[]), 8.0);

    // A refusal at RCPT (unknown list) and one by the engine (a list the chair may not use).
    let smtp = server.smtp();
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "gibtsnicht@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("rcpt", 550), "{r:?}");
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "pressemitteilungen@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");

    let (send, _) = send_to_oldenfelde(&env, &server).await;
    let during = scrape(&url).await;
    wait_until_complete(&env, send, Duration::from_secs(120)).await;
    let after = scrape(&url).await;

    let copies = env.db.store.send_record(send).await.unwrap().unwrap();
    assert!(copies.recipients > 0, "{copies:?}");
    assert!(after.sum("verteiler_smtp_sessions_total", &[]) >= sessions + 3.0);
    assert!(during.sum("verteiler_decisions_total", &["outcome=\"release\""]) >= released + 1.0);
    assert!(after.sum("verteiler_decisions_total", &["outcome=\"reject\""]) >= 1.0);
    assert!(
        after.sum("verteiler_decision_reasons_total", &["outcome=\"reject\""]) >= 1.0,
        "a rejection counts its reason"
    );
    assert!(after.sum("verteiler_smtp_refusals_total", &["code=\"550\""]) >= 2.0);
    // Every copy the sink took (return path bounce+…, not notices) counts as sent.
    let handed_over = sink.seen(|s| {
        s.messages
            .iter()
            .filter(|m| m.mail_from.starts_with("bounce+"))
            .count()
    });
    assert!(handed_over > 0);
    let sent_now = after.sum("verteiler_delivery_attempts_total", &["outcome=\"sent\""]);
    assert!(
        sent_now >= sent + handed_over as f64,
        "{sent_now} < {sent} + {handed_over}"
    );
    assert!(
        during.sum("verteiler_delivery_attempts_total", &[])
            <= after.sum("verteiler_delivery_attempts_total", &[]),
        "counters never go back"
    );
    // Nothing waits once the send is complete.
    assert_eq!(after.sum("verteiler_copies_queued", &[]), 0.0);
    assert_eq!(
        after.sum("verteiler_queue_oldest_copy_age_seconds", &[]),
        0.0
    );
    assert!(after.sum("verteiler_breaker_recipients_last_hour", &[]) >= copies.recipients as f64);
    assert!(after.sum("verteiler_db_pool_connections", &[]) >= 1.0);

    follows_the_naming_rules(&after);
    serves_what_the_ops_files_use(&after);
}

/// Prometheus' conventions: one prefix, counters end in `_total` and nothing else does, base
/// units (seconds, not milliseconds), and labels from small fixed sets only.
fn follows_the_naming_rules(scrape: &Scrape) {
    assert!(scrape.types.len() >= 20, "{:?}", scrape.types);
    for (name, kind) in &scrape.types {
        assert!(name.starts_with("verteiler_"), "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
        assert_eq!(
            kind == "counter",
            name.ends_with("_total"),
            "{name} is a {kind}"
        );
        for unit in ["_ms", "_milliseconds", "_minutes", "_hours", "_bytes_kb"] {
            assert!(!name.contains(unit), "{name}: base units only");
        }
    }
    let allowed: BTreeSet<&str> = ["outcome", "reason", "code", "status", "stage", "state"].into();
    for key in scrape.samples.keys() {
        let Some((_, labels)) = key.split_once('{') else {
            continue;
        };
        for pair in labels.trim_end_matches('}').split("\",") {
            let label = pair.split_once('=').expect("label=value").0;
            assert!(allowed.contains(label), "{key}: label {label}");
        }
    }
}

/// Every `verteiler_…` name the dashboard's queries and the alert rules' expressions use.
fn serves_what_the_ops_files_use(scrape: &Scrape) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("ops/metrics");
    let dashboard = std::fs::read_to_string(root.join("grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            expressions.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    let rules = std::fs::read_to_string(root.join("alerts.yml")).unwrap();
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rules).expect("valid YAML");
    let mut alerts = 0;
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            assert!(rule["alert"].as_str().is_some(), "{rule:?}");
            assert!(
                rule["annotations"]["summary"].as_str().is_some(),
                "{rule:?}"
            );
            expressions.push(rule["expr"].as_str().expect("expr").to_string());
            alerts += 1;
        }
    }
    assert!(alerts >= 3);
    let mut used = BTreeSet::new();
    for expr in &expressions {
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("verteiler_") {
                used.insert(word.to_string());
            }
        }
    }
    assert!(used.len() >= 10, "{used:?}");
    for name in used {
        assert!(
            scrape.has(&name),
            "{name} is used in ops/metrics but not served"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_off_unless_configured() {
    let env = Env::new().await;
    let server = env.serve(&[]);
    assert_eq!(metrics_url(&server), None, "{:?}", server.printed);
    server.kill();

    let server = env.serve_with(&[], &[("VERTEILER_HTTP__METRICS_LISTEN", "127.0.0.1:0")]);
    let url = metrics_url(&server).expect("a configured listener is announced");
    let scrape = scrape(&url).await;
    assert_eq!(scrape.sum("verteiler_smtp_sessions_total", &[]), 0.0);
    assert!(scrape.has("verteiler_copies_queued"));
    // The portal does not serve them.
    assert_eq!(server.get("/metrics").await.0, 404);
}
