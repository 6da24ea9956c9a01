//! Transcript tests of AUTH, lockouts, per-IP limits, STARTTLS refusals and shutdown.

mod smtp_support;

use smtp_support::*;
use std::sync::Arc;
use verteiler_gateway::smtp::{generate_self_signed, tls_config_from_pem, SmtpConfig, SmtpService};

const PEER: &str = "127.0.0.1:40000";
const REMOTE: &str = "192.0.2.10:40000";

fn tls_service(config: SmtpConfig) -> (Arc<SmtpService<FakeHandler>>, Arc<FakeHandler>) {
    let (cert, key) = generate_self_signed(&["gateway.test".to_string()]).unwrap();
    let tls = tls_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let handler = FakeHandler::new();
    (
        SmtpService::new(Arc::new(config), Some(tls), Arc::clone(&handler)),
        handler,
    )
}

#[tokio::test]
async fn auth_plain_accepts_the_right_password_and_refuses_a_wrong_one() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    let wrong = base64(&format!("\0{LOGIN}\0wrong"));
    let refused = client.expect(&format!("AUTH PLAIN {wrong}"), 535).await;
    assert_eq!(refused.text(), "5.7.8 Authentication credentials invalid");
    let right = base64(&format!("{LOGIN}\0{LOGIN}\0{PASSWORD}"));
    assert_eq!(
        client
            .expect(&format!("AUTH PLAIN {right}"), 235)
            .await
            .text(),
        "2.7.0 Authentication successful"
    );
    client.expect(&format!("AUTH PLAIN {right}"), 503).await;
    let ehlo = client.expect("EHLO again", 250).await;
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "no AUTH once authenticated"
    );
}

#[tokio::test]
async fn auth_plain_with_a_challenge_and_the_empty_response() {
    let (service, handler) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    let challenge = client.expect("AUTH PLAIN", 334).await;
    assert_eq!(challenge.lines, [""]);
    client
        .expect(&base64(&format!("\0{LOGIN}\0{PASSWORD}")), 235)
        .await;

    let mut second = connect(&service, PEER);
    second.hello().await;
    second.expect("AUTH PLAIN =", 501).await;
    second.expect("AUTH PLAIN", 334).await;
    second.expect("=", 501).await;
    second.expect("AUTH PLAIN", 334).await;
    second.expect("*", 501).await;
    second.expect("AUTH PLAIN !!notbase64!!", 501).await;
    assert_eq!(
        handler.auth_calls(),
        1,
        "malformed attempts never reach the handler"
    );
}

#[tokio::test]
async fn auth_login_uses_base64_challenges() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    assert_eq!(
        client.expect("AUTH LOGIN", 334).await.lines,
        ["VXNlcm5hbWU6"]
    );
    assert_eq!(
        client.expect(&base64(LOGIN), 334).await.lines,
        ["UGFzc3dvcmQ6"]
    );
    client.expect(&base64(PASSWORD), 235).await;

    let mut second = connect(&service, PEER);
    second.hello().await;
    assert_eq!(
        second
            .expect(&format!("AUTH LOGIN {}", base64(LOGIN)), 334)
            .await
            .lines,
        ["UGFzc3dvcmQ6"]
    );
    second.expect(&base64("nope"), 535).await;
    second.expect("AUTH CRAM-MD5", 504).await;
}

#[tokio::test]
async fn repeated_failures_lock_out_the_ip_without_asking_the_handler() {
    let (service, handler) = service(SmtpConfig {
        auth_failed_logins_per_client: 3,
        ..test_config()
    });
    let mut client = connect(&service, PEER);
    client.hello().await;
    for attempt in 0..3 {
        let wrong = base64(&format!("\0user{attempt}@x.example\0wrong"));
        client.expect(&format!("AUTH PLAIN {wrong}"), 535).await;
    }
    let right = base64(&format!("\0{LOGIN}\0{PASSWORD}"));
    let locked = client.expect(&format!("AUTH PLAIN {right}"), 454).await;
    assert!(
        locked.text().starts_with("4.7.0 Too many failed logins"),
        "{locked:?}"
    );
    assert_eq!(handler.auth_calls(), 3);

    // The lockout is shared by every session of the server.
    let mut again = connect(&service, PEER);
    again.hello().await;
    again.expect("AUTH LOGIN", 454).await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_from_every_address() {
    let (service, handler) = service(SmtpConfig {
        auth_failures_per_account: 2,
        ..test_config()
    });
    let wrong = base64(&format!("\0{LOGIN}\0wrong"));
    for port in [1, 2] {
        let mut client = connect(&service, &format!("127.0.0.{port}:4000"));
        client.hello().await;
        client.expect(&format!("AUTH PLAIN {wrong}"), 535).await;
    }
    let mut client = connect(&service, "127.0.0.3:4000");
    client.hello().await;
    let right = base64(&format!("\0{}\0{PASSWORD}", LOGIN.to_uppercase()));
    client.expect(&format!("AUTH PLAIN {right}"), 454).await;
    assert_eq!(handler.auth_calls(), 2);
}

#[tokio::test]
async fn without_tls_auth_is_neither_offered_nor_accepted_for_remote_peers() {
    let (service, handler) = tls_service(test_config());
    let mut client = connect(&service, REMOTE);
    let ehlo = client.hello().await;
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"));
    assert!(!ehlo.lines.iter().any(|l| l.starts_with("AUTH")));
    let refused = client
        .expect(
            &format!("AUTH PLAIN {}", base64(&format!("\0{LOGIN}\0{PASSWORD}"))),
            530,
        )
        .await;
    assert_eq!(refused.text(), "5.7.0 Must issue a STARTTLS command first");
    assert_eq!(handler.auth_calls(), 0);

    let (strict, _) = smtp_support::service(SmtpConfig {
        allow_plain_auth_without_tls: false,
        ..test_config()
    });
    let mut local = connect(&strict, PEER);
    let ehlo = local.hello().await;
    assert!(
        !ehlo.lines.iter().any(|l| l.starts_with("AUTH")),
        "demo flag off: not even on loopback"
    );
    local.expect("AUTH LOGIN", 530).await;
}

#[tokio::test]
async fn commands_pipelined_after_starttls_are_refused_and_dropped() {
    let (service, _) = tls_service(test_config());
    let mut client = connect(&service, REMOTE);
    client.hello().await;
    client
        .send(b"STARTTLS\r\nMAIL FROM:<injected@x.example>\r\n")
        .await;
    let refused = client.reply().await;
    assert_eq!(refused.code, 503);
    assert_eq!(
        refused.text(),
        "5.5.1 STARTTLS must be the last command in a pipeline"
    );
    client.expect("RCPT TO:<vorstand@lists.example>", 503).await;
}

#[tokio::test]
async fn starttls_without_a_certificate_is_not_available() {
    let (service, _) = service(test_config());
    let mut client = connect(&service, PEER);
    client.hello().await;
    client.expect("STARTTLS", 502).await;
}

#[tokio::test]
async fn connections_over_the_per_ip_limit_get_421() {
    let (service, _) = service(SmtpConfig {
        max_connections_per_ip: 2,
        ..test_config()
    });
    let mut first = connect(&service, PEER);
    let mut second = connect(&service, "127.0.0.1:40001");
    first.hello().await;
    second.hello().await;
    let mut third = connect(&service, "127.0.0.1:40002");
    let refused = third.reply().await;
    assert_eq!(refused.code, 421);
    assert!(
        refused.text().starts_with("4.7.0 Too many connections"),
        "{refused:?}"
    );
    third.expect_closed().await;
    let mut other_ip = connect(&service, REMOTE);
    other_ip.hello().await;
    first.expect("QUIT", 221).await;
    first.session.await.unwrap();
    let mut fourth = connect(&service, "127.0.0.1:40003");
    fourth.hello().await;
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_and_lets_a_message_finish() {
    let (service, handler) = service(test_config());
    let mut idle = connect(&service, PEER);
    idle.hello().await;
    let mut busy = connect(&service, "127.0.0.2:40000");
    busy.hello().await;
    busy.expect("MAIL FROM:<>", 250).await;
    busy.expect(&format!("RCPT TO:<{OPEN}>"), 250).await;
    busy.expect("DATA", 354).await;
    busy.send(b"Subject: late\r\n\r\n").await;

    service.begin_shutdown();
    let closing = idle.reply().await;
    assert_eq!(closing.code, 421);
    assert!(closing.text().starts_with("4.3.2"), "{closing:?}");
    idle.expect_closed().await;

    busy.send(b"still arriving\r\n.\r\n").await;
    assert_eq!(busy.reply().await.code, 250);
    assert_eq!(busy.reply().await.code, 421, "then the session closes");
    assert_eq!(handler.accepted().len(), 1);
}
