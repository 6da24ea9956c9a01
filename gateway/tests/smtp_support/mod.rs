//! Shared pieces of the SMTP tests: a scripted handler and a transcript client that talks to
//! a session over an in-memory stream and checks every reply line it reads.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{
    duplex, AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf,
};
use tokio::task::JoinHandle;
use verteiler_gateway::smtp::{
    AuthOutcome, Envelope, Identity, RcptOutcome, Reply, SessionHandler, SessionInfo, SmtpConfig,
    SmtpService,
};

pub const LOGIN: &str = "chair@oldenfelde.example";
pub const PASSWORD: &str = "correct horse";
/// Needs an authenticated session.
pub const LIST: &str = "vorstand@lists.example";
/// Reachable without AUTH, like the bounce address.
pub const OPEN: &str = "bounces@lists.example";

/// One message the handler was given.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub info: SessionInfo,
    pub envelope: Envelope,
    pub message: Vec<u8>,
}

/// Knows one login and two recipients; records what it is asked.
pub struct FakeHandler {
    pub auth_calls: AtomicUsize,
    pub accepted: Mutex<Vec<Accepted>>,
    pub reply: Mutex<Reply>,
}

impl FakeHandler {
    pub fn new() -> Arc<FakeHandler> {
        Arc::new(FakeHandler {
            auth_calls: AtomicUsize::new(0),
            accepted: Mutex::new(Vec::new()),
            reply: Mutex::new(Reply::multiline(
                250,
                (2, 0, 0),
                vec![
                    "accepted for 212 recipients".into(),
                    "delivery starts in 2 min".into(),
                ],
            )),
        })
    }

    pub fn auth_calls(&self) -> usize {
        self.auth_calls.load(Ordering::SeqCst)
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }
}

impl SessionHandler for FakeHandler {
    async fn authenticate(
        &self,
        _session: &SessionInfo,
        login: &str,
        password: &str,
    ) -> AuthOutcome {
        self.auth_calls.fetch_add(1, Ordering::SeqCst);
        if login == LOGIN && password == PASSWORD {
            AuthOutcome::Authenticated(Identity {
                member_id: 7,
                credential_id: 70,
                login: login.to_string(),
            })
        } else {
            AuthOutcome::Invalid
        }
    }

    async fn check_recipient(&self, _session: &SessionInfo, address: &str) -> RcptOutcome {
        match address {
            LIST => RcptOutcome::Accept { open: false },
            OPEN => RcptOutcome::Accept { open: true },
            other => {
                RcptOutcome::Reject(Reply::new(550, (5, 1, 1), format!("No such list: {other}")))
            }
        }
    }

    async fn accept_message(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
        message: &[u8],
    ) -> Reply {
        self.accepted.lock().unwrap().push(Accepted {
            info: session.clone(),
            envelope: envelope.clone(),
            message: message.to_vec(),
        });
        self.reply.lock().unwrap().clone()
    }
}

/// A config with short timeouts, AUTH allowed on loopback without TLS, small limits.
pub fn test_config() -> SmtpConfig {
    SmtpConfig {
        hostname: "gateway.test".into(),
        max_message_bytes: 64 * 1024,
        max_recipients: 5,
        command_timeout: Duration::from_secs(30),
        data_timeout: Duration::from_secs(60),
        allow_plain_auth_without_tls: true,
        ..SmtpConfig::default()
    }
}

/// One reply as the client saw it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub code: u16,
    /// Text of every line, after `NNN-` / `NNN `.
    pub lines: Vec<String>,
}

impl Answer {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A client on one end of a duplex stream; the session runs on the other.
pub struct Client {
    reader: BufReader<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
    pub session: JoinHandle<()>,
}

pub fn connect(service: &Arc<SmtpService<FakeHandler>>, peer: &str) -> Client {
    connect_with(service, peer, false)
}

pub fn connect_with(
    service: &Arc<SmtpService<FakeHandler>>,
    peer: &str,
    implicit_tls: bool,
) -> Client {
    let (client, server) = duplex(256 * 1024);
    let peer: SocketAddr = peer.parse().unwrap();
    let local: SocketAddr = "127.0.0.1:587".parse().unwrap();
    let service = Arc::clone(service);
    let session = tokio::spawn(async move {
        service
            .handle_connection(server, peer, local, implicit_tls)
            .await;
    });
    let (reader, writer) = tokio::io::split(client);
    Client {
        reader: BufReader::new(reader),
        writer,
        session,
    }
}

impl Client {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// Sends `line` with CRLF and reads one reply.
    pub async fn cmd(&mut self, line: &str) -> Answer {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Sends `line`, reads one reply, asserts its code; returns it.
    pub async fn expect(&mut self, line: &str, code: u16) -> Answer {
        let answer = self.cmd(line).await;
        assert_eq!(answer.code, code, "{line:?} got {answer:?}");
        answer
    }

    /// Reads one (possibly multi-line) reply and checks its form.
    pub async fn reply(&mut self) -> Answer {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            self.reader.read_until(b'\n', &mut raw).await.unwrap();
            assert!(
                !raw.is_empty(),
                "connection closed while a reply was expected; had {lines:?}"
            );
            let line = String::from_utf8(raw).expect("reply is UTF-8");
            let body = line
                .strip_suffix("\r\n")
                .unwrap_or_else(|| panic!("reply line without CRLF: {line:?}"));
            assert!(body.len() >= 4, "short reply line {line:?}");
            let code: u16 = body[..3]
                .parse()
                .unwrap_or_else(|_| panic!("no code in {line:?}"));
            let separator = &body[3..4];
            assert!(
                separator == " " || separator == "-",
                "bad separator in {line:?}"
            );
            lines.push((code, body[4..].to_string()));
            if separator == " " {
                break;
            }
        }
        let code = lines[0].0;
        assert!(
            lines.iter().all(|(c, _)| *c == code),
            "mixed codes {lines:?}"
        );
        Answer {
            code,
            lines: lines.into_iter().map(|(_, text)| text).collect(),
        }
    }

    /// Asserts the server closed the connection (nothing more to read).
    pub async fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut self.reader, &mut rest).await;
        assert!(
            rest.is_empty(),
            "unexpected bytes after close: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Closes the client's sending side and waits for the session to end.
    pub async fn hang_up(mut self) {
        self.writer.shutdown().await.unwrap();
        drop(self.writer);
        self.session.await.unwrap();
    }

    /// Greeting and EHLO; returns the EHLO reply.
    pub async fn hello(&mut self) -> Answer {
        let greeting = self.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        self.expect("EHLO client.test", 250).await
    }

    pub async fn login(&mut self) {
        let plain = base64(&format!("\0{LOGIN}\0{PASSWORD}"));
        self.expect(&format!("AUTH PLAIN {plain}"), 235).await;
    }
}

pub fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

pub fn service(config: SmtpConfig) -> (Arc<SmtpService<FakeHandler>>, Arc<FakeHandler>) {
    let handler = FakeHandler::new();
    (
        SmtpService::new(Arc::new(config), None, Arc::clone(&handler)),
        handler,
    )
}
