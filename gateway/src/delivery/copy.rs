//! One personal copy of a submitted message for one recipient (ARCHITECTURE.md, incident 2: Bcc-only
//! delivery). The sender's headers are kept except every field that could name another
//! recipient, that we set ourselves, or that our changes make false; the list's own headers go
//! first. Bytes in, bytes out, so the privacy rule is testable without a queue or a network.

use verteiler_store::intake::encoded_words;

/// Who the copy's To: names. Either way no other recipient is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToHeader {
    /// `To: "List Name" <list@…>`, as on a mailing list.
    List,
    /// `To: recipient@…`, so the copy looks like a personal letter.
    Recipient,
}

/// Where replies go, per the audience's reply handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// No Reply-To: replies reach the From: author.
    Sender,
    /// `Reply-To: "List Name" <list@…>`: replies go back to the list.
    List,
    /// Replies go to this no-reply address.
    NoReply(String),
}

/// The unsubscribe link a copy carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscribe {
    /// An https URL that unsubscribes on a POST without further questions (RFC 8058).
    OneClick(String),
    /// The https URL of the member's channel page (`/me/subscriptions`). No one-click POST:
    /// statutory mail cannot be left, only received another way.
    Preferences(String),
    /// No List-Unsubscribe at all (e.g. statutory notices a member cannot opt out of).
    None,
}

/// Everything that makes a copy personal. Values are written verbatim, so none may contain
/// CR, LF or NUL.
#[derive(Debug, Clone)]
pub struct CopySpec<'a> {
    /// `oldenfelde@lists.example.org`
    pub list_address: &'a str,
    /// `Distrikt Oldenfelde`; RFC 2047-encoded where it is not plain ASCII.
    pub list_name: &'a str,
    /// RFC 2919 list-id without brackets, `oldenfelde.lists.example.org`.
    pub list_id: &'a str,
    /// The one envelope recipient of this copy.
    pub recipient: &'a str,
    pub to: ToHeader,
    pub reply_to: ReplyTo,
    pub unsubscribe: Unsubscribe,
    /// The copy's own Message-ID without `<>`: copies must not share the submission's.
    pub message_id: &'a str,
    /// Ties every copy to its send (`X-Verteiler-Send: <send_ref>`), for bounces and support.
    pub send_ref: &'a str,
    /// The VERP envelope sender. Not written: the receiving MTA adds Return-Path from the
    /// envelope. Checked like the other values because it goes into MAIL FROM.
    pub return_path: &'a str,
}

/// Why no copy can be built. The message is unfit for delivery as a whole, so a caller fails
/// the send rather than retrying; no variant carries message content, which may be personal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    /// A line in the header block is neither a field nor a continuation (also: a continuation
    /// as the very first line).
    #[error("line {line} of the header block is not a header field")]
    NotAHeaderField { line: usize },
    #[error("the header field name on line {line} is not ASCII")]
    NonAsciiFieldName { line: usize },
    /// Some clients break lines at a lone CR; what we keep as one field could show as two.
    #[error("line {line} of the header block contains a CR without LF")]
    BareCarriageReturn { line: usize },
    /// A spec value would end the header line early: header injection.
    #[error("{field} contains CR, LF or NUL")]
    UnsafeValue { field: &'static str },
}

/// Fields dropped from the original, compared case-insensitively.
const DROPPED: &[&str] = &[
    // Could name other recipients.
    "to",
    "cc",
    "bcc",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
    "apparently-to",
    "x-apparently-to",
    "mail-followup-to",
    // Set by us, per copy or per audience.
    "message-id",
    "references",
    "return-path",
    "reply-to",
    "mail-reply-to",
    "sender",
    "precedence",
    // Broken by our changes; the copy is signed anew.
    "dkim-signature",
    // Leak the sender's client IP.
    "received",
    "x-originating-ip",
    // Would make each recipient's client send a receipt to the author.
    "disposition-notification-to",
    "return-receipt-to",
];

/// Field name prefixes dropped from the original: `Resent-*` can name recipients, `List-*` and
/// `X-Verteiler-*` are ours and must not be forged, `ARC-*` seals break like DKIM.
const DROPPED_PREFIXES: &[&str] = &["resent-", "list-", "x-verteiler-", "arc-"];

/// Builds the copy of `original` for `spec.recipient`: our headers, the kept original headers
/// in their order, an empty line and the body. Every line break of the result is CRLF.
pub fn build_copy(original: &[u8], spec: &CopySpec<'_>) -> Result<Vec<u8>, CopyError> {
    check_spec(spec)?;
    let (fields, body) = split_message(original)?;

    let mut out = Vec::with_capacity(original.len() + 1024);
    write_list_headers(&mut out, spec);
    // Replies thread with the sender's own sent message (see `threading`).
    if let Some(references) = super::threading::references(fields.iter().map(|f| (f.name, f.raw))) {
        push_field(&mut out, "References", &references);
    }
    for field in fields.iter().filter(|f| !is_dropped(f.name)) {
        push_crlf_normalised(&mut out, field.raw);
        if !field.raw.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    push_crlf_normalised(&mut out, body);
    Ok(out)
}

fn check_spec(spec: &CopySpec<'_>) -> Result<(), CopyError> {
    let mut values = vec![
        ("list_address", spec.list_address),
        ("list_name", spec.list_name),
        ("list_id", spec.list_id),
        ("recipient", spec.recipient),
        ("message_id", spec.message_id),
        ("send_ref", spec.send_ref),
        ("return_path", spec.return_path),
    ];
    if let ReplyTo::NoReply(address) = &spec.reply_to {
        values.push(("reply_to", address.as_str()));
    }
    match &spec.unsubscribe {
        Unsubscribe::OneClick(url) | Unsubscribe::Preferences(url) => {
            values.push(("unsubscribe", url.as_str()));
        }
        Unsubscribe::None => {}
    }
    match values
        .iter()
        .find(|(_, value)| value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)))
    {
        Some(&(field, _)) => Err(CopyError::UnsafeValue { field }),
        None => Ok(()),
    }
}

fn write_list_headers(out: &mut Vec<u8>, spec: &CopySpec<'_>) {
    push_field(out, "Message-ID", &format!("<{}>", spec.message_id));
    match spec.to {
        ToHeader::List => push_named(out, "To", spec.list_name, spec.list_address),
        ToHeader::Recipient => push_field(out, "To", spec.recipient),
    }
    match &spec.reply_to {
        ReplyTo::Sender => {}
        ReplyTo::List => push_named(out, "Reply-To", spec.list_name, spec.list_address),
        ReplyTo::NoReply(address) => push_field(out, "Reply-To", address),
    }
    // RFC 5322 3.6.2: the list is the agent that sent this copy on the author's behalf.
    push_field(out, "Sender", spec.list_address);
    push_named(out, "List-Id", spec.list_name, spec.list_id);
    match &spec.unsubscribe {
        Unsubscribe::OneClick(url) => {
            push_field(out, "List-Unsubscribe", &format!("<{url}>"));
            push_field(out, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        Unsubscribe::Preferences(url) => {
            push_field(out, "List-Unsubscribe", &format!("<{url}>"));
        }
        Unsubscribe::None => {}
    }
    push_field(out, "Precedence", "list");
    push_field(out, "X-Verteiler-Send", &format!("<{}>", spec.send_ref));
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Line length RFC 5322 2.1.1 asks for; folding between words keeps ours within it.
const LINE_LENGTH: usize = 78;

/// Writes `"Name" <inner>` (or `<inner>` for an empty name), folded between words.
fn push_named(out: &mut Vec<u8>, field: &str, name: &str, inner: &str) {
    let mut words = phrase_words(name);
    words.push(format!("<{inner}>"));
    let mut value = String::new();
    let mut line_length = field.len() + 2;
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            if line_length + 1 + word.len() > LINE_LENGTH {
                value.push_str("\r\n ");
                line_length = 1;
            } else {
                value.push(' ');
                line_length += 1;
            }
        }
        value.push_str(word);
        line_length += word.len();
    }
    push_field(out, field, &value);
}

/// A display name as one quoted string if it is printable ASCII, else as RFC 2047 encoded
/// words (which may not appear inside quotes).
fn phrase_words(name: &str) -> Vec<String> {
    if name.is_empty() {
        Vec::new()
    } else if name
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        let mut quoted = String::with_capacity(name.len() + 2);
        quoted.push('"');
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        vec![quoted]
    } else {
        encoded_words(name)
    }
}

/// Unstructured header text (a Subject): as is when printable ASCII, else encoded words on
/// folded lines.
pub(crate) fn header_text(text: &str) -> String {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        text.to_string()
    } else {
        encoded_words(text).join("\r\n ")
    }
}

/// One header field of the original, with its continuation lines and line breaks.
struct Field<'m> {
    name: &'m [u8],
    raw: &'m [u8],
}

/// Splits at the first empty line. Without one the whole input is the header block and the
/// body is empty, which RFC 5322 allows.
fn split_message(original: &[u8]) -> Result<(Vec<Field<'_>>, &[u8]), CopyError> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut field_start = 0;
    let mut pos = 0;
    let mut line = 0;
    while pos < original.len() {
        line += 1;
        let end = original[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(original.len(), |i| pos + i + 1);
        let text = strip_line_break(&original[pos..end]);
        if text.is_empty() {
            return Ok((fields, &original[end..]));
        }
        if text.contains(&b'\r') {
            return Err(CopyError::BareCarriageReturn { line });
        }
        if matches!(text[0], b' ' | b'\t') {
            let field = fields
                .last_mut()
                .ok_or(CopyError::NotAHeaderField { line })?;
            field.raw = &original[field_start..end];
        } else {
            fields.push(Field {
                name: field_name(text, line)?,
                raw: &original[pos..end],
            });
            field_start = pos;
        }
        pos = end;
    }
    Ok((fields, &[]))
}

fn strip_line_break(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(text) => text.strip_suffix(b"\r").unwrap_or(text),
        None => line,
    }
}

/// The name before the colon. Whitespace before the colon is obsolete but legal
/// (RFC 5322 4.5); it is trimmed so that `Cc : …` is recognised as Cc and dropped.
fn field_name(text: &[u8], line: usize) -> Result<&[u8], CopyError> {
    let colon = text
        .iter()
        .position(|&b| b == b':')
        .ok_or(CopyError::NotAHeaderField { line })?;
    let name = text[..colon].trim_ascii_end();
    if !name.is_ascii() {
        return Err(CopyError::NonAsciiFieldName { line });
    }
    // ftext: printable ASCII except colon.
    if name.is_empty() || !name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        return Err(CopyError::NotAHeaderField { line });
    }
    Ok(name)
}

fn is_dropped(name: &[u8]) -> bool {
    DROPPED
        .iter()
        .any(|d| name.eq_ignore_ascii_case(d.as_bytes()))
        || DROPPED_PREFIXES.iter().any(|prefix| {
            name.len() >= prefix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        })
}

/// Copies `bytes` with every lone LF and lone CR turned into CRLF: SMTP allows line breaks
/// only as CRLF (RFC 5321 2.3.8), and lone ones are what SMTP smuggling is made of.
fn push_crlf_normalised(out: &mut Vec<u8>, mut bytes: &[u8]) {
    while let Some(i) = bytes.iter().position(|&b| b == b'\r' || b == b'\n') {
        out.extend_from_slice(&bytes[..i]);
        out.extend_from_slice(b"\r\n");
        let width = if bytes[i..].starts_with(b"\r\n") {
            2
        } else {
            1
        };
        bytes = &bytes[i + width..];
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    fn decode(word: &str) -> Vec<u8> {
        let payload = word
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="))
            .expect("framed encoded word");
        STANDARD.decode(payload).unwrap()
    }

    #[test]
    fn encoded_words_stay_short_and_keep_characters_whole() {
        let name = "Ökologische Arbeitsgemeinschaft Süd-Östliche Vororte – Ärztinnen 🌻";
        let words = encoded_words(name);
        assert!(words.len() > 1);
        let mut joined = Vec::new();
        for word in &words {
            assert!(word.len() <= 75, "{word} is {} long", word.len());
            let bytes = decode(word);
            assert!(std::str::from_utf8(&bytes).is_ok());
            joined.extend(bytes);
        }
        assert_eq!(joined, name.as_bytes());
    }

    #[test]
    fn ascii_phrase_is_quoted_with_escapes() {
        assert_eq!(
            phrase_words(r#"AG "Verkehr" \ Umwelt"#),
            [r#""AG \"Verkehr\" \\ Umwelt""#]
        );
    }

    #[test]
    fn field_names_tolerate_obsolete_space_before_colon() {
        assert_eq!(field_name(b"Cc \t: a@b", 1), Ok(&b"Cc"[..]));
        assert_eq!(
            field_name(b"No colon here", 3),
            Err(CopyError::NotAHeaderField { line: 3 })
        );
        assert_eq!(
            field_name(b"Two words: x", 1),
            Err(CopyError::NotAHeaderField { line: 1 })
        );
        assert_eq!(
            field_name("Üb: x".as_bytes(), 2),
            Err(CopyError::NonAsciiFieldName { line: 2 })
        );
    }

    #[test]
    fn prefixes_match_whole_name_prefixes() {
        assert!(is_dropped(b"LIST-Unsubscribe"));
        assert!(is_dropped(b"resent-bcc"));
        assert!(!is_dropped(b"Listing"));
        assert!(!is_dropped(b"Subject"));
    }

    #[test]
    fn lone_cr_and_lf_become_crlf() {
        let mut out = Vec::new();
        push_crlf_normalised(&mut out, b"a\nb\r\nc\rd\r\r\n\n.\n");
        assert_eq!(out, b"a\r\nb\r\nc\r\nd\r\n\r\n\r\n.\r\n");
    }
}
