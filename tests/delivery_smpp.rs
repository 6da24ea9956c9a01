//! SMS end to end over SMPP: the real binary with `sms.provider = "smpp"` bound to the SMSC
//! simulator on loopback. A chair's email to the Oldenfelde list, sent with smtplib, reaches
//! the members who chose SMS as texts at the SMSC; its receipts mark them delivered; a STOP
//! sent from a phone opts the number out and is confirmed.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::*;
use verteiler_store::TextReceipt;
use verteiler_test_sink::smsc::Smsc;

async fn eventually(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_list_mail_reaches_sms_members_through_the_smsc_and_stop_opts_out() {
    let smsc = Smsc::start("verteiler", "secret").await;
    let address = smsc.addr().to_string();
    let Some((env, server)) = demo_server(
        "python3",
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("VERTEILER_SMS__PROVIDER", "smpp"),
            ("VERTEILER_SMS__SMPP__ADDRESS", &address),
            ("VERTEILER_SMS__SMPP__SYSTEM_ID", "verteiler"),
            ("VERTEILER_SMS__SMPP__PASSWORD", "secret"),
            ("VERTEILER_SMS__SMPP__SOURCE_ADDR", "DemoPartei"),
        ],
    )
    .await
    else {
        return;
    };
    let (send, reply) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    let store = &env.db.store;
    let totals = store.delivery_totals(send).await.unwrap();
    assert!(totals.sms > 0, "{totals:?}");
    assert!(
        reply.text.contains(&format!("{} per SMS", totals.sms)),
        "{}",
        reply.text
    );

    // Every SMS member's text reaches the SMSC, from our name, in one or two parts.
    eventually(
        "every text at the SMSC",
        Duration::from_secs(30),
        async || {
            let numbers: BTreeSet<String> =
                smsc.parts().into_iter().map(|p| p.destination).collect();
            numbers.len() as u64 == totals.sms
        },
    )
    .await;
    let parts = smsc.parts();
    assert!(parts.len() as u64 <= 2 * totals.sms, "{}", parts.len());
    assert!(parts.iter().all(|p| p.source == "DemoPartei"));
    assert!(
        parts.iter().any(|p| p.destination == "4915123456789"),
        "Zoë"
    );

    // The SMSC's receipts come back over the same connection and are recorded.
    eventually(
        "Zoë's text delivered",
        Duration::from_secs(30),
        async || {
            store.texts_to("+4915123456789").await.unwrap()[0].receipt
                == Some(TextReceipt::Delivered)
        },
    )
    .await;

    // Zoë answers STOP: the number is opted out and told so, once.
    let before = smsc.accepted();
    assert!(smsc.send_inbound("4915123456789", "STOP"));
    eventually(
        "the opt-out confirmed",
        Duration::from_secs(30),
        async || smsc.accepted() > before,
    )
    .await;
    let kinds: Vec<String> = store
        .texts_to("+4915123456789")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(kinds, ["list", "sms.opted_out"]);
    assert_eq!(smsc.parts().last().unwrap().destination, "4915123456789");
}
