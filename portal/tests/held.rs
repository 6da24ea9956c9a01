//! `/held/{id}`, where the approval request links to: only the people asked see the request;
//! approving and rejecting go through the store's four-eyes operations, which refuse the
//! sender and anybody out of scope however the form is forced.

mod support;

use axum::http::StatusCode;
use support::{org, Org};
use verteiler_policies::{
    decide, AudienceSlug, Channel, ContentHash, MessageFacts, OrgLimits, RoleFunction,
};
use verteiler_store::{
    now_ms, ApprovalSetting, Ingress, NewAudience, NewMember, NewRole, NewSend, NewSubmission,
    Submission, SubmissionRecord,
};

/// Anna is the branch's press office, Ben its chair (and press office too: he still may not
/// approve his own), Clara a member without office. Ben submits to a list that always needs
/// the press office; returns the held send's id.
async fn held_send(org: &Org, subject: &str) -> i64 {
    let raw = format!("Subject: {subject}\r\n\r\n<b>Text</b>").into_bytes();
    held_send_of(org, subject, raw).await
}

/// As [`held_send`], with the message's bytes as given.
async fn held_send_of(org: &Org, subject: &str, raw: Vec<u8>) -> i64 {
    let store = org.store();
    let mut list = NewAudience::structural(
        AudienceSlug::parse(&format!("presse-{}", subject.to_lowercase())).unwrap(),
        "Pressemitteilungen Oldenfelde",
        org.branch,
        false,
    );
    list.approval = ApprovalSetting::Always;
    list.approver_functions = vec![RoleFunction::PressOffice];
    store.create_audience(&list).await.unwrap();
    let address = format!("{}@lists.example.org", list.slug.as_str());
    let message = MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"ab".repeat(32)).unwrap(),
    };
    let facts = store
        .gather_facts(
            &Submission {
                sender_member_id: org.ben,
                audience_address: &address,
                channel: Channel::Email,
                message: message.clone(),
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &OrgLimits::default());
    assert!(decision.is_hold(), "{decision:?}");
    let stored = store
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some(format!("{subject}@example.org")),
                sender_member_id: org.ben,
                login: "ben@example.org".into(),
                credential_id: None,
                ingress: Ingress::Smtp,
                client_ip: None,
                client_name: None,
                tls: true,
                envelope_from: "ben@example.org".into(),
                header_from: "ben@example.org".into(),
                subject: subject.into(),
                content_hash: message.content_hash.to_string(),
                raw,
                message_facts: Some(message),
                preview: Some("<b>Text</b> der Mitteilung".into()),
            },
            sends: vec![NewSend {
                address,
                audience_id: facts.audience.as_ref().map(|a| a.id),
                recipients: facts.resolution.recipients,
                release_at: None,
                expires_at: Some(now_ms() + 3_600_000),
                decision,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    store.sends_of(stored.id).await.unwrap()[0].id
}

async fn offices(org: &Org) -> i64 {
    let store = org.store();
    let grant = |member_id, function| NewRole {
        member_id,
        unit_id: org.branch,
        function,
        covers_subtree: false,
    };
    store
        .grant_role(grant(org.anna, RoleFunction::PressOffice))
        .await
        .unwrap();
    store
        .grant_role(grant(org.ben, RoleFunction::PressOffice))
        .await
        .unwrap();
    store
        .grant_role(grant(org.ben, RoleFunction::Chair))
        .await
        .unwrap();
    store
        .create_member(&NewMember {
            external_id: Some("100233".into()),
            first_name: "Clara".into(),
            last_name: "Claussen".into(),
            unit_id: org.branch,
            email: Some(verteiler_policies::EmailAddress::parse("clara@example.org").unwrap()),
        })
        .await
        .unwrap()
}

async fn state_of(org: &Org, send: i64) -> String {
    org.store().send_record(send).await.unwrap().unwrap().state
}

#[tokio::test]
async fn the_press_office_approves_on_the_page_and_nobody_else_can() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Haushalt").await;
    let path = format!("/held/{send}");

    // The sender and a member without office see nothing; forcing the form is refused.
    for email in ["ben@example.org", "clara@example.org"] {
        let mut browser = org.signed_in(email).await;
        assert_eq!(
            browser.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{email}"
        );
        browser.get("/me").await;
        let forced = browser
            .post(
                &format!("{path}/approve"),
                &[("content_hash", &"ab".repeat(32)), ("comment", "")],
            )
            .await;
        assert_eq!(forced.status, StatusCode::FORBIDDEN, "{email}");
        assert_eq!(state_of(&org, send).await, "held");
    }

    let mut anna = org.signed_in("anna@example.org").await;
    let page = anna.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Haushalt") && page.body.contains("Ben Brandt"));
    assert!(
        page.body.contains("&lt;b&gt;Text&lt;/b&gt; der Mitteilung"),
        "the text is shown, escaped"
    );
    let approved = anna
        .post(
            &format!("{path}/approve"),
            &[("content_hash", &"ab".repeat(32)), ("comment", "passt")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(state_of(&org, send).await, "scheduled");
    let after = anna.get(&path).await;
    assert!(
        !after.body.contains("/approve\""),
        "no more buttons once decided"
    );
    assert!(after.body.contains("passt"));
}

#[tokio::test]
async fn an_approval_of_other_content_is_refused() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Wahl").await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get(&format!("/held/{send}")).await;
    let stale = anna
        .post(
            &format!("/held/{send}/approve"),
            &[("content_hash", &"cd".repeat(32)), ("comment", "")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&org, send).await, "held");
}

#[tokio::test]
async fn a_rejection_needs_a_reason() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Satzung").await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get(&format!("/held/{send}")).await;
    let bare = anna
        .post(&format!("/held/{send}/reject"), &[("comment", "  ")])
        .await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(state_of(&org, send).await, "held");
    anna.get(&format!("/held/{send}")).await;
    let rejected = anna
        .post(
            &format!("/held/{send}/reject"),
            &[("comment", "Bitte erst mit dem Vorstand abstimmen")],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK);
    assert_eq!(state_of(&org, send).await, "rejected");
}

#[tokio::test]
async fn the_queue_lists_what_the_member_is_asked_to_approve_and_nothing_else() {
    let org = org().await;
    offices(&org).await;
    let budget = held_send(&org, "Haushaltsrede").await;
    let vote = held_send(&org, "Urwahl").await;

    let mut anna = org.signed_in("anna@example.org").await;
    let queue = anna.get("/held").await;
    assert_eq!(queue.status, StatusCode::OK);
    let (newest, older) = (
        queue.body.find(&format!("/held/{vote}\"")),
        queue.body.find(&format!("/held/{budget}\"")),
    );
    assert!(
        newest.is_some() && older.is_some() && newest < older,
        "both requests, newest first: {}",
        queue.body
    );
    assert!(queue.body.contains("Ben Brandt"));

    // The sender is not asked about his own sends; a member without office about nothing.
    for email in ["ben@example.org", "clara@example.org"] {
        let mut browser = org.signed_in(email).await;
        let page = browser.get("/held").await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert!(
            !page.body.contains("Urwahl") && !page.body.contains("Haushaltsrede"),
            "{email} sees no request: {}",
            page.body
        );
    }

    // Once decided, a send leaves the queue.
    anna.get(&format!("/held/{vote}")).await;
    let rejected = anna
        .post(
            &format!("/held/{vote}/reject"),
            &[("comment", "Nicht vor der Sitzung")],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK);
    let queue = anna.get("/held").await;
    assert!(!queue.body.contains("Urwahl"));
    assert!(queue.body.contains("Haushaltsrede"));
}

#[tokio::test]
async fn approvers_see_the_html_sanitised_in_a_sandbox_and_the_attachments_listed() {
    let org = org().await;
    offices(&org).await;
    let raw = b"From: ben@example.org\r\nSubject: Wahlaufruf\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n\
        <p onclick=\"steal()\">Liebe <b>Mitglieder</b></p><script>alert(1)</script>\
        <img src=\"https://tracker.example/pixel.gif\" alt=\"\">\r\n--b\r\n\
        Content-Type: application/pdf\r\n\
        Content-Disposition: attachment; filename=\"Wahlprogramm.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
        .to_vec();
    let send = held_send_of(&org, "Wahlaufruf", raw).await;
    let content = format!("/held/{send}/content");

    let mut anna = org.signed_in("anna@example.org").await;
    let page = anna.get(&format!("/held/{send}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&format!("sandbox=\"\" src=\"{content}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Wahlprogramm.pdf (application/pdf, 9 Bytes)"),
        "{}",
        page.body
    );
    let framed = anna.get(&content).await;
    assert_eq!(framed.status, StatusCode::OK);
    assert!(
        framed.body.contains("Liebe <b>Mitglieder</b>"),
        "{}",
        framed.body
    );
    for gone in ["onclick", "<script", "alert(1)", "tracker.example"] {
        assert!(
            !framed.body.contains(gone),
            "{gone} reached the frame: {}",
            framed.body
        );
    }
    let header = |name: &str| {
        framed
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("sandbox;") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(header("x-frame-options"), "SAMEORIGIN");

    // Nobody else reads the message: not the member without office, not the sender here.
    for email in ["clara@example.org", "ben@example.org"] {
        let mut other = org.signed_in(email).await;
        assert_eq!(
            other.get(&content).await.status,
            StatusCode::NOT_FOUND,
            "{email}"
        );
    }
    // A text-only message has no frame.
    let plain = held_send(&org, "Haushalt").await;
    assert_eq!(
        anna.get(&format!("/held/{plain}/content")).await.status,
        StatusCode::NOT_FOUND
    );
}
