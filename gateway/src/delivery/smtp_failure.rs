//! What can go wrong when a copy leaves over SMTP, for both SMTP transports (`relay` and `mx`),
//! and the one place that decides whether it is worth another attempt.

use super::outcome::Outcome;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::response::{Code, Severity};
use lettre::transport::smtp::Error as SmtpError;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Who we were talking to, for the texts recorded with a delivery.
#[derive(Debug, Clone, Copy)]
pub(super) enum Peer<'a> {
    /// The smarthost, as `host:port`.
    Relay(&'a str),
    /// One address of one mail exchanger of the recipient's domain.
    MailHost { host: &'a str, ip: IpAddr },
    /// No server yet: the failure came before any connection (DNS, the envelope).
    Domain(&'a str),
}

impl Peer<'_> {
    /// The subject of "… answered 550 …": the relay's replies read as before this module.
    fn who(&self) -> String {
        match self {
            Peer::Relay(_) => "relay".into(),
            Peer::MailHost { host, ip } => format!("{host} [{ip}]"),
            Peer::Domain(domain) => format!("the mail host of {domain}"),
        }
    }

    /// With its role, for transport trouble: "relay smtp.example.org:587".
    fn named(&self) -> String {
        match self {
            Peer::Relay(address) => format!("relay {address}"),
            Peer::MailHost { host, ip } => format!("mail host {host} [{ip}]"),
            Peer::Domain(domain) => format!("the mail host of {domain}"),
        }
    }

    /// Where an operator fixes a session refusal; an MX host's AUTH demands are not ours to fix.
    fn config_hint(&self) -> &'static str {
        match self {
            Peer::Relay(_) => " (check delivery.relay)",
            Peer::MailHost { .. } | Peer::Domain(_) => "",
        }
    }
}

impl fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.named())
    }
}

/// What went wrong, in the terms that decide between retrying and giving up. A closed enum of
/// our own: lettre and hickory keep their error kinds private or open-ended, so each is mapped
/// here once and [`classify`] matches on this without a catch-all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SmtpFailure {
    /// The server answered with a negative reply.
    Reply { code: Code, text: String },
    /// lettre will not use the recipient address.
    BadRecipient(String),
    /// lettre will not use our return path: our configuration, not the recipient.
    BadReturnPath(String),
    /// Connecting, reading or writing failed.
    Io(std::io::ErrorKind, String),
    /// lettre's own connect timeout.
    ConnectTimeout(String),
    /// No answer within the whole budget for this step.
    Stalled(Duration),
    /// The TLS handshake or certificate check failed.
    Tls(String),
    /// The server's answer could not be parsed.
    Garbled(String),
    /// lettre refused before sending, e.g. 8-bit data to a server without 8BITMIME, or no AUTH
    /// mechanism in common.
    Refused(String),
    /// The connection pool had been shut down.
    Shutdown,
    /// An error lettre added after this code was written.
    Unrecognised(String),
    /// DNS says the recipient's domain does not exist (NXDOMAIN).
    NoSuchDomain(String),
    /// The domain publishes a null MX (RFC 7505): it accepts no mail at all.
    NullMx(String),
    /// The domain exists but has neither MX nor A/AAAA records (RFC 5321 5.1).
    NoMailHost(String),
    /// DNS could not answer (SERVFAIL, REFUSED, timeout, no name server reachable).
    Dns(String),
    /// Every mail host of the domain was tried and none took the message up to MAIL FROM;
    /// what each one said, in the order tried.
    NoHostAccepted(Vec<String>),
    /// Mail hosts (name, address) whose addresses are not public, so not connected to while
    /// `delivery.mx.allow_private_addresses` is off.
    PrivateAddresses(Vec<(String, IpAddr)>),
}

impl SmtpFailure {
    pub(super) fn from_smtp(e: &SmtpError) -> SmtpFailure {
        let detail = std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_else(|| e.to_string());
        if let Some(code) = e.status() {
            SmtpFailure::Reply { code, text: detail }
        } else if e.is_timeout() {
            SmtpFailure::ConnectTimeout(detail)
        } else if e.is_tls() {
            SmtpFailure::Tls(detail)
        } else if let Some(tls) = rustls_error(e) {
            SmtpFailure::Tls(tls.to_string())
        } else if e.is_transport_shutdown() {
            SmtpFailure::Shutdown
        } else if e.is_client() {
            SmtpFailure::Refused(detail)
        } else if e.is_response() {
            SmtpFailure::Garbled(detail)
        } else if let Some(io) = io_error(e) {
            SmtpFailure::Io(io.kind(), detail)
        } else {
            SmtpFailure::Unrecognised(e.to_string())
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

/// An empty return path is the null sender (`MAIL FROM:<>`).
pub(super) fn envelope(return_path: &str, recipient: &str) -> Result<Envelope, SmtpFailure> {
    let from = if return_path.is_empty() {
        None
    } else {
        Some(
            return_path
                .parse::<Address>()
                .map_err(|e| SmtpFailure::BadReturnPath(format!("{return_path:?}: {e}")))?,
        )
    };
    let to = recipient
        .parse::<Address>()
        .map_err(|e| SmtpFailure::BadRecipient(format!("{recipient:?}: {e}")))?;
    Envelope::new(from, vec![to]).map_err(|e| SmtpFailure::BadRecipient(e.to_string()))
}

/// lettre ends the data with `CRLF . CRLF` even when the message already ends in CRLF, which
/// would add an empty line to every message; RFC 5321 4.1.1.4 counts that first CRLF as the
/// end of the last line.
pub(super) fn without_final_crlf(message: &[u8]) -> &[u8] {
    message.strip_suffix(b"\r\n").unwrap_or(message)
}

/// 5xx replies about the session, not the message: AUTH required (530), mechanism too weak
/// (534), credentials refused (535), encryption required for the mechanism (538), RFC 4954.
/// A wrong password must defer the whole queue until it is fixed, not fail every copy.
fn refuses_session(code: Code) -> bool {
    matches!(u16::from(code), 530 | 534 | 535 | 538)
}

/// Temporary unless the server (or DNS) said, about this message or this domain, that it will
/// never take it: losing a message to a guess is worse than retrying it until `max_age`.
pub(super) fn classify(failure: SmtpFailure, peer: &Peer) -> Outcome {
    let who = peer.who();
    match failure {
        SmtpFailure::Reply { code, text } => match code.severity {
            Severity::TransientNegativeCompletion => {
                Outcome::Temporary(format!("{who} answered {code} {text}"))
            }
            Severity::PermanentNegativeCompletion if refuses_session(code) => {
                Outcome::Temporary(format!(
                    "{who} refused the session: {code} {text}{}",
                    peer.config_hint()
                ))
            }
            Severity::PermanentNegativeCompletion => {
                Outcome::Permanent(format!("{who} answered {code} {text}"))
            }
            // lettre reports no positive reply as an error; should it, whether the message
            // went is unknown.
            Severity::PositiveCompletion | Severity::PositiveIntermediate => {
                Outcome::Temporary(format!("{who} answered {code} {text} unexpectedly"))
            }
        },
        SmtpFailure::BadRecipient(e) => {
            Outcome::Permanent(format!("the recipient address cannot be used: {e}"))
        }
        SmtpFailure::BadReturnPath(e) => {
            Outcome::Temporary(format!("the return path cannot be used: {e}"))
        }
        SmtpFailure::Io(kind, e) => Outcome::Temporary(format!("{peer} unreachable ({kind}): {e}")),
        SmtpFailure::ConnectTimeout(e) => {
            Outcome::Temporary(format!("{peer} connect timed out: {e}"))
        }
        SmtpFailure::Stalled(budget) => {
            Outcome::Temporary(format!("{peer} did not finish within {budget:?}"))
        }
        SmtpFailure::Tls(e) => Outcome::Temporary(format!("{peer} TLS failed: {e}")),
        SmtpFailure::Garbled(e) => {
            Outcome::Temporary(format!("{peer} sent an unreadable reply: {e}"))
        }
        SmtpFailure::Refused(e) => Outcome::Temporary(format!("{peer} cannot be used: {e}")),
        SmtpFailure::Shutdown => {
            Outcome::Temporary(format!("the connection pool to {peer} was closed"))
        }
        SmtpFailure::Unrecognised(e) => {
            Outcome::Temporary(format!("sending via {peer} failed: {e}"))
        }
        SmtpFailure::NoSuchDomain(domain) => Outcome::Permanent(format!(
            "the domain {domain} does not exist (DNS answered NXDOMAIN)"
        )),
        SmtpFailure::NullMx(domain) => Outcome::Permanent(format!(
            "the domain {domain} accepts no mail (null MX, RFC 7505)"
        )),
        SmtpFailure::NoMailHost(domain) => Outcome::Permanent(format!(
            "the domain {domain} has no MX and no address record, so no mail host"
        )),
        // A resolver or an authoritative server in trouble says nothing about the address.
        SmtpFailure::Dns(e) => Outcome::Temporary(format!("DNS lookup failed: {e}")),
        // Even a 5xx greeting from every host is the hosts' state, not a verdict on the message
        // (Postfix's smtp_skip_5xx_greeting defers the same way).
        SmtpFailure::NoHostAccepted(tried) => Outcome::Temporary(format!(
            "no mail host of the domain took the message: {}",
            tried.join("; ")
        )),
        // What the domain's DNS says stays so until an operator decides otherwise: retrying
        // would only reach the same internal host later.
        SmtpFailure::PrivateAddresses(hosts) => {
            let named: Vec<String> = hosts
                .iter()
                .map(|(host, ip)| format!("MX host {host} resolves to a private address {ip}"))
                .collect();
            Outcome::Permanent(format!(
                "{}; set delivery.mx.allow_private_addresses to deliver there",
                named.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::Response;

    const RELAY: &str = "relay.example.org:587";

    fn relay() -> Peer<'static> {
        Peer::Relay(RELAY)
    }

    fn reply(line: &str) -> SmtpFailure {
        let response: Response = format!("{line}\r\n").parse().unwrap();
        let (code, text) = line.split_once(' ').unwrap();
        assert_eq!(response.code().to_string(), code);
        SmtpFailure::Reply {
            code: response.code(),
            text: text.to_string(),
        }
    }

    fn temporary(failure: SmtpFailure, peer: &Peer) -> String {
        match classify(failure, peer) {
            Outcome::Temporary(text) => text,
            other => panic!("expected Temporary, got {other:?}"),
        }
    }

    fn permanent(failure: SmtpFailure, peer: &Peer) -> String {
        match classify(failure, peer) {
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
            assert_eq!(
                temporary(reply(line), &relay()),
                format!("relay answered {line}")
            );
        }
    }

    #[test]
    fn five_hundreds_about_the_message_fail_it() {
        for line in [
            "550 5.1.1 no such user",
            "554 5.7.1 rejected as spam",
            "552 5.3.4 message too big",
        ] {
            assert_eq!(
                permanent(reply(line), &relay()),
                format!("relay answered {line}")
            );
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
            let text = temporary(reply(line), &relay());
            assert!(
                text.contains(line) && text.contains("delivery.relay"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_mail_host_is_named_with_its_address() {
        let peer = Peer::MailHost {
            host: "mx1.example.org",
            ip: IpAddr::from([192, 0, 2, 25]),
        };
        assert_eq!(
            permanent(reply("550 5.1.1 no such user"), &peer),
            "mx1.example.org [192.0.2.25] answered 550 5.1.1 no such user"
        );
        let text = temporary(reply("530 5.7.0 authentication required"), &peer);
        assert!(!text.contains("delivery.relay"), "{text}");
    }

    #[test]
    fn positive_replies_as_errors_are_retried() {
        assert!(temporary(reply("250 2.0.0 ok"), &relay()).contains("250 2.0.0 ok"));
    }

    #[test]
    fn transport_trouble_is_retried() {
        use std::io::ErrorKind;
        for failure in [
            SmtpFailure::Io(ErrorKind::ConnectionRefused, "refused".into()),
            SmtpFailure::ConnectTimeout("connection timed out".into()),
            SmtpFailure::Stalled(Duration::from_secs(120)),
            SmtpFailure::Tls("invalid peer certificate".into()),
            SmtpFailure::Garbled("incomplete response".into()),
            SmtpFailure::Refused("no 8BITMIME".into()),
            SmtpFailure::Shutdown,
            SmtpFailure::Unrecognised("something new".into()),
            SmtpFailure::BadReturnPath("\"x\": Missing domain or user".into()),
        ] {
            let text = temporary(failure, &relay());
            assert!(
                text.contains(RELAY) || text.contains("return path"),
                "{text}"
            );
        }
    }

    #[test]
    fn dns_verdicts_about_the_domain_fail_and_dns_trouble_is_retried() {
        let peer = Peer::Domain("example.org");
        for failure in [
            SmtpFailure::NoSuchDomain("example.org".into()),
            SmtpFailure::NullMx("example.org".into()),
            SmtpFailure::NoMailHost("example.org".into()),
        ] {
            assert!(permanent(failure, &peer).contains("example.org"));
        }
        for failure in [
            SmtpFailure::Dns("SERVFAIL for example.org MX".into()),
            SmtpFailure::NoHostAccepted(vec!["mx1: 554 go away".into(), "mx2: refused".into()]),
        ] {
            let text = temporary(failure, &peer);
            assert!(text.contains("SERVFAIL") || text.contains("mx2"), "{text}");
        }
    }

    #[test]
    fn a_private_mail_host_fails_the_copy_naming_host_address_and_key() {
        let peer = Peer::Domain("example.org");
        let one = vec![("mx.example.org".to_string(), IpAddr::from([10, 0, 0, 1]))];
        assert_eq!(
            permanent(SmtpFailure::PrivateAddresses(one), &peer),
            "MX host mx.example.org resolves to a private address 10.0.0.1; \
             set delivery.mx.allow_private_addresses to deliver there"
        );
    }

    #[test]
    fn an_unusable_recipient_fails_at_once() {
        let failure = envelope("bounce+t@lists.example.org", "not an address").unwrap_err();
        assert!(
            matches!(failure, SmtpFailure::BadRecipient(_)),
            "{failure:?}"
        );
        assert!(permanent(failure, &relay()).contains("not an address"));
    }

    #[test]
    fn an_unusable_return_path_is_ours_to_fix() {
        let failure = envelope("bounce+t@", "member@example.org").unwrap_err();
        assert!(
            matches!(failure, SmtpFailure::BadReturnPath(_)),
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
}
