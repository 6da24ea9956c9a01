//! SMPP throughput, driven by `ops/bench/sms.sh`: TEXTS one-part texts to as many numbers
//! through [`SmppProvider`] to an SMSC (the simulator, `smsc-sim`), WINDOW requests
//! outstanding at most. Prints submits per second from the first submit to the last answer,
//! the time until every delivery receipt was taken, and the process's peak RSS.
//!
//! Mode `client` drives the provider directly and counts receipts in memory: the client's own
//! figure. Mode `store` queues the texts in a SQLite store's SMS outbox and lets the SMS loop
//! work them off as `verteiler serve` does — claims, outcomes, the parts' ids and every
//! receipt recorded in the database.
//!
//! Usage: smpp_bench SMSC_ADDRESS [TEXTS] [WINDOW] [client|store]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use verteiler_gateway::delivery::Outcome;
use verteiler_gateway::sms::{
    run_texts, OutgoingText, SmppProvider, SmppSettings, SmsProvider, SmsSettings, SmscEvent,
    SmscEvents,
};
use verteiler_policies::SmsText;

/// Counts receipts instead of recording them: the figure is the client's, not a database's.
#[derive(Clone, Default)]
struct Receipts(Arc<AtomicU64>);

impl SmscEvents for Receipts {
    async fn record(&self, events: Vec<SmscEvent>) -> bool {
        let receipts = events
            .iter()
            .filter(|e| matches!(e, SmscEvent::Receipt { .. }))
            .count();
        self.0.fetch_add(receipts as u64, Ordering::Relaxed);
        true
    }
}

const BODY: &str = "[OV Oldenfelde] Einladung zur Mitgliederversammlung am Samstag, 15 Uhr, \
                    im Bürgerhaus - Ole Brandt";

fn number(n: u64) -> String {
    format!("+49151{n:08}")
}

fn peak_rss() -> String {
    peak_rss_kib().map_or("?".into(), |k| k.to_string())
}

/// The SMS loop over a SQLite store, as `verteiler serve` runs it.
async fn through_the_store(address: &str, texts: u64, window: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = verteiler_store::Store::open(&url, 8)
        .await
        .expect("the store");
    let numbers: Vec<String> = (0..texts).map(number).collect();
    verteiler_store::testing::queue_texts(&store, &numbers, BODY)
        .await
        .expect("queue the texts");
    drop(numbers);
    let (stop, stopped) = watch::channel(false);
    let settings = SmppSettings {
        window,
        ..SmppSettings::new(address, "verteiler", "secret")
    };
    let (provider, session) = SmppProvider::start(settings, store.clone(), stopped.clone());
    let started = Instant::now();
    let sms_loop = tokio::spawn(run_texts(
        store.clone(),
        provider,
        SmsSettings {
            idle_poll: Duration::from_millis(5),
            ..SmsSettings::default()
        },
        stopped,
    ));
    let deadline = started + Duration::from_secs(600);
    let mut all_sent = None;
    loop {
        let (sent, receipted) = verteiler_store::testing::texts_sent_and_receipted(&store)
            .await
            .expect("count the texts");
        if sent == texts && all_sent.is_none() {
            all_sent = Some(started.elapsed());
        }
        if receipted == texts || Instant::now() > deadline {
            let receipts_done = started.elapsed();
            stop.send(true).expect("stop");
            let _ = sms_loop.await;
            let _ = session.await;
            let submitted = all_sent.unwrap_or(receipts_done);
            println!(
                "mode=store texts={texts} window={window} sent={sent} submit_seconds={:.3} \
                 submits_per_second={:.0} receipts={receipted} receipts_done_seconds={:.3} \
                 peak_rss_kib={}",
                submitted.as_secs_f64(),
                sent as f64 / submitted.as_secs_f64(),
                receipts_done.as_secs_f64(),
                peak_rss(),
            );
            if sent < texts {
                std::process::exit(1);
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(address) = args.get(1) else {
        eprintln!("usage: smpp_bench SMSC_ADDRESS [TEXTS] [WINDOW]");
        std::process::exit(2);
    };
    let texts: u64 = args.get(2).map_or(50_000, |n| n.parse().expect("TEXTS"));
    let window: usize = args.get(3).map_or(50, |n| n.parse().expect("WINDOW"));
    if args.get(4).map(String::as_str) == Some("store") {
        return through_the_store(address, texts, window).await;
    }

    let receipts = Receipts::default();
    let (stop, stopped) = watch::channel(false);
    let settings = SmppSettings {
        window,
        ..SmppSettings::new(address, "verteiler", "secret")
    };
    let (provider, session) = SmppProvider::start(settings, receipts.clone(), stopped);
    // One text like the renderings list sends produce: GSM 7-bit, one part.
    let text = SmsText::new(BODY);
    assert_eq!(text.segments(), 1);

    let started = Instant::now();
    let sent = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    // Twice the window of callers keep the window full while answers come back.
    let callers = (0..window * 2).map(|_| async {
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            if n >= texts {
                return;
            }
            let outgoing = OutgoingText {
                id: n as i64,
                to: number(n),
                kind: "list".into(),
                text: text.clone(),
                send_id: Some(1),
            };
            match provider.submit(&outgoing).await.outcome {
                Outcome::Sent => sent.fetch_add(1, Ordering::Relaxed),
                other => {
                    if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("text {n}: {other:?}");
                    }
                    0
                }
            };
        }
    });
    futures::future::join_all(callers).await;
    let submitted = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while receipts.0.load(Ordering::Relaxed) < sent.load(Ordering::Relaxed)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let receipted = started.elapsed();
    stop.send(true).expect("stop the session");
    let _ = session.await;

    let sent = sent.load(Ordering::Relaxed);
    println!(
        "mode=client texts={texts} window={window} sent={sent} failed={} submit_seconds={:.3} \
         submits_per_second={:.0} receipts={} receipts_done_seconds={:.3} peak_rss_kib={}",
        failed.load(Ordering::Relaxed),
        submitted.as_secs_f64(),
        sent as f64 / submitted.as_secs_f64(),
        receipts.0.load(Ordering::Relaxed),
        receipted.as_secs_f64(),
        peak_rss(),
    );
    if failed.load(Ordering::Relaxed) > 0 {
        std::process::exit(1);
    }
}
