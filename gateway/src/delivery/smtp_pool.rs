//! Open SMTP connections to one server, reused from message to message.
//!
//! lettre's own pool connects through a socket we cannot reach, with Nagle's algorithm on.
//! lettre writes the message and the closing `CRLF . CRLF` as two writes and then waits for the
//! reply; with Nagle on, the second small write waits for the server's delayed ACK, so every
//! message cost 40 ms on Linux, whatever the server. Here the socket is ours (`TCP_NODELAY`),
//! and lettre only speaks the protocol on it. Where the server offers PIPELINING, each message
//! goes out as one pipelined transaction (`pipelining`).

use super::pipelining;
use super::smtp_failure::SmtpFailure;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::extension::ClientId;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// A connection idle for longer than this is asked with NOOP whether it still works before it
/// carries a message; the server may have closed it meanwhile.
const PROBE_AFTER: Duration = Duration::from_secs(2);
/// Idle connections older than this are closed instead of reused (servers close theirs after
/// a few minutes; RFC 5321 4.5.3.2.7 suggests at least 5).
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// How to open and prepare one connection: TCP, TLS, EHLO, AUTH.
pub(super) struct Connector {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub hello: ClientId,
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
}

/// One open connection, and whether its server pipelines.
struct Session {
    conn: AsyncSmtpConnection,
    pipelining: bool,
}

impl Connector {
    async fn connect(&self) -> Result<Session, SmtpFailure> {
        let smtp = |e| SmtpFailure::from_smtp(&e);
        let mut conn = match &self.tls {
            // TLS from the first byte: lettre has to open this socket itself, so Nagle stays
            // on (rustls writes the closing dot in its own record all the same).
            Tls::Wrapper(parameters) => AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.connect_timeout),
                &self.hello,
                Some(parameters.clone()),
                None,
            )
            .await
            .map_err(smtp)?,
            _ => {
                let tcp = tokio::time::timeout(
                    self.connect_timeout,
                    TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                .map_err(|_| {
                    SmtpFailure::ConnectTimeout(format!(
                        "no connection within {:?}",
                        self.connect_timeout
                    ))
                })?
                .map_err(|e| SmtpFailure::Io(e.kind(), e.to_string()))?;
                tcp.set_nodelay(true)
                    .map_err(|e| SmtpFailure::Io(e.kind(), e.to_string()))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(smtp)?
            }
        };
        match &self.tls {
            Tls::Required(parameters) => conn
                .starttls(parameters.clone(), &self.hello)
                .await
                .map_err(smtp)?,
            Tls::Opportunistic(parameters) if conn.can_starttls() => conn
                .starttls(parameters.clone(), &self.hello)
                .await
                .map_err(smtp)?,
            _ => {}
        }
        let pipelining = pipelining::offered(&mut conn, &self.hello).await?;
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(smtp)?;
        }
        Ok(Session { conn, pipelining })
    }
}

/// Connections to one server. Any number may be in use at once; at most `max_idle` wait for
/// the next message. A connection that failed, or whose send was abandoned (the caller's
/// timeout dropped it mid-conversation), is never put back.
pub(super) struct SmtpPool {
    connector: Connector,
    idle: Mutex<Vec<(Session, Instant)>>,
    max_idle: usize,
}

impl SmtpPool {
    pub fn new(connector: Connector, max_idle: usize) -> SmtpPool {
        SmtpPool {
            connector,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// Sends one message in one transaction.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpFailure> {
        let mut session = self.checkout().await?;
        if session.pipelining {
            let sent = pipelining::send(&mut session.conn, envelope, message).await;
            if sent.reusable {
                self.checkin(session);
            }
            return sent.result;
        }
        let sent = session.conn.send(envelope, message).await;
        // lettre ends the session (QUIT) after a failed command, and marks it broken.
        if !session.conn.has_broken() {
            self.checkin(session);
        }
        sent.map(|_reply| ())
            .map_err(|e| SmtpFailure::from_smtp(&e))
    }

    async fn checkout(&self) -> Result<Session, SmtpFailure> {
        while let Some((mut session, since)) = self.take_idle() {
            if since.elapsed() < PROBE_AFTER || session.conn.test_connected().await {
                return Ok(session);
            }
        }
        self.connector.connect().await
    }

    fn take_idle(&self) -> Option<(Session, Instant)> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // Oldest first in the vector: stale ones are dropped (closing their sockets), then the
        // most recently used one is taken, the likeliest still to be open.
        let fresh_from = idle
            .iter()
            .position(|(_, since)| since.elapsed() < IDLE_LIMIT)
            .unwrap_or(idle.len());
        idle.drain(..fresh_from);
        idle.pop()
    }

    fn checkin(&self, session: Session) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push((session, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::smtp_failure::envelope;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A server that offers PIPELINING and answers MAIL only once RCPT and DATA are there too,
    /// as a client that waits for each reply never sends them: such a client hangs here. Its
    /// RCPT reply is `rcpt_reply`; it returns the lines it read.
    async fn pipelining_server(listener: TcpListener, rcpt_reply: &'static str) -> Vec<String> {
        let (tcp, _) = listener.accept().await.unwrap();
        let (read, mut write) = tcp.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut seen = Vec::new();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line.clone());
            let verb = line
                .split([' ', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => "250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n".to_string(),
                "MAIL" => {
                    let rcpt = lines.next_line().await.unwrap().unwrap();
                    let data = lines.next_line().await.unwrap().unwrap();
                    seen.extend([rcpt, data.clone()]);
                    assert_eq!(data, "DATA");
                    let data_reply = if rcpt_reply.starts_with('2') {
                        "354 go ahead\r\n"
                    } else {
                        "554 no valid recipients\r\n"
                    };
                    format!("250 ok\r\n{rcpt_reply}\r\n{data_reply}")
                }
                "." => "250 queued\r\n".to_string(),
                "QUIT" => "221 bye\r\n".to_string(),
                _ => continue,
            };
            write.write_all(reply.as_bytes()).await.unwrap();
        }
        seen
    }

    fn pool(port: u16) -> SmtpPool {
        SmtpPool::new(
            Connector {
                host: "127.0.0.1".into(),
                port,
                tls: Tls::None,
                hello: ClientId::Domain("client.test".into()),
                credentials: None,
                connect_timeout: Duration::from_secs(5),
            },
            1,
        )
    }

    #[tokio::test]
    async fn mail_rcpt_and_data_leave_together_where_the_server_pipelines() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(pipelining_server(listener, "250 ok"));
        let pool = pool(port);
        let to = envelope("bounce+x@lists.example.org", "a@example.net").unwrap();
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            pool.send(&to, b"Subject: hi\r\n\r\nbody"),
        )
        .await
        .expect("a client waiting for MAIL's reply before RCPT hangs here");
        assert_eq!(sent, Ok(()));
        // The connection went back to the pool for the next copy.
        assert_eq!(pool.idle.lock().unwrap().len(), 1);
        drop(pool);
        let seen = server.await.unwrap();
        assert!(
            seen.contains(&"RCPT TO:<a@example.net>".to_string()),
            "{seen:?}"
        );
        assert!(seen.contains(&"body".to_string()), "{seen:?}");
    }

    #[tokio::test]
    async fn a_refused_recipient_in_a_pipelined_group_is_the_answer_and_ends_the_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(pipelining_server(listener, "550 5.1.1 no such user"));
        let pool = pool(port);
        let to = envelope("bounce+x@lists.example.org", "gone@example.net").unwrap();
        let sent = tokio::time::timeout(
            Duration::from_secs(10),
            pool.send(&to, b"Subject: hi\r\n\r\nbody"),
        )
        .await
        .unwrap();
        match sent {
            Err(SmtpFailure::Reply { code, .. }) => assert_eq!(u16::from(code), 550),
            other => panic!("expected the RCPT refusal, got {other:?}"),
        }
        // Not reused: the server's transaction state after a refusal is not ours to guess.
        assert!(pool.idle.lock().unwrap().is_empty());
        drop(pool);
        let seen = server.await.unwrap();
        assert!(!seen.contains(&"body".to_string()), "{seen:?}");
    }
}
