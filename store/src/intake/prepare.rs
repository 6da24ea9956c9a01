//! A submitted message made ready to be decided and stored, the same for every way in: the
//! `From:` shows the directory's name ([`super::from_header`]), and a missing `Date:` or
//! `Message-ID:` is added ([`super::conform`]). Its summary, and so the content hash approvals
//! are bound to, is read from the prepared bytes: what approvers see is what every copy shows.

use super::conform::{complete_headers, Added};
use super::from_header::{normalise, submitted_from_name, with_from};
use super::{summarise, MessageError, MessageSummary};

/// A message as intake stores it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub raw: Vec<u8>,
    /// Read from `raw`, so its content hash is that of the stored message.
    pub summary: MessageSummary,
    /// The display name the sender wrote, when it differed from the directory's and was
    /// replaced (the sender is told).
    pub replaced_name: Option<String>,
    pub added: Vec<Added>,
}

/// Prepares `raw`, whose `From:` address `from` has been checked as the sender's own or an
/// official address they may use, to show `from_name` (see [`crate::Store::from_display_name`]).
pub fn prepare(
    raw: &[u8],
    from: &str,
    from_name: &str,
    list_domain: &str,
    now_ms: i64,
) -> Result<Prepared, MessageError> {
    let submitted = submitted_from_name(raw);
    let shown = normalise(from_name);
    let replaced_name = submitted.filter(|name| !names_the_same(name, &shown));
    let (raw, added) = complete_headers(&with_from(raw, &shown, from), list_domain, now_ms);
    let summary = summarise(&raw, list_domain)?;
    Ok(Prepared {
        raw,
        summary,
        replaced_name,
        added,
    })
}

/// Whether the sender's name says what the shown one says: the same, or the person's name
/// alone ("Ole Brandt" for "Ole Brandt (Distrikt Oldenfelde)"), as mail clients send it. Such
/// a sender is not told about the unit being added to every message.
fn names_the_same(submitted: &str, shown: &str) -> bool {
    let (submitted, shown) = (submitted.to_lowercase(), shown.to_lowercase());
    submitted == shown
        || shown
            .strip_prefix(&submitted)
            .is_some_and(|rest| rest.starts_with(" ("))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTS: &str = "lists.example.org";

    #[test]
    fn the_prepared_message_shows_the_directory_name_and_is_hashed_as_stored() {
        let raw =
            b"From: Pressestelle Hamburg <ole.brandt@example.org>\r\nSubject: s\r\n\r\nHallo\r\n";
        let p = prepare(
            raw,
            "ole.brandt@example.org",
            "Ole Brandt (Distrikt Oldenfelde)",
            LISTS,
            0,
        )
        .unwrap();
        assert_eq!(p.replaced_name.as_deref(), Some("Pressestelle Hamburg"));
        assert_eq!(p.added, [Added::Date, Added::MessageId]);
        let text = String::from_utf8(p.raw.clone()).unwrap();
        assert!(text.contains(
            "\r\nFrom: \"Ole Brandt (Distrikt Oldenfelde)\" <ole.brandt@example.org>\r\n"
        ));
        assert!(
            text.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
            "{text}"
        );
        assert_eq!(p.summary, summarise(&p.raw, LISTS).unwrap());
        assert!(p
            .summary
            .message_id
            .unwrap()
            .ends_with("@lists.example.org"));
    }

    #[test]
    fn the_same_name_the_persons_name_or_none_is_not_reported_as_replaced() {
        for from in [
            "From: \"Ole  Brandt (Distrikt Oldenfelde)\" <ole.brandt@example.org>",
            "From: ole.brandt@example.org",
            "From: Ole Brandt <ole.brandt@example.org>",
            "From: \"ole brandt\" <ole.brandt@example.org>",
        ] {
            let raw = format!("{from}\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\nb\r\n");
            let p = prepare(
                raw.as_bytes(),
                "ole.brandt@example.org",
                "Ole Brandt (Distrikt Oldenfelde)",
                LISTS,
                0,
            )
            .unwrap();
            assert_eq!(p.replaced_name, None, "{from}");
            assert!(p.added.is_empty());
        }
        for other in [
            "Ole",
            "Ole Brandt (Pressestelle)",
            "Ole Brandt, Landesvorsitzender",
        ] {
            assert!(
                !names_the_same(other, "Ole Brandt (Distrikt Oldenfelde)"),
                "{other}"
            );
        }
    }
}
