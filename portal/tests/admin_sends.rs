//! The admin's controls over how sends end: a list's usual size with its history and reset
//! (`/admin/audiences/{slug}`), and the sends the circuit breaker holds, released or refused
//! from `/admin`. Admins only; everybody else gets the page-not-found answer and changes
//! nothing.

mod support;

use axum::http::StatusCode;
use support::org;
use support::staff::{admin, make_chair, state_of};
use verteiler_policies::{ContentHash, Decision, HeaderTreatment, MessageFacts, Reason};
use verteiler_store::{
    now_ms, Attempt, ExpansionSettings, NewSend, NewSubmission, Origin, SendState, Store,
    SubmissionRecord,
};

fn checks() -> ExpansionSettings {
    ExpansionSettings {
        approval_window_secs: 3_600,
        portal_base_url: support::BASE.into(),
    }
}

/// Ben's message to `audience`, stored with `decision`; returns the send.
async fn stored_send(store: &Store, sender: i64, audience: i64, decision: Decision) -> i64 {
    let held = decision.is_hold();
    let record = store
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: None,
                sender_member_id: sender,
                login: "ben@example.org".into(),
                credential_id: None,
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: "ben@example.org".into(),
                header_from: "ben@example.org".into(),
                subject: "Einladung".into(),
                content_hash: "0e".repeat(32),
                raw: b"Subject: Einladung\r\n\r\nHallo".to_vec(),
                message_facts: Some(MessageFacts {
                    size_bytes: 30,
                    attachment_count: 0,
                    attachment_bytes: 0,
                    visible_recipients: 0,
                    sms_segments: 0,
                    content_hash: ContentHash::parse(&"0e".repeat(32)).unwrap(),
                }),
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: "oldenfelde@lists.example.org".into(),
                audience_id: Some(audience),
                recipients: 2,
                release_at: decision.is_release().then(|| now_ms() - 1),
                expires_at: held.then(|| now_ms() + 3_600_000),
                decision,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    store.sends_of(record.id).await.unwrap()[0].id
}

/// A released send to the branch list, delivered and complete: it teaches the usual size.
async fn completed_send(store: &Store, sender: i64, audience: i64) -> i64 {
    let release = Decision::Release {
        headers: HeaderTreatment::Keep,
    };
    let send = stored_send(store, sender, audience, release).await;
    store.expand_send(send, 100, &checks()).await.unwrap();
    let claimed = store.claim_deliveries(now_ms(), 60_000, 100).await.unwrap();
    let outcomes: Vec<_> = claimed.iter().map(|d| (d.id, Attempt::Sent)).collect();
    store.finish_deliveries(&outcomes).await.unwrap();
    assert_eq!(store.complete_finished_sends().await.unwrap(), 1);
    send
}

#[tokio::test]
async fn an_admin_sees_the_usual_size_with_its_sends_and_resets_it_and_nobody_else_can() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    let page = browser.get("/admin/audiences/oldenfelde").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Übliche Größe"), "{}", page.body);
    assert!(page.body.contains("Noch nicht gelernt"), "{}", page.body);

    let send = completed_send(store, org.ben, org.oldenfelde).await;
    let page = browser.get("/admin/audiences/oldenfelde").await;
    assert!(
        page.body
            .contains("Üblich sind 2 Empfänger: der Median der letzten 1 abgeschlossenen"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<td data-label=\"Sendung\">{send}</td>")),
        "{}",
        page.body
    );
    browser.accept_language = Some("en".into());
    let english = browser.get("/admin/audiences/oldenfelde").await;
    assert!(
        english.body.contains("Usually 2 recipients"),
        "{}",
        english.body
    );

    // Ben may neither see nor reset it.
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/me").await;
    let forced = ben
        .post("/admin/audiences/oldenfelde/usual-size/reset", &[])
        .await;
    assert_eq!(forced.status, StatusCode::NOT_FOUND);
    assert_eq!(
        store
            .usual_size(org.oldenfelde)
            .await
            .unwrap()
            .unwrap()
            .value,
        Some(2)
    );
    // Nor without the page's token.
    let no_token = browser
        .post_raw("/admin/audiences/oldenfelde/usual-size/reset", &[])
        .await;
    assert_ne!(no_token.status, StatusCode::SEE_OTHER);
    assert_eq!(
        store
            .usual_size(org.oldenfelde)
            .await
            .unwrap()
            .unwrap()
            .value,
        Some(2)
    );

    let reset = browser
        .post("/admin/audiences/oldenfelde/usual-size/reset", &[])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reset.location(),
        Some("/admin/audiences/oldenfelde#usual-size")
    );
    let usual = store.usual_size(org.oldenfelde).await.unwrap().unwrap();
    assert_eq!((usual.value, usual.counted.len()), (None, 0));
    let audited = store
        .last_audit_details("audience.usual_size_reset")
        .await
        .unwrap()
        .expect("audited");
    assert_eq!(audited["before"], 2);
    let audit = browser
        .get(&format!("/admin/audit?person=portal:member:{erik}"))
        .await;
    assert!(
        audit.body.contains("audience.usual_size_reset"),
        "{}",
        audit.body
    );
}

/// A send of Ben's the circuit breaker holds (two million recipients in the hour).
async fn breaker_hold(store: &Store, sender: i64, audience: i64) -> i64 {
    let hold = Decision::Hold {
        reasons: vec![Reason::CircuitBreaker {
            recipients: 2_000_000,
            limit: 1_000_000,
        }],
        approvals_needed: 0,
        approver_roles: Vec::new(),
    };
    stored_send(store, sender, audience, hold).await
}

#[tokio::test]
async fn an_admin_releases_or_refuses_what_the_breaker_holds_and_nobody_else_can() {
    let org = org().await;
    admin(&org).await;
    make_chair(&org).await;
    let store = org.store();
    let first = breaker_hold(store, org.ben, org.oldenfelde).await;
    let second = breaker_hold(store, org.ben, org.oldenfelde).await;

    // Ben, the sender, is no admin: the buttons are not for him.
    let mut ben = org.signed_in("ben@example.org").await;
    assert_eq!(ben.get("/admin").await.status, StatusCode::NOT_FOUND);
    ben.get("/me").await;
    for path in [
        format!("/admin/breaker/{first}/release"),
        "/admin/breaker/release-all".to_string(),
    ] {
        let forced = ben.post(&path, &[]).await;
        assert_eq!(forced.status, StatusCode::NOT_FOUND, "{path}");
    }
    let rejected = ben
        .post(&format!("/held/{first}/reject"), &[("comment", "weg")])
        .await;
    assert_eq!(rejected.status, StatusCode::FORBIDDEN, "{}", rejected.body);
    assert_eq!(state_of(&org, first).await, SendState::Held);
    assert_eq!(state_of(&org, second).await, SendState::Held);

    let mut erik = org.signed_in("erik@example.org").await;
    let overview = erik.get("/admin").await;
    assert!(
        overview
            .body
            .contains("Von der Sicherung zurückgehaltene Sendungen"),
        "{}",
        overview.body
    );
    assert!(
        overview
            .body
            .contains("2.000.000 Empfänger in der Stunde, Grenze 1.000.000"),
        "{}",
        overview.body
    );
    assert!(overview
        .body
        .contains(&format!("/admin/breaker/{first}/release")));
    assert!(
        overview.body.contains("Alle 2 freigeben"),
        "{}",
        overview.body
    );

    // Resuming sending after the kill switch releases neither.
    erik.post("/admin/pause", &[("reason", "Sicherung")]).await;
    erik.get("/admin").await;
    erik.post("/admin/resume", &[]).await;
    assert_eq!(state_of(&org, first).await, SendState::Held);
    let overview = erik.get("/admin").await;
    assert!(overview
        .body
        .contains(&format!("/admin/breaker/{second}/release")));

    let released = erik
        .post(&format!("/admin/breaker/{first}/release"), &[])
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    assert!(
        released
            .body
            .contains(&format!("Sendung {first} freigegeben")),
        "{}",
        released.body
    );
    assert_eq!(state_of(&org, first).await, SendState::Scheduled);
    erik.get("/admin").await;
    let again = erik
        .post(&format!("/admin/breaker/{first}/release"), &[])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains("wartet nicht mehr (Zustand: geplant)"),
        "the state in words, not `scheduled`: {}",
        again.body
    );

    let refused = erik
        .post(
            &format!("/held/{second}/reject"),
            &[("comment", "Bitte morgen noch einmal")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert_eq!(state_of(&org, second).await, SendState::Rejected);
    let told = store.notifications_to("ben@example.org").await.unwrap();
    assert!(told
        .iter()
        .any(|n| n.0 == "submission.released" && n.2.contains("Erik Ernst")));
    assert!(told
        .iter()
        .any(|n| n.0 == "submission.rejected" && n.2.contains("Bitte morgen noch einmal")));
    let overview = erik.get("/admin").await;
    assert!(
        overview
            .body
            .contains("Die Sicherung hält keine Sendung zurück."),
        "{}",
        overview.body
    );
}
