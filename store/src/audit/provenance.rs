//! "Who sent this?" from whatever the person asking holds.
//!
//! The question of the third incident comes from somebody holding a copy, and no copy carries
//! the submission's own `Message-ID`: each has its own (`<d{delivery}.{token}@…>`, unique per
//! recipient so no client merges two copies), and `X-Verteiler-Send: <s{send}.{submission}@…>`.
//! So a reference may be any of
//!
//! - a copy's `Message-ID`: the delivery's id and the first characters of its random token,
//!   checked against the stored token, so a made-up id names nothing;
//! - an `X-Verteiler-Send` id: the send and its submission, which must belong together;
//! - the submission's own `Message-ID` (what the sender's client stored, and what every copy
//!   carries last in `References`).
//!
//! [`Store::submissions_named_by_copy`] reads them all from a copy's header block (a whole
//! `.eml`, or headers pasted from a mail client) and answers from the first that names a
//! submission, the checked copy id first.

use crate::{Store, StoreError};
use mail_parser::MessageParser;

/// Characters of a delivery's token a copy's `Message-ID` carries.
pub const COPY_ID_TOKEN_CHARS: usize = 8;

/// What one reference may name, read from its form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reference {
    /// `d{delivery}.{token prefix}@…`
    Copy { delivery_id: i64, token: String },
    /// `s{send}.{submission}@…`
    Send { send_id: i64, submission_id: i64 },
}

/// The id without brackets and surrounding space.
fn bare(reference: &str) -> &str {
    reference
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
}

fn parse(reference: &str) -> Option<Reference> {
    let (local, _domain) = bare(reference).split_once('@')?;
    let (first, second) = local.split_once('.')?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    if let Some(id) = first.strip_prefix('d').and_then(number) {
        let token_ok = second.len() == COPY_ID_TOKEN_CHARS
            && second
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        return token_ok.then(|| Reference::Copy {
            delivery_id: id,
            token: second.to_string(),
        });
    }
    let send_id = first.strip_prefix('s').and_then(number)?;
    Some(Reference::Send {
        send_id,
        submission_id: number(second)?,
    })
}

impl Store {
    /// The submissions (newest first) a reference names: a copy's `Message-ID`, an
    /// `X-Verteiler-Send` id or a submission's own `Message-ID`, with or without brackets.
    /// Empty when it names none.
    pub async fn submissions_named_by(&self, reference: &str) -> Result<Vec<i64>, StoreError> {
        let id = bare(reference);
        if id.is_empty() {
            return Ok(Vec::new());
        }
        match parse(id) {
            Some(Reference::Copy { delivery_id, token }) => {
                let found: Option<(String, i64)> = sqlx::query_as(
                    "SELECT d.token, s.submission_id FROM deliveries d \
                     JOIN sends s ON s.id = d.send_id WHERE d.id = $1",
                )
                .bind(delivery_id)
                .fetch_optional(&self.pool)
                .await?;
                if let Some((stored, submission)) = found {
                    if stored.starts_with(&token) {
                        return Ok(vec![submission]);
                    }
                }
            }
            Some(Reference::Send {
                send_id,
                submission_id,
            }) => {
                let owner: Option<i64> =
                    sqlx::query_scalar("SELECT submission_id FROM sends WHERE id = $1")
                        .bind(send_id)
                        .fetch_optional(&self.pool)
                        .await?;
                if owner == Some(submission_id) {
                    return Ok(vec![submission_id]);
                }
            }
            None => {}
        }
        // A submission's own Message-ID, stored as the client wrote it (mostly without
        // brackets, by some clients with them).
        let mut ids = self.submissions_by_message_id(id).await?;
        if ids.is_empty() {
            ids = self.submissions_by_message_id(&format!("<{id}>")).await?;
        }
        Ok(ids)
    }

    /// The submissions a copy names, read from its headers (the whole message, or only the
    /// header block as a mail client shows it): its `Message-ID`, its `X-Verteiler-Send`,
    /// then every id in `References` and `In-Reply-To`, newest first. Empty when none names
    /// a submission, or the text has no headers.
    pub async fn submissions_named_by_copy(&self, message: &[u8]) -> Result<Vec<i64>, StoreError> {
        for reference in copy_references(message) {
            let found = self.submissions_named_by(&reference).await?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }
}

/// The ids a copy's headers carry, in the order they are tried.
pub fn copy_references(message: &[u8]) -> Vec<String> {
    // Pasted text often starts with an empty line or indentation.
    let start = message
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(message.len());
    let Some(parsed) = MessageParser::default().parse_headers(&message[start..]) else {
        return Vec::new();
    };
    let mut references: Vec<String> = Vec::new();
    references.extend(parsed.message_id().map(str::to_string));
    if let Some(raw) = parsed.header_raw("X-Verteiler-Send") {
        references.extend(angle_ids(raw));
    }
    // The submission's own id is the last in References: try from the end.
    for list in [parsed.references(), parsed.in_reply_to()] {
        if let Some(ids) = list.as_text_list() {
            references.extend(ids.iter().rev().map(|id| id.to_string()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    references.retain(|r| !bare(r).is_empty() && seen.insert(bare(r).to_string()));
    references
}

/// Every `<…>` in a header value.
fn angle_ids(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|part| part.split_once('>').map(|(id, _)| id.trim().to_string()))
        .filter(|id| !id.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_a_reference_are_told_apart() {
        assert_eq!(
            parse("<d41.AbCd-_9z@lists.example.org>"),
            Some(Reference::Copy {
                delivery_id: 41,
                token: "AbCd-_9z".into()
            })
        );
        assert_eq!(
            parse("s7.3@lists.example.org"),
            Some(Reference::Send {
                send_id: 7,
                submission_id: 3
            })
        );
        for other in [
            "CAKx=2@mail.gmail.com",
            "d41.short@lists.example.org",
            "s7.x@lists.example.org",
            "d99999999999999999999.abcdefgh@x",
            "no-at-sign",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_copys_headers_give_its_ids_copy_first_original_last() {
        let headers = "\r\n  Message-ID: <d41.abcdefgh@lists.example.org>\r\n\
            Subject: Sommerfest\r\n\
            References: <earlier@example.org>\r\n <original@example.org>\r\n\
            X-Verteiler-Send: <s7.3@lists.example.org>\r\n";
        assert_eq!(
            copy_references(headers.as_bytes()),
            [
                "d41.abcdefgh@lists.example.org",
                "s7.3@lists.example.org",
                "original@example.org",
                "earlier@example.org"
            ]
        );
        assert!(copy_references(b"").is_empty());
        assert!(copy_references(b"not a header at all").is_empty());
    }
}
