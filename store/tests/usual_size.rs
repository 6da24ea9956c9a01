//! A list's usual size, learned from its completed sends (the median of the last ten), reset
//! by an admin, and read by the real engine's blast-radius rule. Runs on SQLite and, with
//! VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{
    ContentHash, Decision, HeaderTreatment, MessageFacts, OrgLimits, Reason, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Actor, ApprovalSettings, Expansion, NewSend, NewSubmission, Origin, Store,
    SubmissionRecord,
};

/// The Oldenfelde branch: its chair and four more members, and its list.
async fn branch(s: &Store) -> (Org, i64, i64) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..4 {
        member(s, &format!("Old{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await.id;
    (org, chair, list)
}

/// Expands a released send, hands every copy over and marks it complete, as the delivery
/// loops do.
async fn complete(s: &Store, send: i64) {
    loop {
        match s.expand_send(send, 100, &checks()).await.unwrap() {
            Expansion::Progress { .. } => continue,
            Expansion::Done { .. } => break,
            other => panic!("send {send}: {other:?}"),
        }
    }
    let claimed = s.claim_deliveries(now_ms(), 60_000, 1_000).await.unwrap();
    let outcomes: Vec<_> = claimed
        .iter()
        .map(|d| (d.id, verteiler_store::Attempt::Sent))
        .collect();
    s.finish_deliveries(&outcomes).await.unwrap();
    assert_eq!(s.complete_finished_sends().await.unwrap(), 1);
}

/// A released send decided for `recipients`, completed.
async fn completed(s: &Store, chair: i64, list: i64, recipients: u64) -> i64 {
    let send = released_send(s, chair, list, recipients).await;
    complete(s, send).await;
    send
}

/// A send stored with `decision` for `recipients` (a big number: it must never count).
async fn stored(s: &Store, chair: i64, list: i64, decision: Decision) -> i64 {
    let message = MessageFacts {
        size_bytes: 100,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"0b".repeat(32)).unwrap(),
    };
    let held = decision.is_hold();
    let record = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: None,
                sender_member_id: chair,
                login: "chair@example.org".into(),
                credential_id: None,
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: "chair@example.org".into(),
                header_from: "chair@example.org".into(),
                subject: "Groß".into(),
                content_hash: message.content_hash.to_string(),
                raw: b"Subject: Gross\r\n\r\nx".to_vec(),
                message_facts: Some(message),
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: "oldenfelde@lists.example.org".into(),
                audience_id: Some(list),
                decision,
                recipients: 9_999,
                release_at: None,
                expires_at: held.then(|| now_ms() + 3_600_000),
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    s.sends_of(record.id).await.unwrap()[0].id
}

fn hold() -> Decision {
    Decision::Hold {
        reasons: vec![Reason::BlastRadiusFirstSend {
            audience: "oldenfelde".into(),
            recipients: 9_999,
            hold_above: 500,
        }],
        approvals_needed: 1,
        approver_roles: vec![RoleFunction::Chair],
    }
}

fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits::default(),
        undo_window_secs: 0,
        approval_window_secs: 3_600,
        portal_base_url: "http://portal.test".into(),
    }
}

async fn usual(s: &Store, list: i64) -> (Option<u64>, Vec<(i64, u64)>) {
    let u = s.usual_size(list).await.unwrap().unwrap();
    (
        u.value,
        u.counted
            .iter()
            .map(|c| (c.send_id, c.recipients))
            .collect(),
    )
}

#[tokio::test]
async fn only_completed_sends_move_the_usual_size_and_one_outlier_barely_does() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair, list) = branch(s).await;
    assert_eq!(usual(s, list).await, (None, vec![]));

    // Refused, withdrawn, expired, cancelled and still held sends never count.
    stored(
        s,
        chair,
        list,
        Decision::Reject {
            reasons: vec![Reason::AudienceEmpty {
                audience: "oldenfelde".into(),
            }],
        },
    )
    .await;
    let withdrawn = stored(s, chair, list, hold()).await;
    let me = Actor {
        member_id: chair,
        label: "chair@example.org".into(),
        ingress: Origin::Cli,
    };
    s.withdraw_send(withdrawn, &me).await.unwrap();
    let expired = stored(s, chair, list, hold()).await;
    assert_eq!(
        s.expire_held(now_ms() + 2 * 3_600_000, &settings())
            .await
            .unwrap(),
        [expired]
    );
    let cancelled = released_send(s, chair, list, 9_999).await;
    s.cancel_send(cancelled, "test").await.unwrap();
    stored(s, chair, list, hold()).await;
    let half = released_send(s, chair, list, 9_999).await;
    assert_eq!(
        s.expand_send(half, 2, &checks()).await.unwrap(),
        Expansion::Progress { queued: 2 }
    );
    s.cancel_send(half, "test").await.unwrap();
    assert_eq!(s.complete_finished_sends().await.unwrap(), 0);
    assert_eq!(usual(s, list).await, (None, vec![]));

    let first = completed(s, chair, list, 5).await;
    assert_eq!(usual(s, list).await, (Some(5), vec![(first, 5)]));
    let second = completed(s, chair, list, 7).await;
    assert_eq!(
        usual(s, list).await,
        (Some(5), vec![(second, 7), (first, 5)])
    );
    // An approved large send, once: the median moves to its neighbour, not towards it.
    let large = completed(s, chair, list, 500).await;
    assert_eq!(usual(s, list).await.0, Some(7));
    assert_eq!(usual(s, list).await.1[0], (large, 500));

    // Only the last ten count: ten ordinary sends push the outlier out.
    let mut last = Vec::new();
    for _ in 0..10 {
        last.push(completed(s, chair, list, 6).await);
    }
    let (value, counted) = usual(s, list).await;
    assert_eq!(value, Some(6));
    assert_eq!(counted.len(), 10);
    last.reverse();
    assert_eq!(
        counted.iter().map(|c| c.0).collect::<Vec<_>>(),
        last,
        "newest first"
    );
    assert_eq!(
        s.audience_by_id(list).await.unwrap().unwrap().usual_size,
        Some(6)
    );

    let learned = s
        .last_audit_details("audience.usual_size_learned")
        .await
        .unwrap()
        .expect("audited");
    assert_eq!(learned["before"], 7);
    assert_eq!(learned["after"], 6);
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn after_a_reset_only_sends_completed_since_count() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, chair, list) = branch(s).await;
    for recipients in [5, 500, 500] {
        completed(s, chair, list, recipients).await;
    }
    assert_eq!(usual(s, list).await.0, Some(500));
    let admin = s.acting_as("admin@example.org");
    assert_eq!(admin.reset_usual_size(list).await.unwrap(), Some(Some(500)));
    assert_eq!(usual(s, list).await, (None, vec![]));
    let reset = s
        .last_audit_details("audience.usual_size_reset")
        .await
        .unwrap()
        .expect("audited");
    assert_eq!(
        (reset["before"].clone(), reset["after"].clone()),
        (serde_json::json!(500), serde_json::Value::Null)
    );
    assert_eq!(reset["slug"], "oldenfelde");
    assert!(s
        .usual_size(list)
        .await
        .unwrap()
        .unwrap()
        .reset_at
        .is_some());
    assert_eq!(s.reset_usual_size(i64::MAX).await.unwrap(), None);

    let after = completed(s, chair, list, 6).await;
    assert_eq!(usual(s, list).await, (Some(6), vec![(after, 6)]));
}

#[tokio::test]
async fn a_send_far_above_the_learned_size_is_held_by_the_engine() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair, list) = branch(s).await;
    let message = MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"0c".repeat(32)).unwrap(),
    };
    let address = vec!["oldenfelde@lists.example.org".to_string()];
    for _ in 0..3 {
        completed(s, chair, list, 5).await;
    }
    // 5 × 1.5 + 20 = 27: the list now resolving to 40 is far above its usual size.
    for n in 0..35 {
        member(s, &format!("New{n}"), org.old).await;
    }
    let decided = s
        .decide_addresses(chair, "chair@example.org", &address, &message, &settings())
        .await
        .unwrap();
    let decision = &decided[0].decision;
    assert!(decision.is_hold(), "{decision:?}");
    assert!(
        decision.reasons().contains(&Reason::BlastRadiusAboveUsual {
            audience: "oldenfelde".into(),
            recipients: 40,
            usual: 5,
            hold_above: 27,
        }),
        "{decision:?}"
    );
    // Before anything completed, the same list would have been a small first send.
    s.reset_usual_size(list).await.unwrap();
    let decided = s
        .decide_addresses(chair, "chair@example.org", &address, &message, &settings())
        .await
        .unwrap();
    assert_eq!(
        decided[0].decision,
        Decision::Release {
            headers: HeaderTreatment::Keep
        }
    );
}

#[tokio::test]
async fn a_completed_send_that_reached_nobody_never_counts_and_one_by_post_does() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, chair, _) = branch(s).await;
    // Rahlstedt: three members without any address or number.
    for n in 0..3 {
        s.create_member(&verteiler_store::NewMember {
            external_id: Some(format!("R-{n}")),
            first_name: format!("Ohne{n}"),
            last_name: "Adresse".into(),
            unit_id: org.rah,
            email: None,
        })
        .await
        .unwrap();
    }
    let list = structural(s, "rahlstedt", org.rah, false).await.id;

    // An announcement: every member counted as not reached, no copy, no text, no letter.
    let nobody = released_send(s, chair, list, 3).await;
    complete(s, nobody).await;
    assert_eq!(s.delivery_totals(nobody).await.unwrap().unreachable, 3);
    assert_eq!(usual(s, list).await, (None, Vec::new()));

    // Statutory notice: the same members are on the postal list, so it reached them.
    let caps = OrgLimits::default();
    let mut statutory = s.audience_by_id(list).await.unwrap().unwrap().definition();
    statutory.category = verteiler_policies::Category::Statutory;
    s.edit_list(list, &statutory, &caps).await.unwrap();
    let by_post = released_send(s, chair, list, 3).await;
    complete(s, by_post).await;
    assert_eq!(usual(s, list).await, (Some(3), vec![(by_post, 3)]));
}
