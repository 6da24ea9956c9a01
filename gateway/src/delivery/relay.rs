//! `delivery.transport = "relay"`: every copy goes to one smarthost over SMTP, which then does
//! the MX lookups, the retries towards recipients and the bounces. lettre speaks the protocol
//! on connections of our own pool (`smtp_pool`); `smtp_failure` decides what its errors mean for
//! a delivery.

use super::outcome::Outcome;
use super::smtp_failure::{classify, envelope, without_final_crlf, Peer, SmtpFailure};
use super::smtp_pool::{Connector, SmtpPool};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::Error as SmtpError;
use std::fmt;
use std::sync::Arc;
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
    pool: SmtpPool,
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
        let tls = match settings.tls {
            RelayTlsMode::None => Tls::None,
            RelayTlsMode::Starttls => Tls::Required(tls_parameters(&host, &settings)?),
            RelayTlsMode::Implicit => Tls::Wrapper(tls_parameters(&host, &settings)?),
        };
        let connector = Connector {
            host: host.clone(),
            port: settings.port,
            tls,
            hello: ClientId::Domain(settings.hello_name.clone()),
            credentials: settings
                .credentials
                .as_ref()
                .map(|(user, password)| Credentials::new(user.clone(), password.clone())),
            connect_timeout: settings.timeout,
        };
        Ok(Relay {
            inner: Arc::new(Inner {
                address: format!("{host}:{}", settings.port),
                budget: settings.timeout,
                pool: SmtpPool::new(connector, settings.pool_size as usize),
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
        // A send that runs out of time is dropped with its connection, which therefore never
        // returns to the pool half-way through a conversation.
        let sent = tokio::time::timeout(
            self.inner.budget,
            self.inner.pool.send(&envelope, without_final_crlf(message)),
        )
        .await;
        match sent {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(failure)) => classify(failure, &Peer::Relay(self.address())),
            Err(_elapsed) => classify(
                SmtpFailure::Stalled(self.inner.budget),
                &Peer::Relay(self.address()),
            ),
        }
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
    fn a_relay_needs_a_host() {
        assert!(matches!(
            Relay::new(RelaySettings::new(" ", 25)),
            Err(RelayError::NoHost)
        ));
        assert!(Relay::new(RelaySettings::new("relay.example.org", 25)).is_ok());
    }
}
