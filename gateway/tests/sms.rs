//! The SMS loop: texts of the store's SMS outbox go to the provider once each; the outbox
//! provider writes one JSON file per text, measured for the network; a provider's temporary
//! failure is retried later, not lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use verteiler_gateway::delivery::Outcome;
use verteiler_gateway::sms::{
    run_texts, OutgoingText, SmsOutbox, SmsProvider, SmsSettings, Submitted,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::Store;

mod sms_support;
use sms_support::member_adds_numbers;

/// A member who adds two numbers: two phone codes wait in the SMS outbox, long and with a
/// euro sign (two GSM parts each).
async fn two_codes(store: &Store) {
    let template = format!("Ihr Code: {{code}}. {}€", "x".repeat(150));
    member_adds_numbers(store, &["0151 23456789", "0171 9876543"], &template).await;
}

fn settings() -> SmsSettings {
    SmsSettings {
        idle_poll: Duration::from_millis(20),
        retry_first: Duration::from_millis(200),
        ..SmsSettings::default()
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..250 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}");
}

#[tokio::test]
async fn the_outbox_provider_writes_each_text_once_with_its_parts() {
    let db = TestDatabase::new().await;
    two_codes(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run_texts(
        db.store.clone(),
        SmsOutbox::new(dir.path()),
        settings(),
        stopped,
    ));
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    wait_for("two texts in the outbox", || files() == 2).await;
    // Nothing is handed over twice.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(files(), 2);
    stop.send(true).unwrap();
    task.await.unwrap();

    let mut texts: Vec<serde_json::Value> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    texts.sort_by_key(|t| t["to"].as_str().unwrap().to_string());
    assert_eq!(texts[0]["to"], "+4915123456789");
    assert_eq!(texts[1]["to"], "+491719876543");
    let first = &texts[0];
    assert_eq!(first["kind"], "portal.phone_code");
    assert_eq!(
        (first["encoding"].as_str(), first["segments"].as_u64()),
        (Some("gsm7"), Some(2))
    );
    let parts: Vec<&str> = first["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(parts.concat(), first["text"].as_str().unwrap());
}

/// Refuses the first `fail` texts for the time being, then takes everything.
struct Flaky {
    fail: usize,
    seen: AtomicUsize,
    taken: Arc<AtomicUsize>,
}

impl SmsProvider for Flaky {
    async fn submit(&self, _: &OutgoingText) -> Submitted {
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.fail {
            Outcome::Temporary("throttled (ESME_RTHROTTLED)".into()).into()
        } else {
            self.taken.fetch_add(1, Ordering::SeqCst);
            Outcome::Sent.into()
        }
    }
}

#[tokio::test]
async fn a_throttled_text_is_tried_again_later_and_not_lost() {
    let db = TestDatabase::new().await;
    two_codes(&db.store).await;
    let taken = Arc::new(AtomicUsize::new(0));
    let provider = Flaky {
        fail: 2,
        seen: AtomicUsize::new(0),
        taken: Arc::clone(&taken),
    };
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run_texts(db.store.clone(), provider, settings(), stopped));
    wait_for("both texts taken after the retry", || {
        taken.load(Ordering::SeqCst) == 2
    })
    .await;
    stop.send(true).unwrap();
    task.await.unwrap();
    assert!(db
        .store
        .claim_texts(verteiler_store::now_ms() + 10_000_000, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
}
