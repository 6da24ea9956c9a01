//! How a copy threads with what its sender has: the `References` of every copy end with the
//! submission's own `Message-ID`.
//!
//! Each copy keeps a `Message-ID` of its own (`<d{delivery}.…@lists…>`): one id shared by
//! thousands of copies would make recipients' systems take later copies for duplicates, and
//! a per-copy id names the delivery when a recipient asks "who sent this?". So the link to the
//! original goes where RFC 5322 puts the thread: `References` carries the original's own
//! `References` and then its `Message-ID`. The sender's client, which stored the sent message
//! under that id, threads every reply (whose `References` repeat ours) with it, and so does a
//! recipient's client that holds the original too. `In-Reply-To` stays the original's: it says
//! what the original answered, and a copy answers nothing itself.

/// Ids kept in `References` at most: the first (the thread's root) and the newest ones, as
/// RFC 5322 3.6.4 suggests for long threads.
const MAX_REFERENCES: usize = 20;

/// The copy's `References` value, one id per folded line, from the original's header fields
/// (name, whole field with its continuation lines); `None` when the original has neither
/// `References` nor a `Message-ID`.
pub(super) fn references<'m>(fields: impl Iterator<Item = (&'m [u8], &'m [u8])>) -> Option<String> {
    let mut references = Vec::new();
    let mut message_id = None;
    for (name, raw) in fields {
        let value = field_value(raw);
        if name.eq_ignore_ascii_case(b"references") {
            references.extend(msg_ids(&value));
        } else if name.eq_ignore_ascii_case(b"message-id") && message_id.is_none() {
            message_id = msg_ids(&value).into_iter().next();
        }
    }
    references.extend(message_id);
    let mut seen = std::collections::HashSet::new();
    references.retain(|id| seen.insert(id.clone()));
    if references.len() > MAX_REFERENCES {
        let newest = references.split_off(references.len() - (MAX_REFERENCES - 1));
        references.truncate(1);
        references.extend(newest);
    }
    (!references.is_empty()).then(|| references.join("\r\n "))
}

/// The text after the colon, unfolded.
fn field_value(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let value = text.split_once(':').map_or("", |(_, v)| v);
    value.split(['\r', '\n']).collect::<Vec<_>>().join(" ")
}

/// Every `<…>` that is a plausible message id: printable ASCII without spaces or brackets.
/// Anything else is left out rather than copied into a header of ours.
fn msg_ids(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|part| part.split_once('>').map(|(id, _)| id))
        .filter(|id| {
            (1..=250).contains(&id.len())
                && id.contains('@')
                && id
                    .bytes()
                    .all(|b| (b'!'..=b'~').contains(&b) && b != b'<' && b != b'>')
        })
        .map(|id| format!("<{id}>"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(fields: &[(&str, &str)]) -> Option<String> {
        references(
            fields
                .iter()
                .map(|(name, raw)| (name.as_bytes(), raw.as_bytes())),
        )
    }

    #[test]
    fn the_originals_references_come_first_and_its_id_last() {
        assert_eq!(
            of(&[
                ("Message-ID", "Message-ID: <new@example.org>\r\n"),
                (
                    "References",
                    "References: <root@example.org>\r\n <mid@example.org>\r\n"
                ),
            ])
            .as_deref(),
            Some("<root@example.org>\r\n <mid@example.org>\r\n <new@example.org>")
        );
        assert_eq!(
            of(&[("Message-Id", "Message-Id:<only@example.org>\n")]).as_deref(),
            Some("<only@example.org>")
        );
        assert_eq!(of(&[("Subject", "Subject: <x@y>\r\n")]), None);
    }

    #[test]
    fn junk_is_left_out_and_long_threads_keep_root_and_newest() {
        assert_eq!(
            of(&[(
                "References",
                "References: <a b@example.org> <\u{e4}@example.org> <no-at> <ok@example.org>"
            )])
            .as_deref(),
            Some("<ok@example.org>")
        );
        let long: String = (0..30).map(|n| format!(" <r{n}@example.org>")).collect();
        let kept = of(&[("References", &format!("References:{long}"))]).unwrap();
        let ids: Vec<&str> = kept.split("\r\n ").collect();
        assert_eq!(ids.len(), MAX_REFERENCES);
        assert_eq!(ids[0], "<r0@example.org>");
        assert_eq!(ids[1], "<r11@example.org>");
        assert_eq!(ids[MAX_REFERENCES - 1], "<r29@example.org>");
    }
}
