//! How a copy threads: its own Message-ID, and the sender's message in its References, so a
//! reply to any copy threads with what the sender has in their sent folder.

use mail_parser::MessageParser;
use verteiler_gateway::delivery::copy::{build_copy, CopySpec, ReplyTo, ToHeader, Unsubscribe};

fn spec() -> CopySpec<'static> {
    CopySpec {
        list_address: "oldenfelde@lists.example.org",
        list_name: "Distrikt Oldenfelde",
        list_id: "oldenfelde.lists.example.org",
        recipient: "erika.muster@example.com",
        to: ToHeader::List,
        reply_to: ReplyTo::Sender,
        unsubscribe: Unsubscribe::None,
        message_id: "d123.4f@lists.example.org",
        send_ref: "s42.t17@lists.example.org",
        return_path: "bounce+tok@lists.example.org",
    }
}

const MESSAGE: &str = "From: Vorstand <vorstand@oldenfelde.example>\r\n\
Subject: Einladung\r\n\
Message-ID: <orig@client.example>\r\n\
Date: Mon, 2 Jun 2025 10:00:00 +0200\r\n\
\r\n\
Liebe Mitglieder\r\n";

fn copy(message: &str, spec: &CopySpec<'_>) -> String {
    String::from_utf8(build_copy(message.as_bytes(), spec).unwrap()).unwrap()
}

/// Unfolded values of every field called `name` in the header block.
fn field_values(copy: &str, name: &str) -> Vec<String> {
    let head = &copy[..copy.find("\r\n\r\n").expect("separator") + 2];
    let mut fields: Vec<String> = Vec::new();
    for line in head.split_terminator("\r\n") {
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
fn a_copy_threads_with_the_senders_message_through_its_references() {
    // The original answers an earlier message: its own thread comes first, then its id.
    let reply = MESSAGE.replace(
        "Date:",
        "In-Reply-To: <earlier@client.example>\r\n\
         References: <root@client.example>\r\n <earlier@client.example>\r\nDate:",
    );
    let out = copy(&reply, &spec());
    assert_eq!(
        field_values(&out, "Message-ID"),
        ["<d123.4f@lists.example.org>"]
    );
    assert_eq!(
        field_values(&out, "References"),
        ["<root@client.example> <earlier@client.example> <orig@client.example>"]
    );
    assert_eq!(
        field_values(&out, "In-Reply-To"),
        ["<earlier@client.example>"],
        "a copy answers what the original answered, nothing more"
    );
    // A mail client reads the thread the same way.
    let parsed = MessageParser::default().parse(out.as_bytes()).unwrap();
    assert_eq!(parsed.references().as_text_list().map(|l| l.len()), Some(3));
    // Without a Message-ID of its own the original's thread still carries over.
    let anonymous = reply.replace("Message-ID: <orig@client.example>\r\n", "");
    assert_eq!(
        field_values(&copy(&anonymous, &spec()), "References"),
        ["<root@client.example> <earlier@client.example>"]
    );
    assert!(field_values(
        &copy(
            &MESSAGE.replace("Message-ID: <orig@client.example>\r\n", ""),
            &spec()
        ),
        "References"
    )
    .is_empty());
}
