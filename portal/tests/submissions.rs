//! `/submissions`: a sender follows their own sends and stops one while it runs; nobody else
//! sees or stops them, however the form is forced.

mod support;

use axum::http::StatusCode;
use support::{org, Org};
use verteiler_policies::{Decision, HeaderTreatment, Reason};
use verteiler_store::{now_ms, NewSend, NewSubmission, Origin, SendState, SubmissionRecord};

/// Ben's message to his branch list, released and waiting out the undo window, with a second
/// send to an unknown address that was refused. Returns (submission, released send).
async fn bens_send(org: &Org, subject: &str) -> (i64, i64) {
    let store = org.store();
    let stored = store
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some(format!("{subject}@example.org")),
                sender_member_id: org.ben,
                login: "ben@example.org".into(),
                credential_id: None,
                ingress: Origin::Smtp,
                client_ip: None,
                client_name: None,
                tls: true,
                envelope_from: "ben@example.org".into(),
                header_from: "ben@example.org".into(),
                subject: subject.into(),
                content_hash: "ab".repeat(32),
                raw: format!("Subject: {subject}\r\n\r\nText").into_bytes(),
                message_facts: None,
                preview: None,
                sms_text: None,
            },
            sends: vec![
                NewSend {
                    address: "oldenfelde@lists.example.org".into(),
                    audience_id: Some(org.oldenfelde),
                    decision: Decision::Release {
                        headers: HeaderTreatment::Keep,
                    },
                    recipients: 2,
                    release_at: Some(now_ms() + 120_000),
                    expires_at: None,
                },
                NewSend {
                    address: "gibtsnicht@lists.example.org".into(),
                    audience_id: None,
                    decision: Decision::Reject {
                        reasons: vec![Reason::AudienceUnknown {
                            address: "gibtsnicht@lists.example.org".into(),
                        }],
                    },
                    recipients: 0,
                    release_at: None,
                    expires_at: None,
                },
            ],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    let send = store.sends_of(stored.id).await.unwrap()[0].id;
    (stored.id, send)
}

async fn state_of(org: &Org, send: i64) -> SendState {
    org.store().send_record(send).await.unwrap().unwrap().state
}

#[tokio::test]
async fn the_sender_follows_and_stops_their_send_and_nobody_else_can() {
    let org = org().await;
    let (submission, send) = bens_send(&org, "Sommerfest").await;
    let page = format!("/submissions/{submission}");
    let cancel = format!("{page}/sends/{send}/cancel");

    // Anna is a member of the same branch: she neither sees nor stops Ben's send.
    let mut anna = org.signed_in("anna@example.org").await;
    let list = anna.get("/submissions").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("Sommerfest"), "{}", list.body);
    assert_eq!(anna.get(&page).await.status, StatusCode::NOT_FOUND);
    anna.get("/submissions").await;
    let forced = anna.post(&cancel, &[]).await;
    assert_eq!(forced.status, StatusCode::NOT_FOUND);
    assert_eq!(state_of(&org, send).await, SendState::Scheduled);

    let mut ben = org.signed_in("ben@example.org").await;
    let list = ben.get("/submissions").await;
    assert!(
        list.body.contains(&format!("href=\"{page}\"")),
        "{}",
        list.body
    );
    assert!(list.body.contains("Ortsverband Oldenfelde: geplant"));
    let shown = ben.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Sommerfest"));
    assert!(
        shown.body.contains("/static/live.js") && shown.body.contains("data-live"),
        "a running send's totals refresh"
    );
    assert!(
        shown.body.contains("gibtsnicht@lists.example.org"),
        "the refused send is shown with its reason"
    );
    assert!(shown.body.contains(&format!("action=\"{cancel}\"")));
    // The refused send has nothing to stop.
    let refused = org.store().sends_of(submission).await.unwrap()[1].id;
    assert!(!shown.body.contains(&format!("/sends/{refused}/cancel")));

    // A send of another submission cannot be stopped through this one.
    let (_, other) = bens_send(&org, "Neujahr").await;
    let mixed = ben.post(&format!("{page}/sends/{other}/cancel"), &[]).await;
    assert_eq!(mixed.status, StatusCode::NOT_FOUND);
    assert_eq!(state_of(&org, other).await, SendState::Scheduled);

    // Without the form's token nothing happens.
    let forged = ben.post_raw(&cancel, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&org, send).await, SendState::Scheduled);

    ben.get(&page).await;
    let stopped = ben.post(&cancel, &[]).await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    assert_eq!(stopped.location(), Some(page.as_str()));
    assert_eq!(state_of(&org, send).await, SendState::Cancelled);
    let after = ben.get(&page).await;
    assert!(after.body.contains("abgebrochen"));
    assert!(
        !after.body.contains("data-live") && !after.body.contains("live.js"),
        "a stopped send no longer refreshes"
    );
    assert!(!after.body.contains(&format!("action=\"{cancel}\"")));
    let again = ben.post(&cancel, &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let audit = org.store().audit_of_submission(submission).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "send.cancelled" && e.actor == format!("portal:member:{}", org.ben)));
}

#[tokio::test]
async fn the_pages_speak_english_too() {
    let org = org().await;
    let (submission, _) = bens_send(&org, "Summer").await;
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/lang/en?back=/submissions").await;
    let list = ben.get("/submissions").await;
    assert!(
        list.body.contains("My sends") && list.body.contains("scheduled"),
        "{}",
        list.body
    );
    let page = ben.get(&format!("/submissions/{submission}")).await;
    assert!(page.body.contains("Stop this send") && page.body.contains("Delivered"));
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/lang/en?back=/submissions").await;
    assert!(anna
        .get("/submissions")
        .await
        .body
        .contains("not sent anything"));
}

#[tokio::test]
async fn a_held_send_stopped_by_its_sender_is_withdrawn_from_the_approvers() {
    let org = org().await;
    support::staff::offices(&org).await;
    let held = support::staff::held_send(&org, "Haushalt").await;
    let submission = org
        .store()
        .send_record(held)
        .await
        .unwrap()
        .unwrap()
        .submission_id;
    let mut ben = org.signed_in("ben@example.org").await;
    let page = ben.get(&format!("/submissions/{submission}")).await;
    assert!(page.body.contains("wartet auf Freigabe"), "{}", page.body);
    let stopped = ben
        .post(
            &format!("/submissions/{submission}/sends/{held}/cancel"),
            &[],
        )
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&org, held).await, SendState::Withdrawn);
    assert!(ben
        .get(&format!("/submissions/{submission}"))
        .await
        .body
        .contains("zurückgezogen"));
    // The press office no longer finds it.
    let mut anna = org.signed_in("anna@example.org").await;
    assert_eq!(
        anna.get(&format!("/held/{held}")).await.status,
        StatusCode::OK
    );
    assert!(!anna
        .get("/held")
        .await
        .body
        .contains(&format!("/held/{held}\"")));
    let audit = org.store().audit_of_submission(submission).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "send.withdrawn"));
}
