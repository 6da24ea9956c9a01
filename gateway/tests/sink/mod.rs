//! A small SMTP sink for the transport tests, written here with tokio: it records
//! connections, TLS sessions, AUTH, envelopes and (dot-unstuffed) data, and answers as scripted.
#![allow(dead_code)]

use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use verteiler_gateway::smtp::{generate_self_signed, tls_config_from_pem};

/// How the sink answers.
#[derive(Clone)]
pub struct Script {
    pub rcpt_reply: &'static str,
    pub data_reply: &'static str,
    /// Offer AUTH PLAIN and require exactly these before MAIL.
    pub auth: Option<(&'static str, &'static str)>,
    /// Offer STARTTLS with this certificate.
    pub starttls: Option<Arc<ServerConfig>>,
    /// Speak TLS from the first byte with this certificate.
    pub implicit_tls: Option<Arc<ServerConfig>>,
    /// Never answer the end of data of the first message.
    pub stall_first_data: bool,
    /// The first line, e.g. a 554 greeting to refuse every session.
    pub greeting: &'static str,
    /// Offer STARTTLS, accept the command, then send garbage instead of a TLS handshake.
    pub broken_starttls: bool,
    /// Refuse EHLO (and HELO) with this reply instead of listing extensions.
    pub ehlo_reply: Option<&'static str>,
    /// Leave 8BITMIME out of the EHLO reply.
    pub seven_bit_only: bool,
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
            greeting: "220 sink.test ESMTP",
            broken_starttls: false,
            ehlo_reply: None,
            seven_bit_only: false,
        }
    }
}

/// One message as the sink stored it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
    /// Whether it came over TLS.
    pub encrypted: bool,
}

#[derive(Debug, Default)]
pub struct Seen {
    pub connections: usize,
    pub tls_sessions: usize,
    pub auth: Vec<(String, String)>,
    pub messages: Vec<Received>,
    pub stalled: bool,
}

pub struct Sink {
    pub address: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    pub task: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sink {
    pub async fn start(script: Script) -> Sink {
        Sink::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// On a chosen address, e.g. another loopback address with the port of a sink before it.
    pub async fn start_at(address: SocketAddr, script: Script) -> Sink {
        let listener = TcpListener::bind(address).await.unwrap();
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

    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.lock().unwrap())
    }
}

pub enum End {
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
        if write(&mut tls, &format!("{}\r\n", script.greeting))
            .await
            .is_ok()
        {
            let _ = converse(&mut tls, &script, &seen, true).await;
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
    if let Ok(End::StartTls) = converse(&mut plain, &script, &seen, false).await {
        if script.broken_starttls {
            let _ = write(&mut plain, "this is not a TLS server hello\r\n").await;
            return;
        }
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
            "EHLO" | "HELO" if script.ehlo_reply.is_some() => {
                let reply = script.ehlo_reply.unwrap_or_default();
                write(stream, &format!("{reply}\r\n")).await?;
            }
            "EHLO" | "HELO" => {
                mail_from = None;
                rcpt_to.clear();
                let mut reply = String::from("250-sink.test\r\n250-PIPELINING\r\n");
                if !script.seven_bit_only {
                    reply.push_str("250-8BITMIME\r\n");
                }
                if (script.starttls.is_some() || script.broken_starttls) && !encrypted {
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

pub fn self_signed() -> Arc<ServerConfig> {
    let (cert, key) = generate_self_signed(&["localhost".to_string()]).unwrap();
    tls_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap()
}
