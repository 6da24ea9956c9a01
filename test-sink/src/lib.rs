//! A capturing SMTP sink for tests: a small real SMTP server on a random 127.0.0.1 port that
//! records every transaction (envelope, dot-unstuffed data, arrival time) and answers as its
//! [`Script`] says. The script can change while the sink runs (answer 451 for a while, 550 for
//! chosen recipients), and the sink can be stopped — port closed, open connections cut, as when
//! a relay host goes away — and started again on the same port.
//!
//! Shared by the transports' tests (`gateway/tests/relay.rs`, `gateway/tests/mx.rs`) and the
//! end-to-end tests of the real binary (`tests/delivery_relay.rs`, `tests/delivery_mx.rs`), so
//! all of them talk to the same server.

pub mod smsc;

use base64::Engine as _;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// A rule on an envelope recipient, e.g. "at this domain".
pub type RecipientRule = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// How the sink answers. Replies are whole SMTP reply lines without CRLF.
#[derive(Clone)]
pub struct Script {
    /// The answer to an accepted RCPT.
    pub rcpt_reply: String,
    /// The answer to the end of data; a message is recorded only when it starts with `2`.
    pub data_reply: String,
    /// Recipients (compared case-insensitively) answered `refuse_reply` at RCPT.
    pub refuse: HashSet<String>,
    /// Further recipients answered `refuse_reply`, by a rule (e.g. a domain that refuses).
    pub refuse_if: Option<RecipientRule>,
    pub refuse_reply: String,
    /// Every RCPT before this instant is answered `defer_reply`.
    pub defer_until: Option<Instant>,
    /// The first this many RCPTs (counted over the sink's life) are answered `defer_reply`.
    pub defer_first: usize,
    pub defer_reply: String,
    /// Waits this long before answering the end of data: a slow remote server.
    pub data_delay: Duration,
    /// Offer AUTH PLAIN and require exactly these before MAIL.
    pub auth: Option<(String, String)>,
    /// Offer STARTTLS with this certificate.
    pub starttls: Option<Arc<ServerConfig>>,
    /// Speak TLS from the first byte with this certificate.
    pub implicit_tls: Option<Arc<ServerConfig>>,
    /// Never answer the end of data of the first message.
    pub stall_first_data: bool,
    /// The first line, e.g. a 554 greeting to refuse every session.
    pub greeting: String,
    /// Offer STARTTLS, accept the command, then send garbage instead of a TLS handshake.
    pub broken_starttls: bool,
    /// Refuse EHLO (and HELO) with this reply instead of listing extensions.
    pub ehlo_reply: Option<String>,
    /// Leave 8BITMIME out of the EHLO reply.
    pub seven_bit_only: bool,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            rcpt_reply: "250 2.1.5 ok".into(),
            data_reply: "250 2.0.0 queued as 1".into(),
            refuse: HashSet::new(),
            refuse_if: None,
            refuse_reply: "550 5.1.1 no such user".into(),
            defer_until: None,
            defer_first: 0,
            defer_reply: "451 4.3.0 try again later".into(),
            data_delay: Duration::ZERO,
            auth: None,
            starttls: None,
            implicit_tls: None,
            stall_first_data: false,
            greeting: "220 sink.test ESMTP".into(),
            broken_starttls: false,
            ehlo_reply: None,
            seven_bit_only: false,
        }
    }
}

/// One transaction the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, dot-unstuffed, without the terminating `.`.
    pub data: Vec<u8>,
    /// When the end of data arrived (before the sink answered it).
    pub at: Instant,
    /// Whether it came over TLS.
    pub encrypted: bool,
}

/// Everything the sink saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub connections: usize,
    pub tls_sessions: usize,
    pub auth: Vec<(String, String)>,
    pub messages: Vec<Received>,
    /// RCPTs answered with a 4xx by the script, and with a 5xx.
    pub deferred: Vec<String>,
    pub refused: Vec<String>,
    /// RCPTs seen so far (for `Script::defer_first`).
    pub rcpts: usize,
    stalled: bool,
}

struct Shared {
    script: Mutex<Arc<Script>>,
    seen: Mutex<Seen>,
    connections: Mutex<Vec<AbortHandle>>,
}

pub struct Sink {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Sink {
    /// Starts the sink on a random loopback port.
    pub async fn start(script: Script) -> Sink {
        Sink::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// Starts the sink on a chosen address, e.g. another loopback address on the port of a
    /// sink started before it (mail hosts told apart by address, all on one port).
    pub async fn start_at(address: SocketAddr, script: Script) -> Sink {
        let shared = Arc::new(Shared {
            script: Mutex::new(Arc::new(script)),
            seen: Mutex::new(Seen::default()),
            connections: Mutex::new(Vec::new()),
        });
        let (address, accept) =
            listen(address, &shared).expect("binding the SMTP sink to a loopback address");
        Sink {
            address,
            shared,
            accept: Mutex::new(Some(accept)),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Reads what the sink saw so far.
    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&lock(&self.shared.seen))
    }

    /// Number of messages accepted so far.
    pub fn received(&self) -> usize {
        self.seen(|s| s.messages.len())
    }

    /// Changes how the sink answers from the next command on.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        let mut script = lock(&self.shared.script);
        let mut next = Script::clone(&script);
        change(&mut next);
        *script = Arc::new(next);
    }

    /// Closes the port and cuts every open connection, as when the host goes away.
    pub fn stop(&self) {
        if let Some(accept) = lock(&self.accept).take() {
            accept.abort();
        }
        for connection in lock(&self.shared.connections).drain(..) {
            connection.abort();
        }
    }

    /// Listens on the same port again after [`Sink::stop`]; what was seen is kept.
    pub async fn restart(&self) {
        self.stop();
        // The aborted accept task releases the listener when it is next polled.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match listen(self.address, &self.shared) {
                Ok((_, accept)) => {
                    *lock(&self.accept) = Some(accept);
                    return;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("the SMTP sink cannot listen on {} again: {e}", self.address)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

/// Binds `address` and accepts connections on it until aborted.
fn listen(
    address: SocketAddr,
    shared: &Arc<Shared>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let socket = TcpSocket::new_v4()?;
    // Rebinding the port of a stopped sink must not wait for TIME_WAIT to end.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    let listener = socket.listen(1024)?;
    let bound = listener.local_addr()?;
    let shared = Arc::clone(shared);
    let accept = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            lock(&shared.seen).connections += 1;
            let task = tokio::spawn(serve_connection(tcp, Arc::clone(&shared)));
            let mut connections = lock(&shared.connections);
            connections.retain(|c| !c.is_finished());
            connections.push(task.abort_handle());
        }
    });
    Ok((bound, accept))
}

/// A server configuration with a fresh self-signed certificate for `localhost`, for
/// `Script::starttls` and `Script::implicit_tls` (clients under test do not check it).
pub fn self_signed() -> Arc<ServerConfig> {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("generating a self-signed certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("a server configuration for the certificate");
    Arc::new(config)
}

/// A poisoned lock only means another test task panicked; the data is still what it saw.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum End {
    Closed,
    StartTls,
}

async fn serve_connection(tcp: TcpStream, shared: Arc<Shared>) {
    let script = Arc::clone(&lock(&shared.script));
    if let Some(config) = script.implicit_tls.clone() {
        let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await else {
            return;
        };
        lock(&shared.seen).tls_sessions += 1;
        let mut tls = BufReader::new(tls);
        if write(&mut tls, &format!("{}\r\n", script.greeting))
            .await
            .is_ok()
        {
            let _ = converse(&mut tls, &shared, true).await;
        }
        return;
    }
    let mut plain = BufReader::new(tcp);
    if write(&mut plain, &format!("{}\r\n", script.greeting))
        .await
        .is_err()
    {
        return;
    }
    if let Ok(End::StartTls) = converse(&mut plain, &shared, false).await {
        if script.broken_starttls {
            let _ = write(&mut plain, "this is not a TLS server hello\r\n").await;
            return;
        }
        let Some(config) = script.starttls.clone() else {
            return;
        };
        let Ok(tls) = TlsAcceptor::from(config).accept(plain.into_inner()).await else {
            return;
        };
        lock(&shared.seen).tls_sessions += 1;
        let _ = converse(&mut BufReader::new(tls), &shared, true).await;
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// Between `<` and `>` of `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn path(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len()).max(start);
    line[start..end].to_string()
}

/// The script's answer to `RCPT TO:<recipient>`, and records why it refused.
fn rcpt_reply(shared: &Shared, script: &Script, recipient: &str) -> String {
    let mut seen = lock(&shared.seen);
    seen.rcpts += 1;
    let deferring = seen.rcpts <= script.defer_first
        || script
            .defer_until
            .is_some_and(|until| Instant::now() < until);
    let refused = script.refuse.contains(&recipient.to_ascii_lowercase())
        || script
            .refuse_if
            .as_ref()
            .is_some_and(|rule| rule(recipient));
    if refused {
        seen.refused.push(recipient.to_string());
        script.refuse_reply.clone()
    } else if deferring {
        seen.deferred.push(recipient.to_string());
        script.defer_reply.clone()
    } else {
        script.rcpt_reply.clone()
    }
}

/// The script's answer to `EHLO`: the extensions it offers.
fn ehlo_reply(script: &Script, encrypted: bool) -> String {
    let mut reply = String::from("250-sink.test\r\n250-PIPELINING\r\n");
    if !script.seven_bit_only {
        reply.push_str("250-8BITMIME\r\n");
    }
    let offers_tls = script.starttls.is_some() || script.broken_starttls;
    if offers_tls && !encrypted {
        reply.push_str("250-STARTTLS\r\n");
    }
    if script.auth.is_some() {
        reply.push_str("250-AUTH PLAIN\r\n");
    }
    reply.push_str("250 ENHANCEDSTATUSCODES\r\n");
    reply
}

/// Answers `AUTH` (PLAIN, initial response on the line or after a `334`) and records the
/// credentials given; `true` when they are the script's.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    shared: &Shared,
    script: &Script,
    line: &str,
) -> std::io::Result<bool> {
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
    lock(&shared.seen)
        .auth
        .push((user.clone(), password.clone()));
    if mechanism == "PLAIN" && script.auth == Some((user, password)) {
        write(stream, "235 2.7.0 authenticated\r\n").await?;
        Ok(true)
    } else {
        write(stream, "535 5.7.8 credentials invalid\r\n").await?;
        Ok(false)
    }
}

/// The message after `DATA`, up to the line with the lone dot; `None` when the client closed
/// the connection before it.
async fn read_data<S: AsyncRead + Unpin>(
    stream: &mut BufReader<S>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let mut raw = Vec::new();
        if stream.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(None);
        }
        if raw == b".\r\n" {
            return Ok(Some(data));
        }
        // Dot-unstuffing (RFC 5321 4.5.2).
        let line = raw.strip_prefix(b".").unwrap_or(&raw);
        data.extend_from_slice(line);
    }
}

/// One SMTP conversation, as the script says, until the client quits or asks for STARTTLS.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    shared: &Shared,
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
        let script = Arc::clone(&lock(&shared.script));
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" if script.ehlo_reply.is_some() => {
                let reply = script.ehlo_reply.clone().unwrap_or_default();
                write(stream, &format!("{reply}\r\n")).await?;
            }
            "EHLO" | "HELO" => {
                mail_from = None;
                rcpt_to.clear();
                write(stream, &ehlo_reply(&script, encrypted)).await?;
            }
            "STARTTLS" if (script.starttls.is_some() || script.broken_starttls) && !encrypted => {
                write(stream, "220 2.0.0 ready for TLS\r\n").await?;
                return Ok(End::StartTls);
            }
            "AUTH" => {
                if authenticate(stream, shared, &script, &line).await? {
                    authenticated = true;
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
                let recipient = path(&line);
                let reply = rcpt_reply(shared, &script, &recipient);
                if reply.starts_with('2') {
                    rcpt_to.push(recipient);
                }
                write(stream, &format!("{reply}\r\n")).await?;
            }
            "DATA" if rcpt_to.is_empty() => {
                write(stream, "554 5.5.1 no valid recipients\r\n").await?;
            }
            "DATA" => {
                write(stream, "354 end with <CRLF>.<CRLF>\r\n").await?;
                let Some(data) = read_data(stream).await? else {
                    return Ok(End::Closed);
                };
                let at = Instant::now();
                let stall = script.stall_first_data
                    && !std::mem::replace(&mut lock(&shared.seen).stalled, true);
                if stall {
                    std::future::pending::<()>().await;
                }
                if !script.data_delay.is_zero() {
                    tokio::time::sleep(script.data_delay).await;
                }
                if script.data_reply.starts_with('2') {
                    lock(&shared.seen).messages.push(Received {
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                        at,
                        encrypted,
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

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn paths_are_read_between_the_brackets_and_never_panic() {
        assert_eq!(path("MAIL FROM:<a@b.example> SIZE=10"), "a@b.example");
        assert_eq!(path("RCPT TO:<>"), "");
        assert_eq!(path("RCPT TO:>x<"), "");
        assert_eq!(path("RCPT TO:x"), "RCPT TO:x");
    }
}
