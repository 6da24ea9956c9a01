//! Submissions with their sends, and the volume figures the rate and circuit-breaker rules read.

mod common;

use common::*;
use verteiler_policies::{decide, Channel, ContentHash, MessageFacts, OrgLimits, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, NewNotification, NewSend, NewSubmission, Origin, Store, Submission, SubmissionRecord,
    SubmissionWriter,
};

async fn submit(store: &Store, sender: i64, address: &str, body: &[u8]) -> (i64, bool) {
    let record = decided_record(store, sender, address, body).await;
    let released = record.sends[0].decision.is_release();
    let stored = store.record_submission(&record).await.unwrap();
    (stored.id, released)
}

/// A submission to one list as the gateway would store it: decided by the engine, with one
/// send and a notification.
async fn decided_record(
    store: &Store,
    sender: i64,
    address: &str,
    body: &[u8],
) -> SubmissionRecord {
    let message = MessageFacts {
        size_bytes: body.len() as u64,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::from_bytes([1; 32]),
    };
    let facts = store
        .gather_facts(
            &Submission {
                sender_member_id: sender,
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
    SubmissionRecord {
        submission: NewSubmission {
            message_id: Some(format!("{}@example.org", body.len())),
            sender_member_id: sender,
            credential_id: None,
            login: "chair@example.org".into(),
            ingress: Origin::Smtp,
            client_ip: Some("127.0.0.1".into()),
            client_name: Some("client.example.org".into()),
            tls: true,
            envelope_from: "chair@example.org".into(),
            header_from: "chair@example.org".into(),
            subject: "Einladung".into(),
            content_hash: "01".repeat(32),
            raw: body.to_vec(),
            message_facts: None,
            preview: None,
            sms_text: None,
        },
        sends: vec![NewSend {
            address: address.into(),
            audience_id: facts.audience.as_ref().map(|a| a.id),
            decision: decision.clone(),
            recipients: facts.resolution.recipients,
            release_at: Some(now_ms()),
            expires_at: None,
        }],
        notifications: vec![NewNotification {
            member_id: Some(sender),
            to_address: "chair@example.org".into(),
            kind: "submission.released",
            subject: "s".into(),
            body: "b".into(),
        }],
    }
}

#[tokio::test]
async fn released_sends_count_towards_sender_audience_and_organisation_volume() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;

    let (first, released) = submit(
        s,
        chair,
        "oldenfelde@lists.example.org",
        b"From: chair@example.org\r\n\r\none",
    )
    .await;
    assert!(released);
    submit(
        s,
        chair,
        "oldenfelde@lists.example.org",
        b"From: chair@example.org\r\n\r\ntwo!",
    )
    .await;
    // A refused send (unknown list) is stored for the audit but counts nowhere.
    submit(
        s,
        chair,
        "unbekannt@lists.example.org",
        b"From: chair@example.org\r\n\r\nthree",
    )
    .await;

    let v = s
        .volume_facts(chair, Some(list.id), now_ms())
        .await
        .unwrap();
    assert_eq!(
        (
            v.sender_sends_today,
            v.sender_sends_last_hour,
            v.audience_sends_today
        ),
        (2, 2, 2)
    );
    assert_eq!(v.sender_recipients_today, 4, "two sends to two members");
    assert_eq!(v.org_recipients_last_hour, 4);
    assert_eq!(s.count_submissions().await.unwrap(), 3);

    let sends = s.sends_of(first).await.unwrap();
    assert_eq!(
        (
            sends[0].state.as_str(),
            sends[0].decision.as_str(),
            sends[0].recipients
        ),
        ("scheduled", "release", 2)
    );
    assert_eq!(
        s.submission_raw(first).await.unwrap().unwrap(),
        b"From: chair@example.org\r\n\r\none"
    );
    assert_eq!(
        s.notifications_to("chair@example.org").await.unwrap().len(),
        3
    );

    // Another sender's figures are their own; the organisation's are shared.
    let other = s.volume_facts(org.ott, None, now_ms()).await.unwrap();
    assert_eq!(
        (other.sender_sends_today, other.org_recipients_last_hour),
        (0, 4)
    );
}

#[tokio::test]
async fn app_passwords_verify_per_person_and_can_be_revoked() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let laptop = s
        .add_app_password(anna, "laptop", "correct horse battery")
        .await
        .unwrap();
    let phone = s
        .add_app_password(anna, "phone", "another long secret")
        .await
        .unwrap();
    assert_eq!(
        s.verify_app_password("anna@example.org", "correct horse battery")
            .await
            .unwrap(),
        Some((anna, laptop))
    );
    assert_eq!(
        s.verify_app_password("ANNA@example.org", "another long secret")
            .await
            .unwrap(),
        Some((anna, phone))
    );
    assert_eq!(
        s.verify_app_password("anna@example.org", "wrong")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.verify_app_password("nobody@example.org", "correct horse battery")
            .await
            .unwrap(),
        None
    );
    assert!(s.revoke_app_password(anna, laptop).await.unwrap());
    assert_eq!(
        s.verify_app_password("anna@example.org", "correct horse battery")
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.list_app_passwords(anna).await.unwrap().len(), 1);
    let bernd = member(s, "Bernd", org.ott).await;
    assert!(
        !s.revoke_app_password(bernd, phone).await.unwrap(),
        "nobody revokes another member's password"
    );
}

fn record(sender: i64, n: usize) -> SubmissionRecord {
    SubmissionRecord {
        submission: NewSubmission {
            message_id: Some(format!("m{n}@example.org")),
            sender_member_id: sender,
            credential_id: None,
            login: "chair@example.org".into(),
            ingress: Origin::Smtp,
            client_ip: None,
            client_name: None,
            tls: false,
            envelope_from: "chair@example.org".into(),
            header_from: "chair@example.org".into(),
            subject: format!("message {n}"),
            content_hash: "02".repeat(32),
            raw: format!("From: chair@example.org\r\n\r\n{n}").into_bytes(),
            message_facts: None,
            preview: None,
            sms_text: None,
        },
        sends: Vec::new(),
        notifications: Vec::new(),
    }
}

#[tokio::test]
async fn the_group_writer_stores_concurrent_submissions_and_isolates_a_bad_one() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    let writer = SubmissionWriter::start(s.clone());

    // 60 callers at once: they share transactions, yet each learns its own submission's id.
    let mut tasks = Vec::new();
    for n in 0..60 {
        let writer = writer.clone();
        // Every 20th names a sender that does not exist: the foreign key refuses it.
        let sender = if n % 20 == 7 { 999_999 } else { chair };
        tasks.push(tokio::spawn(async move {
            (n, writer.record(record(sender, n)).await)
        }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        match outcome {
            Ok(one) => stored.push((n, one.id)),
            Err(e) => assert_eq!(n % 20, 7, "submission {n} failed: {e}"),
        }
    }
    assert_eq!(stored.len(), 57, "only the three bad submissions fail");
    assert_eq!(s.count_submissions().await.unwrap(), 57);
    for (n, id) in stored {
        let raw = s.submission_raw(id).await.unwrap().unwrap();
        assert!(
            raw.ends_with(format!("\r\n\r\n{n}").as_bytes()),
            "submission {n} got the id of another"
        );
    }
}

#[tokio::test]
async fn the_group_writer_stores_exactly_what_a_single_record_stores() {
    // On SQLite the writer has its own connection and runs the statements natively; whatever
    // path it takes, the rows and the audit chain must be those of record_submission.
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let body = b"From: chair@example.org\r\n\r\nsame";
    let record = decided_record(s, chair, "oldenfelde@lists.example.org", body).await;
    assert!(record.sends[0].decision.is_release());

    let direct = s.record_submission(&record).await.unwrap().id;
    let writer = SubmissionWriter::start(s.clone());
    let grouped = writer.record(record.clone()).await.unwrap().id;
    // And the pool writes after the writer: both keep one chain.
    let after = s.record_submission(&record).await.unwrap().id;
    assert!(direct < grouped && grouped < after);

    let without_ids = |sends: Vec<verteiler_store::SendRecord>| {
        sends
            .into_iter()
            .map(|mut send| {
                (send.id, send.submission_id) = (0, 0);
                send
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_ids(s.sends_of(grouped).await.unwrap()),
        without_ids(s.sends_of(direct).await.unwrap())
    );
    assert_eq!(
        s.submission_raw(grouped).await.unwrap().unwrap(),
        body.to_vec()
    );
    assert_eq!(
        s.notifications_to("chair@example.org").await.unwrap().len(),
        3
    );
    let v = s
        .volume_facts(chair, Some(list.id), now_ms())
        .await
        .unwrap();
    assert_eq!(
        (
            v.sender_sends_today,
            v.audience_sends_today,
            v.org_recipients_last_hour
        ),
        (3, 3, 6),
        "every path counts its send"
    );

    let decided = |entries: Vec<verteiler_store::AuditEntry>| {
        let entry = entries
            .into_iter()
            .find(|e| e.action == "submission.decided")
            .expect("a decision entry");
        (entry.details_json(), entry.actor, entry.actor_member_id)
    };
    assert_eq!(
        decided(s.audit_of_submission(grouped).await.unwrap()),
        decided(s.audit_of_submission(direct).await.unwrap())
    );
    let chain = s.audit_verify().await.unwrap();
    assert_eq!(chain.broken, None, "the chain holds across both paths");
}

#[tokio::test]
async fn cached_facts_follow_changes_made_through_the_store() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let facts = |s: Store| async move {
        s.gather_facts(
            &Submission {
                sender_member_id: chair,
                audience_address: "oldenfelde@lists.example.org",
                channel: Channel::Email,
                message: MessageFacts {
                    size_bytes: 10,
                    attachment_count: 0,
                    attachment_bytes: 0,
                    visible_recipients: 0,
                    sms_segments: 0,
                    content_hash: ContentHash::from_bytes([3; 32]),
                },
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap()
    };
    let before = facts(s.clone()).await;
    assert_eq!(before.resolution.recipients, 1);
    assert_eq!(before.sender.roles.len(), 1);

    member(s, "Neu", org.old).await;
    role(s, chair, org.hh, RoleFunction::PressOffice).await;
    s.set_audience_active(list.id, false).await.unwrap();
    let after = facts(s.clone()).await;
    assert_eq!(
        after.resolution.recipients, 2,
        "a new member is counted at once"
    );
    assert_eq!(after.sender.roles.len(), 2, "a new role is seen at once");
    assert!(
        !after.audience.unwrap().active,
        "a deactivated list is seen at once"
    );
}
