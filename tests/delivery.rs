//! Delivery end to end: a chair's message to the Oldenfelde list, sent with smtplib to the
//! real binary, comes out as one personal copy per reachable member in the outbox, none of which
//! shows any other recipient, and the chair gets a notification by email.
//! The same over SMTP to a capturing sink, the fault tests and the kill -9 crash test are in
//! `delivery_relay.rs`, where repeated copies are visible (the outbox overwrites one file per
//! delivery, so it would hide them).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::*;
use verteiler_store::SendState;

fn outbox_files(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut texts: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".eml"))
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            (n, text)
        })
        .collect();
    texts.sort();
    texts.into_iter().map(|(_, t)| t).collect()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn a_released_message_reaches_each_member_alone_and_the_sender_is_told() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let (send, reply) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    let store = &env.db.store;
    let totals = store.delivery_totals(send).await.unwrap();
    assert_eq!(
        totals.sent + totals.sms + totals.unreachable,
        212,
        "every member is delivered, texted or counted as not reached: {totals:?}"
    );
    assert_eq!(totals.failed + totals.queued, 0, "{totals:?}");
    // The reply says how the recipients are reached, and that is how they were reached.
    let split = format!(
        "212 Empfänger: {} per E-Mail, {} per SMS",
        totals.sent, totals.sms
    );
    assert!(reply.text.contains(&split), "{split} in {}", reply.text);
    // Zoë prefers SMS: a text with the list, the subject and the sender, and no copy.
    let texts = store.sms_outbox_for("+4915123456789").await.unwrap();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].1.starts_with("[Distrikt Oldenfelde] "),
        "{texts:?}"
    );
    assert!(texts[0].1.ends_with(" - Ole Brandt"), "{texts:?}");
    // The demo's provider is the SMS outbox: one JSON file per text, measured for the network.
    let sms_dir = env.path("data/sms-outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    let zoe = loop {
        let found = std::fs::read_dir(&sms_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .find(|v| v["to"] == "+4915123456789" && v["kind"] == "list");
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no text for Zoë in {sms_dir:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(zoe["text"], texts[0].1.as_str());
    assert_eq!(zoe["encoding"], "gsm7");
    assert_eq!(zoe["send_id"], send);
    assert!(zoe["segments"].as_u64().unwrap() <= 2, "{zoe}");
    // Those who chose post are on the send's postal list, as many as the reply said.
    let by_post: usize = reply
        .text
        .split(", ")
        .find_map(|part| part.strip_suffix(" per Post"))
        .map_or(0, |n| n.trim().parse().unwrap());
    assert!(
        by_post > 0,
        "the demo has members who chose post: {}",
        reply.text
    );
    let out = env.run(&["send", "postal-list", &send.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert_eq!(csv.lines().next(), Some("name;postal_address;subject;list"));
    assert_eq!(csv.lines().count() - 1, by_post, "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains(";Einladung zur Mitgliederversammlung;Distrikt Oldenfelde")),
        "{csv}"
    );

    let outbox = env.path("data/outbox");
    let copies = outbox_files(&outbox, "d");
    assert_eq!(copies.len() as u64, totals.sent);
    let recipients: BTreeSet<String> = copies
        .iter()
        .map(|c| header(c, "Delivered-To").expect("Delivered-To").to_string())
        .collect();
    assert_eq!(recipients.len(), copies.len(), "one copy per address");
    for copy in &copies {
        let me = header(copy, "Delivered-To").unwrap();
        let lower = copy.to_lowercase();
        // The sender is a member of the list too; their address is in From: by design.
        for other in recipients
            .iter()
            .filter(|o| o.as_str() != me && o.as_str() != CHAIR.0)
        {
            assert!(
                !lower.contains(other.as_str()),
                "the copy for {me} shows {other}"
            );
        }
        assert!(header(copy, "To")
            .unwrap()
            .contains("oldenfelde@lists.example.org"));
        assert!(header(copy, "From").unwrap().contains(CHAIR.0));
        assert!(header(copy, "List-Id")
            .unwrap()
            .contains("<oldenfelde.lists.example.org>"));
        assert!(header(copy, "List-Unsubscribe").is_some());
        let return_path = header(copy, "Return-Path").unwrap();
        assert!(
            return_path.starts_with("<bounce+") && !return_path.contains(me),
            "the bounce address must not reveal the recipient: {return_path}"
        );
    }
    assert!(
        !recipients.contains("zoe.nguyen@example.org"),
        "Zoe prefers SMS"
    );

    // A remote server's permanent failure comes back to the VERP address, without AUTH as
    // from any MTA, and marks exactly that delivery bounced.
    let return_path = header(&copies[0], "Return-Path").unwrap();
    let verp = return_path.trim_matches(['<', '>']);
    let r = smtplib_send(&server.smtp(), "-", "", "", verp, &["--dsn", "5.1.1"]);
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let after = store.delivery_totals(send).await.unwrap();
    assert_eq!((after.bounced, after.sent), (1, totals.sent - 1));
    let r = smtplib_send(
        &server.smtp(),
        "-",
        "",
        "",
        "bounce+0000000000000000@lists.example.org",
        &["--dsn", "5.1.1"],
    );
    assert_eq!(
        (r.stage.as_str(), r.code),
        ("rcpt", 550),
        "a token we never issued is refused: {r:?}"
    );

    // The chair's notification arrives as a message too.
    let deadline = Instant::now() + Duration::from_secs(30);
    let notices = loop {
        let notices = outbox_files(&outbox, "n");
        if !notices.is_empty() || Instant::now() > deadline {
            break notices;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(notices.len(), 1, "one notification");
    assert_eq!(header(&notices[0], "Delivered-To"), Some(CHAIR.0));
    assert!(notices[0].contains("Distrikt Oldenfelde"), "{}", notices[0]);
}

#[tokio::test]
async fn the_kill_switch_and_cancel_stop_delivery_from_the_command_line() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let outbox = env.path("data/outbox");
    let pause = env.run(&[
        "send",
        "pause-all",
        "--reason",
        "stolen password",
        "--as",
        "aylin.kaya@example.org",
    ]);
    assert!(pause.status.success(), "{}", stderr(&pause));
    let send = |subject: &str| {
        smtplib_send(
            &server.smtp(),
            CHAIR.0,
            CHAIR.1,
            CHAIR.0,
            "oldenfelde@lists.example.org",
            &["--subject", subject],
        )
    };
    let first = send("Erste");
    assert_eq!(first.code, 250, "{first:?}");
    let second = send("Zweite");
    assert_eq!(second.code, 250, "{second:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        outbox_files(&outbox, "d").is_empty(),
        "nothing leaves while paused"
    );
    let status = env.run(&["send", "status"]);
    assert!(
        stdout(&status).contains("PAUSED by Aylin Kaya <aylin.kaya@example.org> (cli:member:"),
        "{}",
        stdout(&status)
    );
    assert!(stdout(&status).contains("2 waiting"), "{}", stdout(&status));

    // The second send is cancelled before anything went out; the first goes out on resume.
    let store = &env.db.store;
    let send_of = |r: &SmtpOutcome| r.message_id.trim_matches(['<', '>']).to_string();
    let second_id = store
        .sends_of(
            store
                .submissions_by_message_id(&send_of(&second))
                .await
                .unwrap()[0],
        )
        .await
        .unwrap()[0]
        .id;
    let cancel = env.run(&["send", "cancel", &second_id.to_string()]);
    assert!(cancel.status.success(), "{}", stderr(&cancel));
    assert!(
        stdout(&cancel).contains("0 already sent"),
        "{}",
        stdout(&cancel)
    );
    let again = env.run(&["send", "cancel", &second_id.to_string()]);
    assert!(
        !again.status.success(),
        "a cancelled send cannot be cancelled again"
    );

    let resume = env.run(&["send", "resume-all", "--as", "aylin.kaya@example.org"]);
    assert!(resume.status.success(), "{}", stderr(&resume));
    let first_id = store
        .sends_of(
            store
                .submissions_by_message_id(&send_of(&first))
                .await
                .unwrap()[0],
        )
        .await
        .unwrap()[0]
        .id;
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.send_record(first_id).await.unwrap().unwrap().state != SendState::Complete {
        assert!(Instant::now() < deadline, "the first send did not complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = store.delivery_totals(first_id).await.unwrap().sent;
    assert_eq!(outbox_files(&outbox, "d").len() as u64, sent);
    let show = env.run(&["send", "show", &second_id.to_string()]);
    assert!(
        stdout(&show).contains("state:      cancelled"),
        "{}",
        stdout(&show)
    );
    let show = env.run(&["send", "show", &first_id.to_string()]);
    assert!(
        stdout(&show).contains(&format!("email:      {sent} sent, 0 queued")),
        "{}",
        stdout(&show)
    );
    assert_eq!(store.delivery_totals(second_id).await.unwrap().sent, 0);
}
