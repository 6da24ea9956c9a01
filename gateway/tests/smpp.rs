//! The SMPP provider against an SMSC simulator on a real loopback socket
//! (`verteiler_test_sink::smsc`, rusmpp's codec on both ends), through the SMS loop and the
//! store: bind, a long text as concatenated parts, receipts, throttling, a lost connection,
//! enquire_link, and a member's STOP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use verteiler_gateway::delivery::Outcome;
use verteiler_gateway::sms::{
    run_texts, OutgoingText, SmppProvider, SmppSettings, SmsProvider, SmsSettings, SmscEvent,
    SmscEvents,
};
use verteiler_policies::{decode_gsm_unpacked, SmsText};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Store, TextReceipt, TextState};
use verteiler_test_sink::smsc::Smsc;

mod sms_support;
use sms_support::member_adds_numbers;

const NUMBER: &str = "+4915123456789";

/// A member adds a phone number: the text `body` waits in the SMS outbox for it.
async fn text_waiting(store: &Store, body: &str) {
    member_adds_numbers(store, &["0151 23456789"], body).await;
}

fn smpp(smsc: &Smsc, password: &str) -> SmppSettings {
    SmppSettings {
        enquire_link: Duration::from_millis(100),
        response_timeout: Duration::from_secs(2),
        reconnect_first: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        throttle_pause: Duration::from_millis(50),
        ..SmppSettings::new(&smsc.addr().to_string(), "verteiler", password)
    }
}

struct Running {
    stop: watch::Sender<bool>,
    texts: JoinHandle<()>,
    session: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.texts.await.unwrap();
        self.session.await.unwrap();
    }
}

fn start(store: &Store, settings: SmppSettings) -> Running {
    let (stop, stopped) = watch::channel(false);
    let (provider, session) = SmppProvider::start(settings, store.clone(), stopped.clone());
    let loop_settings = SmsSettings {
        idle_poll: Duration::from_millis(20),
        retry_first: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        ..SmsSettings::default()
    };
    let texts = tokio::spawn(run_texts(store.clone(), provider, loop_settings, stopped));
    Running {
        stop,
        texts,
        session,
    }
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}");
}

async fn the_text(store: &Store) -> TextState {
    let texts = store.texts_to(NUMBER).await.unwrap();
    texts
        .into_iter()
        .find(|t| t.kind == "portal.phone_code")
        .unwrap()
}

#[tokio::test]
async fn a_long_text_goes_as_three_concatenated_parts_and_their_receipts_mark_it_delivered() {
    let db = TestDatabase::new().await;
    // 320 GSM septets and a euro sign (two septets): three parts of at most 153.
    let body = format!("Einladung zur Versammlung: {} Kosten 5€.", "x".repeat(280));
    text_waiting(&db.store, &body).await;
    let smsc = Smsc::start("verteiler", "secret").await;
    let running = start(&db.store, smpp(&smsc, "secret"));

    wait_for("the text delivered", async || {
        the_text(&db.store).await.receipt == Some(TextReceipt::Delivered)
    })
    .await;
    let parts = smsc.parts();
    assert_eq!(parts.len(), 3, "{parts:#?}");
    let reference = parts[0].concatenation().unwrap().0;
    for (n, part) in parts.iter().enumerate() {
        assert_eq!(
            part.concatenation(),
            Some((reference, 3, n as u8 + 1)),
            "each part carries the same reference, the count and its number"
        );
        assert_eq!(
            (part.destination.as_str(), part.data_coding),
            ("4915123456789", 0)
        );
        assert!(part.payload().len() <= 153, "{}", part.payload().len());
    }
    let septets: Vec<u8> = parts.iter().flat_map(|p| p.payload().to_vec()).collect();
    assert_eq!(decode_gsm_unpacked(&septets), body);
    let state = the_text(&db.store).await;
    assert!(state.sent && !state.failed, "{state:?}");
    assert_eq!(
        db.store.text_provider_ids(state.id).await.unwrap().len(),
        3,
        "every part's message id is kept for its receipt"
    );
    assert_eq!(smsc.receipts_answered(), 3);
    assert_eq!(smsc.binds(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_text_outside_the_gsm_alphabet_goes_as_ucs2() {
    let db = TestDatabase::new().await;
    let body = "Grüße aus Łódź 👋 – bis Samstag";
    text_waiting(&db.store, body).await;
    let smsc = Smsc::start("verteiler", "secret").await;
    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("the text sent", async || smsc.accepted() == 1).await;
    let part = &smsc.parts()[0];
    assert_eq!((part.data_coding, part.concatenation()), (8, None));
    let units: Vec<u16> = part
        .payload()
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(String::from_utf16(&units).unwrap(), body);
    running.stop().await;
}

#[tokio::test]
async fn a_throttled_text_is_rescheduled_and_then_sent() {
    let db = TestDatabase::new().await;
    text_waiting(&db.store, "Ihr Code: 123456").await;
    let smsc = Smsc::start("verteiler", "secret").await;
    smsc.throttle_next(1);
    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("the text delivered", async || {
        the_text(&db.store).await.receipt == Some(TextReceipt::Delivered)
    })
    .await;
    let state = the_text(&db.store).await;
    assert_eq!((smsc.throttled(), smsc.accepted()), (1, 1));
    assert_eq!(state.attempts, 2, "{state:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_is_bound_again_and_the_text_still_goes_out() {
    let db = TestDatabase::new().await;
    text_waiting(&db.store, "Ihr Code: 123456").await;
    let smsc = Smsc::start("verteiler", "secret").await;
    // The SMSC closes the connection instead of answering the first submit.
    smsc.drop_after(0);
    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("the text delivered", async || {
        the_text(&db.store).await.receipt == Some(TextReceipt::Delivered)
    })
    .await;
    assert!(smsc.binds() >= 2, "bound again: {}", smsc.binds());
    assert_eq!(smsc.accepted(), 1);
    let state = the_text(&db.store).await;
    assert!(state.sent && state.attempts >= 2, "{state:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_refused_bind_keeps_the_text_waiting_and_an_idle_link_is_kept_alive() {
    let db = TestDatabase::new().await;
    text_waiting(&db.store, "Ihr Code: 123456").await;
    let smsc = Smsc::start("verteiler", "secret").await;
    let running = start(&db.store, smpp(&smsc, "wrong"));
    wait_for("the bind refused twice", async || smsc.refused_binds() >= 2).await;
    let state = the_text(&db.store).await;
    assert!(
        !state.sent && !state.failed,
        "the text waits for a working bind: {state:?}"
    );
    running.stop().await;

    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("sent once bound", async || the_text(&db.store).await.sent).await;
    // Nothing more to send: enquire_link keeps asking whether the SMSC is there.
    let before = smsc.enquire_links();
    wait_for("two enquire_links", async || {
        smsc.enquire_links() >= before + 2
    })
    .await;
    running.stop().await;
}

#[tokio::test]
async fn stop_from_a_phone_opts_the_number_out_and_is_confirmed_once() {
    let db = TestDatabase::new().await;
    text_waiting(&db.store, "Ihr Code: 123456").await;
    let smsc = Smsc::start("verteiler", "secret").await;
    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("bound and the code sent", async || smsc.accepted() == 1).await;

    assert!(smsc.send_inbound("4915123456789", "Stopp"));
    wait_for("the STOP acknowledged", async || {
        smsc.inbound_answered() == 1
    })
    .await;
    wait_for("the confirmation sent", async || smsc.accepted() == 2).await;
    let texts = db.store.texts_to(NUMBER).await.unwrap();
    let kinds: Vec<&str> = texts.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["portal.phone_code", "sms.opted_out"]);
    assert_eq!(smsc.parts()[1].destination, "4915123456789");

    // A second STOP is acknowledged but not confirmed again.
    assert!(smsc.send_inbound("4915123456789", "STOP"));
    wait_for("the second STOP acknowledged", async || {
        smsc.inbound_answered() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(db.store.texts_to(NUMBER).await.unwrap().len(), 2);
    assert_eq!(smsc.accepted(), 2);
    running.stop().await;
}

#[tokio::test]
async fn a_text_with_a_part_throttled_is_sent_again_whole_and_only_the_whole_send_counts() {
    let db = TestDatabase::new().await;
    let body = format!("Einladung: {}", "y".repeat(320));
    text_waiting(&db.store, &body).await;
    let smsc = Smsc::start("verteiler", "secret").await;
    // Part 1 accepted, part 2 throttled, part 3 accepted: the text is not sent yet.
    smsc.throttle_pattern(&[false, true, false]);
    let running = start(&db.store, smpp(&smsc, "secret"));
    wait_for("the text delivered", async || {
        the_text(&db.store).await.receipt == Some(TextReceipt::Delivered)
    })
    .await;
    let state = the_text(&db.store).await;
    assert_eq!(state.attempts, 2, "{state:?}");
    assert_eq!(
        smsc.accepted(),
        5,
        "two parts of the first attempt, three of the second"
    );
    let ids = db.store.text_provider_ids(state.id).await.unwrap();
    assert_eq!(
        ids.len(),
        3,
        "only the parts of the attempt that went through whole"
    );
    running.stop().await;
    // The first attempt's receipts belong to no text; they go with the pruning.
    let pruned = db
        .store
        .prune_unmatched_receipts(verteiler_store::now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(
        the_text(&db.store).await.receipt,
        Some(TextReceipt::Delivered)
    );
}

/// Fails to record the first batch it is given, as a store that is briefly unavailable.
#[derive(Clone, Default)]
struct FlakyRecorder(Arc<AtomicUsize>);

impl SmscEvents for FlakyRecorder {
    async fn record(&self, _: Vec<SmscEvent>) -> bool {
        self.0.fetch_add(1, Ordering::SeqCst) > 0
    }
}

#[tokio::test]
async fn a_receipt_that_cannot_be_recorded_is_refused_so_the_smsc_keeps_it() {
    let smsc = Smsc::start("verteiler", "secret").await;
    let recorder = FlakyRecorder::default();
    let (stop, stopped) = watch::channel(false);
    let (provider, session) = SmppProvider::start(smpp(&smsc, "secret"), recorder.clone(), stopped);
    let text = |id| OutgoingText {
        id,
        to: NUMBER.into(),
        kind: "list".into(),
        text: SmsText::new("Ihr Code: 123456"),
        send_id: None,
    };
    assert_eq!(provider.submit(&text(1)).await.outcome, Outcome::Sent);
    wait_for("the first receipt refused", async || {
        smsc.refused_answers() == 1
    })
    .await;
    assert_eq!(provider.submit(&text(2)).await.outcome, Outcome::Sent);
    wait_for("the second receipt taken", async || {
        smsc.receipts_answered() == 1
    })
    .await;
    assert_eq!(recorder.0.load(Ordering::SeqCst), 2);
    stop.send(true).unwrap();
    session.await.unwrap();
}
