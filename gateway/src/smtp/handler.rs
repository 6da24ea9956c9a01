//! The contract between the SMTP session (protocol) and the gateway's decisions (policy and
//! store). The session knows SMTP; the handler knows who may send what to whom. Keeping the two
//! apart lets transcript tests drive the session with a scripted handler.

use std::future::Future;
use std::net::SocketAddr;

/// One SMTP reply: `code`, optional enhanced status (RFC 3463), and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// e.g. `(2, 0, 0)` for `2.0.0`
    pub enhanced: Option<(u8, u16, u16)>,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, enhanced: (u8, u16, u16), text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }

    pub fn multiline(code: u16, enhanced: (u8, u16, u16), lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines,
        }
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }
}

/// The person behind an authenticated session: every submission is tied to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub member_id: i64,
    /// The app password that was used (so one can be revoked without the others).
    pub credential_id: i64,
    /// The login name the client gave.
    pub login: String,
}

/// What a listener is for. Both run the same protocol code; the role decides who may be
/// addressed and whether AUTH exists at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerRole {
    /// Members' mail programs (ports 587 and 465): AUTH, and after it the lists.
    Submission,
    /// Other mail servers (port 25): no AUTH, only recipients that take mail from the world
    /// (`RcptOutcome::Accept { open: true }`); everything else 550 5.7.1, so the port relays
    /// nothing and reaches no list.
    Inbound,
}

/// What the session knows about its connection when it asks the handler.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The role of the listener the connection came in on.
    pub role: ListenerRole,
    /// The name the client gave in EHLO/HELO.
    pub helo: Option<String>,
    pub tls: bool,
    pub identity: Option<Identity>,
}

/// The envelope of one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Authenticated(Identity),
    /// Wrong login or password: 535 5.7.8, counted towards the lockout.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptOutcome {
    /// A known recipient. `open` recipients take mail from the world (the bounce address):
    /// reachable without AUTH, and the only ones an inbound listener takes. Every other
    /// recipient needs an authenticated session (else 530 5.7.0; 550 5.7.1 when inbound).
    Accept { open: bool },
    /// Refused with this reply (e.g. 550 5.1.1 for an unknown list address).
    Reject(Reply),
}

/// Decides on authentication, recipients and whole messages. Implemented by the gateway over
/// the store and the policy engine; by scripted fakes in transcript tests.
pub trait SessionHandler: Send + Sync + 'static {
    fn authenticate(
        &self,
        session: &SessionInfo,
        login: &str,
        password: &str,
    ) -> impl Future<Output = AuthOutcome> + Send;

    fn check_recipient(
        &self,
        session: &SessionInfo,
        address: &str,
    ) -> impl Future<Output = RcptOutcome> + Send;

    /// Decides on, and durably stores, a complete message. The returned reply is the final
    /// answer to DATA; a positive reply promises the message is stored.
    fn accept_message(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
        message: &[u8],
    ) -> impl Future<Output = Reply> + Send;
}
