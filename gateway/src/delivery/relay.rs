//! `delivery.transport = "relay"`: every copy goes to one smarthost over SMTP, which then does
//! the MX lookups, the retries towards recipients and the bounces. lettre speaks the protocol
//! on connections of our own pool (`smtp_pool`); this file decides what its errors mean for a
//! delivery.

use super::smtp_pool::{Connector, SmtpPool};
use super::transport::Outcome;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Code, Severity};
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
            Err(failure) => return classify(failure, self.address()),
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
            Ok(Err(failure)) => classify(failure, self.address()),
            Err(_elapsed) => classify(RelayFailure::Stalled(self.inner.budget), self.address()),
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

/// An empty return path is the null sender (`MAIL FROM:<>`).
fn envelope(return_path: &str, recipient: &str) -> Result<Envelope, RelayFailure> {
    let from = if return_path.is_empty() {
        None
    } else {
        Some(
            return_path
                .parse::<Address>()
                .map_err(|e| RelayFailure::BadReturnPath(format!("{return_path:?}: {e}")))?,
        )
    };
    let to = recipient
        .parse::<Address>()
        .map_err(|e| RelayFailure::BadRecipient(format!("{recipient:?}: {e}")))?;
    Envelope::new(from, vec![to]).map_err(|e| RelayFailure::BadRecipient(e.to_string()))
}

/// lettre ends the data with `CRLF . CRLF` even when the message already ends in CRLF, which
/// would add an empty line to every message; RFC 5321 4.1.1.4 counts that first CRLF as the
/// end of the last line.
fn without_final_crlf(message: &[u8]) -> &[u8] {
    message.strip_suffix(b"\r\n").unwrap_or(message)
}

/// What went wrong, in the terms that decide between retrying and giving up. A closed enum of
/// our own: lettre keeps its error kinds private and only answers questions about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RelayFailure {
    /// The relay answered with a negative reply.
    Reply { code: Code, text: String },
    /// lettre will not use the recipient address.
    BadRecipient(String),
    /// lettre will not use our return path: our configuration, not the recipient.
    BadReturnPath(String),
    /// Connecting, reading or writing failed.
    Io(std::io::ErrorKind, String),
    /// lettre's own connect timeout.
    ConnectTimeout(String),
    /// No answer within the whole hand-over budget.
    Stalled(Duration),
    /// The TLS handshake or certificate check failed.
    Tls(String),
    /// The relay's answer could not be parsed.
    Garbled(String),
    /// lettre refused before sending, e.g. 8-bit data to a relay without 8BITMIME, or no AUTH
    /// mechanism in common.
    Refused(String),
    /// The pool had been shut down.
    Shutdown,
    /// An error lettre added after this code was written.
    Unrecognised(String),
}

impl RelayFailure {
    pub(super) fn from_smtp(e: &SmtpError) -> RelayFailure {
        let detail = std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_else(|| e.to_string());
        if let Some(code) = e.status() {
            RelayFailure::Reply { code, text: detail }
        } else if e.is_timeout() {
            RelayFailure::ConnectTimeout(detail)
        } else if e.is_tls() {
            RelayFailure::Tls(detail)
        } else if let Some(tls) = rustls_error(e) {
            RelayFailure::Tls(tls.to_string())
        } else if e.is_transport_shutdown() {
            RelayFailure::Shutdown
        } else if e.is_client() {
            RelayFailure::Refused(detail)
        } else if e.is_response() {
            RelayFailure::Garbled(detail)
        } else if let Some(io) = io_error(e) {
            RelayFailure::Io(io.kind(), detail)
        } else {
            RelayFailure::Unrecognised(e.to_string())
        }
    }
}

/// A failed STARTTLS handshake reaches us as an IO error of kind `InvalidData` around the
/// rustls error, not as lettre's TLS kind.
fn rustls_error(e: &SmtpError) -> Option<&rustls::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // `io::Error::source` skips the error it wraps, so look inside by hand.
        let wrapped = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if wrapped.is_some() {
            return wrapped;
        }
        source = err.source();
    }
    None
}

fn io_error(e: &SmtpError) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = err.source();
    }
    None
}

/// 5xx replies about the session, not the message: AUTH required (530), mechanism too weak
/// (534), credentials refused (535), encryption required for the mechanism (538), RFC 4954.
/// A wrong password must defer the whole queue until it is fixed, not fail every copy.
fn refuses_session(code: Code) -> bool {
    matches!(u16::from(code), 530 | 534 | 535 | 538)
}

/// Temporary unless the relay said, about this message, that it will never take it: losing a
/// message to a guess is worse than retrying it until `max_age`.
fn classify(failure: RelayFailure, relay: &str) -> Outcome {
    match failure {
        RelayFailure::Reply { code, text } => match code.severity {
            Severity::TransientNegativeCompletion => {
                Outcome::Temporary(format!("relay answered {code} {text}"))
            }
            Severity::PermanentNegativeCompletion if refuses_session(code) => Outcome::Temporary(
                format!("relay refused the session: {code} {text} (check delivery.relay)"),
            ),
            Severity::PermanentNegativeCompletion => {
                Outcome::Permanent(format!("relay answered {code} {text}"))
            }
            // lettre reports no positive reply as an error; should it, whether the message
            // went is unknown.
            Severity::PositiveCompletion | Severity::PositiveIntermediate => {
                Outcome::Temporary(format!("relay answered {code} {text} unexpectedly"))
            }
        },
        RelayFailure::BadRecipient(e) => {
            Outcome::Permanent(format!("the recipient address cannot be relayed: {e}"))
        }
        RelayFailure::BadReturnPath(e) => {
            Outcome::Temporary(format!("the return path cannot be relayed: {e}"))
        }
        RelayFailure::Io(kind, e) => {
            Outcome::Temporary(format!("relay {relay} unreachable ({kind}): {e}"))
        }
        RelayFailure::ConnectTimeout(e) => {
            Outcome::Temporary(format!("relay {relay} connect timed out: {e}"))
        }
        RelayFailure::Stalled(budget) => {
            Outcome::Temporary(format!("relay {relay} did not finish within {budget:?}"))
        }
        RelayFailure::Tls(e) => Outcome::Temporary(format!("relay {relay} TLS failed: {e}")),
        RelayFailure::Garbled(e) => {
            Outcome::Temporary(format!("relay {relay} sent an unreadable reply: {e}"))
        }
        RelayFailure::Refused(e) => {
            Outcome::Temporary(format!("relay {relay} cannot be used: {e}"))
        }
        RelayFailure::Shutdown => {
            Outcome::Temporary(format!("the connection pool to relay {relay} was closed"))
        }
        RelayFailure::Unrecognised(e) => {
            Outcome::Temporary(format!("relaying via {relay} failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::Response;

    const RELAY: &str = "relay.example.org:587";

    fn reply(line: &str) -> RelayFailure {
        let response: Response = format!("{line}\r\n").parse().unwrap();
        let (code, text) = line.split_once(' ').unwrap();
        assert_eq!(response.code().to_string(), code);
        RelayFailure::Reply {
            code: response.code(),
            text: text.to_string(),
        }
    }

    fn temporary(failure: RelayFailure) -> String {
        match classify(failure, RELAY) {
            Outcome::Temporary(text) => text,
            other => panic!("expected Temporary, got {other:?}"),
        }
    }

    fn permanent(failure: RelayFailure) -> String {
        match classify(failure, RELAY) {
            Outcome::Permanent(text) => text,
            other => panic!("expected Permanent, got {other:?}"),
        }
    }

    #[test]
    fn four_hundreds_are_retried_with_code_and_text() {
        for line in [
            "450 4.2.1 try later",
            "421 4.3.2 shutting down",
            "452 4.3.1 insufficient storage",
        ] {
            assert_eq!(temporary(reply(line)), format!("relay answered {line}"));
        }
    }

    #[test]
    fn five_hundreds_about_the_message_fail_it() {
        for line in [
            "550 5.1.1 no such user",
            "554 5.7.1 rejected as spam",
            "552 5.3.4 message too big",
        ] {
            assert_eq!(permanent(reply(line)), format!("relay answered {line}"));
        }
    }

    #[test]
    fn five_hundreds_about_the_session_are_retried() {
        for line in [
            "530 5.7.0 authentication required",
            "534 5.7.9 mechanism too weak",
            "535 5.7.8 credentials invalid",
            "538 5.7.11 encryption required",
        ] {
            let text = temporary(reply(line));
            assert!(
                text.contains(line) && text.contains("delivery.relay"),
                "{text}"
            );
        }
    }

    #[test]
    fn positive_replies_as_errors_are_retried() {
        assert!(temporary(reply("250 2.0.0 ok")).contains("250 2.0.0 ok"));
    }

    #[test]
    fn transport_trouble_is_retried() {
        use std::io::ErrorKind;
        for failure in [
            RelayFailure::Io(ErrorKind::ConnectionRefused, "refused".into()),
            RelayFailure::ConnectTimeout("connection timed out".into()),
            RelayFailure::Stalled(Duration::from_secs(120)),
            RelayFailure::Tls("invalid peer certificate".into()),
            RelayFailure::Garbled("incomplete response".into()),
            RelayFailure::Refused("no 8BITMIME".into()),
            RelayFailure::Shutdown,
            RelayFailure::Unrecognised("something new".into()),
            RelayFailure::BadReturnPath("\"x\": Missing domain or user".into()),
        ] {
            let text = temporary(failure);
            assert!(
                text.contains(RELAY) || text.contains("return path"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_unusable_recipient_fails_at_once() {
        let failure = envelope("bounce+t@lists.example.org", "not an address").unwrap_err();
        assert!(
            matches!(failure, RelayFailure::BadRecipient(_)),
            "{failure:?}"
        );
        assert!(permanent(failure).contains("not an address"));
    }

    #[test]
    fn an_unusable_return_path_is_ours_to_fix() {
        let failure = envelope("bounce+t@", "member@example.org").unwrap_err();
        assert!(
            matches!(failure, RelayFailure::BadReturnPath(_)),
            "{failure:?}"
        );
    }

    #[test]
    fn an_empty_return_path_is_the_null_sender() {
        let envelope = envelope("", "member@example.org").unwrap();
        assert_eq!(envelope.from(), None);
        assert_eq!(envelope.to().len(), 1);
    }

    #[test]
    fn only_one_final_crlf_is_left_to_the_terminator() {
        assert_eq!(without_final_crlf(b"a\r\n"), b"a");
        assert_eq!(without_final_crlf(b"a\r\n\r\n"), b"a\r\n");
        assert_eq!(without_final_crlf(b"a"), b"a");
    }

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
