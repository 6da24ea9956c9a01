//! Accepting connections and running sessions: the per-IP limits at the door, the TLS
//! handshake (implicit or after STARTTLS), and a shutdown that drains.
//!
//! Shutdown: when the `shutdown` future of [`serve_smtp`] resolves, the listener stops
//! accepting, sessions waiting for a command are told 421 4.3.2 and closed, and sessions in
//! the middle of a message may finish it (the handler's answer is sent) within
//! `SmtpConfig::shutdown_grace`; after that the rest are aborted and `serve_smtp` returns.

use super::handler::{ListenerRole, Reply, SessionInfo};
use super::io::SmtpIo;
use super::reply::encode_reply;
use super::service::SmtpService;
use super::session::{Outcome, Session};
use super::throttle::ConnectionRefusal;
use super::SessionHandler;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};

// The service itself is in `service`; running a connection on it is here, with the sessions.
impl<H: SessionHandler> SmtpService<H> {
    /// Runs one submission connection to its end: the per-IP limits, the greeting, the
    /// session, and the TLS upgrade. With `implicit_tls` the TLS handshake comes first (port
    /// 465 style).
    pub async fn handle_connection<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        local: SocketAddr,
        implicit_tls: bool,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let role = ListenerRole::Submission;
        self.run_connection(stream, peer, local, implicit_tls, role)
            .await;
    }

    /// Runs one connection of the inbound listener (port 25) to its end: the same limits and
    /// session, no AUTH, only recipients that take mail from the world.
    pub async fn handle_inbound_connection<S>(&self, stream: S, peer: SocketAddr, local: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        self.run_connection(stream, peer, local, false, ListenerRole::Inbound)
            .await;
    }

    async fn run_connection<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        local: SocketAddr,
        implicit_tls: bool,
        role: ListenerRole,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let _slot = match self.limits.open_connection(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => return self.refuse_connection(stream, peer, refusal).await,
        };
        tracing::debug!(event = "smtp.connected", %peer, %local, implicit_tls, ?role);
        let session_deadline = Instant::now() + self.config.max_session_duration;
        let info = |tls| SessionInfo {
            peer,
            local,
            role,
            helo: None,
            tls,
            identity: None,
        };
        let budget = self.config.max_session_bytes;
        if implicit_tls {
            let Some(tls) = self.handshake(stream, peer).await else {
                return;
            };
            let io = SmtpIo::new(tls, 0, budget);
            Session::new(self, io, info(true), session_deadline)
                .run(true)
                .await;
            return;
        }
        let io = SmtpIo::new(stream, 0, budget);
        let outcome = Session::new(self, io, info(false), session_deadline)
            .run(true)
            .await;
        if let Outcome::StartTls { stream, bytes_read } = outcome {
            let Some(tls) = self.handshake(stream, peer).await else {
                return;
            };
            tracing::debug!(event = "smtp.tls_started", %peer);
            let io = SmtpIo::new(tls, bytes_read, budget);
            // A fresh session: no HELO name, no identity, no transaction (RFC 3207 §4.2).
            Session::new(self, io, info(true), session_deadline)
                .run(false)
                .await;
        }
    }

    async fn handshake<S>(
        &self,
        stream: S,
        peer: SocketAddr,
    ) -> Option<tokio_rustls::server::TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let acceptor = self.tls.as_ref()?;
        match timeout(self.config.tls_handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                tracing::info!(event = "smtp.tls_failed", %peer, %error, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::info!(event = "smtp.tls_failed", %peer, "TLS handshake timed out");
                None
            }
        }
    }

    async fn refuse_connection<S>(
        &self,
        mut stream: S,
        peer: SocketAddr,
        refusal: ConnectionRefusal,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let text = match refusal {
            ConnectionRefusal::TooManyConnections => {
                "Too many connections from your address, try again later"
            }
            ConnectionRefusal::TooManyNewConnections => {
                "Too many new connections from your address, try again later"
            }
        };
        tracing::info!(event = "smtp.connection_refused", %peer, reason = ?refusal);
        let mut out = Vec::new();
        encode_reply(&Reply::new(421, (4, 7, 0), text), &mut out);
        let _ = timeout(Duration::from_secs(5), async {
            stream.write_all(&out).await?;
            stream.shutdown().await
        })
        .await;
    }
}

/// Accepts SMTP connections on `listener` until `shutdown` resolves, then drains (see the
/// module comment) and returns. `implicit_tls` makes it a port-465-style listener and needs
/// a TLS configuration in `service`. Errors only if the listener cannot be used at all.
pub async fn serve_smtp<H: SessionHandler>(
    listener: TcpListener,
    service: Arc<SmtpService<H>>,
    implicit_tls: bool,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    if implicit_tls && service.tls.is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an implicit-TLS SMTP listener needs a TLS certificate",
        ));
    }
    let role = ListenerRole::Submission;
    accept_loop(listener, service, implicit_tls, role, shutdown).await
}

/// Like [`serve_smtp`], for the inbound listener other mail servers reach on port 25 (see
/// [`ListenerRole::Inbound`]). It shares `service` with the submission listeners, so the
/// per-IP limits count a client's connections on every port together; STARTTLS is offered
/// when `service` has a certificate.
pub async fn serve_inbound<H: SessionHandler>(
    listener: TcpListener,
    service: Arc<SmtpService<H>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    accept_loop(listener, service, false, ListenerRole::Inbound, shutdown).await
}

async fn accept_loop<H: SessionHandler>(
    listener: TcpListener,
    service: Arc<SmtpService<H>>,
    implicit_tls: bool,
    role: ListenerRole,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(event = "smtp.listening", address = %local, implicit_tls, ?role);
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    metrics::counter!("verteiler_smtp_sessions_total").increment(1);
                    // Replies are small and already batched; waiting for Nagle only adds latency.
                    let _ = stream.set_nodelay(true);
                    let local = stream.local_addr().unwrap_or(local);
                    let service = Arc::clone(&service);
                    sessions.spawn(async move {
                        service
                            .run_connection(stream, peer, local, implicit_tls, role)
                            .await;
                    });
                }
                Err(error) => {
                    // Usually out of file descriptors: wait instead of spinning.
                    tracing::warn!(event = "smtp.accept_failed", %error);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(joined) = sessions.join_next(), if !sessions.is_empty() => log_session_end(joined),
        }
    }
    drop(listener);
    service.begin_shutdown();
    let open = sessions.len();
    tracing::info!(event = "smtp.draining", address = %local, open);
    let drained = timeout(service.config.shutdown_grace, async {
        while let Some(joined) = sessions.join_next().await {
            log_session_end(joined);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(event = "smtp.drain_timeout", address = %local, aborted = sessions.len());
        sessions.shutdown().await;
    }
    tracing::info!(event = "smtp.stopped", address = %local);
    Ok(())
}

fn log_session_end(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined {
        if error.is_panic() {
            tracing::error!(event = "smtp.session_panicked", %error);
        }
    }
}
