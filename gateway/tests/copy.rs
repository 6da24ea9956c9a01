//! The personal copy of a list message (ARCHITECTURE.md, incident 2): nothing of another recipient
//! survives, the list's headers are right, and the result is valid on the wire.
//!
//! `PROPTEST_CASES` sets the number of random messages (default 256).

use mail_parser::{HeaderValue, MessageParser};
use proptest::prelude::*;
use verteiler_gateway::delivery::copy::{
    build_copy, CopyError, CopySpec, ReplyTo, ToHeader, Unsubscribe,
};

const LIST: &str = "oldenfelde@lists.example.org";
const RECIPIENT: &str = "erika.muster@example.com";

fn spec() -> CopySpec<'static> {
    CopySpec {
        list_address: LIST,
        list_name: "Distrikt Oldenfelde",
        list_id: "oldenfelde.lists.example.org",
        recipient: RECIPIENT,
        to: ToHeader::List,
        reply_to: ReplyTo::List,
        unsubscribe: Unsubscribe::OneClick("https://portal.example.org/u/abc".into()),
        message_id: "d123.4f@lists.example.org",
        send_ref: "s42.t17@lists.example.org",
        return_path: "bounce+tok@lists.example.org",
    }
}

const MESSAGE: &str = "Received: from [192.0.2.7] by mail.example.net\r\n\
From: Vorstand <vorstand@oldenfelde.example>\r\n\
To: oldenfelde@lists.example.org,\r\n\
\x20\"Max\" <max@example.net>\r\n\
Cc: moritz@example.net\r\n\
Subject: Einladung\r\n\
Message-ID: <orig@client.example>\r\n\
Date: Mon, 2 Jun 2025 10:00:00 +0200\r\n\
\r\n\
Liebe Mitglieder,\r\n\
bis bald.\r\n";

fn copy(message: &str, spec: &CopySpec<'_>) -> String {
    String::from_utf8(build_copy(message.as_bytes(), spec).unwrap()).unwrap()
}

fn header_block(copy: &str) -> &str {
    &copy[..copy.find("\r\n\r\n").expect("separator") + 2]
}

/// Unfolded values of every field called `name`.
fn field_values(copy: &str, name: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for line in header_block(copy).split_terminator("\r\n") {
        if line.starts_with([' ', '\t']) {
            fields.last_mut().unwrap().push_str(line);
        } else {
            fields.push(line.to_string());
        }
    }
    fields
        .iter()
        .filter_map(|f| {
            let (n, v) = f.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

#[test]
fn copy_has_list_headers_first_then_the_kept_original_ones() {
    assert_eq!(
        copy(MESSAGE, &spec()),
        "Message-ID: <d123.4f@lists.example.org>\r\n\
         To: \"Distrikt Oldenfelde\" <oldenfelde@lists.example.org>\r\n\
         Reply-To: \"Distrikt Oldenfelde\" <oldenfelde@lists.example.org>\r\n\
         Sender: oldenfelde@lists.example.org\r\n\
         List-Id: \"Distrikt Oldenfelde\" <oldenfelde.lists.example.org>\r\n\
         List-Unsubscribe: <https://portal.example.org/u/abc>\r\n\
         List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
         Precedence: list\r\n\
         X-Verteiler-Send: <s42.t17@lists.example.org>\r\n\
         References: <orig@client.example>\r\n\
         From: Vorstand <vorstand@oldenfelde.example>\r\n\
         Subject: Einladung\r\n\
         Date: Mon, 2 Jun 2025 10:00:00 +0200\r\n\
         \r\n\
         Liebe Mitglieder,\r\n\
         bis bald.\r\n"
    );
}

#[test]
fn recipient_alone_in_to_when_asked() {
    let out = copy(
        MESSAGE,
        &CopySpec {
            to: ToHeader::Recipient,
            ..spec()
        },
    );
    assert_eq!(field_values(&out, "To"), [RECIPIENT]);
    assert!(!out.contains("max@example.net") && !out.contains("moritz@example.net"));
}

#[test]
fn reply_to_follows_the_reply_mode() {
    let sender = copy(
        MESSAGE,
        &CopySpec {
            reply_to: ReplyTo::Sender,
            ..spec()
        },
    );
    assert!(field_values(&sender, "Reply-To").is_empty());

    let no_reply = ReplyTo::NoReply("noreply@lists.example.org".into());
    let out = copy(
        MESSAGE,
        &CopySpec {
            reply_to: no_reply,
            ..spec()
        },
    );
    assert_eq!(
        field_values(&out, "Reply-To"),
        ["noreply@lists.example.org"]
    );
}

#[test]
fn senders_reply_to_and_sender_are_replaced() {
    let message =
        format!("Reply-To: elsewhere@example.net\r\nSender: sec@example.net\r\n{MESSAGE}");
    let out = copy(
        &message,
        &CopySpec {
            reply_to: ReplyTo::Sender,
            ..spec()
        },
    );
    assert!(field_values(&out, "Reply-To").is_empty());
    assert_eq!(field_values(&out, "Sender"), [LIST]);
    assert!(!out.contains("example.net"));
}

#[test]
fn preferences_link_has_no_one_click_post() {
    let url = "https://portal.example.org/me/subscriptions";
    let unsubscribe = Unsubscribe::Preferences(url.into());
    let out = copy(
        MESSAGE,
        &CopySpec {
            unsubscribe,
            ..spec()
        },
    );
    assert_eq!(field_values(&out, "List-Unsubscribe"), [format!("<{url}>")]);
    assert!(field_values(&out, "List-Unsubscribe-Post").is_empty());
}

#[test]
fn no_unsubscribe_writes_neither_field() {
    let out = copy(
        MESSAGE,
        &CopySpec {
            unsubscribe: Unsubscribe::None,
            ..spec()
        },
    );
    assert!(!out.contains("List-Unsubscribe"));
}

#[test]
fn eight_bit_utf8_subject_is_kept_verbatim() {
    let message = "From: a@oldenfelde.example\nSubject: Grüße zum Sommerfest 🌻\n\nText\n";
    let out = copy(message, &spec());
    assert!(out.contains("\r\nSubject: Grüße zum Sommerfest 🌻\r\n"));
}

#[test]
fn non_ascii_list_name_is_rfc2047_encoded_in_to_and_list_id() {
    let out = copy(
        MESSAGE,
        &CopySpec {
            list_name: "Distrikt Öldenfelde",
            ..spec()
        },
    );
    let header = header_block(&out);
    assert!(header.is_ascii());
    assert!(header.contains("To: =?utf-8?b?RGlzdHJpa3Qgw5ZsZGVuZmVsZGU=?= <oldenfelde@lists"));

    let parsed = MessageParser::default().parse(out.as_bytes()).unwrap();
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.name(), Some("Distrikt Öldenfelde"));
    assert_eq!(to.address(), Some(LIST));
    let HeaderValue::Address(list_id) = parsed.list_id() else {
        panic!("List-Id is {:?}", parsed.list_id());
    };
    let list_id = list_id.first().unwrap();
    assert_eq!(list_id.name(), Some("Distrikt Öldenfelde"));
    assert_eq!(list_id.address(), Some("oldenfelde.lists.example.org"));
}

#[test]
fn long_non_ascii_list_name_is_folded_into_short_encoded_words() {
    let name = "Arbeitsgemeinschaft für Ökologie, Verkehr und Stadtentwicklung Süd-Öst";
    let out = copy(
        MESSAGE,
        &CopySpec {
            list_name: name,
            ..spec()
        },
    );
    let header = header_block(&out);
    assert!(header.lines().all(|l| l.len() <= 78), "{header}");
    for word in header.split([' ', '\r', '\n']) {
        assert!(!word.starts_with("=?") || word.len() <= 75, "{word}");
    }
    let parsed = MessageParser::default().parse(out.as_bytes()).unwrap();
    assert_eq!(
        parsed.to().and_then(|a| a.first()).unwrap().name(),
        Some(name)
    );
}

#[test]
fn ascii_list_name_with_quotes_is_escaped() {
    let out = copy(
        MESSAGE,
        &CopySpec {
            list_name: "AG \"Verkehr\"",
            ..spec()
        },
    );
    assert_eq!(
        field_values(&out, "List-Id"),
        [r#""AG \"Verkehr\"" <oldenfelde.lists.example.org>"#]
    );
}

#[test]
fn spec_value_with_line_break_is_refused() {
    let attacks: Vec<(&str, CopySpec<'static>)> = vec![
        (
            "recipient",
            CopySpec {
                recipient: "a@example.com\r\nBcc: all@example.com",
                ..spec()
            },
        ),
        (
            "list_name",
            CopySpec {
                list_name: "Liste\nCc: x@example.com",
                ..spec()
            },
        ),
        (
            "message_id",
            CopySpec {
                message_id: "a@b>\rX: y",
                ..spec()
            },
        ),
        (
            "send_ref",
            CopySpec {
                send_ref: "s1\0",
                ..spec()
            },
        ),
        (
            "reply_to",
            CopySpec {
                reply_to: ReplyTo::NoReply("n@example.org\r\nCc: x@y".into()),
                ..spec()
            },
        ),
        (
            "unsubscribe",
            CopySpec {
                unsubscribe: Unsubscribe::Preferences("https://x/\r\n\r\nbody".into()),
                ..spec()
            },
        ),
    ];
    for (field, spec) in attacks {
        assert_eq!(
            build_copy(MESSAGE.as_bytes(), &spec),
            Err(CopyError::UnsafeValue { field })
        );
    }
}

#[test]
fn headers_only_input_gets_an_empty_body() {
    let message = "From: a@oldenfelde.example\r\nTo: x@example.net\r\nSubject: Nur Betreff";
    let out = copy(message, &spec());
    assert!(out.ends_with("\r\nFrom: a@oldenfelde.example\r\nSubject: Nur Betreff\r\n\r\n"));
    assert!(!out.contains("x@example.net"));
}

#[test]
fn input_starting_with_a_non_header_line_is_refused() {
    for message in [
        "Hallo zusammen,\n\nText\n",
        " folded: first\nSubject: x\n\n",
    ] {
        assert_eq!(
            build_copy(message.as_bytes(), &spec()),
            Err(CopyError::NotAHeaderField { line: 1 })
        );
    }
    assert_eq!(
        build_copy(b"Subject: x\nnot a field\n\nbody", &spec()),
        Err(CopyError::NotAHeaderField { line: 2 })
    );
}

#[test]
fn non_ascii_field_name_is_refused() {
    assert_eq!(
        build_copy("Subject: x\nBetreffzeile-Ü: y\n\n".as_bytes(), &spec()),
        Err(CopyError::NonAsciiFieldName { line: 2 })
    );
}

#[test]
fn lone_cr_in_the_header_block_is_refused() {
    assert_eq!(
        build_copy(b"Subject: x\rCc: other@example.net\r\n\r\n", &spec()),
        Err(CopyError::BareCarriageReturn { line: 1 })
    );
}

#[test]
fn forged_list_headers_and_traces_are_dropped() {
    let message = "Received: from laptop ([198.51.100.23])\r\n\
        DKIM-Signature: v=1; a=rsa-sha256; d=oldenfelde.example;\r\n\tb=abc\r\n\
        ARC-Seal: i=1; cv=none\r\n\
        X-Verteiler-Send: <forged@lists.example.org>\r\n\
        X-VERTEILER-Approved: yes\r\n\
        List-Unsubscribe: <https://evil.example/>\r\n\
        Precedence: bulk\r\n\
        Resent-To: r@example.net\r\n\
        Return-Path: <b@example.net>\r\n\
        Delivered-To: d@example.net\r\n\
        Mail-Followup-To: f@example.net\r\n\
        Disposition-Notification-To: vorstand@oldenfelde.example\r\n\
        Return-Receipt-To: vorstand@oldenfelde.example\r\n\
        From: vorstand@oldenfelde.example\r\n\
        \r\n\
        Text\r\n";
    let out = copy(
        message,
        &CopySpec {
            unsubscribe: Unsubscribe::None,
            ..spec()
        },
    );
    for gone in [
        "198.51.100.23",
        "DKIM-Signature",
        "ARC-Seal",
        "forged",
        "Approved",
        "evil.example",
        "bulk",
        "example.net",
        "Notification",
        "Receipt",
    ] {
        assert!(!out.contains(gone), "{gone} in\n{out}");
    }
    assert_eq!(
        field_values(&out, "X-Verteiler-Send"),
        ["<s42.t17@lists.example.org>"]
    );
    assert_eq!(field_values(&out, "Precedence"), ["list"]);
}

#[test]
fn obsolete_space_before_colon_still_drops_cc() {
    let out = copy(
        "From: a@oldenfelde.example\nCc : hidden@example.net\n\nText\n",
        &spec(),
    );
    assert!(!out.contains("hidden@example.net"));
}

#[test]
fn body_keeps_its_bytes_with_lone_line_breaks_made_crlf() {
    let mut message = b"Subject: x\n\n".to_vec();
    message.extend_from_slice(b"caf\xc3\xa9 \xff\x00 raw\n.\nend\r\n\r\nlast");
    let out = build_copy(&message, &spec()).unwrap();
    assert!(
        out.ends_with(b"\r\nSubject: x\r\n\r\ncaf\xc3\xa9 \xff\x00 raw\r\n.\r\nend\r\n\r\nlast")
    );
}

#[test]
fn empty_line_first_means_no_original_headers() {
    let out = copy("\nTo: looks@example.net\n", &spec());
    assert!(out.ends_with(
        "X-Verteiler-Send: <s42.t17@lists.example.org>\r\n\r\nTo: looks@example.net\r\n"
    ));
}

/// An address no other part of the test message can contain: `.test` appears nowhere else.
fn address() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9._-]{2,12}@[a-z]{3,8}\\.test"
}

fn mixed_case(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, up)| {
                if up {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// A recipient field: mixed-case name, optional obsolete space before the colon, addresses
/// with or without display names, folded at random, as lines (without line breaks).
fn recipient_field() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let name = prop_oneof![
        mixed_case("To"),
        mixed_case("Cc"),
        mixed_case("Bcc"),
        mixed_case("Resent-To"),
        mixed_case("Resent-Cc"),
        mixed_case("Delivered-To"),
        mixed_case("X-Original-To"),
        mixed_case("Apparently-To"),
        mixed_case("Envelope-To"),
    ];
    let entry = (
        address(),
        proptest::option::of("[A-Z][a-z]{1,8}"),
        any::<bool>(),
    );
    (name, "[ \t]?", proptest::collection::vec(entry, 1..6)).prop_map(|(name, space, entries)| {
        let mut lines = vec![format!("{name}{space}:")];
        let mut addresses = Vec::new();
        for (i, (address, display, fold)) in entries.into_iter().enumerate() {
            let item = match display {
                Some(display) => format!("{display} <{address}>"),
                None => address.clone(),
            };
            let sep = if i == 0 { "" } else { "," };
            let last = lines.last_mut().unwrap();
            if fold && i > 0 {
                last.push_str(sep);
                lines.push(format!("\t{item}"));
            } else {
                last.push_str(&format!("{sep} {item}"));
            }
            addresses.push(address);
        }
        (lines, addresses)
    })
}

struct Case {
    raw: Vec<u8>,
    hidden: Vec<String>,
    body_crlf: Vec<u8>,
}

/// Shows the message as text, so a failing case can be read.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

fn message() -> impl Strategy<Value = Case> {
    let kept = vec![
        vec!["From: Vorstand <vorstand@oldenfelde.example>".to_string()],
        vec![
            "Subject: Einladung".to_string(),
            " zum Sommerfest".to_string(),
        ],
        vec!["Message-ID: <orig@client.example>".to_string()],
    ];
    let body_line = "[ -?A-~äöü]{0,30}";
    (
        proptest::collection::vec(recipient_field(), 1..5),
        proptest::collection::vec(body_line, 0..8),
        proptest::collection::vec(any::<bool>(), 64),
    )
        .prop_flat_map(move |(recipients, body, crlf)| {
            let mut fields = kept.clone();
            let mut hidden = Vec::new();
            for (lines, addresses) in recipients {
                fields.push(lines);
                hidden.extend(addresses);
            }
            (
                Just(fields).prop_shuffle(),
                Just(hidden),
                Just(body),
                Just(crlf),
            )
        })
        .prop_map(|(fields, hidden, body, crlf)| {
            let mut breaks = crlf.iter().cycle().map(|&c| if c { "\r\n" } else { "\n" });
            let mut raw = String::new();
            for line in fields.iter().flatten() {
                raw.push_str(line);
                raw.push_str(breaks.next().unwrap());
            }
            raw.push_str(breaks.next().unwrap());
            let mut body_crlf = String::new();
            for line in &body {
                raw.push_str(line);
                raw.push_str(breaks.next().unwrap());
                body_crlf.push_str(line);
                body_crlf.push_str("\r\n");
            }
            Case {
                raw: raw.into_bytes(),
                hidden,
                body_crlf: body_crlf.into_bytes(),
            }
        })
}

proptest! {
    #[test]
    fn no_other_recipient_survives_in_any_copy(case in message(), personal in any::<bool>()) {
        let to = if personal { ToHeader::Recipient } else { ToHeader::List };
        let out = build_copy(&case.raw, &CopySpec { to, ..spec() }).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        let lowered = text.to_lowercase();

        for address in &case.hidden {
            prop_assert!(!lowered.contains(address.as_str()), "{} leaked:\n{}", address, text);
        }
        let expected_to = if personal {
            RECIPIENT.to_string()
        } else {
            format!("\"Distrikt Oldenfelde\" <{LIST}>")
        };
        prop_assert_eq!(field_values(&text, "To"), [expected_to]);
        prop_assert_eq!(field_values(&text, "Message-ID"), ["<d123.4f@lists.example.org>"]);
        for (i, &b) in out.iter().enumerate() {
            match b {
                b'\n' => prop_assert!(i > 0 && out[i - 1] == b'\r', "lone LF at {}", i),
                b'\r' => prop_assert!(out.get(i + 1) == Some(&b'\n'), "lone CR at {}", i),
                _ => {}
            }
        }
        let body_at = text.find("\r\n\r\n").unwrap() + 4;
        prop_assert_eq!(&out[body_at..], &case.body_crlf[..]);
    }
}
