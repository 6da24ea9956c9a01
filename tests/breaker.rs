//! The circuit breaker end to end: the real binary (`serve --demo`) relays to a capturing
//! sink; a first send to Oldenfelde goes out and teaches the list its usual size, the second
//! trips the organisation's hourly limit and is held; resuming sending does not release it,
//! the chair cannot, and an admin's `held release` sends it exactly once.

mod support;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::{Duration, Instant};
use support::*;
use verteiler_store::SendState;
use verteiler_test_sink::{Script, Sink};

const ADMIN: &str = "aylin.kaya@example.org";

/// What the server and every CLI call share: relay to the sink, no undo window, and an
/// organisation limit of 300 recipients an hour (Oldenfelde has 212).
fn vars(sink: &Sink) -> Vec<(&'static str, String)> {
    let mut vars = support::fanout::relayed(sink);
    vars.push(("VERTEILER_LIMITS__ORG_RECIPIENTS_PER_HOUR", "300".into()));
    vars
}

fn cli(env: &Env, sink: &Sink, args: &[&str]) -> Output {
    let mut command = env.command();
    for (k, v) in vars(sink) {
        command.env(k, v);
    }
    command.args(args).output().expect("running verteiler")
}

/// Copies of the message with this subject that reached the sink, per envelope recipient.
fn copies_of(sink: &Sink, subject: &str) -> BTreeMap<String, usize> {
    let needle = format!("Subject: {subject}");
    sink.seen(|s| {
        let mut counts = BTreeMap::new();
        for m in s
            .messages
            .iter()
            .filter(|m| m.mail_from.starts_with("bounce+"))
        {
            if String::from_utf8_lossy(&m.data).contains(&needle) {
                assert_eq!(m.rcpt_to.len(), 1, "one envelope recipient per copy");
                *counts.entry(m.rcpt_to[0].to_lowercase()).or_default() += 1;
            }
        }
        counts
    })
}

async fn submit(env: &Env, server: &Server, subject: &str) -> (SmtpOutcome, i64) {
    let r = smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &["--subject", subject],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let store = &env.db.store;
    let submission = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    let send = store.sends_of(submission).await.unwrap()[0].id;
    (r, send)
}

#[tokio::test]
async fn a_send_held_by_the_circuit_breaker_goes_out_once_when_an_admin_releases_it() {
    if !tool_available("python3") {
        return;
    }
    let env = Env::new().await;
    let demo = env.run(&["demo", "--members", "600"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let sink = Sink::start(Script::default()).await;
    let server_vars = vars(&sink);
    let server_vars: Vec<(&str, &str)> =
        server_vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = env.serve_with(&["--demo"], &server_vars);
    let store = &env.db.store;

    let (_, first) = submit(&env, &server, "Erste Einladung").await;
    wait_until_complete(&env, first, Duration::from_secs(60)).await;
    let usual = cli(&env, &sink, &["audience", "usual-size", "oldenfelde"]);
    assert!(usual.status.success(), "{}", stderr(&usual));
    assert!(
        stdout(&usual).contains("usual size: 212"),
        "{}",
        stdout(&usual)
    );

    let (reply, held) = submit(&env, &server, "Zweite Einladung").await;
    assert!(reply.text.contains("zurückgehalten"), "{}", reply.text);
    let record = store.send_record(held).await.unwrap().unwrap();
    assert_eq!(record.state, SendState::Held);
    assert!(record.reasons.contains("org.circuit_breaker"), "{record:?}");
    let listed = cli(&env, &sink, &["held", "list"]);
    assert!(
        stdout(&listed).contains("CIRCUIT BREAKER"),
        "{}",
        stdout(&listed)
    );

    // Resuming sending is no release, and the chair is no admin.
    let resumed = cli(&env, &sink, &["send", "resume-all", "--as", ADMIN]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stdout(&resumed).contains("1 send(s) held by the circuit breaker still wait")
            && stdout(&resumed).contains("verteiler held release"),
        "{}",
        stdout(&resumed)
    );
    let id = held.to_string();
    let chair = cli(&env, &sink, &["held", "release", &id, "--as", CHAIR.0]);
    assert!(!chair.status.success());
    assert!(
        stderr(&chair).contains("not an admin"),
        "{}",
        stderr(&chair)
    );
    assert_eq!(
        store.send_record(held).await.unwrap().unwrap().state,
        SendState::Held
    );
    assert!(copies_of(&sink, "Zweite Einladung").is_empty());

    let release = cli(&env, &sink, &["held", "release", &id, "--as", ADMIN]);
    assert!(release.status.success(), "{}", stderr(&release));
    assert!(
        stdout(&release).contains(&format!("send {id} released: 212 recipients")),
        "{}",
        stdout(&release)
    );
    let again = cli(
        &env,
        &sink,
        &["held", "release", "--breaker-all", "--as", ADMIN],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("no send is held by the circuit breaker"),
        "{}",
        stdout(&again)
    );
    wait_until_complete(&env, held, Duration::from_secs(60)).await;

    let totals = store.delivery_totals(held).await.unwrap();
    let copies = copies_of(&sink, "Zweite Einladung");
    assert_eq!(copies.len() as u64, totals.sent, "{totals:?}");
    assert_eq!(
        totals.sent + totals.sms + totals.unreachable,
        212,
        "{totals:?}"
    );
    assert!(
        copies.values().all(|&n| n == 1),
        "every member is reached exactly once"
    );
    assert_eq!(
        copies.len(),
        copies_of(&sink, "Erste Einladung").len(),
        "the same members as the first send"
    );

    // The sender was told, and the log names the admin.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let told = store.notifications_to(CHAIR.0).await.unwrap();
        if told
            .iter()
            .any(|n| n.0 == "submission.released" && n.2.contains("Aylin Kaya"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "{told:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let who = cli(&env, &sink, &["audit", "who", &reply.message_id]);
    assert!(
        stdout(&who).contains("who lifted the circuit breaker"),
        "{}",
        stdout(&who)
    );
    drop(server);
}
