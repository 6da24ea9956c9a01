//! Putting a [`Reply`] on the wire. Replies may come from the handler with free text (a
//! policy reason naming an audience), so the encoder, not the caller, guarantees that the
//! bytes are well-formed SMTP: three digits, `-` on every line but the last, the enhanced
//! status code repeated on every line (RFC 2034), no stray CR or LF inside a line.

use super::handler::Reply;

/// Longest text we put on one reply line. RFC 5321 allows 512 octets per reply line; we cut
/// there so a long policy reason cannot produce a line clients reject.
const MAX_TEXT_LEN: usize = 480;

/// Appends `reply` to `out` in wire format.
pub(crate) fn encode_reply(reply: &Reply, out: &mut Vec<u8>) {
    // A code outside 200..=599 would be a bug in a handler; clients cannot act on it, so it
    // becomes a temporary local error instead of a malformed line.
    let (code, enhanced) = if (200..=599).contains(&reply.code) {
        (reply.code, reply.enhanced)
    } else {
        (451, Some((4, 3, 0)))
    };
    let enhanced = enhanced.filter(|&(class, _, _)| u16::from(class) == code / 100);
    count_refusal(code, enhanced);
    let empty = [String::new()];
    let lines: &[String] = if reply.lines.is_empty() {
        &empty
    } else {
        &reply.lines
    };
    for (index, text) in lines.iter().enumerate() {
        let separator = if index + 1 == lines.len() { ' ' } else { '-' };
        out.extend_from_slice(format!("{code}{separator}").as_bytes());
        if let Some((class, subject, detail)) = enhanced {
            out.extend_from_slice(format!("{class}.{subject}.{detail} ").as_bytes());
        }
        push_clean_text(text, out);
        out.extend_from_slice(b"\r\n");
    }
}

/// Counts a 4xx or 5xx reply for `/metrics`: every refusal, whoever gives it, is encoded
/// here. The labels are the reply code and the enhanced status code (RFC 3463), a small fixed
/// set; the free text (it may name a list) never becomes a label.
fn count_refusal(code: u16, enhanced: Option<(u8, u16, u16)>) {
    if code < 400 {
        return;
    }
    let status = enhanced.map_or_else(
        || "none".to_string(),
        |(class, subject, detail)| format!("{class}.{subject}.{detail}"),
    );
    metrics::counter!("verteiler_smtp_refusals_total",
        "code" => code.to_string(), "status" => status)
    .increment(1);
}

/// Copies `text` without control characters (they would split or corrupt the line) and cut
/// at [`MAX_TEXT_LEN`] on a character boundary.
fn push_clean_text(text: &str, out: &mut Vec<u8>) {
    let mut used = 0;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if used + ch.len_utf8() > MAX_TEXT_LEN {
            break;
        }
        used += ch.len_utf8();
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

/// A reply without an enhanced status code: RFC 2034 leaves it off the greeting and the
/// replies to EHLO and HELO.
pub(crate) fn plain_reply(code: u16, lines: Vec<String>) -> Reply {
    Reply {
        code,
        enhanced: None,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply) -> String {
        let mut out = Vec::new();
        encode_reply(reply, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_line_with_enhanced_code() {
        let reply = Reply::new(250, (2, 1, 0), "Sender OK");
        assert_eq!(encoded(&reply), "250 2.1.0 Sender OK\r\n");
    }

    #[test]
    fn multi_line_repeats_the_enhanced_code_on_every_line() {
        let reply = Reply::multiline(
            250,
            (2, 0, 0),
            vec!["held for approval".into(), "reason: too many".into()],
        );
        assert_eq!(
            encoded(&reply),
            "250-2.0.0 held for approval\r\n250 2.0.0 reason: too many\r\n"
        );
    }

    #[test]
    fn handler_text_cannot_break_the_line() {
        let reply = Reply::new(550, (5, 7, 1), "bad\r\n250 2.0.0 fake");
        assert_eq!(encoded(&reply), "550 5.7.1 bad  250 2.0.0 fake\r\n");
    }

    #[test]
    fn nonsense_codes_become_a_temporary_error() {
        let reply = Reply::new(99, (2, 0, 0), "what");
        assert_eq!(encoded(&reply), "451 4.3.0 what\r\n");
        let mismatched = Reply::new(550, (2, 0, 0), "class differs");
        assert_eq!(encoded(&mismatched), "550 class differs\r\n");
    }

    #[test]
    fn empty_lines_and_plain_replies() {
        let reply = Reply::multiline(250, (2, 0, 0), vec![]);
        assert_eq!(encoded(&reply), "250 2.0.0 \r\n");
        let greeting = plain_reply(220, vec!["mx ESMTP".into()]);
        assert_eq!(encoded(&greeting), "220 mx ESMTP\r\n");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let reply = Reply::new(550, (5, 7, 1), "ä".repeat(400));
        let line = encoded(&reply);
        assert!(line.len() <= 10 + MAX_TEXT_LEN + 2);
        assert!(line.ends_with("ä\r\n"));
    }
}
