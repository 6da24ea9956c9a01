//! Reading what comes back to a VERP address: a delivery status notification (RFC 3464) says
//! per recipient whether delivery failed for good (`Action: failed`, status 5.x.x) or is only
//! delayed (`Action: delayed`, 4.x.x). Anything else is kept as a soft bounce: an address is
//! only ever given up on the strength of a clear permanent failure, never on a guess.

use mail_parser::{MessageParser, MimeHeaders};

/// What a bounce says about the one delivery its VERP address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceReport {
    /// A permanent failure: counts towards giving the address up.
    pub hard: bool,
    /// The enhanced status code, e.g. `5.1.1`, when the report gives one.
    pub status: Option<String>,
    /// The remote server's words (Diagnostic-Code), or what kind of bounce it was.
    pub diagnostic: String,
}

/// Classifies a bounce message.
pub fn classify_bounce(raw: &[u8]) -> BounceReport {
    let Some(message) = MessageParser::default().parse(raw) else {
        return soft("an unreadable bounce message");
    };
    let report = message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let subtype = ct.subtype()?;
        (ct.ctype().eq_ignore_ascii_case("message")
            && subtype.eq_ignore_ascii_case("delivery-status"))
        .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    });
    match report {
        Some(text) => from_delivery_status(&text),
        None => soft("a bounce without a delivery status report"),
    }
}

fn soft(diagnostic: &str) -> BounceReport {
    BounceReport {
        hard: false,
        status: None,
        diagnostic: diagnostic.to_string(),
    }
}

/// Reads the per-recipient fields of a `message/delivery-status` body. A VERP address names
/// exactly one recipient, so the first recipient block with an action decides.
fn from_delivery_status(text: &str) -> BounceReport {
    let mut action = None;
    let mut status = None;
    let mut diagnostic = None;
    // Unfold continuation lines first: Diagnostic-Code is often folded.
    let mut fields: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
                continue;
            }
        }
        fields.push(line.trim_end().to_string());
    }
    for field in &fields {
        let Some((name, value)) = field.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "action" if action.is_none() => action = Some(value.to_ascii_lowercase()),
            "status" if status.is_none() => {
                status = value.split_whitespace().next().map(str::to_string)
            }
            "diagnostic-code" if diagnostic.is_none() => diagnostic = Some(value.to_string()),
            _ => {}
        }
    }
    let permanent_status = status.as_deref().is_some_and(|s| s.starts_with('5'));
    let hard = match action.as_deref() {
        Some("failed") => status.is_none() || permanent_status,
        // delayed, delivered, relayed, expanded: nothing failed for good.
        Some(_) => false,
        None => permanent_status,
    };
    BounceReport {
        hard,
        diagnostic: diagnostic.unwrap_or_else(|| {
            format!(
                "{} ({})",
                action.as_deref().unwrap_or("no action"),
                status.as_deref().unwrap_or("no status")
            )
        }),
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dsn(action: &str, status: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.example.net\r\nTo: bounce+abc@lists.example.org\r\n\
             Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\
             --b\r\nContent-Type: message/delivery-status\r\n\r\n\
             Reporting-MTA: dns; mx.example.net\r\n\r\n\
             Final-Recipient: rfc822; anna@example.net\r\nAction: {action}\r\nStatus: {status}\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <anna@example.net>:\r\n    Recipient address rejected\r\n\
             \r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_permanent_failure_is_hard_with_the_servers_words() {
        let r = classify_bounce(&dsn("failed", "5.1.1"));
        assert!(r.hard);
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.diagnostic,
            "smtp; 550 5.1.1 <anna@example.net>: Recipient address rejected"
        );
    }

    #[test]
    fn a_delay_or_a_temporary_failure_is_soft() {
        assert!(!classify_bounce(&dsn("delayed", "4.4.1")).hard);
        assert!(!classify_bounce(&dsn("failed", "4.2.2")).hard);
    }

    #[test]
    fn anything_that_is_not_a_report_is_soft() {
        let r =
            classify_bounce(b"From: x@example.net\r\nSubject: out of office\r\n\r\nI am away.\r\n");
        assert!(!r.hard);
        assert!(!classify_bounce(b"\x00\x01 not mail").hard);
    }
}
