//! One log line per delivery attempt, like Postfix's `status=` lines: which send and copy,
//! where it went, what the other side said, how long the copy has waited, and what became of
//! it. The recipient is named by a keyed hash (the same the audit log uses, shortened), so a
//! log collector holds no member's address unless `log.recipient_addresses` says so.

use verteiler_store::{Attempt, Store};

/// What a line says about the copy, besides the attempt's result.
pub(super) struct CopyAttempt<'a> {
    pub send_id: i64,
    pub copy_id: i64,
    pub recipient: &'a str,
    pub via: &'a str,
    /// Attempts so far, this one included.
    pub attempt: u32,
    /// When the copy was queued (unix ms).
    pub queued_at: i64,
}

/// The enhanced status code (RFC 3463, `5.1.1`) in a reply, if it carries one.
fn dsn(text: &str) -> Option<&str> {
    text.split(char::is_whitespace)
        .map(|word| word.trim_matches(|c: char| !c.is_ascii_digit()))
        .find(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Writes the line for one attempt.
pub(super) fn log_attempt(
    store: &Store,
    copy: &CopyAttempt<'_>,
    attempt: &Attempt,
    addresses: bool,
    now: i64,
) {
    let to = if addresses {
        copy.recipient.to_string()
    } else {
        let hash = store.contact_hash(copy.recipient, "DE");
        format!("h:{}", &hash[..hash.len().min(16)])
    };
    let delay_ms = (now - copy.queued_at).max(0);
    // Postfix's words: a 5xx from the other side bounced the copy; a failure of ours (no
    // copy could be built, too old to try again) failed it.
    let (status, detail, dsn) = match attempt {
        Attempt::Sent => ("sent", "", "2.0.0"),
        Attempt::Retry { error, .. } => ("deferred", error.as_str(), dsn(error).unwrap_or("4.0.0")),
        Attempt::Failed { error } => match dsn(error) {
            Some(code) if code.starts_with('5') => ("bounced", error.as_str(), code),
            _ => ("failed", error.as_str(), "5.0.0"),
        },
    };
    // Every attempt passes here: the counter by outcome is what bounce-rate alerts divide.
    metrics::counter!("verteiler_delivery_attempts_total", "outcome" => status).increment(1);
    tracing::info!(
        event = "delivery.attempt",
        send = copy.send_id,
        copy = copy.copy_id,
        to = %to,
        via = copy.via,
        attempt = copy.attempt,
        delay_ms,
        dsn,
        status,
        detail,
    );
}

#[cfg(test)]
mod tests {
    use super::dsn;

    #[test]
    fn the_enhanced_status_code_is_found_in_a_reply() {
        assert_eq!(
            dsn("550 5.1.1 <x@example.org>: user unknown"),
            Some("5.1.1")
        );
        assert_eq!(dsn("relay said 451 4.7.1 try later"), Some("4.7.1"));
        assert_eq!(dsn("connection refused"), None);
        assert_eq!(dsn("550 mailbox unavailable"), None);
        assert_eq!(dsn("version 1.2.3 of something"), None);
    }
}
