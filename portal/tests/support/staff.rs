//! Staff fixtures shared by the staff-page tests: offices in the branch and a held send.

use super::Org;
use verteiler_policies::{
    decide, AudienceSlug, Channel, ContentHash, EmailAddress, MessageFacts, OrgLimits, RoleFunction,
};
use verteiler_store::{
    now_ms, ApprovalSetting, NewAudience, NewMember, NewRole, NewSend, NewSubmission, Origin,
    SendState, Submission, SubmissionRecord,
};

/// Anna is the branch's press office, Ben its chair (and press office too: he still may not
/// approve his own), Clara a member without office. Ben submits to a list that always needs
/// the press office; returns the held send's id.
pub async fn held_send(org: &Org, subject: &str) -> i64 {
    let raw = format!("Subject: {subject}\r\n\r\n<b>Text</b>").into_bytes();
    held_send_of(org, subject, raw).await
}

/// As [`held_send`], with the message's bytes as given.
pub async fn held_send_of(org: &Org, subject: &str, raw: Vec<u8>) -> i64 {
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
                from: None,
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
                ingress: Origin::Smtp,
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
                sms_text: None,
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

pub async fn offices(org: &Org) -> i64 {
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

pub async fn state_of(org: &Org, send: i64) -> SendState {
    org.store().send_record(send).await.unwrap().unwrap().state
}

/// Ben becomes the chair of the branch (and may write to its list).
pub async fn make_chair(org: &Org) {
    org.store()
        .grant_role(NewRole {
            member_id: org.ben,
            unit_id: org.branch,
            function: RoleFunction::Chair,
            covers_subtree: false,
        })
        .await
        .unwrap();
}

/// Erik: admin at the branch, a top unit of this organisation.
pub async fn admin(org: &Org) -> i64 {
    let store = org.store();
    let erik = store
        .create_member(&NewMember {
            external_id: Some("100302".into()),
            first_name: "Erik".into(),
            last_name: "Ernst".into(),
            unit_id: org.branch,
            email: Some(EmailAddress::parse("erik@example.org").unwrap()),
        })
        .await
        .unwrap();
    store
        .grant_role(NewRole {
            member_id: erik,
            unit_id: org.branch,
            function: RoleFunction::Admin,
            covers_subtree: true,
        })
        .await
        .unwrap();
    erik
}
