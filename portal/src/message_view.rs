//! A held message as its approvers see it: the HTML part sanitised with ammonia (no scripts,
//! no event handlers, no remote images), shown in a sandboxed frame, and the attachments
//! listed by name, type and size. The message is parsed with mail-parser, as the gateway
//! parses it on the way in.

use mail_parser::{MessageParser, MimeHeaders, PartType};

/// An attachment, described (never served).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: u64,
}

/// What the approval page shows of a message besides its text preview.
#[derive(Debug, Clone, Default)]
pub struct MessageView {
    /// The first HTML part, sanitised; `None` for a text-only message.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Reads a stored message; an unreadable one shows no HTML and no attachments (its text
/// preview, taken at submission, is still on the page).
pub fn view(raw: &[u8]) -> MessageView {
    let Some(message) = MessageParser::default().parse(raw) else {
        return MessageView::default();
    };
    // mail-parser offers text parts converted to HTML too: only a real text/html part counts.
    let html = message.html_part(0).and_then(|part| match &part.body {
        PartType::Html(html) => Some(sanitise(html)),
        _ => None,
    });
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: part
                .attachment_name()
                .unwrap_or("(ohne Namen / unnamed)")
                .to_string(),
            content_type: part.content_type().map_or_else(
                || "application/octet-stream".to_string(),
                |t| match t.subtype() {
                    Some(sub) => format!("{}/{sub}", t.ctype()),
                    None => t.ctype().to_string(),
                },
            ),
            bytes: part.contents().len() as u64,
        })
        .collect();
    MessageView { html, attachments }
}

/// Sanitised HTML: ammonia's defaults (no script, style, event handler or `javascript:` URL;
/// links get `rel="noopener noreferrer"`), and no image that would load from elsewhere: a
/// remote image tells the sender who looked at the message, and when.
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .attribute_filter(|element, attribute, value| {
            let remote = value.contains("//") || value.contains(':');
            if element == "img" && matches!(attribute, "src" | "srcset") && remote {
                None
            } else {
                Some(value.into())
            }
        })
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_remote_images_are_removed() {
        let clean = sanitise(
            "<p onclick=\"steal()\">Hallo <b>Welt</b></p><script>alert(1)</script>\
             <img src=\"https://tracker.example/p.gif\" alt=\"x\"><img src=\"//t.example/q\">\
             <a href=\"javascript:alert(1)\">a</a><a href=\"https://example.org\">b</a>",
        );
        assert!(clean.contains("Hallo <b>Welt</b>"), "{clean}");
        for gone in [
            "onclick",
            "<script",
            "alert(1)",
            "tracker.example",
            "t.example",
            "javascript:",
        ] {
            assert!(!clean.contains(gone), "{gone} survived: {clean}");
        }
        assert!(clean.contains("href=\"https://example.org\""), "{clean}");
    }

    #[test]
    fn attachments_are_listed_and_a_text_message_has_no_html() {
        let raw = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
            Content-Type: text/plain\r\n\r\nHallo\r\n--b\r\n\
            Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"Haushalt.pdf\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        let v = view(raw);
        assert_eq!(v.html, None);
        assert_eq!(
            v.attachments,
            [Attachment {
                name: "Haushalt.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: 9,
            }]
        );
    }
}
