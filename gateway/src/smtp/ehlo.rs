//! EHLO, HELO and STARTTLS: what the client is told it may do, and the switch to TLS.
//!
//! STARTTLS resets everything (RFC 3207 §4.2): the session that continues on the TLS stream
//! starts without HELO name, identity or transaction, so the client must EHLO again.
//! Commands the client pipelined after STARTTLS are the CVE-2011-0411 injection pattern
//! (plaintext commands that would run inside the TLS session); they are thrown away and
//! STARTTLS is refused, so nothing sent in plaintext ever counts as sent under TLS.

use super::handler::{ListenerRole, Reply};
use super::reply::plain_reply;
use super::session::{Flow, Session, Transaction};
use super::SessionHandler;
use tokio::io::{AsyncRead, AsyncWrite};

/// What this session may be offered right now.
pub(crate) struct Capabilities {
    pub(crate) max_message_bytes: usize,
    pub(crate) starttls: bool,
    pub(crate) auth: bool,
}

impl Capabilities {
    /// The EHLO keyword lines, after the greeting line. CHUNKING is not advertised: BDAT
    /// works, but no submission client needs it.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            "PIPELINING".to_string(),
            format!("SIZE {}", self.max_message_bytes),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.starttls {
            lines.push("STARTTLS".to_string());
        }
        if self.auth {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("HELP".to_string());
        lines
    }
}

impl<S, H> Session<'_, S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: SessionHandler,
{
    pub(crate) fn capabilities(&self) -> Capabilities {
        let config = self.config();
        Capabilities {
            max_message_bytes: config.max_message_bytes,
            starttls: self.service.tls.is_some() && !self.info.tls,
            auth: self.info.role == ListenerRole::Submission
                && self.info.identity.is_none()
                && config.auth_allowed(self.info.tls, self.info.peer.ip()),
        }
    }

    /// EHLO (`esmtp`) or HELO. Either also resets the transaction (RFC 5321 §4.1.4).
    pub(crate) fn handle_ehlo(&mut self, host: String, esmtp: bool) {
        if host.chars().any(char::is_control) {
            let reply = Reply::new(501, (5, 5, 4), "Invalid domain name");
            self.refuse("smtp.bad_command", "bad_helo", reply);
            return;
        }
        self.tx = Transaction::default();
        self.esmtp = esmtp;
        let first = format!("{} greets {host}", self.config().hostname);
        self.info.helo = Some(host);
        let mut lines = vec![first];
        if esmtp {
            lines.extend(self.capabilities().lines());
        }
        // RFC 2034: no enhanced status code on the EHLO/HELO reply.
        self.accept(plain_reply(250, lines));
    }

    /// Answers STARTTLS; on success the caller hands the stream to the TLS acceptor.
    pub(crate) fn handle_starttls(&mut self) -> Flow {
        if self.info.tls {
            let reply = Reply::new(503, (5, 5, 1), "Already using TLS");
            self.refuse("smtp.bad_sequence", "starttls_twice", reply);
            return Flow::Continue;
        }
        if self.service.tls.is_none() {
            let reply = Reply::new(502, (5, 5, 1), "STARTTLS not available");
            self.refuse("smtp.bad_command", "starttls_unavailable", reply);
            return Flow::Continue;
        }
        if !self.io.buffered().is_empty() {
            self.io.discard_buffered();
            let reply = Reply::new(
                503,
                (5, 5, 1),
                "STARTTLS must be the last command in a pipeline",
            );
            self.refuse("smtp.bad_command", "starttls_pipelined", reply);
            return Flow::Continue;
        }
        self.accept(Reply::new(220, (2, 0, 0), "Ready to start TLS"));
        Flow::StartTls
    }
}

#[cfg(test)]
mod tests {
    use super::Capabilities;

    #[test]
    fn starttls_and_auth_are_advertised_only_when_usable() {
        let plain = Capabilities {
            max_message_bytes: 1000,
            starttls: true,
            auth: false,
        };
        let lines = plain.lines();
        assert!(lines.contains(&"SIZE 1000".to_string()));
        assert!(lines.contains(&"STARTTLS".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("AUTH")));
        for keyword in ["PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"] {
            assert!(lines.contains(&keyword.to_string()), "{keyword}");
        }
        let secured = Capabilities {
            max_message_bytes: 1000,
            starttls: false,
            auth: true,
        };
        let lines = secured.lines();
        assert!(!lines.contains(&"STARTTLS".to_string()));
        assert!(lines.contains(&"AUTH PLAIN LOGIN".to_string()));
    }
}
