//! What the policy engine and the audit need to know about a submitted message, read with
//! mail-parser. A message we cannot read is refused, never guessed at.

use mail_parser::{Address, HeaderName, MessageParser};
use sha2::{Digest, Sha256};

/// The facts of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSummary {
    /// Every address in From: (exactly one is required).
    pub from: Vec<String>,
    pub message_id: Option<String>,
    pub subject: String,
    /// Addresses in To/Cc outside the list domain: every recipient would see them.
    pub visible_recipients: u32,
    pub attachment_count: u32,
    pub attachment_bytes: u64,
    /// SHA-256 of the raw bytes: approvals are bound to exactly this content.
    pub content_hash: [u8; 32],
    /// The beginning of the text body (at most [`PREVIEW_CHARS`]): what approvers read in the
    /// request before deciding.
    pub preview: String,
}

use super::PREVIEW_CHARS;

/// Why a message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message cannot be parsed as an email (RFC 5322)")]
    Unparseable,
    #[error("the message has no From: header")]
    NoFrom,
    #[error("the message has {0} From: headers; exactly one is allowed")]
    SeveralFromHeaders(usize),
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    match address {
        Some(Address::List(list)) => list
            .iter()
            .filter_map(|a| a.address.as_deref().map(str::to_string))
            .collect(),
        Some(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| {
                g.addresses
                    .iter()
                    .filter_map(|a| a.address.as_deref().map(str::to_string))
            })
            .collect(),
        None => Vec::new(),
    }
}

impl MessageSummary {
    /// What the policy engine weighs of a message of `size_bytes` (its raw length) whose SMS
    /// rendering has `sms_segments` segments.
    pub fn facts(&self, size_bytes: u64, sms_segments: u32) -> verteiler_policies::MessageFacts {
        verteiler_policies::MessageFacts {
            size_bytes,
            attachment_count: self.attachment_count,
            attachment_bytes: self.attachment_bytes,
            visible_recipients: self.visible_recipients,
            sms_segments,
            content_hash: verteiler_policies::ContentHash::from_bytes(self.content_hash),
        }
    }
}

pub fn summarise(raw: &[u8], list_domain: &str) -> Result<MessageSummary, MessageError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MessageError::Unparseable)?;
    if message.headers().is_empty() {
        return Err(MessageError::Unparseable);
    }
    let from_headers = message
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::From)
        .count();
    match from_headers {
        0 => return Err(MessageError::NoFrom),
        1 => {}
        n => return Err(MessageError::SeveralFromHeaders(n)),
    }
    let from = addresses(message.from());
    if from.is_empty() {
        return Err(MessageError::NoFrom);
    }
    let suffix = format!("@{}", list_domain.to_ascii_lowercase());
    let visible = addresses(message.to())
        .into_iter()
        .chain(addresses(message.cc()))
        .filter(|a| !a.to_ascii_lowercase().ends_with(&suffix))
        .count();
    let (mut attachment_count, mut attachment_bytes) = (0_u32, 0_u64);
    for part in message.attachments() {
        attachment_count += 1;
        attachment_bytes += part.len() as u64;
    }
    Ok(MessageSummary {
        from,
        message_id: message.message_id().map(str::to_string),
        subject: message.subject().unwrap_or("").to_string(),
        visible_recipients: visible.min(u32::MAX as usize) as u32,
        attachment_count,
        attachment_bytes,
        content_hash: Sha256::digest(raw).into(),
        preview: message
            .body_text(0)
            .map(|t| t.chars().take(PREVIEW_CHARS).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "lists.example.org";

    #[test]
    fn an_ordinary_message_is_summarised() {
        let raw =
            b"From: Ole Brandt <ole.brandt@example.org>\r\nTo: oldenfelde@lists.example.org\r\n\
Subject: Einladung\r\nMessage-ID: <abc@example.org>\r\n\r\nHallo zusammen\r\n";
        let s = summarise(raw, LIST).unwrap();
        assert_eq!(s.from, ["ole.brandt@example.org"]);
        assert_eq!(s.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(s.subject, "Einladung");
        assert_eq!(s.visible_recipients, 0);
    }

    #[test]
    fn visible_addresses_outside_the_list_domain_are_counted() {
        let to: Vec<String> = (0..1493).map(|i| format!("m{i}@example.net")).collect();
        let raw = format!(
            "From: a@example.org\r\nTo: {}\r\nCc: oldenfelde@lists.example.org, x@example.com\r\nSubject: s\r\n\r\nb\r\n",
            to.join(", ")
        );
        assert_eq!(
            summarise(raw.as_bytes(), LIST).unwrap().visible_recipients,
            1494
        );
    }

    #[test]
    fn a_message_without_or_with_two_from_headers_is_refused() {
        assert_eq!(
            summarise(b"To: x@example.org\r\nSubject: s\r\n\r\nb\r\n", LIST),
            Err(MessageError::NoFrom)
        );
        assert_eq!(
            summarise(
                b"From: a@example.org\r\nFrom: b@example.org\r\nSubject: s\r\n\r\nb\r\n",
                LIST
            ),
            Err(MessageError::SeveralFromHeaders(2))
        );
    }

    #[test]
    fn the_content_hash_changes_with_any_byte() {
        let a = summarise(b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n", LIST).unwrap();
        let b = summarise(b"From: a@example.org\r\nSubject: s\r\n\r\nbody!\r\n", LIST).unwrap();
        assert_ne!(a.content_hash, b.content_hash);
    }
}
