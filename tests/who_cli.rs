//! `verteiler audit who` asked with what a recipient holds: a copy's own Message-ID, its
//! X-Verteiler-Send header, the whole copy as a file, or the sender's Message-ID that every
//! copy carries last in References (so replies thread with the sender's sent message).

mod support;

use std::time::Duration;
use support::*;

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn who_sent_a_copy_is_answered_from_its_ids_or_the_whole_copy() {
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")]).await
    else {
        return;
    };
    let (send, reply) = send_to_oldenfelde(&env, &server).await;
    wait_until_complete(&env, send, Duration::from_secs(60)).await;
    drop(server);
    let outbox = env.path("data/outbox");
    let copy_path = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with('d') && name.ends_with(".eml")
        })
        .expect("a copy in the outbox");
    let copy = std::fs::read_to_string(&copy_path).unwrap();
    let copy_id = header(&copy, "Message-ID").expect("the copy's own Message-ID");
    let send_ref = header(&copy, "X-Verteiler-Send").expect("X-Verteiler-Send");
    assert_ne!(copy_id, reply.message_id, "each copy has its own id");
    assert_eq!(
        header(&copy, "References"),
        Some(reply.message_id.as_str()),
        "the copy threads with the sender's own message"
    );

    let file = copy_path.to_string_lossy().into_owned();
    for args in [
        vec!["audit", "who", copy_id],
        vec!["audit", "who", send_ref],
        vec!["audit", "who", "--file", &file],
        vec!["audit", "who", &reply.message_id],
    ] {
        let who = env.run(&args);
        assert!(who.status.success(), "{args:?}: {}", stderr(&who));
        let text = stdout(&who);
        for part in [
            "Ole Brandt",
            "IP 127.0.0.1",
            "oldenfelde@lists.example.org",
            &format!("(send {send})"),
            "content:     sha256",
        ] {
            assert!(
                text.contains(part),
                "{args:?}: {part:?} missing in:\n{text}"
            );
        }
    }
    // An id made up after the pattern names nothing: the copy's token is checked.
    let (delivery, _) = copy_id
        .trim_matches(['<', '>'])
        .split_once('.')
        .expect("d<id>.<token>@…");
    let forged = format!("<{delivery}.zzzzzzzz@lists.example.org>");
    let nothing = env.run(&["audit", "who", &forged]);
    assert!(!nothing.status.success());
    assert!(
        stderr(&nothing).contains("no submission is named by"),
        "{}",
        stderr(&nothing)
    );
    let neither = env.run(&["audit", "who"]);
    assert!(!neither.status.success(), "an id or --file is needed");
}
