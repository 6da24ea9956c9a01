//! Chairs sending from their normal email client: Python's smtplib with STARTTLS and AUTH
//! against the real binary, every verdict as an SMTP reply, and durability across a crash.

mod support;

use support::*;

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
        (sends[0].state.as_str(), sends[0].recipients),
        ("scheduled", 212)
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
