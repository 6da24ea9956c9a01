//! The inbound listener (`smtp.inbound_listen`, port 25 in production) against the real binary
//! over real sockets: other mail servers reach the bounce address of a copy there, without
//! AUTH; a list address, an unknown address and another domain are refused with 550 5.7.1 and
//! nothing is stored; AUTH is neither offered nor taken; the listener is off by default.

mod support;

use std::time::Duration;
use support::*;

/// The VERP return paths of the copies the demo's outbox transport wrote.
fn return_paths(env: &Env) -> Vec<String> {
    let dir = env.path("data/outbox");
    let mut paths: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('d'))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let head = text.split("\r\n\r\n").next()?.to_string();
            head.split("\r\n")
                .find_map(|l| l.strip_prefix("Return-Path: "))
                .map(|p| p.trim_matches(['<', '>']).to_string())
        })
        .collect();
    paths.sort();
    paths
}

#[tokio::test]
async fn the_inbound_listener_takes_a_copys_bounce_and_nothing_else() {
    let Some((env, server)) = demo_server(
        "python3",
        &[
            ("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0"),
            ("VERTEILER_SMTP__INBOUND_LISTEN", "127.0.0.1:0"),
        ],
    )
    .await
    else {
        return;
    };
    let inbound = server.inbound().expect("serve printed the inbound address");
    assert_ne!(inbound, server.smtp());
    let store = &env.db.store;
    let (send, _) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    let submissions = store.count_submissions().await.unwrap();
    let totals = store.delivery_totals(send).await.unwrap();

    // EHLO offers STARTTLS (the demo has a certificate) but no AUTH, and AUTH is refused.
    let mut client = Raw::connect(&inbound).await;
    let ehlo = client.cmd("EHLO mx.example.net").await;
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    // "\0ole.brandt@example.org\0oldenfelde-vorsitz": the chair's real credentials.
    let auth = client
        .cmd("AUTH PLAIN AG9sZS5icmFuZHRAZXhhbXBsZS5vcmcAb2xkZW5mZWxkZS12b3JzaXR6")
        .await;
    assert!(auth.starts_with("503 5.5.1 "), "{auth}");
    assert!(client.cmd("AUTH LOGIN").await.starts_with("503 5.5.1 "));

    // A list, an unknown address, a decision address and another domain: one and the same
    // refusal, looked up nowhere, and DATA finds no recipient.
    let mut refusals = Vec::new();
    for rcpt in [
        "oldenfelde@lists.example.org",
        "gibtsnicht@lists.example.org",
        "approve+1@lists.example.org",
        "someone@example.net",
    ] {
        let mail = client.cmd("MAIL FROM:<sender@example.net>").await;
        assert!(mail.starts_with("250"), "{mail}");
        refusals.push(client.cmd(&format!("RCPT TO:<{rcpt}>")).await);
        let data = client.cmd("DATA").await;
        assert!(data.starts_with('5'), "no recipient, no DATA: {data}");
        assert!(client.cmd("RSET").await.starts_with("250"));
    }
    assert!(refusals[0].starts_with("550 5.7.1 "), "{refusals:?}");
    assert!(refusals.iter().all(|r| r == &refusals[0]), "{refusals:?}");
    assert!(client.cmd("QUIT").await.starts_with("221"));

    // The same with smtplib, as a mail server would send it, with and without STARTTLS.
    for extra in [&[][..], &["--no-tls"][..]] {
        let r = smtplib_send(&inbound, "-", "", "", "oldenfelde@lists.example.org", extra);
        assert_eq!((r.stage.as_str(), r.code), ("rcpt", 550), "{r:?}");
        assert!(r.text.starts_with("5.7.1 "), "{r:?}");
    }
    let r = smtplib_send(
        &inbound,
        "-",
        "",
        "",
        "bounce+0000000000000000@lists.example.org",
        &["--dsn", "5.1.1"],
    );
    assert_eq!((r.stage.as_str(), r.code), ("rcpt", 550), "{r:?}");
    assert_eq!(store.count_submissions().await.unwrap(), submissions);
    assert_eq!(store.delivery_totals(send).await.unwrap(), totals);

    // A remote server's DSN to one copy's return path is taken and recorded as a bounce.
    let paths = return_paths(&env);
    assert!(paths.len() > 2, "{paths:?}");
    let r = smtplib_send(&inbound, "-", "", "", &paths[0], &["--dsn", "5.1.1"]);
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let after = store.delivery_totals(send).await.unwrap();
    assert_eq!((after.bounced, after.sent), (1, totals.sent - 1));
    // The submission listener still takes bounces, for a relay in front that hands them on.
    let r = smtplib_send(&server.smtp(), "-", "", "", &paths[1], &["--dsn", "5.1.1"]);
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let after = store.delivery_totals(send).await.unwrap();
    assert_eq!((after.bounced, after.sent), (2, totals.sent - 2));
    assert_eq!(store.count_submissions().await.unwrap(), submissions);
}

#[tokio::test]
async fn there_is_no_inbound_listener_unless_configured() {
    let env = Env::new().await;
    let server = env.serve(&["--demo"]);
    assert_eq!(server.inbound(), None, "{:?}", server.printed);
    assert!(server
        .printed
        .iter()
        .any(|l| l.starts_with("verteiler: smtp listening on ")));
}
