//! Random sessions against the SMTP session (issue 4, "Bad input"): mixes of valid commands,
//! garbage bytes, odd line endings, long lines and message bodies. Asserts that no session
//! panics, every session ends, every reply line is well-formed, nothing follows a closing
//! 421/221, and the handler never sees a message over the limit.
//!
//! `PROPTEST_CASES` sets the number of sessions (default 300, a few seconds in debug).

mod smtp_support;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use smtp_support::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verteiler_gateway::smtp::{generate_self_signed, tls_config_from_pem, SmtpConfig, SmtpService};

const LIMIT: usize = 2000;

fn config() -> SmtpConfig {
    SmtpConfig {
        hostname: "fuzz.test".into(),
        max_message_bytes: LIMIT,
        max_recipients: 3,
        max_line_length: 512,
        max_session_bytes: 64 * 1024,
        max_errors: 20,
        command_timeout: Duration::from_secs(5),
        data_timeout: Duration::from_secs(10),
        allow_plain_auth_without_tls: true,
        ..SmtpConfig::default()
    }
}

fn tls() -> Arc<rustls::ServerConfig> {
    static TLS: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    TLS.get_or_init(|| {
        let (cert, key) = generate_self_signed(&["fuzz.test".to_string()]).unwrap();
        tls_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap()
    })
    .clone()
}

fn command() -> impl Strategy<Value = String> {
    let good_plain = format!("AUTH PLAIN {}", base64(&format!("\0{LOGIN}\0{PASSWORD}")));
    prop::sample::select(vec![
        "EHLO fuzz.client".to_string(),
        "HELO fuzz.client".to_string(),
        "MAIL FROM:<chair@oldenfelde.example>".to_string(),
        "MAIL FROM:<> BODY=8BITMIME SIZE=100".to_string(),
        "MAIL FROM:<a@b> SIZE=99999999".to_string(),
        "mail from: <x@y.example> SMTPUTF8".to_string(),
        format!("RCPT TO:<{LIST}>"),
        format!("RCPT TO:<{OPEN}>"),
        "RCPT TO:<nobody@lists.example>".to_string(),
        "RCPT TO:<>".to_string(),
        "DATA".to_string(),
        "BDAT 10".to_string(),
        "BDAT 4 LAST".to_string(),
        "RSET".to_string(),
        "NOOP".to_string(),
        "VRFY chair".to_string(),
        "EXPN list".to_string(),
        "HELP".to_string(),
        "STARTTLS".to_string(),
        good_plain,
        "AUTH PLAIN".to_string(),
        "AUTH PLAIN =".to_string(),
        "AUTH LOGIN".to_string(),
        "AUTH XOAUTH2 abc".to_string(),
        base64(LOGIN),
        base64("wrong"),
        "*".to_string(),
        ".".to_string(),
        "..".to_string(),
        "QUIT".to_string(),
    ])
}

fn line_ending() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["\r\n", "\r\n", "\r\n", "\n", "\r", "", "\r\r\n"])
}

/// A whole transaction, so random sessions also reach DATA and the handler.
fn transaction() -> impl Strategy<Value = Vec<u8>> {
    let good_plain = format!(
        "AUTH PLAIN {}\r\n",
        base64(&format!("\0{LOGIN}\0{PASSWORD}"))
    );
    (
        any::<bool>(),
        prop::sample::select(vec![LIST, OPEN]),
        body(),
    )
        .prop_map(move |(auth, rcpt, body)| {
            let auth = if auth { good_plain.as_str() } else { "" };
            let mut bytes = format!(
                "{auth}MAIL FROM:<chair@oldenfelde.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n"
            )
            .into_bytes();
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(b"\r\n.\r\n");
            bytes
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let parts = vec![
        "Subject: x\r\n",
        "\r\n",
        "..dot\r\n",
        ".\r\n",
        "\n.\n",
        "\r.\r",
        "body\n",
        "\r\n.\r\n",
    ];
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(parts).prop_map(|p| p.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..60),
            1 => (1usize..1500).prop_map(|n| vec![b'x'; n]),
        ],
        0..30,
    )
    .prop_map(|parts| parts.concat())
}

/// One piece of a random session.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => (command(), line_ending()).prop_map(|(c, e)| format!("{c}{e}").into_bytes()),
        3 => transaction(),
        2 => prop::collection::vec(any::<u8>(), 0..120),
        2 => ("[ -~]{0,80}", line_ending()).prop_map(|(t, e)| format!("{t}{e}").into_bytes()),
        1 => (1usize..3000, any::<u8>()).prop_map(|(n, b)| {
            let mut line = vec![b; n];
            line.extend_from_slice(b"\r\n");
            line
        }),
        2 => body(),
    ]
}

/// Checks the server's bytes; `Err` names the first problem.
fn check_transcript(output: &[u8]) -> Result<(), String> {
    let mut rest = output;
    let mut closed = false;
    let mut group_code: Option<&[u8]> = None;
    while !rest.is_empty() {
        if closed {
            return Err(format!(
                "bytes after the closing reply: {:?}",
                String::from_utf8_lossy(rest)
            ));
        }
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("reply line without CRLF")?;
        let line = &rest[..end];
        rest = &rest[end + 2..];
        let text = std::str::from_utf8(line).map_err(|_| "reply is not UTF-8")?;
        let bytes = text.as_bytes();
        let well_formed = bytes.len() >= 4
            && bytes[..3].iter().all(u8::is_ascii_digit)
            && (b'2'..=b'5').contains(&bytes[0])
            && (bytes[3] == b' ' || bytes[3] == b'-')
            && !text.chars().any(char::is_control);
        if !well_formed {
            return Err(format!("malformed reply line {text:?}"));
        }
        if group_code.is_some_and(|code| code != &bytes[..3]) {
            return Err(format!(
                "code changes inside a multi-line reply at {text:?}"
            ));
        }
        if bytes[3] == b'-' {
            group_code = Some(&line[..3]);
            continue;
        }
        group_code = None;
        if text.starts_with("220 2.0.0 Ready to start TLS") {
            // What follows is the TLS handshake, not SMTP text.
            return Ok(());
        }
        closed = text.starts_with("421 ") || text.starts_with("221 ");
    }
    match group_code {
        Some(_) => Err("transcript ends inside a multi-line reply".to_string()),
        None => Ok(()),
    }
}

/// Runs one random session to its end; returns the server's bytes.
fn run_session(input: Vec<u8>, handler: Arc<FakeHandler>) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let service = SmtpService::new(Arc::new(config()), Some(tls()), handler);
        let (client, server) = tokio::io::duplex(8 * 1024);
        let session = tokio::spawn(async move {
            let peer = "127.0.0.1:50000".parse().unwrap();
            let local = "127.0.0.1:587".parse().unwrap();
            service.handle_connection(server, peer, local, false).await;
        });
        let (mut reader, mut writer) = tokio::io::split(client);
        let write = async move {
            // The server may close first (QUIT, 421): later writes may fail, which is fine.
            let _ = writer.write_all(&input).await;
            let _ = writer.shutdown().await;
        };
        let read = async move {
            let mut output = Vec::new();
            let _ = reader.read_to_end(&mut output).await;
            output
        };
        let ((), output) = tokio::join!(write, read);
        session.await.expect("the session task must not panic");
        output
    })
}

#[test]
fn random_sessions_never_panic_and_always_reply_well_formed() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let started = std::time::Instant::now();
    // How often the random sessions reached the interesting states, to see they do.
    let reached = std::cell::RefCell::new([0usize; 5]);
    // Most sessions start politely, so the states behind EHLO are reached often.
    let strategy = (
        prop::bool::weighted(0.8),
        prop::collection::vec(piece(), 1..40),
    )
        .prop_map(|(ehlo, pieces)| {
            let mut input = if ehlo {
                b"EHLO fuzz.client\r\n".to_vec()
            } else {
                Vec::new()
            };
            input.extend(pieces.concat());
            input
        });
    runner
        .run(&strategy, |input| {
            let handler = FakeHandler::new();
            let output = run_session(input, Arc::clone(&handler));
            check_transcript(&output).map_err(TestCaseError::fail)?;
            let text = String::from_utf8_lossy(&output);
            let mut reached = reached.borrow_mut();
            for (index, marker) in ["\r\n235 ", "\r\n354 ", "\r\n421 ", "Ready to start TLS"]
                .iter()
                .enumerate()
            {
                reached[index] += usize::from(text.contains(marker));
            }
            reached[4] += usize::from(!handler.accepted().is_empty());
            for accepted in handler.accepted() {
                prop_assert!(
                    accepted.message.len() <= LIMIT,
                    "handler got {} bytes",
                    accepted.message.len()
                );
            }
            Ok(())
        })
        .unwrap();
    let [authenticated, data, closed_421, starttls, delivered] = reached.into_inner();
    eprintln!(
        "{cases} random SMTP sessions in {:?}: {authenticated} authenticated, {data} reached DATA, \
         {delivered} handed a message over, {closed_421} closed with 421, {starttls} started TLS",
        started.elapsed()
    );
}

#[test]
fn the_transcript_checker_catches_bad_replies() {
    assert!(check_transcript(b"220 ok\r\n250-a\r\n250 b\r\n221 2.0.0 Bye\r\n").is_ok());
    assert!(check_transcript(b"250-a\r\n550 b\r\n").is_err());
    assert!(check_transcript(b"221 Bye\r\n250 more\r\n").is_err());
    assert!(check_transcript(b"25 short\r\n").is_err());
    assert!(check_transcript(b"250 no crlf").is_err());
}
