//! The `From:` field of a submitted message, rewritten at intake to show who really sent it.
//!
//! The `From:` check looks at the address; mail clients show the display name. So that nobody
//! appears as the press office, another person or an office by writing its name (or an
//! address, or an encoded word spelling one) before their own address, intake replaces the
//! whole field with the directory's name and the checked address. It is replaced rather than
//! compared: no list of forbidden names can know every office, spelling or encoding, and a
//! replaced name cannot fool anybody. Comments and groups go with it.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use mail_parser::{Address, MessageParser};

/// UTF-8 bytes per encoded word: 56 base64 characters, 68 with the `=?utf-8?b?…?=` frame,
/// so even `Reply-To: ` plus the first word stays within 78 characters.
const ENCODED_WORD_BYTES: usize = 42;

/// Line length RFC 5322 2.1.1 asks for; the new field is folded between words within it.
const LINE_LENGTH: usize = 78;

/// The display name the sender wrote in `From:` (RFC 2047 decoded; a group's name and the
/// address's name together), or `None` when there is none.
pub fn submitted_from_name(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    let names: Vec<&str> = match message.from()? {
        Address::List(list) => list.iter().filter_map(|a| a.name.as_deref()).collect(),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|g| {
                g.name
                    .as_deref()
                    .into_iter()
                    .chain(g.addresses.iter().filter_map(|a| a.name.as_deref()))
            })
            .collect(),
    };
    let name = normalise(&names.join(" "));
    (!name.is_empty()).then_some(name)
}

/// Whitespace collapsed and control characters removed: how a name is compared and written.
pub fn normalise(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `raw` with its `From:` field (all of its lines) replaced by `From: "name" <address>`, in
/// the same place. `address` must be a checked address (no CR, LF, `<` or `>`).
pub fn with_from(raw: &[u8], name: &str, address: &str) -> Vec<u8> {
    let field = from_field(&normalise(name), address);
    let mut out = Vec::with_capacity(raw.len() + field.len());
    let mut pos = 0;
    let mut replaced = false;
    let mut skipping = false;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            if !replaced {
                // No From: at all (the caller refuses such a message): the field goes last.
                out.extend_from_slice(field.as_bytes());
            }
            out.extend_from_slice(&raw[pos..]);
            return out;
        }
        let continuation = matches!(text[0], b' ' | b'\t');
        if !continuation {
            skipping = !replaced && is_from(text);
            if skipping {
                out.extend_from_slice(field.as_bytes());
                replaced = true;
            }
        }
        if !skipping {
            out.extend_from_slice(line);
        }
        pos = end;
    }
    if !replaced {
        out.extend_from_slice(field.as_bytes());
    }
    out
}

fn is_from(line: &[u8]) -> bool {
    line.iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| line[..colon].trim_ascii_end().eq_ignore_ascii_case(b"from"))
}

/// `From: "Name" <address>` with CRLF, folded between words.
fn from_field(name: &str, address: &str) -> String {
    let mut words = phrase_words(name);
    words.push(format!("<{address}>"));
    let mut field = String::from("From:");
    let mut line_length = field.len();
    for word in &words {
        if line_length + 1 + word.len() > LINE_LENGTH && line_length > "From:".len() {
            field.push_str("\r\n");
            line_length = 0;
        }
        field.push(' ');
        field.push_str(word);
        line_length += 1 + word.len();
    }
    field.push_str("\r\n");
    field
}

/// A display name as one quoted string if it is printable ASCII, else as RFC 2047 encoded
/// words (which may not appear inside quotes).
fn phrase_words(name: &str) -> Vec<String> {
    if name.is_empty() {
        Vec::new()
    } else if name.bytes().all(|b| (b' '..=b'~').contains(&b)) {
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

/// Text as RFC 2047 encoded words (UTF-8, base64), split at character boundaries: an encoded
/// word holds whole characters (RFC 2047 5). Shared with the copies' headers.
pub fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut start = 0;
    for (index, c) in text.char_indices() {
        if index + c.len_utf8() - start > ENCODED_WORD_BYTES {
            words.push(encoded_word(&text[start..index]));
            start = index;
        }
    }
    words.push(encoded_word(&text[start..]));
    words
}

fn encoded_word(text: &str) -> String {
    format!("=?utf-8?b?{}?=", STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLE: &str = "ole.brandt@example.org";

    fn from_of(raw: &[u8]) -> (Option<String>, Vec<String>) {
        let message = MessageParser::default().parse(raw).unwrap();
        let addresses = match message.from().unwrap() {
            Address::List(list) => list
                .iter()
                .filter_map(|a| a.address.as_deref().map(str::to_string))
                .collect(),
            Address::Group(_) => panic!("a group"),
        };
        (submitted_from_name(raw), addresses)
    }

    #[test]
    fn every_disguise_is_read_as_the_name_it_shows() {
        for (field, shown) in [
            (
                "\"presse@example.org\" <ole.brandt@example.org>",
                "presse@example.org",
            ),
            (
                "Pressestelle Hamburg <ole.brandt@example.org>",
                "Pressestelle Hamburg",
            ),
            (
                "=?utf-8?q?presse=40example=2Eorg?= <ole.brandt@example.org>",
                "presse@example.org",
            ),
            (
                "\"Hans-Peter Schulz, Landesvorsitzender\" <ole.brandt@example.org>",
                "Hans-Peter Schulz, Landesvorsitzender",
            ),
            ("Pressestelle: ole.brandt@example.org;", "Pressestelle"),
        ] {
            let raw = format!("From: {field}\r\nSubject: s\r\n\r\nb\r\n");
            assert_eq!(
                submitted_from_name(raw.as_bytes()).as_deref(),
                Some(shown),
                "{field}"
            );
        }
        assert_eq!(
            submitted_from_name(b"From: ole@example.org\r\n\r\nb\r\n"),
            None
        );
    }

    #[test]
    fn the_whole_field_is_replaced_in_place_with_its_continuation_lines() {
        let raw = b"Subject: s\r\nFrom: \"Pressestelle\r\n Hamburg\" <ole.brandt@example.org>\r\nTo: x@lists.example.org\r\n\r\nFrom: not a header\r\n";
        let out = with_from(raw, "Ole Brandt (Distrikt Oldenfelde)", OLE);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "Subject: s\r\nFrom: \"Ole Brandt (Distrikt Oldenfelde)\" <ole.brandt@example.org>\r\n\
             To: x@lists.example.org\r\n\r\nFrom: not a header\r\n"
        );
        assert_eq!(
            from_of(&out),
            (
                Some("Ole Brandt (Distrikt Oldenfelde)".into()),
                vec![OLE.to_string()]
            )
        );
    }

    #[test]
    fn a_name_beyond_ascii_is_encoded_and_reads_back_unchanged() {
        let name = "Renée Hoffmann (Landesverband Hamburg – Öffentlichkeitsarbeit und Presse)";
        let out = with_from(
            b"From: x <renee@example.org>\r\n\r\nb\r\n",
            name,
            "renee@example.org",
        );
        let text = String::from_utf8(out.clone()).unwrap();
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(head.lines().all(|l| l.len() <= LINE_LENGTH), "{head}");
        assert_eq!(from_of(&out).0.as_deref(), Some(name));
    }

    #[test]
    fn quotes_and_backslashes_in_a_name_stay_inside_the_quoted_string() {
        let out = with_from(
            b"From: a@example.org\r\n\r\n",
            r#"AG "Verkehr" \ Umwelt"#,
            OLE,
        );
        assert_eq!(from_of(&out).0.as_deref(), Some(r#"AG "Verkehr" \ Umwelt"#));
    }

    #[test]
    fn names_are_compared_with_whitespace_collapsed() {
        assert_eq!(normalise("  Ole\t Brandt \r\n"), "Ole Brandt");
    }
}
