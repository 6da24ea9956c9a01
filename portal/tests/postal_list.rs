//! `/submissions/{id}/sends/{send}/postal.csv`: the names and home addresses of those who get
//! a send by post — only for a released send once expanded, only for its sender while they may
//! still send to the list, every download audited, every cell safe in a spreadsheet.

mod support;

use axum::http::StatusCode;
use support::{org, org_with_first_name, Org};
use verteiler_policies::{
    decide, AudienceSlug, Category, Channel, ChannelPreference, ContentHash, Decision,
    HeaderTreatment, MessageFacts, OrgLimits, RoleFunction,
};
use verteiler_store::{
    now_ms, Expansion, ExpansionSettings, NewAudience, NewSend, NewSubmission, Origin, Submission,
    SubmissionRecord,
};

fn submission(sender: i64, subject: &str) -> NewSubmission {
    NewSubmission {
        message_id: Some(format!("{subject}@example.org")),
        sender_member_id: sender,
        login: "sender@example.org".into(),
        credential_id: None,
        ingress: Origin::Portal,
        client_ip: None,
        client_name: None,
        tls: true,
        envelope_from: "sender@example.org".into(),
        header_from: "sender@example.org".into(),
        subject: subject.into(),
        content_hash: "ab".repeat(32),
        raw: format!("Subject: {subject}\r\n\r\nText").into_bytes(),
        message_facts: None,
        preview: None,
        sms_text: None,
    }
}

/// Ben's message to the branch list, released; returns (submission, send).
async fn bens_send(org: &Org, subject: &str) -> (i64, i64) {
    let store = org.store();
    let stored = store
        .record_submission(&SubmissionRecord {
            submission: submission(org.ben, subject),
            sends: vec![NewSend {
                address: "oldenfelde@lists.example.org".into(),
                audience_id: Some(org.oldenfelde),
                decision: Decision::Release {
                    headers: HeaderTreatment::Keep,
                },
                recipients: 2,
                release_at: Some(now_ms() + 120_000),
                expires_at: None,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    (stored.id, store.sends_of(stored.id).await.unwrap()[0].id)
}

/// The delivery loop's expansion of `send`, to its end.
async fn expand(org: &Org, send: i64) {
    let settings = ExpansionSettings {
        approval_window_secs: 3600,
        portal_base_url: support::BASE.into(),
    };
    let step = org.store().expand_send(send, 100, &settings).await.unwrap();
    assert!(matches!(step, Expansion::Done { .. }), "{step:?}");
}

/// Anna chose post for announcements and gave a postal address.
async fn anna_by_post(org: &Org) {
    let store = org.store();
    store
        .set_channel_preference(org.anna, Category::Announcement, ChannelPreference::Post)
        .await
        .unwrap();
    store
        .set_postal_address(org.anna, "Waldweg 1", "22359", "Hamburg")
        .await
        .unwrap();
}

fn csv_path(submission: i64, send: i64) -> String {
    format!("/submissions/{submission}/sends/{send}/postal.csv")
}

#[tokio::test]
async fn the_sender_downloads_the_postal_list_and_nobody_else_can() {
    let org = org().await;
    anna_by_post(&org).await;
    support::staff::make_chair(&org).await;
    let (submission, send) = bens_send(&org, "Sommerfest").await;
    let csv = csv_path(submission, send);

    let mut ben = org.signed_in("ben@example.org").await;
    // In the undo window nobody knows yet who gets it: no link, no list.
    let page = ben.get(&format!("/submissions/{submission}")).await;
    assert!(!page.body.contains("postal.csv"), "{}", page.body);
    assert_eq!(ben.get(&csv).await.status, StatusCode::NOT_FOUND);

    expand(&org, send).await;
    let page = ben.get(&format!("/submissions/{submission}")).await;
    assert!(
        page.body.contains(&format!("href=\"{csv}\"")),
        "{}",
        page.body
    );
    let download = ben.get(&csv).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(download.headers["cache-control"], "no-store");
    assert!(download.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(
        download.body,
        "name;postal_address;subject;list\n\
         Anna Albers;Waldweg 1, 22359 Hamburg;Sommerfest;Ortsverband Oldenfelde\n"
    );
    let audit = org.store().audit_of_submission(submission).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "postal_list.downloaded")
        .expect("the download is audited");
    assert_eq!(
        (entry.actor_member_id, entry.send_id),
        (Some(org.ben), Some(send))
    );
    assert_eq!(entry.details, r#"{"rows":1}"#);

    let mut anna = org.signed_in("anna@example.org").await;
    assert_eq!(anna.get(&csv).await.status, StatusCode::NOT_FOUND);
    // The send does not belong to another submission of Ben's.
    let (other, _) = bens_send(&org, "Neujahr").await;
    assert_eq!(
        ben.get(&csv_path(other, send)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_refused_member_cannot_download_the_postal_list() {
    let org = org().await;
    anna_by_post(&org).await;
    let store = org.store();
    // Clara holds no office anywhere and writes to everybody: the engine refuses her.
    let clara = support::staff::offices(&org).await;
    let everybody = NewAudience::structural(
        AudienceSlug::parse("alle-mitglieder").unwrap(),
        "Alle Mitglieder",
        org.branch,
        false,
    );
    let everybody = store.create_audience(&everybody).await.unwrap();
    let message = MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"ab".repeat(32)).unwrap(),
    };
    let address = "alle-mitglieder@lists.example.org";
    let facts = store
        .gather_facts(
            &Submission {
                sender_member_id: clara,
                audience_address: address,
                channel: Channel::Email,
                message,
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &OrgLimits::default());
    assert!(decision.is_reject(), "{decision:?}");
    let stored = store
        .record_submission(&SubmissionRecord {
            submission: submission(clara, "Alle"),
            sends: vec![NewSend {
                address: address.into(),
                audience_id: Some(everybody),
                decision,
                recipients: facts.resolution.recipients,
                release_at: None,
                expires_at: None,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    let send = store.sends_of(stored.id).await.unwrap()[0].id;

    let mut clara = org.signed_in("clara@example.org").await;
    let page = clara.get(&format!("/submissions/{}", stored.id)).await;
    assert!(!page.body.contains("postal.csv"), "{}", page.body);
    let refused = clara.get(&csv_path(stored.id, send)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(
        !refused.body.contains("Albers") && !refused.body.contains("Waldweg"),
        "{}",
        refused.body
    );
    let audit = store.audit_of_submission(stored.id).await.unwrap();
    assert!(audit.iter().all(|e| e.action != "postal_list.downloaded"));
}

#[tokio::test]
async fn a_sender_who_gave_up_their_office_no_longer_gets_the_postal_list() {
    let org = org().await;
    anna_by_post(&org).await;
    support::staff::make_chair(&org).await;
    let (submission, send) = bens_send(&org, "Sommerfest").await;
    expand(&org, send).await;
    let csv = csv_path(submission, send);
    let mut ben = org.signed_in("ben@example.org").await;
    assert_eq!(ben.get(&csv).await.status, StatusCode::OK);

    org.store()
        .revoke_role(org.ben, org.branch, RoleFunction::Chair)
        .await
        .unwrap();
    let refused = ben.get(&csv).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("Postliste nicht verfügbar"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("Waldweg"));
}

#[tokio::test]
async fn a_name_that_looks_like_a_formula_stays_text_in_the_postal_list() {
    let org = org_with_first_name("=HYPERLINK(\"http://evil.example\",\"x\")").await;
    anna_by_post(&org).await;
    support::staff::make_chair(&org).await;
    let (submission, send) = bens_send(&org, "@Sommerfest").await;
    expand(&org, send).await;
    let mut ben = org.signed_in("ben@example.org").await;
    let download = ben.get(&csv_path(submission, send)).await;
    assert_eq!(download.status, StatusCode::OK);
    let row = download.body.lines().nth(1).unwrap();
    assert!(
        row.starts_with("\"'=HYPERLINK(") && row.contains(";'@Sommerfest;"),
        "{row}"
    );
}
