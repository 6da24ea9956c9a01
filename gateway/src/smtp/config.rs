//! Limits and switches of the submission server. A plain struct with defaults fit for
//! production; the binary fills it from the layered config, tests shorten the timeouts.

use std::net::IpAddr;
use std::time::Duration;

/// Everything the SMTP protocol layer needs to know that is not a decision of the
/// [`super::SessionHandler`]. Every budget here exists so one client cannot hold a worker,
/// memory or a connection slot forever (ARCHITECTURE.md, habit 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Advertised as `SIZE`; a message over it is answered 552 5.3.4 and never held whole.
    pub max_message_bytes: usize,
    /// Recipients per transaction; the next RCPT gets 452 4.5.3.
    pub max_recipients: usize,
    /// Longest command line, CRLF not counted. RFC 5321 says 512, but clients send long
    /// AUTH lines (an initial response of a long app password), so the default is 4096.
    pub max_line_length: usize,
    /// How long the session waits for the next command (also before the first one, so a
    /// client that never speaks is closed with 421 4.4.2) and for each read inside DATA.
    pub command_timeout: Duration,
    /// The whole DATA or BDAT transfer of one message must finish within this.
    pub data_timeout: Duration,
    /// Time budget of one connection, STARTTLS included.
    pub max_session_duration: Duration,
    /// Byte budget of one connection (everything read), STARTTLS included.
    pub max_session_bytes: u64,
    /// Consecutive negative replies before 421 4.7.0 and close: stops garbage and
    /// address-guessing clients from using the connection as a free oracle.
    pub max_errors: u32,
    /// Open connections per client IP; the next one is greeted with 421 4.7.0.
    pub max_connections_per_ip: usize,
    /// New connections per client IP and minute (a rate, kept by `governor`); 0 turns the
    /// rate off, e.g. for a benchmark that opens one connection per message from loopback.
    pub connections_per_ip_per_minute: u32,
    /// Distinct logins failing AUTH from one client (an IPv4 address, an IPv6 /64) within
    /// `auth_failure_window` before that client is locked out: this catches spraying, many
    /// accounts tried from one place. One account failing again and again (a mail client with
    /// a stale password in a shared office) is the per-account limit's alone, so it never
    /// locks out the colleagues behind the same address.
    pub auth_failed_logins_per_client: u32,
    /// Failed AUTH attempts for one login within `auth_failure_window` before it is locked out.
    pub auth_failures_per_account: u32,
    pub auth_failure_window: Duration,
    /// How long a locked client or login is refused with 454 4.7.0 without asking the handler.
    pub auth_lockout: Duration,
    /// AUTH is offered only under TLS. With this flag it is also offered without TLS, but
    /// only to loopback peers: the `serve --demo` setup, where the password never leaves
    /// the machine. Never set it in production.
    pub allow_plain_auth_without_tls: bool,
    /// The TLS handshake after STARTTLS or on an implicit-TLS port must finish within this.
    pub tls_handshake_timeout: Duration,
    /// On shutdown, open sessions may finish their transaction for this long.
    pub shutdown_grace: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "localhost".to_string(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_line_length: 4096,
            command_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(10 * 60),
            max_session_duration: Duration::from_secs(60 * 60),
            max_session_bytes: 256 * 1024 * 1024,
            max_errors: 10,
            max_connections_per_ip: 20,
            connections_per_ip_per_minute: 120,
            auth_failed_logins_per_client: 10,
            auth_failures_per_account: 5,
            auth_failure_window: Duration::from_secs(15 * 60),
            auth_lockout: Duration::from_secs(15 * 60),
            allow_plain_auth_without_tls: false,
            tls_handshake_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl SmtpConfig {
    /// Whether AUTH may be offered and used right now: under TLS always; without TLS only
    /// for a loopback peer and only when the demo flag is set.
    pub fn auth_allowed(&self, tls: bool, peer: IpAddr) -> bool {
        tls || (self.allow_plain_auth_without_tls && peer.is_loopback())
    }

    /// Every bad setting at once (ARCHITECTURE.md, habit 13), as `key: problem` lines.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut require = |ok: bool, problem: &str| {
            if !ok {
                problems.push(problem.to_string());
            }
        };
        require(
            !self.hostname.is_empty() && !self.hostname.contains(char::is_whitespace),
            "hostname: must be a non-empty name without spaces",
        );
        require(
            self.max_message_bytes > 0,
            "max_message_bytes: must be above 0",
        );
        require(self.max_recipients > 0, "max_recipients: must be above 0");
        require(
            self.max_line_length >= 512,
            "max_line_length: must be at least 512 (RFC 5321)",
        );
        require(
            !self.command_timeout.is_zero(),
            "command_timeout: must be above 0",
        );
        require(
            !self.data_timeout.is_zero(),
            "data_timeout: must be above 0",
        );
        require(
            !self.max_session_duration.is_zero(),
            "max_session_duration: must be above 0",
        );
        require(
            self.max_session_bytes >= self.max_message_bytes as u64,
            "max_session_bytes: must be at least max_message_bytes",
        );
        require(self.max_errors > 0, "max_errors: must be above 0");
        require(
            self.max_connections_per_ip > 0,
            "max_connections_per_ip: must be above 0",
        );
        require(
            self.auth_failed_logins_per_client > 0,
            "auth_failed_logins_per_client: must be above 0",
        );
        require(
            self.auth_failures_per_account > 0,
            "auth_failures_per_account: must be above 0",
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(SmtpConfig::default().validate(), Ok(()));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = SmtpConfig {
            hostname: String::new(),
            max_recipients: 0,
            max_errors: 0,
            ..SmtpConfig::default()
        };
        let problems = config.validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn auth_without_tls_only_for_loopback_with_the_demo_flag() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        let strict = SmtpConfig::default();
        assert!(!strict.auth_allowed(false, loopback));
        assert!(strict.auth_allowed(true, remote));
        let demo = SmtpConfig {
            allow_plain_auth_without_tls: true,
            ..SmtpConfig::default()
        };
        assert!(demo.auth_allowed(false, loopback));
        assert!(!demo.auth_allowed(false, remote));
    }
}
