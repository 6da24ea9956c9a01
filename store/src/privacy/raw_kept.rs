//! How much of a submitted message is stored.
//!
//! A message some list will receive is kept whole: delivery, approvers and the sender's own
//! pages read it. A message every list refused goes nowhere, so only what explains the refusal
//! is kept — its header block (capped), beside the size and SHA-256 of the whole message that
//! the submission row and its audit entry hold anyway. A refused message is never a way to
//! park megabytes in the database.
//!
//! `submissions.raw_state` says what `raw` holds: `whole`, `headers` (refused), `purged` (the
//! retention period of a finished send ran out) or `erased` (its sender was erased). In the
//! last two `raw` is empty; the content hash stays, so the audit log's entries still name the
//! message they were about.

use crate::{RawState, SubmissionRecord};

/// Most bytes of a refused message's header block kept; longer blocks are cut at a line end.
pub const REFUSED_HEADER_BYTES: usize = 64 * 1024;

/// What is kept of one submission's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    Whole,
    /// Every list refused it: the header block only, no preview, no SMS text.
    Headers,
}

impl Kept {
    pub(crate) fn of(record: &SubmissionRecord) -> Kept {
        let sends = &record.sends;
        if !sends.is_empty() && sends.iter().all(|s| s.decision.is_reject()) {
            Kept::Headers
        } else {
            Kept::Whole
        }
    }

    pub(crate) fn state(self) -> &'static str {
        match self {
            Kept::Whole => RawState::Whole.as_str(),
            Kept::Headers => RawState::Headers.as_str(),
        }
    }

    pub(crate) fn raw(self, raw: &[u8]) -> &[u8] {
        match self {
            Kept::Whole => raw,
            Kept::Headers => header_block(raw),
        }
    }

    /// The preview or SMS text: parts of the body, kept only with it.
    pub(crate) fn text(self, text: &Option<String>) -> Option<String> {
        match self {
            Kept::Whole => text.clone(),
            Kept::Headers => None,
        }
    }
}

/// The header block with the empty line that ends it (the whole input when there is none),
/// at most [`REFUSED_HEADER_BYTES`], cut after a line break.
pub(crate) fn header_block(raw: &[u8]) -> &[u8] {
    let end = find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .into_iter()
        .chain(find(raw, b"\n\n").map(|i| i + 2))
        .min()
        .unwrap_or(raw.len());
    let block = &raw[..end];
    if block.len() <= REFUSED_HEADER_BYTES {
        return block;
    }
    let capped = &block[..REFUSED_HEADER_BYTES];
    match capped.iter().rposition(|&b| b == b'\n') {
        Some(i) => &capped[..=i],
        None => capped,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_block_ends_at_the_first_empty_line() {
        let message = b"Subject: Hallo\r\nFrom: a@example.org\r\n\r\nBody\r\n\r\nmore";
        assert_eq!(
            header_block(message),
            b"Subject: Hallo\r\nFrom: a@example.org\r\n\r\n"
        );
        assert_eq!(header_block(b"Subject: x\n\nbody"), b"Subject: x\n\n");
        assert_eq!(header_block(b"Subject: only"), b"Subject: only");
    }

    #[test]
    fn a_huge_header_block_is_cut_at_a_line_end() {
        let mut message = Vec::new();
        while message.len() < 3 * REFUSED_HEADER_BYTES {
            message.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
        }
        message.extend_from_slice(b"\r\nbody");
        let kept = header_block(&message);
        assert!(kept.len() <= REFUSED_HEADER_BYTES);
        assert!(kept.ends_with(b"\r\n"));
    }
}
