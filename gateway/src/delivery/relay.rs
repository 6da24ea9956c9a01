//! `delivery.transport = "relay"`: every copy goes to one smarthost over SMTP, which then does
//! the MX lookups, the retries towards recipients and the bounces. lettre speaks the protocol
//! and keeps a pool of open connections; `smtp_failure` decides what its errors mean for a delivery.

use super::smtp_failure::{classify, envelope, without_final_crlf, Peer, SmtpFailure};
use super::transport::Outcome;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTlsMode {
    /// Plain connection upgraded with STARTTLS; a relay that does not offer it is not used.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Implicit,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

/// Where and how to reach the smarthost.
#[derive(Clone)]
pub struct RelaySettings {
    pub host: String,
    pub port: u16,
    pub tls: RelayTlsMode,
    /// Username and password for AUTH (PLAIN, else LOGIN); `None` sends no AUTH.
    pub credentials: Option<(String, String)>,
    /// Our name in EHLO; relays may refuse a bare `localhost`.
    pub hello_name: String,
    /// Budget for one whole hand-over: connect, TLS, AUTH and the transaction. lettre bounds
    /// only the TCP connect by itself, so a relay that stops answering would otherwise hold a
    /// worker for ever.
    pub timeout: Duration,
    /// Idle connections kept open between messages; 0 closes each after its message.
    pub pool_size: u32,
    /// Accept any certificate under any name. Only for tests against a self-signed sink:
    /// with it, anyone on the path can read the mail and the relay password.
    pub accept_invalid_certs: bool,
}

impl RelaySettings {
    /// Settings with STARTTLS, no AUTH, a two-minute budget and four pooled connections.
    pub fn new(host: impl Into<String>, port: u16) -> RelaySettings {
        RelaySettings {
            host: host.into(),
            port,
            tls: RelayTlsMode::Starttls,
            credentials: None,
            hello_name: "localhost".into(),
            timeout: Duration::from_secs(120),
            pool_size: 4,
            accept_invalid_certs: false,
        }
    }
}

/// Keeps the password out of logs and panic messages.
impl fmt::Debug for RelaySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelaySettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|(user, _)| user))
            .field("hello_name", &self.hello_name)
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// Why a [`Relay`] cannot be built; nothing has been sent yet.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the relay host is empty")]
    NoHost,
    #[error("setting up TLS towards the relay {host} failed: {source}")]
    Tls {
        host: String,
        #[source]
        source: SmtpError,
    },
    /// lettre's pool starts a cleanup task, so it can only be built inside a Tokio runtime.
    #[error("the relay transport must be built inside a Tokio runtime")]
    NoRuntime,
}

/// The smarthost transport. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    /// `host:port`, for messages.
    address: String,
    budget: Duration,
    /// Kept to build a fresh pool when a connection of the current one stalls (see `retire`).
    builder: AsyncSmtpTransportBuilder,
    current: Mutex<Pool>,
}

struct Pool {
    generation: u64,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("address", &self.inner.address)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Prepares the pool; the first connection is opened by the first message, so a relay that
    /// is down at start only defers mail.
    pub fn new(settings: RelaySettings) -> Result<Relay, RelayError> {
        let host = settings.host.trim().to_string();
        if host.is_empty() {
            return Err(RelayError::NoHost);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RelayError::NoRuntime);
        }
        let tls = match settings.tls {
            RelayTlsMode::None => Tls::None,
            RelayTlsMode::Starttls => Tls::Required(tls_parameters(&host, &settings)?),
            RelayTlsMode::Implicit => Tls::Wrapper(tls_parameters(&host, &settings)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(settings.port)
            .tls(tls)
            .hello_name(ClientId::Domain(settings.hello_name.clone()))
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().min_idle(0).max_size(settings.pool_size));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = builder.clone().build();
        Ok(Relay {
            inner: Arc::new(Inner {
                address: format!("{host}:{}", settings.port),
                budget: settings.timeout,
                builder,
                current: Mutex::new(Pool {
                    generation: 0,
                    transport,
                }),
            }),
        })
    }

    /// `host:port` of the relay.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// Hands one message to the relay with the given envelope. The relay has no notion of our
    /// delivery names: a reply lost after the relay took the message means a second copy.
    pub(super) async fn send(&self, return_path: &str, recipient: &str, message: &[u8]) -> Outcome {
        let envelope = match envelope(return_path, recipient) {
            Ok(envelope) => envelope,
            Err(failure) => return classify(failure, &Peer::Relay(self.address())),
        };
        let (generation, transport) = self.pool();
        let sent = tokio::time::timeout(
            self.inner.budget,
            transport.send_raw(&envelope, without_final_crlf(message)),
        )
        .await;
        let failure = match sent {
            Ok(Ok(_reply)) => None,
            Ok(Err(e)) => Some(SmtpFailure::from_smtp(&e)),
            // Before the next await, so that as few sends as possible still see the old pool.
            Err(_elapsed) => {
                self.retire(generation);
                Some(SmtpFailure::Stalled(self.inner.budget))
            }
        };
        // lettre hands a used connection back to its pool from a task of its own; letting
        // that task run first means the next message of this worker finds it there instead of
        // opening a second connection.
        tokio::task::yield_now().await;
        match failure {
            None => Outcome::Sent,
            Some(failure) => classify(failure, &Peer::Relay(self.address())),
        }
    }

    fn pool(&self) -> (u64, AsyncSmtpTransport<Tokio1Executor>) {
        let pool = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (pool.generation, pool.transport.clone())
    }

    /// Replaces the pool after a send ran out of time. The abandoned connection stopped at an
    /// unknown point of the conversation, yet lettre would park it for the next message, whose
    /// commands could then be read as the rest of this one; only a closed pool refuses it.
    fn retire(&self, generation: u64) {
        let old = {
            let mut pool = self
                .inner
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if pool.generation != generation {
                return; // another worker has already replaced it
            }
            pool.generation += 1;
            std::mem::replace(&mut pool.transport, self.inner.builder.clone().build())
        };
        tracing::warn!(
            event = "delivery.relay_stalled",
            relay = %self.inner.address,
            "the relay did not answer in time; its connections are closed and reopened"
        );
        let budget = self.inner.budget;
        // Closing sends QUIT to a relay that may not answer: bounded, and off this worker.
        tokio::spawn(async move {
            let _ = tokio::time::timeout(budget, old.shutdown()).await;
        });
    }
}

fn tls_parameters(host: &str, settings: &RelaySettings) -> Result<TlsParameters, RelayError> {
    TlsParameters::builder(host.to_string())
        .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
        .dangerous_accept_invalid_hostnames(settings.accept_invalid_certs)
        .build_rustls()
        .map_err(|source| RelayError::Tls {
            host: host.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_do_not_show_the_password() {
        let settings = RelaySettings {
            credentials: Some(("user".into(), "hunter2".into())),
            ..RelaySettings::new("relay.example.org", 587)
        };
        let shown = format!("{settings:?}");
        assert!(
            shown.contains("user") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn a_relay_needs_a_host_and_a_runtime() {
        assert!(matches!(
            Relay::new(RelaySettings::new(" ", 25)),
            Err(RelayError::NoHost)
        ));
        assert!(matches!(
            Relay::new(RelaySettings::new("relay.example.org", 25)),
            Err(RelayError::NoRuntime)
        ));
    }
}
