//! `/compose`: a chair writes to a list in the browser. *Prüfen* shows the engine's decision and
//! stores nothing; *Senden* stores the submission with the same intake as SMTP; somebody
//! without the right is refused by the engine, with the reason.

mod support;

use axum::http::StatusCode;
use support::org;
use support::staff::make_chair;
use verteiler_store::SendState;

fn draft<'a>(action: &'a str, subject: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("list", "oldenfelde"),
        ("subject", subject),
        ("text", "Liebe Mitglieder,\n\nwir laden ein."),
        ("html", "<p>Liebe <b>Mitglieder</b></p>"),
        (
            "sms_text",
            "Einladung: Sommerfest am Samstag, 15 Uhr, Eintritt 5 €.",
        ),
        ("action", action),
    ]
}

#[tokio::test]
async fn a_chair_checks_then_sends_through_the_same_intake_as_smtp() {
    let org = org().await;
    make_chair(&org).await;
    let store = org.store();
    let mut ben = org.signed_in("ben@example.org").await;
    let page = ben.get("/compose?list=oldenfelde").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<option value=\"oldenfelde\" selected>"),
        "{}",
        page.body
    );

    let checked = ben.post("/compose", &draft("check", "Sommerfest")).await;
    assert_eq!(checked.status, StatusCode::OK);
    assert!(
        checked
            .body
            .contains("angenommen für 2 Empfänger von &quot;Ortsverband Oldenfelde&quot;"),
        "{}",
        checked.body
    );
    assert!(
        checked.body.contains("value=\"Sommerfest\""),
        "the draft is kept"
    );
    // 55 characters, the euro sign two septets: one GSM part.
    assert!(
        checked
            .body
            .contains("SMS: 1 Teil(e) je Empfänger (GSM 7-Bit, 56 Einheiten)"),
        "{}",
        checked.body
    );
    assert_eq!(
        store.count_submissions().await.unwrap(),
        0,
        "a check stores nothing"
    );

    let sent = ben.post("/compose", &draft("send", "Sommerfest")).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/submissions/")
        .parse()
        .unwrap();
    let raw = String::from_utf8(store.submission_raw(id).await.unwrap().unwrap()).unwrap();
    assert!(raw.contains("Subject: Sommerfest"), "{raw}");
    assert_eq!(
        store.submission_sms_text(id).await.unwrap().as_deref(),
        Some("Einladung: Sommerfest am Samstag, 15 Uhr, Eintritt 5 €.")
    );
    // The directory's name with the unit Ben chairs, as a message by SMTP shows after intake.
    assert!(
        raw.contains("From: \"Ben Brandt (Oldenfelde)\" <ben@example.org>"),
        "{raw}"
    );
    // Every submission has a Date and a Message-ID in the list domain (RFC 6409 8.2, 8.3).
    assert!(raw.lines().any(|l| l.starts_with("Date: ")), "{raw}");
    assert!(
        raw.lines()
            .any(|l| l.starts_with("Message-ID: <") && l.ends_with("@lists.example.org>")),
        "{raw}"
    );
    assert!(raw.contains("To: <oldenfelde@lists.example.org>"), "{raw}");
    assert!(
        raw.contains("text/html") && raw.contains("wir laden ein."),
        "{raw}"
    );
    let sends = store.sends_of(id).await.unwrap();
    assert_eq!(
        (sends[0].state.as_str(), sends[0].recipients),
        ("scheduled", 2)
    );
    let told = store.notifications_to("ben@example.org").await.unwrap();
    assert_eq!(
        told.iter()
            .filter(|(kind, _, _)| kind == "submission.released")
            .count(),
        1,
        "the sender is told, as after SMTP"
    );
    let shown = ben.get(&location).await;
    assert!(shown.body.contains("Sommerfest") && shown.body.contains("geplant"));
    let audit = store.audit_of_submission(id).await.unwrap();
    assert_eq!(audit[0].details_json()["ingress"], "portal");
}

#[tokio::test]
async fn without_the_right_the_engine_refuses_and_bad_drafts_are_named() {
    let org = org().await;
    let store = org.store();
    // Anna holds no office: the form offers her nothing, and forcing it is decided like SMTP.
    let mut anna = org.signed_in("anna@example.org").await;
    assert!(anna.get("/compose").await.body.contains("keinen Verteiler"));
    let checked = anna.post("/compose", &draft("check", "Hallo")).await;
    assert!(
        checked
            .body
            .contains("nicht an oldenfelde@lists.example.org verschickt"),
        "{}",
        checked.body
    );
    let sent = anna.post("/compose", &draft("send", "Hallo")).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let id: i64 = sent
        .location()
        .unwrap()
        .trim_start_matches("/submissions/")
        .parse()
        .unwrap();
    assert_eq!(
        store.sends_of(id).await.unwrap()[0].state,
        SendState::Rejected
    );
    assert!(anna
        .get(&format!("/submissions/{id}"))
        .await
        .body
        .contains("abgelehnt"));

    make_chair(&org).await;
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/compose").await;
    let before = store.count_submissions().await.unwrap();
    for (field, value, message) in [
        ("subject", "  ", "Bitte geben Sie einen Betreff an."),
        ("text", "", "Bitte schreiben Sie einen Text."),
        ("list", "../etc", "Bitte wählen Sie einen Verteiler."),
    ] {
        let mut fields = draft("send", "Sommerfest");
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value));
        let refused = ben.post("/compose", &fields).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(refused.body.contains(message), "{field}: {}", refused.body);
    }
    assert_eq!(
        store.count_submissions().await.unwrap(),
        before,
        "nothing stored"
    );
}

/// The parts of the compose form as the page posts them (`multipart/form-data`).
fn parts<'a>(action: &'a str, draft: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("draft", draft),
        ("list", "oldenfelde"),
        ("subject", "Einladung"),
        ("text", "Liebe Mitglieder,\n\nanbei die Einladung."),
        ("html", ""),
        ("action", action),
    ]
}

fn draft_token(page: &str) -> String {
    let marker = "name=\"draft\" value=\"";
    let at = page.find(marker).expect("a waiting draft") + marker.len();
    page[at..at + 64].to_string()
}

fn drafts(org: &support::Org) -> usize {
    std::fs::read_dir(org.uploads.path().join("drafts")).map_or(0, |d| d.count())
}

#[tokio::test]
async fn attachments_wait_between_check_and_send_and_are_weighed_by_the_engine() {
    let org = org().await;
    make_chair(&org).await;
    let store = org.store();
    let mut ben = org.signed_in("ben@example.org").await;
    let page = ben.get("/compose").await;
    assert!(page.body.contains("enctype=\"multipart/form-data\""));

    let pdf = b"%PDF-1.4 Einladung zur Mitgliederversammlung".repeat(100);
    let checked = ben
        .post_multipart(
            "/compose",
            &parts("check", ""),
            ("attachments", "C:\\Users\\ben\\Einladung.pdf", &pdf),
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(
        checked.body.contains("angenommen für 2 Empfänger"),
        "{}",
        checked.body
    );
    assert!(
        checked.body.contains("<li>Einladung.pdf (5 kB)</li>"),
        "{}",
        checked.body
    );
    assert_eq!(store.count_submissions().await.unwrap(), 0);
    let token = draft_token(&checked.body);
    assert_eq!(drafts(&org), 1);

    // Another member cannot send Ben's attachments: the draft is found by member and token.
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/compose").await;
    let foreign = anna
        .post_multipart(
            "/compose",
            &parts("check", &token),
            ("attachments", "", b""),
        )
        .await;
    assert!(!foreign.body.contains("Einladung.pdf"), "{}", foreign.body);

    // A list that takes small messages only refuses the message with its attachment.
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    store
        .set_audience_policy(
            list.id,
            &verteiler_store::AudiencePolicyChange {
                approval: list.approval,
                approvals_needed: list.approvals_needed,
                max_recipients: None,
                max_message_bytes: Some(3_000),
                sends_per_sender_per_day: None,
                email_and_sms: false,
            },
        )
        .await
        .unwrap();
    let too_big = ben
        .post_multipart(
            "/compose",
            &parts("check", &token),
            ("attachments", "", b""),
        )
        .await;
    assert!(
        too_big.body.contains("Die Nachricht ist"),
        "{}",
        too_big.body
    );
    assert!(too_big.body.contains("Einladung.pdf"), "still attached");
    let token = draft_token(&too_big.body);
    store
        .set_audience_policy(
            list.id,
            &verteiler_store::AudiencePolicyChange {
                approval: list.approval,
                approvals_needed: list.approvals_needed,
                max_recipients: None,
                max_message_bytes: None,
                sends_per_sender_per_day: None,
                email_and_sms: false,
            },
        )
        .await
        .unwrap();

    // Sent without choosing the file again: the waiting attachment goes with the message.
    let sent = ben
        .post_multipart("/compose", &parts("send", &token), ("attachments", "", b""))
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let id: i64 = sent
        .location()
        .unwrap()
        .trim_start_matches("/submissions/")
        .parse()
        .unwrap();
    let raw = String::from_utf8(store.submission_raw(id).await.unwrap().unwrap()).unwrap();
    assert!(raw.contains("filename=\"Einladung.pdf\""), "{raw}");
    assert!(
        raw.contains("application/pdf") || raw.contains("text/csv"),
        "{raw}"
    );
    assert_eq!(drafts(&org), 0, "a sent draft's attachments are removed");

    // A form without the session's token is refused before any file is kept.
    let forged = ben
        .post_multipart_raw(
            "/compose",
            &[
                ("csrf", "forged"),
                ("list", "oldenfelde"),
                ("action", "send"),
            ],
            ("attachments", "x.pdf", &pdf),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(drafts(&org), 0);
    let broken = ben
        .post_bytes("/compose", "multipart/form-data", b"no boundary")
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
}
