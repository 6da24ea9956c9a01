//! The relay transport over real sockets, against the capturing SMTP sink of
//! `verteiler-test-sink`: it records connections, AUTH, envelopes and (dot-unstuffed) data, and
//! answers as scripted.

use std::time::Duration;
use tokio::net::TcpListener;
use verteiler_gateway::delivery::{Outcome, Relay, RelaySettings, RelayTlsMode, Transport};
use verteiler_test_sink::{self_signed, Script, Sink};

const RETURN_PATH: &str = "bounce+k3y@lists.oldenfelde.example";
const MEMBER: &str = "mitglied@example.org";

/// Relay settings for this sink: no TLS, a short budget.
fn settings(sink: &Sink) -> RelaySettings {
    RelaySettings {
        tls: RelayTlsMode::None,
        hello_name: "gateway.test".into(),
        timeout: Duration::from_secs(10),
        ..RelaySettings::new("127.0.0.1", sink.port())
    }
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Vorstand <vorstand@lists.oldenfelde.example>\r\nTo: <{MEMBER}>\r\n\
         Subject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Liebe Mitglieder,\r\n.Punkt am Zeilenanfang\r\n..zwei Punkte\r\n.\r\n\
         Grüße aus Oldenfelde\r\n"
    )
    .into_bytes()
}

async fn send(relay: &Relay, message: Vec<u8>) -> Outcome {
    Transport::Relay(relay.clone())
        .send("d1", RETURN_PATH, MEMBER, message)
        .await
}

#[tokio::test]
async fn a_relayed_copy_arrives_byte_identical_with_its_envelope() {
    let sink = Sink::start(Script::default()).await;
    let relay = Relay::new(settings(&sink)).unwrap();
    let original = message("Einladung");

    assert_eq!(send(&relay, original.clone()).await, Outcome::Sent);

    let messages = sink.seen(|s| s.messages.clone());
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].mail_from, RETURN_PATH);
    assert_eq!(messages[0].rcpt_to, [MEMBER]);
    assert_eq!(
        String::from_utf8_lossy(&messages[0].data),
        String::from_utf8_lossy(&original)
    );
    assert_eq!(messages[0].data, original);
}

/// On one thread, as here, the count is exact; on several, lettre's pool sometimes takes the
/// connection back only after the next send has opened another, so a worker may hold two.
#[tokio::test]
async fn sends_in_a_row_share_one_connection() {
    let sink = Sink::start(Script::default()).await;
    let relay = Relay::new(settings(&sink)).unwrap();

    for n in 0..5 {
        assert_eq!(
            send(&relay, message(&format!("Nummer {n}"))).await,
            Outcome::Sent
        );
    }

    assert_eq!(sink.seen(|s| s.messages.len()), 5);
    assert_eq!(sink.seen(|s| s.connections), 1);
}

#[tokio::test]
async fn a_4xx_reply_defers_with_the_code_in_the_text() {
    let sink = Sink::start(Script {
        rcpt_reply: "450 4.2.1 try later".into(),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(settings(&sink)).unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    assert_eq!(
        outcome,
        Outcome::Temporary("relay answered 450 4.2.1 try later".into())
    );
    assert_eq!(sink.seen(|s| s.messages.len()), 0);
}

#[tokio::test]
async fn a_5xx_reply_fails_the_copy() {
    let sink = Sink::start(Script {
        rcpt_reply: "550 5.1.1 no such user".into(),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(settings(&sink)).unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    assert_eq!(
        outcome,
        Outcome::Permanent("relay answered 550 5.1.1 no such user".into())
    );
}

#[tokio::test]
async fn a_5xx_after_the_data_fails_the_copy_and_the_next_one_still_goes() {
    let sink = Sink::start(Script {
        data_reply: "554 5.7.1 looks like spam".into(),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(settings(&sink)).unwrap();

    let outcome = send(&relay, message("Einladung")).await;
    assert_eq!(
        outcome,
        Outcome::Permanent("relay answered 554 5.7.1 looks like spam".into())
    );
    // A refusal after the final dot ends the transaction, not the session (RFC 5321 4.1.1.4):
    // the pipelining client keeps the connection for the next copy.
    let again = send(&relay, message("Einladung")).await;
    assert!(matches!(again, Outcome::Permanent(_)), "{again:?}");
    assert_eq!(sink.seen(|s| s.connections), 1);
}

#[tokio::test]
async fn a_refused_connection_defers() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let relay = Relay::new(RelaySettings {
        tls: RelayTlsMode::None,
        ..RelaySettings::new("127.0.0.1", port)
    })
    .unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("refused"), "{text}");
}

#[tokio::test]
async fn auth_plain_credentials_reach_the_relay() {
    let sink = Sink::start(Script {
        auth: Some(("relay-user".into(), "s3cret pass".into())),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        credentials: Some(("relay-user".into(), "s3cret pass".into())),
        ..settings(&sink)
    })
    .unwrap();

    assert_eq!(send(&relay, message("Einladung")).await, Outcome::Sent);

    assert_eq!(
        sink.seen(|s| s.auth.clone()),
        [("relay-user".to_string(), "s3cret pass".to_string())]
    );
    assert_eq!(sink.seen(|s| s.messages.len()), 1);
}

#[tokio::test]
async fn a_wrong_relay_password_defers_instead_of_failing_the_copy() {
    let sink = Sink::start(Script {
        auth: Some(("relay-user".into(), "s3cret pass".into())),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        credentials: Some(("relay-user".into(), "wrong".into())),
        ..settings(&sink)
    })
    .unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains("535 5.7.8 credentials invalid"), "{text}");
    assert_eq!(sink.seen(|s| s.messages.len()), 0);
}

#[tokio::test]
async fn missing_credentials_defer_instead_of_failing_the_copy() {
    let sink = Sink::start(Script {
        auth: Some(("relay-user".into(), "s3cret pass".into())),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(settings(&sink)).unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains("530 5.7.0"), "{text}");
}

#[tokio::test]
async fn starttls_then_auth_then_the_message() {
    let sink = Sink::start(Script {
        starttls: Some(self_signed()),
        auth: Some(("relay-user".into(), "s3cret pass".into())),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        host: "localhost".into(),
        tls: RelayTlsMode::Starttls,
        accept_invalid_certs: true,
        credentials: Some(("relay-user".into(), "s3cret pass".into())),
        ..settings(&sink)
    })
    .unwrap();
    let original = message("Einladung");

    assert_eq!(send(&relay, original.clone()).await, Outcome::Sent);

    assert_eq!(sink.seen(|s| s.tls_sessions), 1);
    assert_eq!(sink.seen(|s| s.auth.len()), 1);
    assert_eq!(sink.seen(|s| s.messages[0].data.clone()), original);
}

#[tokio::test]
async fn a_relay_without_starttls_is_not_used_in_clear() {
    let sink = Sink::start(Script::default()).await;
    let relay = Relay::new(RelaySettings {
        tls: RelayTlsMode::Starttls,
        accept_invalid_certs: true,
        ..settings(&sink)
    })
    .unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains("STARTTLS"), "{text}");
    assert_eq!(sink.seen(|s| s.messages.len()), 0);
}

#[tokio::test]
async fn an_untrusted_certificate_defers() {
    let sink = Sink::start(Script {
        starttls: Some(self_signed()),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        host: "localhost".into(),
        tls: RelayTlsMode::Starttls,
        ..settings(&sink)
    })
    .unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(
        text.contains("TLS failed") && text.contains("certificate"),
        "{text}"
    );
    assert_eq!(sink.seen(|s| s.messages.len()), 0);
}

#[tokio::test]
async fn implicit_tls_from_the_first_byte() {
    let sink = Sink::start(Script {
        implicit_tls: Some(self_signed()),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        host: "localhost".into(),
        tls: RelayTlsMode::Implicit,
        accept_invalid_certs: true,
        ..settings(&sink)
    })
    .unwrap();

    assert_eq!(send(&relay, message("Einladung")).await, Outcome::Sent);
    assert_eq!(sink.seen(|s| s.tls_sessions), 1);
}

#[tokio::test]
async fn a_relay_that_stops_answering_defers_and_the_next_copy_uses_a_new_connection() {
    let sink = Sink::start(Script {
        stall_first_data: true,
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        timeout: Duration::from_millis(500),
        ..settings(&sink)
    })
    .unwrap();

    let outcome = send(&relay, message("Einladung")).await;
    let Outcome::Temporary(text) = outcome else {
        panic!("expected Temporary, got {outcome:?}");
    };
    assert!(text.contains("did not finish"), "{text}");

    assert_eq!(send(&relay, message("Einladung")).await, Outcome::Sent);
    assert_eq!(sink.seen(|s| s.connections), 2);
    assert_eq!(sink.seen(|s| s.messages.len()), 1);
}
