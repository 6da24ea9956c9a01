//! Two `serve` processes on one PostgreSQL database, relaying to one capturing sink: a send of
//! about 20,000 copies is delivered exactly once in total with both delivering a share; one
//! killed with SIGKILL during fan-out leaves its claims to the other after the lease; one
//! started again under a killed one's name takes those claims back at once, long before its
//! lease would run out. PostgreSQL only: SQLite serves one process per database file.

mod support;

use std::time::{Duration, Instant};
use support::fanout::*;
use support::*;
use verteiler_test_sink::{Script, Sink};

const STATE_CHAIR: (&str, &str) = ("hans-peter.schulz@example.org", "landesvorsitz");
const EVERYONE: &str = "alle-mitglieder@lists.example.org";
/// About 62 % of the demo's members are reachable by email: about 20,000 copies.
const MEMBERS: &str = "32300";
const WORKERS: usize = 8;

/// `serve --demo` as instance `name`, relaying to `sink`, its claims leased for `lease_secs`.
fn instance(env: &Env, sink: &Sink, name: &str, lease_secs: u32) -> Server {
    let mut vars = relay_vars(sink);
    vars.extend([
        ("VERTEILER_INSTANCE__NAME", name.to_string()),
        ("VERTEILER_DELIVERY__WORKERS", WORKERS.to_string()),
        ("VERTEILER_DELIVERY__LEASE_SECS", lease_secs.to_string()),
    ]);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.serve_with(&["--demo"], &vars)
}

/// Sends to the whole organisation as the state chair, has the demo's two press officers
/// approve on the CLI, and returns the send's id.
async fn send_to_everyone(env: &Env, server: &Server, subject: &str) -> i64 {
    let send = submit_as(env, server, STATE_CHAIR, EVERYONE, subject).await;
    for approver in ["renee.hoffmann@example.org", "jonas.petersen@example.org"] {
        let out = env
            .command()
            .env("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")
            .args(["held", "approve", &send.to_string(), "--as", approver])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    send
}

/// Copies of one send at the sink (its subject is unique in the test).
fn copies_of(sink: &Sink, subject: &str) -> Vec<verteiler_test_sink::Received> {
    let needle = format!("Subject: {subject}");
    copies(sink)
        .into_iter()
        .filter(|c| String::from_utf8_lossy(&c.data).contains(&needle))
        .collect()
}

/// Waits until `at_least` copies of the send arrived.
async fn wait_for_copies(sink: &Sink, subject: &str, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while copies_of(sink, subject).len() < at_least {
        assert!(Instant::now() < deadline, "fan-out of {subject:?} stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What `send show` printed on its `handled by:` line: copies by instance.
fn handled_by(env: &Env, send: i64) -> Vec<(String, u64)> {
    let out = env.run(&["send", "show", &send.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("handled by:"))
        .unwrap_or_else(|| panic!("no handled-by line in:\n{text}"));
    let shares = line.split(" (").next().unwrap();
    shares
        .split(", ")
        .map(|share| {
            let (name, n) = share.trim().rsplit_once(' ').unwrap();
            (name.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// Every copy of `send` reached its recipient, as often as the sink says; returns the repeats.
async fn delivered_once_each(env: &Env, sink: &Sink, send: i64, subject: &str) -> u64 {
    let totals = env.db.store.delivery_totals(send).await.unwrap();
    assert_eq!(
        totals.queued + totals.failed + totals.cancelled,
        0,
        "{totals:?}"
    );
    let record = env.db.store.send_record(send).await.unwrap().unwrap();
    assert_eq!(
        totals.sent + totals.sms + totals.unreachable,
        record.recipients,
        "every member counted once: {totals:?}"
    );
    let copies = copies_of(sink, subject);
    let counts = per_recipient(&copies);
    assert_eq!(
        counts.len() as u64,
        totals.sent,
        "every recipient has a copy"
    );
    copies.len() as u64 - totals.sent
}

#[tokio::test]
async fn two_instances_share_a_20000_copy_send_and_survive_a_kill() {
    let Some(env) = Env::on_postgres().await else {
        return;
    };
    if !tool_available("python3") {
        return;
    }
    let demo = env.run(&["demo", "--members", MEMBERS]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let sink = Sink::start(Script::default()).await;
    let a = instance(&env, &sink, "a", 10);
    let b = instance(&env, &sink, "b", 10);

    // One send, two instances: each copy exactly once, and both deliver a share.
    let first = send_to_everyone(&env, &a, "Parteitag eins").await;
    wait_until_complete(&env, first, Duration::from_secs(300)).await;
    let repeats = delivered_once_each(&env, &sink, first, "Parteitag eins").await;
    assert_eq!(repeats, 0, "no copy twice without a crash");
    let sent = env.db.store.delivery_totals(first).await.unwrap().sent;
    assert!(
        (19_000..=21_000).contains(&sent),
        "about 20,000 copies: {sent}"
    );
    let shares = handled_by(&env, first);
    let names: Vec<&str> = shares.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b"], "both instances delivered: {shares:?}");
    assert_eq!(shares.iter().map(|(_, n)| n).sum::<u64>(), sent);

    // SIGKILL of one during fan-out: the other finishes the send once the lease (10 s) ran
    // out, repeating at most what the killed one's workers had in flight.
    let second = send_to_everyone(&env, &b, "Parteitag zwei").await;
    wait_for_copies(&sink, "Parteitag zwei", 3_000).await;
    a.kill();
    let queued = env.db.store.delivery_totals(second).await.unwrap().queued;
    assert!(queued > 0, "the kill landed during the fan-out");
    wait_until_complete(&env, second, Duration::from_secs(300)).await;
    let repeats = delivered_once_each(&env, &sink, second, "Parteitag zwei").await;
    eprintln!("kill -9 of one of two instances: {repeats} repeated copies");
    assert!(
        repeats <= WORKERS as u64,
        "{repeats} repeats, {WORKERS} workers"
    );

    // A process under "a" again, its claims leased for ten minutes, killed during fan-out
    // and started again: it takes its predecessor's claims back at once, so the send
    // completes long before the lease would have let "b" take them.
    let a = instance(&env, &sink, "a", 600);
    let third = send_to_everyone(&env, &a, "Parteitag drei").await;
    wait_for_copies(&sink, "Parteitag drei", 3_000).await;
    a.kill();
    let stranded = env.db.store.delivery_totals(third).await.unwrap().queued;
    assert!(stranded > 0, "the kill landed during the fan-out");
    let _a = instance(&env, &sink, "a", 600);
    wait_until_complete(&env, third, Duration::from_secs(300)).await;
    let repeats = delivered_once_each(&env, &sink, third, "Parteitag drei").await;
    assert!(
        repeats <= WORKERS as u64,
        "{repeats} repeats, {WORKERS} workers"
    );
    drop(b);
}

#[tokio::test]
async fn a_second_live_process_under_a_taken_name_refuses_to_start() {
    let Some(env) = Env::on_postgres().await else {
        return;
    };
    let first = env.serve_with(&[], &[("VERTEILER_INSTANCE__NAME", "mail-1")]);
    let second = env
        .command()
        .env("VERTEILER_INSTANCE__NAME", "mail-1")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains("instance.name") && err.contains("mail-1"),
        "the refusal names the key and the name: {err}"
    );
    // Another name serves beside it.
    let other = env.serve_with(&[], &[("VERTEILER_INSTANCE__NAME", "mail-2")]);
    drop((first, other));
}
