//! What intake fixes or refuses in a submitted message, end to end: Python's smtplib hands raw
//! messages to the real binary, and copies arrive at a capturing SMTP sink (the `relay`
//! transport).
//!
//! - Impersonation through the display name: whatever name a chair writes before their own
//!   address, every copy shows the directory's, and the reply says it was replaced.
//! - RFC 6409 section 8: a missing `Date:` and `Message-ID:` are added before the message is
//!   stored (so copies carry the `Date` DKIM signs), NUL bytes and overlong lines are refused
//!   with a reply naming the line.

mod support;

use std::time::Duration;
use support::*;
use verteiler_policies::EmailAddress;
use verteiler_test_sink::{Received, Script, Sink};

const OLDENFELDE: &str = "oldenfelde@lists.example.org";
const DIRECTORY_FROM: &str = "\"Ole Brandt (Distrikt Oldenfelde)\" <ole.brandt@example.org>";

/// The demo served with copies going to `sink` at once, or `None` without python3.
async fn demo_with_sink(sink: &Sink) -> Option<(Env, Server)> {
    let port = sink.port().to_string();
    demo_server(
        "python3",
        &[
            ("VERTEILER_DELIVERY__TRANSPORT", "relay"),
            ("VERTEILER_DELIVERY__RELAY__HOST", "127.0.0.1"),
            ("VERTEILER_DELIVERY__RELAY__PORT", &port),
            ("VERTEILER_DELIVERY__RELAY__TLS", "none"),
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
        ],
    )
    .await
}

/// Submits `raw` unchanged as the demo chair to Oldenfelde.
fn submit_raw(env: &Env, server: &Server, name: &str, raw: &[u8]) -> SmtpOutcome {
    let path = env.path(name);
    std::fs::write(&path, raw).unwrap();
    smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        OLDENFELDE,
        &["--raw", path.to_str().unwrap()],
    )
}

/// The chair's newest submission: its id and its sends' ids.
async fn newest_submission(env: &Env) -> (i64, Vec<i64>) {
    let store = &env.db.store;
    let chair = store
        .member_id_by_email(&EmailAddress::parse(CHAIR.0).unwrap())
        .await
        .unwrap()
        .unwrap();
    let newest = store.own_submissions(chair, 1).await.unwrap();
    let newest = newest.first().expect("a stored submission");
    (newest.id, newest.sends.iter().map(|s| s.send.id).collect())
}

/// Header fields of a raw message, unfolded, in order.
fn headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

fn field(raw: &[u8], name: &str) -> Vec<String> {
    headers(raw)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// The copies of `send` (not notices to senders), once it is complete.
async fn copies_of(env: &Env, sink: &Sink, send: i64, subject: &str) -> Vec<Received> {
    wait_until_complete(env, send, Duration::from_secs(90)).await;
    let copies: Vec<Received> = sink.seen(|s| {
        s.messages
            .iter()
            .filter(|m| m.mail_from.starts_with("bounce+"))
            .filter(|m| field(&m.data, "Subject") == [subject])
            .cloned()
            .collect()
    });
    let sent = env.db.store.delivery_totals(send).await.unwrap().sent;
    assert!(sent > 100, "{sent} copies of {subject:?} sent");
    assert_eq!(
        copies.len() as u64,
        sent,
        "every copy of {subject:?} arrived"
    );
    copies
}

#[tokio::test]
async fn every_copy_shows_the_directorys_name_whatever_name_the_chair_wrote() {
    let sink = Sink::start(Script::default()).await;
    let Some((env, server)) = demo_with_sink(&sink).await else {
        return;
    };
    // The four disguises of the issue: an address, an office, an encoded word spelling the
    // press address, and another person with his office.
    let disguises = [
        (
            "\"presse@example.org\" <ole.brandt@example.org>",
            "presse@example.org",
        ),
        (
            "Pressestelle Hamburg <ole.brandt@example.org>",
            "Pressestelle Hamburg",
        ),
        (
            "=?utf-8?q?presse=40example=2Eorg?= <ole.brandt@example.org>",
            "presse@example.org",
        ),
        (
            "\"Hans-Peter Schulz, Landesvorsitzender\" <ole.brandt@example.org>",
            "Hans-Peter Schulz, Landesvorsitzender",
        ),
    ];
    for (n, (from, shown)) in disguises.iter().enumerate() {
        let raw = format!(
            "From: {from}\r\nTo: {OLDENFELDE}\r\nSubject: Verkleidung {n}\r\n\
             Date: Mon, 30 Nov 2026 10:00:00 +0100\r\nMessage-ID: <verkleidung-{n}@example.org>\r\n\
             \r\nLiebe Mitglieder,\r\nunsere Erklärung folgt.\r\n"
        );
        let r = submit_raw(&env, &server, &format!("disguise-{n}.eml"), raw.as_bytes());
        assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{from}: {r:?}");
        assert!(
            r.text.contains(&format!("\"{shown}\""))
                && r.text.contains("\"Ole Brandt (Distrikt Oldenfelde)\"")
                && (r.text.contains("ersetzt") || r.text.contains("replaced")),
            "the reply says the name was replaced and by which: {r:?}"
        );
    }

    for (n, (from, shown)) in disguises.iter().enumerate() {
        let store = &env.db.store;
        let submission = store
            .submissions_by_message_id(&format!("verkleidung-{n}@example.org"))
            .await
            .unwrap()[0];
        let send = store.sends_of(submission).await.unwrap()[0].id;
        let copies = copies_of(&env, &sink, send, &format!("Verkleidung {n}")).await;
        for copy in &copies {
            assert_eq!(field(&copy.data, "From"), [DIRECTORY_FROM], "{from}");
            let text = String::from_utf8_lossy(&copy.data);
            assert!(!text.contains(shown), "a copy still shows {shown:?}");
            assert!(!text.contains("=?utf-8?q?presse"), "{from}");
        }
    }
}

#[tokio::test]
async fn a_submission_without_date_and_message_id_gets_both_before_it_is_stored() {
    let sink = Sink::start(Script::default()).await;
    let Some((env, server)) = demo_with_sink(&sink).await else {
        return;
    };
    let raw = format!(
        "From: Ole Brandt <ole.brandt@example.org>\r\nTo: {OLDENFELDE}\r\n\
         Subject: Ohne Datum\r\n\r\nLiebe Mitglieder\r\n"
    );

    let r = submit_raw(&env, &server, "bare.eml", raw.as_bytes());
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    assert!(
        !r.text.contains("ersetzt") && !r.text.contains("replaced"),
        "the directory's name was given: nothing replaced: {r:?}"
    );

    let (submission, sends) = newest_submission(&env).await;
    let stored = env
        .db
        .store
        .submission_raw(submission)
        .await
        .unwrap()
        .unwrap();
    let date = field(&stored, "Date");
    let id = field(&stored, "Message-ID");
    assert_eq!(date.len(), 1, "one Date in the stored message");
    assert!(
        id.len() == 1 && id[0].starts_with('<') && id[0].ends_with("@lists.example.org>"),
        "{id:?}"
    );
    let ids = env
        .db
        .store
        .submissions_by_message_id(id[0].trim_matches(['<', '>']))
        .await
        .unwrap();
    assert_eq!(
        ids,
        [submission],
        "the submission is known by its new Message-ID"
    );
    assert_eq!(sends.len(), 1);

    for copy in copies_of(&env, &sink, sends[0], "Ohne Datum").await {
        assert_eq!(
            field(&copy.data, "Date"),
            date,
            "every copy carries the stored Date"
        );
    }
}

#[tokio::test]
async fn nul_bytes_and_overlong_lines_are_refused_naming_the_line() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let head = format!(
        "From: ole.brandt@example.org\r\nTo: {OLDENFELDE}\r\nSubject: Kaputt\r\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0100\r\n"
    );

    let nul = format!("{head}\r\nZeile eins\r\nZeile\0zwei\r\n");
    let r = submit_raw(&env, &server, "nul.eml", nul.as_bytes());
    assert_eq!((r.stage.as_str(), r.code), ("data", 554), "{r:?}");
    assert!(
        r.text.starts_with("5.6.0") && r.text.contains("NUL") && r.text.contains(" 2 "),
        "{r:?}"
    );

    let long_header = format!(
        "From: ole.brandt@example.org\r\nTo: {OLDENFELDE}\r\nX-Long: {}\r\n\r\nText\r\n",
        "x".repeat(1192)
    );
    let r = submit_raw(&env, &server, "header.eml", long_header.as_bytes());
    assert_eq!((r.stage.as_str(), r.code), ("data", 554), "{r:?}");
    assert!(
        r.text.starts_with("5.6.0")
            && r.text.contains(" 3 ")
            && r.text.contains("1200")
            && r.text.contains("998"),
        "{r:?}"
    );

    let long_body = format!("{head}\r\nkurz\r\nkurz\r\n{}\r\n", "y".repeat(999));
    let r = submit_raw(&env, &server, "body.eml", long_body.as_bytes());
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(
        r.text.starts_with("5.6.0")
            && r.text.contains(" 3 ")
            && r.text.contains("998")
            && r.text.contains("quoted-printable"),
        "{r:?}"
    );
}
