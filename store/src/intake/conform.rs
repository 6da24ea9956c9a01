//! What a message submission agent must fix or refuse (RFC 6409 section 8), done at intake
//! before anything is hashed, decided or stored, so the sender, the approvers and every copy see
//! the same message:
//!
//! - a NUL byte anywhere is refused (RFC 5322 does not allow it; receivers truncate or drop);
//! - a header line over 998 octets is refused (RFC 5322 2.1.1);
//! - a body line over 998 octets is refused, not re-encoded: re-encoding would change a
//!   message its sender may have signed or checked, and every common client already encodes
//!   long lines (quoted-printable, base64); the reply says how to send it instead;
//! - a missing `Date:` or `Message-ID:` is added (RFC 6409 8.2, 8.3): copies are DKIM-signed
//!   over `Date`, and receivers score mail without one as spam.

use std::fmt;
use verteiler_policies::Lang;

/// RFC 5322 2.1.1: at most 998 characters per line, excluding the CRLF.
pub const MAX_LINE_OCTETS: usize = 998;

/// Why a submitted message cannot be accepted as it is. Lines are counted from 1 within the
/// header block and within the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    NulByte { part: Part, line: usize },
    LongHeaderLine { line: usize, octets: usize },
    LongBodyLine { line: usize, octets: usize },
}

/// Which part of the message a line number counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Header,
    Body,
}

impl Unfit {
    /// What the sender reads in the SMTP reply.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (Unfit::NulByte { part, line }, Lang::De) => format!(
                "{} enthält ein NUL-Byte; RFC 5322 erlaubt keine NUL-Bytes in einer Nachricht",
                part.line_de(*line)
            ),
            (Unfit::NulByte { part, line }, Lang::En) => format!(
                "{} contains a NUL byte; RFC 5322 does not allow NUL in a message",
                part.line_en(*line)
            ),
            (Unfit::LongHeaderLine { line, octets }, Lang::De) => format!(
                "Kopfzeile {line} ist {octets} Oktette lang; erlaubt sind {MAX_LINE_OCTETS} (RFC 5322)"
            ),
            (Unfit::LongHeaderLine { line, octets }, Lang::En) => format!(
                "header line {line} is {octets} octets long; the limit is {MAX_LINE_OCTETS} (RFC 5322)"
            ),
            (Unfit::LongBodyLine { line, .. }, Lang::De) => format!(
                "Textzeile {line} ist länger als {MAX_LINE_OCTETS} Oktette; senden Sie den Inhalt \
                 als Anhang oder quoted-printable-kodiert"
            ),
            (Unfit::LongBodyLine { line, .. }, Lang::En) => format!(
                "body line {line} is longer than {MAX_LINE_OCTETS} octets; send it as an \
                 attachment or quoted-printable"
            ),
        }
    }
}

impl Part {
    fn line_de(self, line: usize) -> String {
        match self {
            Part::Header => format!("Kopfzeile {line}"),
            Part::Body => format!("Textzeile {line}"),
        }
    }

    fn line_en(self, line: usize) -> String {
        match self {
            Part::Header => format!("header line {line}"),
            Part::Body => format!("body line {line}"),
        }
    }
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// The first reason, in message order, why `raw` cannot be accepted as it is.
pub fn check_lines(raw: &[u8]) -> Result<(), Unfit> {
    let mut part = Part::Header;
    let mut number = 0;
    for line in lines(raw) {
        if part == Part::Header && line.is_empty() {
            part = Part::Body;
            number = 0;
            continue;
        }
        number += 1;
        if line.contains(&0) {
            return Err(Unfit::NulByte { part, line: number });
        }
        if line.len() > MAX_LINE_OCTETS {
            let octets = line.len();
            return Err(match part {
                Part::Header => Unfit::LongHeaderLine {
                    line: number,
                    octets,
                },
                Part::Body => Unfit::LongBodyLine {
                    line: number,
                    octets,
                },
            });
        }
    }
    Ok(())
}

/// The lines of `raw` without their line break (LF or CRLF); no empty line after a final one.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = raw.strip_suffix(b"\n").unwrap_or(raw);
    body.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(move |_| !raw.is_empty())
}

/// Header fields intake adds when the sender's message lacks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Date,
    MessageId,
}

/// `raw` with a `Date:` (now, UTC) and a `Message-ID:` (in the list domain) in front when it
/// has none, and which were added.
pub fn complete_headers(raw: &[u8], list_domain: &str, now_ms: i64) -> (Vec<u8>, Vec<Added>) {
    let mut added = Vec::new();
    let mut head = String::new();
    if !has_field(raw, "date") {
        head.push_str(&format!("Date: {}\r\n", rfc5322_date(now_ms)));
        added.push(Added::Date);
    }
    if !has_field(raw, "message-id") {
        let unique = &crate::new_secret()[..16];
        head.push_str(&format!(
            "Message-ID: <{now_ms}.{unique}@{list_domain}>\r\n"
        ));
        added.push(Added::MessageId);
    }
    let mut out = Vec::with_capacity(head.len() + raw.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(raw);
    (out, added)
}

/// Whether the header block has a field of this (lower-case) name, whatever its value.
pub(crate) fn has_field(raw: &[u8], name: &str) -> bool {
    lines(raw)
        .take_while(|line| !line.is_empty())
        .filter(|line| !line.starts_with(b" ") && !line.starts_with(b"\t"))
        .filter_map(|line| line.iter().position(|&b| b == b':').map(|i| &line[..i]))
        .any(|field| field.trim_ascii_end().eq_ignore_ascii_case(name.as_bytes()))
}

/// RFC 5322 3.3 date-time in UTC: `Tue, 1 Dec 2026 09:30:00 +0000`.
fn rfc5322_date(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_long_lines_are_found_with_their_part_and_number() {
        let long = "x".repeat(1200);
        let header = format!("From: a@example.org\r\nSubject: s\r\nX-Long: {long}\r\n\r\nb\r\n");
        assert_eq!(
            check_lines(header.as_bytes()),
            Err(Unfit::LongHeaderLine {
                line: 3,
                octets: 1208
            })
        );
        let body = format!("From: a@example.org\r\n\r\none\r\ntwo {long}\r\n");
        assert_eq!(
            check_lines(body.as_bytes()),
            Err(Unfit::LongBodyLine {
                line: 2,
                octets: 1204
            })
        );
        assert_eq!(
            check_lines(b"From: a@example.org\r\n\r\nok\r\nnul\0here\r\n"),
            Err(Unfit::NulByte {
                part: Part::Body,
                line: 2
            })
        );
        assert_eq!(
            check_lines(b"From: a@exam\0ple.org\r\n\r\nok\r\n"),
            Err(Unfit::NulByte {
                part: Part::Header,
                line: 1
            })
        );
    }

    #[test]
    fn exactly_998_octets_per_line_is_fine() {
        let line = "y".repeat(MAX_LINE_OCTETS);
        let raw = format!("From: a@example.org\r\n\r\n{line}\r\n{line}");
        assert_eq!(check_lines(raw.as_bytes()), Ok(()));
        let over = format!("From: a@example.org\r\n\r\n{line}y\r\n");
        assert!(matches!(
            check_lines(over.as_bytes()),
            Err(Unfit::LongBodyLine { line: 1, .. })
        ));
    }

    #[test]
    fn the_reply_texts_say_what_and_the_limit() {
        let unfit = Unfit::LongHeaderLine {
            line: 3,
            octets: 1200,
        };
        assert_eq!(
            unfit.text(Lang::En),
            "header line 3 is 1200 octets long; the limit is 998 (RFC 5322)"
        );
        assert!(unfit.text(Lang::De).contains("Kopfzeile 3"));
        let body = Unfit::LongBodyLine {
            line: 7,
            octets: 2000,
        };
        assert!(body.text(Lang::En).contains("quoted-printable"));
    }

    #[test]
    fn date_and_message_id_are_added_only_when_missing() {
        let bare = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";
        let (raw, added) = complete_headers(bare, "lists.example.org", 1_796_083_200_000);
        assert_eq!(added, [Added::Date, Added::MessageId]);
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.starts_with(
                "Date: Tue, 01 Dec 2026 00:00:00 +0000\r\nMessage-ID: <1796083200000."
            ),
            "{text}"
        );
        assert!(text.contains("@lists.example.org>\r\nFrom: a@example.org\r\n"));
        assert!(text.ends_with("\r\n\r\nbody\r\n"));

        let whole = b"From: a@example.org\r\nDATE : Mon, 30 Nov 2026 10:00:00 +0100\r\n\
message-id: <x@example.org>\r\n\r\nbody\r\n";
        let (raw, added) = complete_headers(whole, "lists.example.org", 0);
        assert!(added.is_empty());
        assert_eq!(raw, whole);
    }

    #[test]
    fn a_date_in_the_body_does_not_count_as_the_header() {
        let raw = b"From: a@example.org\r\n\r\nDate: tomorrow\r\nMessage-ID: <no>\r\n";
        assert!(!has_field(raw, "date"));
        assert!(!has_field(raw, "message-id"));
        assert!(has_field(raw, "from"));
    }
}
