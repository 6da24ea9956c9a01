//! The relay transport over real sockets, against a small SMTP sink written here with tokio:
//! it records connections, AUTH, envelopes and (dot-unstuffed) data, and answers as scripted.

use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use verteiler_gateway::delivery::{Outcome, Relay, RelaySettings, RelayTlsMode, Transport};
use verteiler_gateway::smtp::{generate_self_signed, tls_config_from_pem};

const RETURN_PATH: &str = "bounce+k3y@lists.oldenfelde.example";
const MEMBER: &str = "mitglied@example.org";

/// How the sink answers.
#[derive(Clone)]
struct Script {
    rcpt_reply: &'static str,
    data_reply: &'static str,
    /// Offer AUTH PLAIN and require exactly these before MAIL.
    auth: Option<(&'static str, &'static str)>,
    /// Offer STARTTLS with this certificate.
    starttls: Option<Arc<ServerConfig>>,
    /// Speak TLS from the first byte with this certificate.
    implicit_tls: Option<Arc<ServerConfig>>,
    /// Never answer the end of data of the first message.
    stall_first_data: bool,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            rcpt_reply: "250 2.1.5 ok",
            data_reply: "250 2.0.0 queued as 1",
            auth: None,
            starttls: None,
            implicit_tls: None,
            stall_first_data: false,
        }
    }
}

/// One message as the sink stored it.
#[derive(Debug, Clone)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Seen {
    connections: usize,
    tls_sessions: usize,
    auth: Vec<(String, String)>,
    messages: Vec<Received>,
    stalled: bool,
}

struct Sink {
    address: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sink {
    async fn start(script: Script) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    seen.lock().unwrap().connections += 1;
                    tokio::spawn(serve_connection(tcp, script.clone(), Arc::clone(&seen)));
                }
            }
        });
        Sink {
            address,
            seen,
            task,
        }
    }

    fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.lock().unwrap())
    }

    /// Relay settings for this sink: no TLS, a short budget.
    fn settings(&self) -> RelaySettings {
        RelaySettings {
            tls: RelayTlsMode::None,
            hello_name: "gateway.test".into(),
            timeout: Duration::from_secs(10),
            ..RelaySettings::new("127.0.0.1", self.address.port())
        }
    }
}

enum End {
    Closed,
    StartTls,
}

async fn serve_connection(tcp: TcpStream, script: Script, seen: Arc<Mutex<Seen>>) {
    if let Some(config) = script.implicit_tls.clone() {
        let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await else {
            return;
        };
        seen.lock().unwrap().tls_sessions += 1;
        let mut tls = BufReader::new(tls);
        if write(&mut tls, "220 sink.test ESMTP\r\n").await.is_ok() {
            let _ = converse(&mut tls, &script, &seen, true).await;
        }
        return;
    }
    let mut plain = BufReader::new(tcp);
    if write(&mut plain, "220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    if let Ok(End::StartTls) = converse(&mut plain, &script, &seen, false).await {
        let config = script.starttls.clone().expect("STARTTLS only when offered");
        let Ok(tls) = TlsAcceptor::from(config).accept(plain.into_inner()).await else {
            return;
        };
        seen.lock().unwrap().tls_sessions += 1;
        let _ = converse(&mut BufReader::new(tls), &script, &seen, true).await;
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// Between `<` and `>` of `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn path(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].to_string()
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    script: &Script,
    seen: &Mutex<Seen>,
    encrypted: bool,
) -> std::io::Result<End> {
    let mut authenticated = false;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    loop {
        let mut raw = Vec::new();
        if stream.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(End::Closed);
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                mail_from = None;
                rcpt_to.clear();
                let mut reply = String::from("250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n");
                if script.starttls.is_some() && !encrypted {
                    reply.push_str("250-STARTTLS\r\n");
                }
                if script.auth.is_some() {
                    reply.push_str("250-AUTH PLAIN\r\n");
                }
                reply.push_str("250 ENHANCEDSTATUSCODES\r\n");
                write(stream, &reply).await?;
            }
            "STARTTLS" => {
                write(stream, "220 2.0.0 ready for TLS\r\n").await?;
                return Ok(End::StartTls);
            }
            "AUTH" => {
                let mut words = line.split_whitespace().skip(1);
                let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
                let initial = match words.next() {
                    Some(initial) => initial.to_string(),
                    None => {
                        write(stream, "334 \r\n").await?;
                        let mut answer = String::new();
                        stream.read_line(&mut answer).await?;
                        answer.trim_end().to_string()
                    }
                };
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(initial)
                    .unwrap_or_default();
                let parts: Vec<String> = decoded
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                let (user, password) = match parts.as_slice() {
                    [_authzid, user, password] => (user.clone(), password.clone()),
                    _ => (String::new(), String::new()),
                };
                seen.lock()
                    .unwrap()
                    .auth
                    .push((user.clone(), password.clone()));
                let expected = script.auth.map(|(u, p)| (u.to_string(), p.to_string()));
                if mechanism == "PLAIN" && expected == Some((user, password)) {
                    authenticated = true;
                    write(stream, "235 2.7.0 authenticated\r\n").await?;
                } else {
                    write(stream, "535 5.7.8 credentials invalid\r\n").await?;
                }
            }
            "MAIL" if script.auth.is_some() && !authenticated => {
                write(stream, "530 5.7.0 authentication required\r\n").await?;
            }
            "MAIL" => {
                mail_from = Some(path(&line));
                rcpt_to.clear();
                write(stream, "250 2.1.0 ok\r\n").await?;
            }
            "RCPT" if mail_from.is_none() => {
                write(stream, "503 5.5.1 MAIL first\r\n").await?;
            }
            "RCPT" => {
                if script.rcpt_reply.starts_with('2') {
                    rcpt_to.push(path(&line));
                }
                write(stream, &format!("{}\r\n", script.rcpt_reply)).await?;
            }
            "DATA" if rcpt_to.is_empty() => {
                write(stream, "554 5.5.1 no valid recipients\r\n").await?;
            }
            "DATA" => {
                write(stream, "354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if stream.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(End::Closed);
                    }
                    if raw == b".\r\n" {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 4.5.2).
                    let line = raw.strip_prefix(b".").unwrap_or(&raw);
                    data.extend_from_slice(line);
                }
                let stall = script.stall_first_data && {
                    let mut seen = seen.lock().unwrap();
                    !std::mem::replace(&mut seen.stalled, true)
                };
                if stall {
                    std::future::pending::<()>().await;
                }
                if script.data_reply.starts_with('2') {
                    seen.lock().unwrap().messages.push(Received {
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                    });
                }
                mail_from = None;
                rcpt_to.clear();
                write(stream, &format!("{}\r\n", script.data_reply)).await?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                write(stream, "250 2.0.0 ok\r\n").await?;
            }
            "NOOP" => write(stream, "250 2.0.0 ok\r\n").await?,
            "QUIT" => {
                write(stream, "221 2.0.0 bye\r\n").await?;
                return Ok(End::Closed);
            }
            _ => write(stream, "502 5.5.2 not implemented\r\n").await?,
        }
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

fn self_signed() -> Arc<ServerConfig> {
    let (cert, key) = generate_self_signed(&["localhost".to_string()]).unwrap();
    tls_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap()
}

#[tokio::test]
async fn a_relayed_copy_arrives_byte_identical_with_its_envelope() {
    let sink = Sink::start(Script::default()).await;
    let relay = Relay::new(sink.settings()).unwrap();
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
    let relay = Relay::new(sink.settings()).unwrap();

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
        rcpt_reply: "450 4.2.1 try later",
        ..Script::default()
    })
    .await;
    let relay = Relay::new(sink.settings()).unwrap();

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
        rcpt_reply: "550 5.1.1 no such user",
        ..Script::default()
    })
    .await;
    let relay = Relay::new(sink.settings()).unwrap();

    let outcome = send(&relay, message("Einladung")).await;

    assert_eq!(
        outcome,
        Outcome::Permanent("relay answered 550 5.1.1 no such user".into())
    );
}

#[tokio::test]
async fn a_5xx_after_the_data_fails_the_copy_and_the_next_one_still_goes() {
    let sink = Sink::start(Script {
        data_reply: "554 5.7.1 looks like spam",
        ..Script::default()
    })
    .await;
    let relay = Relay::new(sink.settings()).unwrap();

    let outcome = send(&relay, message("Einladung")).await;
    assert_eq!(
        outcome,
        Outcome::Permanent("relay answered 554 5.7.1 looks like spam".into())
    );
    // lettre drops a connection after a refusal; the pool must open a fresh one.
    let again = send(&relay, message("Einladung")).await;
    assert!(matches!(again, Outcome::Permanent(_)), "{again:?}");
    assert_eq!(sink.seen(|s| s.connections), 2);
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
        auth: Some(("relay-user", "s3cret pass")),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        credentials: Some(("relay-user".into(), "s3cret pass".into())),
        ..sink.settings()
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
        auth: Some(("relay-user", "s3cret pass")),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        credentials: Some(("relay-user".into(), "wrong".into())),
        ..sink.settings()
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
        auth: Some(("relay-user", "s3cret pass")),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(sink.settings()).unwrap();

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
        auth: Some(("relay-user", "s3cret pass")),
        ..Script::default()
    })
    .await;
    let relay = Relay::new(RelaySettings {
        host: "localhost".into(),
        tls: RelayTlsMode::Starttls,
        accept_invalid_certs: true,
        credentials: Some(("relay-user".into(), "s3cret pass".into())),
        ..sink.settings()
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
        ..sink.settings()
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
        ..sink.settings()
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
        ..sink.settings()
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
        ..sink.settings()
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
