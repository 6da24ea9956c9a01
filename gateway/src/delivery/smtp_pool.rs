//! Open SMTP connections to one server, reused from message to message.
//!
//! lettre's own pool connects through a socket we cannot reach, with Nagle's algorithm on.
//! lettre writes the message and the closing `CRLF . CRLF` as two writes and then waits for the
//! reply; with Nagle on, the second small write waits for the server's delayed ACK, so every
//! message cost 40 ms on Linux, whatever the server. Here the socket is ours (`TCP_NODELAY`),
//! and lettre only speaks the protocol on it.

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

impl Connector {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpFailure> {
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
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(smtp)?;
        }
        Ok(conn)
    }
}

/// Connections to one server. Any number may be in use at once; at most `max_idle` wait for
/// the next message. A connection that failed, or whose send was abandoned (the caller's
/// timeout dropped it mid-conversation), is never put back.
pub(super) struct SmtpPool {
    connector: Connector,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
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
        let mut conn = self.checkout().await?;
        let sent = conn.send(envelope, message).await;
        // lettre ends the session (QUIT) after a failed command, and marks it broken.
        if !conn.has_broken() {
            self.checkin(conn);
        }
        sent.map(|_reply| ())
            .map_err(|e| SmtpFailure::from_smtp(&e))
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SmtpFailure> {
        while let Some((mut conn, since)) = self.take_idle() {
            if since.elapsed() < PROBE_AFTER || conn.test_connected().await {
                return Ok(conn);
            }
        }
        self.connector.connect().await
    }

    fn take_idle(&self) -> Option<(AsyncSmtpConnection, Instant)> {
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

    fn checkin(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
    }
}
