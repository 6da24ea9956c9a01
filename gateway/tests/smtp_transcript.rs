//! Transcript tests of the SMTP session: a client script over an in-memory stream, every
//! reply code asserted (ARCHITECTURE.md, habit 18). Authentication and limits are in `smtp_auth.rs`.

mod smtp_support;

use smtp_support::*;
use verteiler_gateway::smtp::{Reply, SmtpConfig};

const PEER: &str = "127.0.0.1:40000";

#[tokio::test]
async fn greeting_and_ehlo_advertise_the_extensions() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    let ehlo = client.hello().await;
    assert!(ehlo.lines[0].starts_with("gateway.test"), "{ehlo:?}");
    for keyword in [
        "PIPELINING",
        "SIZE 65536",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "AUTH PLAIN LOGIN",
    ] {
        assert!(
            ehlo.lines.iter().any(|l| l == keyword),
            "{keyword} missing in {ehlo:?}"
        );
    }
    assert!(
        !ehlo.lines.iter().any(|l| l == "STARTTLS"),
        "no certificate, no STARTTLS"
    );
    client.expect("HELO old.client", 250).await;
    client.expect("QUIT", 221).await;
    client.expect_closed().await;
}

#[tokio::test]
async fn a_message_reaches_the_handler_and_its_reply_is_the_answer() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.login().await;
    client
        .expect(
            "MAIL FROM:<chair@oldenfelde.example> BODY=8BITMIME SMTPUTF8",
            250,
        )
        .await;
    client.expect(&format!("RCPT TO:<{LIST}>"), 250).await;
    client.expect("DATA", 354).await;
    client.send(b"Subject: hi\r\n\r\nHallo\r\n.\r\n").await;
    let answer = client.reply().await;
    assert_eq!(answer.code, 250);
    assert_eq!(
        answer.lines,
        [
            "2.0.0 accepted for 212 recipients",
            "2.0.0 delivery starts in 2 min"
        ]
    );
    let accepted = handler.accepted();
    assert_eq!(accepted.len(), 1);
    let first = &accepted[0];
    assert_eq!(first.envelope.mail_from, "chair@oldenfelde.example");
    assert_eq!(first.envelope.rcpt_to, [LIST]);
    assert_eq!(first.message, b"Subject: hi\r\n\r\nHallo\r\n");
    assert_eq!(first.info.helo.as_deref(), Some("client.test"));
    assert_eq!(first.info.identity.as_ref().map(|i| i.member_id), Some(7));
    assert!(!first.info.tls);
    assert_eq!(first.info.peer.to_string(), PEER);
    client.expect("QUIT", 221).await;
}

#[tokio::test]
async fn pipelined_mail_rcpt_rcpt_data_are_answered_in_order() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.login().await;
    client
        .send(format!("MAIL FROM:<chair@oldenfelde.example>\r\nRCPT TO:<{LIST}>\r\nRCPT TO:<{OPEN}>\r\nDATA\r\n").as_bytes())
        .await;
    for code in [250, 250, 250, 354] {
        assert_eq!(client.reply().await.code, code);
    }
    client
        .send(b"Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")
        .await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(
        client.reply().await.code,
        250,
        "NOOP pipelined after the data"
    );
    assert_eq!(handler.accepted()[0].envelope.rcpt_to, [LIST, OPEN]);
}

#[tokio::test]
async fn dot_unstuffing_and_line_endings_give_the_handler_the_right_bytes() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("DATA", 354).await;
    client
        .send(b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\nbare lf\nend\r\n.\r\n")
        .await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(
        handler.accepted()[0].message,
        b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nbare lf\r\nend\r\n"
    );
}

#[tokio::test]
async fn without_auth_only_open_recipients_are_taken() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    let refused = client.expect(&format!("RCPT TO:<{LIST}>"), 530).await;
    assert_eq!(refused.text(), "5.7.0 Authentication required");
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("DATA", 354).await;
    client.send(b"bounce\r\n.\r\n").await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(handler.accepted()[0].envelope.rcpt_to, [OPEN]);
    assert!(handler.accepted()[0].info.identity.is_none());
}

#[tokio::test]
async fn unknown_recipients_get_the_handlers_refusal() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.login().await;
    client
        .expect("MAIL FROM:<chair@oldenfelde.example>", 250)
        .await;
    let refused = client.expect("RCPT TO:<nope@lists.example>", 550).await;
    assert_eq!(refused.text(), "5.1.1 No such list: nope@lists.example");
}

#[tokio::test]
async fn commands_out_of_order_get_503() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    assert_eq!(client.reply().await.code, 220);
    assert_eq!(
        client.expect("MAIL FROM:<a@b.example>", 503).await.text(),
        "5.5.1 Send EHLO or HELO first"
    );
    client.expect("EHLO client.test", 250).await;
    client.expect("DATA", 503).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 503).await;
    client.expect("MAIL FROM:<a@b.example>", 250).await;
    client.expect("MAIL FROM:<a@b.example>", 503).await;
    assert_eq!(
        client.expect("DATA", 503).await.text(),
        "5.5.1 Send RCPT TO first"
    );
}

#[tokio::test]
async fn rset_clears_the_transaction() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("RSET", 250).await;
    client.expect("DATA", 503).await;
    client.expect("MAIL FROM:<>", 250).await;
}

#[tokio::test]
async fn small_verbs_answer_as_documented() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    assert_eq!(
        client.expect("VRFY chair", 252).await.lines[0].get(..5),
        Some("2.5.0")
    );
    client.expect("HELP", 214).await;
    client.expect("NOOP", 250).await;
    client.expect("EXPN vorstand", 502).await;
    client.expect("QUIT", 221).await;
}

#[tokio::test]
async fn oversize_messages_get_552_and_never_reach_the_handler() {
    let (service, handler) = service(SmtpConfig {
        max_message_bytes: 1000,
        ..test_config()
    });
    let mut client = connect(&service, PEER);
    client.hello().await;
    let declared = client.expect("MAIL FROM:<> SIZE=5000", 552).await;
    assert!(declared.text().starts_with("5.3.4 Message too big"));
    client.expect("MAIL FROM:<> SIZE=900", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("DATA", 354).await;
    let line = format!("{}\r\n", "x".repeat(98));
    for _ in 0..2000 {
        client.send(line.as_bytes()).await;
    }
    client.send(b".\r\n").await;
    let answer = client.reply().await;
    assert_eq!(answer.code, 552);
    assert!(
        answer.text().starts_with("5.3.4 Message too big"),
        "{answer:?}"
    );
    assert!(handler.accepted().is_empty());
    client.expect("NOOP", 250).await;
    client.expect("DATA", 503).await;
}

#[tokio::test]
async fn recipients_over_the_limit_get_452() {
    let (service, _) = service(SmtpConfig {
        max_recipients: 2,
        ..test_config()
    });
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.login().await;
    client
        .expect("MAIL FROM:<chair@oldenfelde.example>", 250)
        .await;
    client.expect(&format!("RCPT TO:<{LIST}>"), 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect(&format!("RCPT TO:<{LIST}>"), 250).await;
    let refused = client.expect("RCPT TO:<third@lists.example>", 452).await;
    assert!(
        refused.text().starts_with("4.5.3 Too many recipients"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn header_injection_through_envelope_addresses_is_refused() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client
        .send(b"MAIL FROM:<victim@x.example>\rBcc: everyone@lists.example\r\n")
        .await;
    assert_eq!(
        client.reply().await.text(),
        "5.1.7 Bad sender address: bare CR"
    );
    client.send(b"MAIL FROM:<a\x00b@x.example>\r\n").await;
    assert_eq!(client.reply().await.code, 501);
    client.send(b"MAIL FROM:<\"x>Bcc: y\"@x.example>\r\n").await;
    assert_eq!(
        client.reply().await.text(),
        "5.1.7 Bad sender address syntax"
    );
    client.expect("MAIL FROM:<j\u{f6}rg@x.example>", 553).await;
    client
        .expect("MAIL FROM:<j\u{f6}rg@x.example> SMTPUTF8", 250)
        .await;
    client.send(b"RCPT TO:<a@b.example>\rDATA\r\n").await;
    assert_eq!(
        client.reply().await.text(),
        "5.1.3 Bad recipient address: bare CR"
    );
    assert_eq!(
        client.expect("RCPT TO:<a b@c.example>", 501).await.lines[0].get(..5),
        Some("5.1.3")
    );
}

#[tokio::test]
async fn garbage_gets_500s_and_then_421() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    assert_eq!(client.reply().await.code, 220);
    for index in 0..10 {
        let answer = client
            .cmd(&format!("\u{1}\u{2}GARBAGE{index} \u{ff}"))
            .await;
        assert_eq!(answer.code, 500, "{answer:?}");
        assert!(answer.text().starts_with("5.5.2"));
    }
    let closing = client.reply().await;
    assert_eq!(closing.code, 421);
    assert!(closing.text().starts_with("4.7.0"));
    client.expect_closed().await;
}

#[tokio::test]
async fn a_success_resets_the_error_count() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    for _ in 0..3 {
        for _ in 0..9 {
            client.expect("BOGUS", 500).await;
        }
        client.expect("NOOP", 250).await;
    }
}

#[tokio::test]
async fn a_line_over_the_limit_gets_500_and_the_session_goes_on() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    let long = format!("NOOP {}", "a".repeat(10_000));
    let answer = client.expect(&long, 500).await;
    assert_eq!(answer.text(), "5.5.2 Line too long");
    client.expect("NOOP", 250).await;
}

#[tokio::test]
async fn bare_lf_command_lines_are_understood() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    assert_eq!(client.reply().await.code, 220);
    client.send(b"EHLO lf.client\nNOOP\n").await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(client.reply().await.code, 250);
}

#[tokio::test]
async fn a_client_leaving_mid_data_stores_nothing() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("DATA", 354).await;
    client
        .send(b"Subject: half\r\n\r\nand then the line drops")
        .await;
    client.hang_up().await;
    assert!(handler.accepted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_is_closed_with_421() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    assert_eq!(client.reply().await.code, 220);
    let timeout = client.reply().await;
    assert_eq!(timeout.code, 421);
    assert!(timeout.text().starts_with("4.4.2"), "{timeout:?}");
    client.expect_closed().await;
}

#[tokio::test]
async fn bdat_delivers_chunks_as_one_message() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.send(b"BDAT 7\r\nSubject").await;
    assert_eq!(client.reply().await.code, 250);
    client.send(b"BDAT 5 LAST\r\n: x\r\n").await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(handler.accepted()[0].message, b"Subject: x\r\n");
    client.send(b"BDAT 3 LAST\r\nabcNOOP\r\n").await;
    assert_eq!(
        client.reply().await.code,
        503,
        "no envelope: chunk read and dropped"
    );
    assert_eq!(client.reply().await.code, 250);
}

#[tokio::test]
async fn a_refused_message_carries_the_handlers_words() {
    let (service, handler) = service(test_config());
    *handler.reply.lock().unwrap() =
        Reply::new(550, (5, 7, 1), "From: is not one of your addresses");
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("MAIL FROM:<>", 250).await;
    client.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    client.expect("DATA", 354).await;
    client.send(b"x\r\n.\r\n").await;
    let answer = client.reply().await;
    assert_eq!(
        (answer.code, answer.text()),
        (550, "5.7.1 From: is not one of your addresses".to_string())
    );
}
