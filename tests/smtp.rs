//! Chairs sending from their normal email client: Python's smtplib with STARTTLS and AUTH
//! against the real binary, every verdict as an SMTP reply, and durability across a crash.

mod support;

use support::*;
use verteiler_store::SendState;

const CHAIR: (&str, &str) = ("ole.brandt@example.org", "oldenfelde-vorsitz");

#[tokio::test]
async fn a_chair_sends_to_the_branch_list_and_is_told_how_many_it_reaches() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let r = smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    assert!(
        r.text.contains("212") && r.text.contains("Distrikt Oldenfelde"),
        "{r:?}"
    );
    let ids = env
        .db
        .store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap();
    assert_eq!(
        ids.len(),
        1,
        "exactly one stored submission for {}",
        r.message_id
    );
    let sends = env.db.store.sends_of(ids[0]).await.unwrap();
    assert_eq!(
        (sends[0].state, sends[0].recipients),
        (SendState::Scheduled, 212)
    );
    let notes = env.db.store.notifications_to(CHAIR.0).await.unwrap();
    assert!(
        notes.iter().any(|(kind, ..)| kind == "submission.released"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn every_refusal_is_an_smtp_reply_a_chair_understands() {
    let Some((_env, server)) = demo_server(
        "python3",
        &[("VERTEILER_SMTP__MAX_MESSAGE_BYTES", "200000")],
    )
    .await
    else {
        return;
    };
    let smtp = server.smtp();

    // A list the chair may not use.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "pressemitteilungen@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(
        r.text.contains("5.7.1") || r.text.contains("Sendeberechtigung"),
        "{r:?}"
    );

    // The open To: line: 1,493 visible addresses.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &["--to-visible", "1493"],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(r.text.contains("1.493") && r.text.contains("Bcc"), "{r:?}");

    // Over the size limit.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &["--size", "300000"],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 552), "{r:?}");

    // Somebody else's From:.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        "renee.hoffmann@example.org",
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(r.text.contains("renee.hoffmann@example.org"), "{r:?}");

    // An unknown list is refused at RCPT, naming the address.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "gibtsnicht@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("rcpt", 550), "{r:?}");
    assert!(r.text.contains("gibtsnicht@lists.example.org"), "{r:?}");

    // A wrong password.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        "wrong",
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("auth", 535), "{r:?}");
}

#[tokio::test]
async fn an_official_statement_is_held_for_the_press_office() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let officer = ("renee.hoffmann@example.org", "presse-eins");
    let r = smtplib_send(
        &server.smtp(),
        officer.0,
        officer.1,
        officer.0,
        "pressemitteilungen@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    assert!(r.text.contains("Pressestelle"), "{r:?}");
    let notes = env.db.store.notifications_to(officer.0).await.unwrap();
    assert!(
        notes.iter().any(|(kind, ..)| kind == "submission.held"),
        "{notes:?}"
    );

    // The press office's official address: a press officer may send as it (and is told
    // personally), a chair may not.
    let r = smtplib_send(
        &server.smtp(),
        officer.0,
        officer.1,
        "presse@example.org",
        "pressemitteilungen@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let notes = env.db.store.notifications_to(officer.0).await.unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(env
        .db
        .store
        .notifications_to("presse@example.org")
        .await
        .unwrap()
        .is_empty());
    let r = smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        "presse@example.org",
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(r.text.contains("presse@example.org"), "{r:?}");
}

#[tokio::test]
async fn a_submission_answered_250_survives_a_kill_9() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let r = smtplib_send(
        &server.smtp(),
        CHAIR.0,
        CHAIR.1,
        CHAIR.0,
        "oldenfelde@lists.example.org",
        &["--subject", "Nach dem Absturz"],
    );
    assert_eq!(r.code, 250, "{r:?}");
    server.kill();

    let again = env.serve(&["--demo"]);
    let (status, _) = again.get("/readyz").await;
    assert_eq!(status, 200);
    let ids = env
        .db
        .store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let raw = env
        .db
        .store
        .submission_raw(ids[0])
        .await
        .unwrap()
        .expect("raw message stored");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("Subject: Nach dem Absturz") && text.contains("wir laden herzlich ein"),
        "{text}"
    );
}

#[tokio::test]
async fn swaks_sends_with_starttls_and_auth_and_sees_the_verdict() {
    let Some((_env, server)) = demo_server("swaks", &[]).await else {
        return;
    };
    let out = std::process::Command::new("swaks")
        .args(["--server", &server.smtp(), "--tls", "--auth", "PLAIN"])
        .args(["--auth-user", CHAIR.0, "--auth-password", CHAIR.1])
        .args(["--from", CHAIR.0, "--to", "oldenfelde@lists.example.org"])
        .args([
            "--header",
            "Subject: Einladung",
            "--body",
            "Liebe Mitglieder",
        ])
        .output()
        .expect("running swaks");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("STARTTLS") && transcript.contains("235 2.7.0"),
        "{transcript}"
    );
    // The decision, then how its recipients are reached (the demo has SMS members).
    assert!(
        transcript.contains("250-2.0.0 angenommen für 212 Empfänger")
            && transcript.contains("250 2.0.0 212 Empfänger: "),
        "{transcript}"
    );
}

/// The demo organisation with lists set up by an admin on the command line (`args` per
/// command, each must succeed), then served.
async fn demo_with(commands: &[&[&str]]) -> Option<(Env, Server)> {
    if !tool_available("python3") {
        return None;
    }
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    for args in commands {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let server = env.serve(&["--demo"]);
    Some((env, server))
}

/// The sends of the submission `r` answered, as (address, state, reasons).
async fn sends_of(env: &Env, r: &SmtpOutcome) -> Vec<(String, SendState, String)> {
    let store = &env.db.store;
    let ids = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1, "{r:?}");
    store
        .sends_of(ids[0])
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.address, s.state, s.reasons))
        .collect()
}

#[tokio::test]
async fn a_press_officer_writes_as_the_press_address_to_the_press_list_only() {
    let Some((env, server)) = demo_with(&[&[
        "audience",
        "create",
        "presse-intern",
        "--name",
        "Presse intern",
        "--kind",
        "functional",
        "--role",
        "press-office",
        "--unit",
        "HH",
        "--subunits",
        "--senders",
        "press-office",
    ]])
    .await
    else {
        return;
    };
    let smtp = server.smtp();
    let officer = ("renee.hoffmann@example.org", "presse-eins");
    let both = "pressemitteilungen@lists.example.org,presse-intern@lists.example.org";

    // One submission to both lists as presse@: held for the press list, refused on the other,
    // naming the list the address belongs to.
    let r = smtplib_send(&smtp, officer.0, officer.1, "presse@example.org", both, &[]);
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    assert!(r.text.contains("zur Freigabe durch Pressestelle"), "{r:?}");
    assert!(
        r.text
            .contains("nicht an presse-intern@lists.example.org verschickt")
            && r.text.contains(
                "Der Absender presse@example.org ist keine bestätigte Adresse dieses Zugangs: \
                 Er gehört nur zum Verteiler Pressemitteilungen"
            ),
        "{r:?}"
    );
    let sends = sends_of(&env, &r).await;
    assert_eq!(sends.len(), 2, "{sends:?}");
    let (press, other) = (&sends[0], &sends[1]);
    assert_eq!(press.1, SendState::Held, "{sends:?}");
    assert_eq!(other.1, SendState::Rejected, "{sends:?}");
    assert!(other.2.contains("from.other_list"), "{sends:?}");

    // To the other list alone: refused whole, as somebody else's From: is.
    let r = smtplib_send(
        &smtp,
        officer.0,
        officer.1,
        "presse@example.org",
        "presse-intern@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(
        r.text.contains("5.7.1")
            && r.text
                .contains("gehört nur zum Verteiler Pressemitteilungen"),
        "{r:?}"
    );

    // With her own address the same list takes it: the refusal was the From:, not the list.
    let r = smtplib_send(
        &smtp,
        officer.0,
        officer.1,
        officer.0,
        "presse-intern@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
}

#[tokio::test]
async fn a_chair_uses_the_official_address_of_the_branch_list_on_that_list_only() {
    let board = "vorstand@oldenfelde.example";
    let Some((env, server)) = demo_with(&[
        &[
            "audience",
            "edit",
            "oldenfelde",
            "--sender-address",
            "vorstand@oldenfelde.example",
        ],
        &[
            "audience",
            "create",
            "mv-oldenfelde",
            "--name",
            "MV Oldenfelde",
            "--unit",
            "HH-WA-OLD",
        ],
    ])
    .await
    else {
        return;
    };
    let smtp = server.smtp();

    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        board,
        "oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    assert!(r.text.contains("212"), "{r:?}");

    // Another list the chair writes to has no official address: not this one either.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        board,
        "mv-oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(
        r.text.contains(board)
            && r.text
                .contains("gehört nur zum Verteiler Distrikt Oldenfelde"),
        "{r:?}"
    );
    assert!(sends_of(&env, &r)
        .await
        .iter()
        .all(|(_, state, reasons)| *state == SendState::Rejected
            && reasons.contains("from.other_list")));

    // Both at once: Oldenfelde takes it, the meeting list refuses it.
    let r = smtplib_send(
        &smtp,
        CHAIR.0,
        CHAIR.1,
        board,
        "oldenfelde@lists.example.org,mv-oldenfelde@lists.example.org",
        &[],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let states: Vec<SendState> = sends_of(&env, &r).await.into_iter().map(|s| s.1).collect();
    assert_eq!(states, [SendState::Scheduled, SendState::Rejected]);
}

#[tokio::test]
async fn a_members_address_made_a_lists_sender_address_lends_nobody_her_name() {
    // The list's official address is never a person's: setting one is refused…
    let Some((env, server)) = demo_with(&[&[
        "audience",
        "edit",
        "oldenfelde",
        "--sender-address",
        "vorstand-oldenfelde@example.org",
    ]])
    .await
    else {
        return;
    };
    let refused = env.run(&[
        "audience",
        "edit",
        "rahlstedt",
        "--sender-address",
        "zoe.nguyen@example.org",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("zoe.nguyen@example.org is a member's own address"),
        "{}",
        stderr(&refused)
    );
    // …and an official address that becomes a member's own later lends her name to nobody.
    let oldenfelde = env
        .db
        .store
        .unit_by_code("HH-WA-OLD")
        .await
        .unwrap()
        .unwrap();
    env.db
        .store
        .create_member(&verteiler_store::NewMember {
            external_id: Some("D999999".into()),
            first_name: "Vera".into(),
            last_name: "Vorstand".into(),
            unit_id: oldenfelde.id,
            email: Some(
                verteiler_policies::EmailAddress::parse("vorstand-oldenfelde@example.org").unwrap(),
            ),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let r = loop {
        let r = smtplib_send(
            &server.smtp(),
            CHAIR.0,
            CHAIR.1,
            "vorstand-oldenfelde@example.org",
            "oldenfelde@lists.example.org",
            &[],
        );
        // The server's facts are cached for a few seconds.
        if r.code != 250 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    };
    assert_eq!((r.stage.as_str(), r.code), ("data", 550), "{r:?}");
    assert!(
        r.text
            .contains("vorstand-oldenfelde@example.org ist keine bestätigte Adresse"),
        "{r:?}"
    );
    assert!(
        env.db
            .store
            .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
            .await
            .unwrap()
            .is_empty(),
        "refused before anything is stored"
    );
}
