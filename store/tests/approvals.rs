//! Four eyes through the store's operations: approve, reject, withdraw, expire, ask approvers;
//! each with its audit entry. Runs on SQLite and, with VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::{build_org, member, slug, Org};
use verteiler_policies::{
    decide, Channel, ContentHash, Decision, MessageFacts, OrgLimits, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Actor, ApprovalOutcome, ApprovalSetting, ApprovalSettings, NewAudience, NewRole,
    NewSend, NewSubmission, Origin, SendState, StopOutcome, Store, Submission, SubmissionRecord,
};

const HOUR_MS: i64 = 3_600_000;

fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits::default(),
        undo_window_secs: 120,
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}

struct Press {
    org: Org,
    renee: i64,
    jonas: i64,
    maria: i64,
    /// press office of the district HH-WA only
    dora: i64,
}

async fn press_role(s: &Store, member_id: i64, unit_id: i64, subtree: bool) {
    s.grant_role(NewRole {
        member_id,
        unit_id,
        function: RoleFunction::PressOffice,
        covers_subtree: subtree,
    })
    .await
    .unwrap();
}

/// The state's press office (three people) and a district press officer, and an official
/// list at state level needing `needed` press-office approvals on every send.
async fn press(s: &Store, needed: u32) -> Press {
    let org = build_org(s).await;
    let renee = member(s, "Renee", org.ott).await;
    let jonas = member(s, "Jonas", org.rah).await;
    let maria = member(s, "Maria", org.old).await;
    let dora = member(s, "Dora", org.old).await;
    for m in [renee, jonas, maria] {
        press_role(s, m, org.hh, true).await;
    }
    press_role(s, dora, org.wa, false).await;
    let mut a = NewAudience::structural(slug("presse"), "Pressemitteilungen", org.hh, true);
    a.allowed_sender_functions = vec![RoleFunction::PressOffice];
    a.approval = ApprovalSetting::Always;
    a.approver_functions = vec![RoleFunction::PressOffice];
    a.approvals_needed = needed;
    s.create_audience(&a).await.unwrap();
    Press {
        org,
        renee,
        jonas,
        maria,
        dora,
    }
}

fn message(n: u8) -> MessageFacts {
    MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&format!("{n:02x}").repeat(32)).unwrap(),
    }
}

/// Submits as `sender` to `address` through the real engine; returns (decision, send id).
async fn submit(s: &Store, sender: i64, address: &str) -> (Decision, i64) {
    let msg = message(1);
    let facts = s
        .gather_facts(
            &Submission {
                sender_member_id: sender,
                audience_address: address,
                channel: Channel::Email,
                message: msg.clone(),
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &OrgLimits::default());
    let now = now_ms();
    let stored = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some("stellungnahme@example.org".into()),
                sender_member_id: sender,
                login: "renee@example.org".into(),
                credential_id: None,
                ingress: Origin::Smtp,
                client_ip: Some("192.0.2.7".into()),
                client_name: Some("laptop".into()),
                tls: true,
                envelope_from: "presse@example.org".into(),
                header_from: "presse@example.org".into(),
                subject: "Stellungnahme".into(),
                content_hash: msg.content_hash.to_string(),
                raw: b"From: presse@example.org\r\nSubject: Stellungnahme\r\n\r\nText".to_vec(),
                message_facts: Some(msg),
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: address.into(),
                audience_id: facts.audience.as_ref().map(|a| a.id),
                recipients: facts.resolution.recipients,
                release_at: decision.is_release().then_some(now),
                expires_at: decision.is_hold().then_some(now + 72 * HOUR_MS),
                decision: decision.clone(),
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    (decision, s.sends_of(stored.id).await.unwrap()[0].id)
}

/// `member_id` approves `send` as stored (no comment, the stored content's hash).
async fn approve(s: &Store, send: i64, member_id: i64) -> ApprovalOutcome {
    s.approve_send(send, &actor(member_id), None, None, &settings())
        .await
        .unwrap()
}

fn actor(member_id: i64) -> Actor {
    Actor {
        member_id,
        label: format!("member-{member_id}"),
        ingress: Origin::Cli,
    }
}

async fn notices(s: &Store, to: &str) -> Vec<(String, String, String)> {
    s.notifications_to(to).await.unwrap()
}

#[tokio::test]
async fn a_second_press_officer_releases_and_the_sender_cannot_approve_their_own() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    let (decision, send) = submit(s, p.renee, "presse@lists.example.org").await;
    assert_eq!(decision.codes(), ["approval.required"]);
    assert_eq!(s.held_sends().await.unwrap().len(), 1);

    let own = approve(s, send, p.renee).await;
    let ApprovalOutcome::Refused(refusal) = own else {
        panic!("{own:?}")
    };
    assert_eq!(refusal.code(), "approval.own_submission");
    let out_of_scope = approve(s, send, p.dora).await;
    assert_eq!(
        out_of_scope,
        ApprovalOutcome::NotFound,
        "somebody not asked is answered as for a send that does not exist"
    );
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Held
    );

    let before = now_ms();
    let outcome = s
        .approve_send(send, &actor(p.jonas), Some("ok"), None, &settings())
        .await
        .unwrap();
    let ApprovalOutcome::Released {
        release_at,
        recipients,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(recipients, 4);
    assert!(release_at >= before + 120_000, "the undo window applies");
    let record = s.send_record(send).await.unwrap().unwrap();
    assert_eq!(
        (record.state.as_str(), record.decision.as_str()),
        ("scheduled", "release")
    );
    assert_eq!(record.release_at, Some(release_at));
    let told = notices(s, "renee@example.org").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "submission.released");
    assert!(told[0].2.contains("Jonas Test"), "{}", told[0].2);
    assert!(told[0].2.contains(&format!("verteiler send cancel {send}")));

    // Once released, nobody approves or rejects it any more.
    let late = approve(s, send, p.maria).await;
    assert_eq!(
        late,
        ApprovalOutcome::NotHeld {
            state: SendState::Scheduled.into()
        }
    );

    let trail: Vec<String> = s
        .audit_of_submission(record.submission_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {:?}", e.action, e.actor_member_id))
        .collect();
    assert_eq!(
        trail,
        [
            "submission.decided Some(".to_string() + &p.renee.to_string() + ")",
            format!("approval.refused Some({})", p.renee),
            format!("approval.given Some({})", p.jonas),
            format!("send.released Some({})", p.jonas),
        ]
    );
    let verified = s.audit_verify().await.unwrap();
    assert_eq!(verified.broken, None);
    // The organisation's set-up (units, roles, the list) is in the log before the submission.
    assert!(verified.entries > 5, "{verified:?}");
}

#[tokio::test]
async fn an_approval_of_changed_content_is_refused_and_two_approvals_count_per_person() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 2).await;
    let (_, send) = submit(s, p.renee, "presse@lists.example.org").await;
    let other = message(2).content_hash.to_string();
    let stale = s
        .approve_send(send, &actor(p.jonas), None, Some(&other), &settings())
        .await
        .unwrap();
    assert!(
        matches!(&stale, ApprovalOutcome::Refused(r) if r.code() == "approval.content_changed"),
        "{stale:?}"
    );
    let first = approve(s, send, p.jonas).await;
    assert_eq!(first, ApprovalOutcome::Recorded { missing: 1 });
    let again = approve(s, send, p.jonas).await;
    assert!(
        matches!(&again, ApprovalOutcome::Refused(r) if r.code() == "approval.duplicate"),
        "{again:?}"
    );
    let held = s.held_send(send).await.unwrap().unwrap();
    assert_eq!(held.approvals_needed, 1);
    assert_eq!(held.decisions.len(), 1);
    let second = approve(s, send, p.maria).await;
    assert!(
        matches!(second, ApprovalOutcome::Released { .. }),
        "{second:?}"
    );
}

#[tokio::test]
async fn a_rejection_needs_a_comment_that_reaches_the_sender() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    let (_, send) = submit(s, p.renee, "presse@lists.example.org").await;
    assert_eq!(
        s.reject_send(send, &actor(p.jonas), "  ", &settings())
            .await
            .unwrap(),
        StopOutcome::CommentMissing
    );
    let own = s
        .reject_send(send, &actor(p.renee), "nein", &settings())
        .await
        .unwrap();
    assert!(matches!(own, StopOutcome::Refused(_)), "{own:?}");
    assert_eq!(
        s.reject_send(send, &actor(p.jonas), "Bitte Zitat prüfen", &settings())
            .await
            .unwrap(),
        StopOutcome::Stopped
    );
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Rejected
    );
    let told = notices(s, "renee@example.org").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "submission.rejected");
    assert!(told[0].2.contains("Bitte Zitat prüfen"), "{}", told[0].2);
    assert!(s.held_sends().await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_sender_withdraws() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    let (_, send) = submit(s, p.renee, "presse@lists.example.org").await;
    assert_eq!(
        s.withdraw_send(send, &actor(p.jonas)).await.unwrap(),
        StopOutcome::NotSender
    );
    assert_eq!(
        s.withdraw_send(send, &actor(p.renee)).await.unwrap(),
        StopOutcome::Stopped
    );
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Withdrawn
    );
    let outcome = approve(s, send, p.jonas).await;
    assert_eq!(
        outcome,
        ApprovalOutcome::NotHeld {
            state: SendState::Withdrawn.into()
        }
    );
    let actions: Vec<String> = s
        .audit_of_submission(s.send_record(send).await.unwrap().unwrap().submission_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["submission.decided", "send.withdrawn"]);
}

#[tokio::test]
async fn a_request_expires_after_its_window_and_the_sender_is_told() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    let (_, send) = submit(s, p.renee, "presse@lists.example.org").await;
    let now = now_ms();
    // Time is injected: an hour before the end of the window nothing expires.
    assert!(s
        .expire_held(now + 71 * HOUR_MS, &settings())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.expire_held(now + 72 * HOUR_MS + 1000, &settings())
            .await
            .unwrap(),
        [send]
    );
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Expired
    );
    let told = notices(s, "renee@example.org").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "submission.expired");
    assert!(told[0].2.contains("72"), "{}", told[0].2);
    // An expired request is gone for good.
    assert!(s
        .expire_held(now + 100 * HOUR_MS, &settings())
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        approve(s, send, p.jonas).await,
        ApprovalOutcome::NotHeld { .. }
    ));
}

#[tokio::test]
async fn approvers_are_asked_once_nearest_scope_first_never_the_sender() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    // A district list approved by the press office: the district's own press officer is
    // nearer than the state's.
    let mut district = NewAudience::structural(slug("wa"), "Distrikt WA", p.org.wa, true);
    district.allowed_sender_functions = vec![RoleFunction::PressOffice];
    district.approval = ApprovalSetting::Always;
    district.approver_functions = vec![RoleFunction::PressOffice];
    s.create_audience(&district).await.unwrap();
    let (_, to_state) = submit(s, p.renee, "presse@lists.example.org").await;
    let (_, to_district) = submit(s, p.renee, "wa@lists.example.org").await;

    assert_eq!(s.request_approvals(&settings()).await.unwrap(), 2);
    assert_eq!(
        s.request_approvals(&settings()).await.unwrap(),
        0,
        "asked once"
    );
    for (to, expected) in [
        ("jonas@example.org", vec![to_state]),
        ("maria@example.org", vec![to_state]),
        ("dora@example.org", vec![to_district]),
        ("renee@example.org", vec![]),
    ] {
        let asked: Vec<String> = notices(s, to)
            .await
            .into_iter()
            .filter(|n| n.0 == "approval.requested")
            .map(|n| n.2)
            .collect();
        assert_eq!(asked.len(), expected.len(), "{to}: {asked:?}");
        for (body, send) in asked.iter().zip(expected) {
            assert!(
                body.contains(&format!("http://portal.test/held/{send}")),
                "{body}"
            );
            assert!(body.contains("Renee Test"), "{body}");
            assert!(body.contains("Stellungnahme"), "{body}");
        }
    }
}

#[tokio::test]
async fn a_send_held_because_its_list_grew_is_released_for_the_confirmed_count() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    common::role(s, chair, org.old, RoleFunction::Chair).await;
    let admin = member(s, "Admin", org.ott).await;
    s.grant_role(NewRole {
        member_id: admin,
        unit_id: org.hh,
        function: RoleFunction::Admin,
        covers_subtree: true,
    })
    .await
    .unwrap();
    let mut list = NewAudience::structural(slug("old"), "Oldenfelde", org.old, false);
    list.allowed_sender_functions = vec![RoleFunction::Chair];
    list.approver_functions = vec![RoleFunction::Admin];
    s.create_audience(&list).await.unwrap();
    let (decision, send) = submit(s, chair, "old@lists.example.org").await;
    assert!(decision.is_release(), "{decision:?}");
    assert_eq!(s.send_record(send).await.unwrap().unwrap().recipients, 1);
    for n in 0..20 {
        member(s, &format!("New{n}"), org.old).await;
    }
    let held = s.expand_send(send, 100, &common::checks()).await.unwrap();
    assert!(
        matches!(&held, verteiler_store::Expansion::Held(r) if r[0].code() == "audience.grew"),
        "{held:?}"
    );
    assert_eq!(s.request_approvals(&settings()).await.unwrap(), 1);
    assert!(notices(s, "admin@example.org")
        .await
        .iter()
        .any(|n| n.0 == "approval.requested"));

    let outcome = approve(s, send, admin).await;
    let ApprovalOutcome::Released { recipients, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(recipients, 21, "the count the approver confirmed");
    // (Expanding directly: the undo window is the delivery loop's to wait for.)
    let done = s.expand_send(send, 100, &common::checks()).await.unwrap();
    assert_eq!(done, verteiler_store::Expansion::Done { queued: 21 });
    let actions: Vec<String> = s
        .audit_of_submission(s.send_record(send).await.unwrap().unwrap().submission_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "submission.decided",
            "send.held",
            "approval.requested",
            "approval.given",
            "send.released",
            "send.expanded"
        ]
    );
}

#[tokio::test]
async fn somebody_not_asked_learns_nothing_about_a_send_and_fills_no_audit_log() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let p = press(s, 1).await;
    let (_, send) = submit(s, p.renee, "presse@lists.example.org").await;
    let unknown = send + 1000;
    let entries = async || s.audit_verify().await.unwrap().entries;
    let before = entries().await;

    // Dora's press office is a district's: the state's list does not ask her.
    let dora = actor(p.dora);
    for id in [send, unknown] {
        for _ in 0..3 {
            let approved = s.approve_send(id, &dora, None, None, &settings()).await;
            assert_eq!(approved.unwrap(), ApprovalOutcome::NotFound, "{id}");
            let rejected = s.reject_send(id, &dora, "nein", &settings()).await;
            assert_eq!(rejected.unwrap(), StopOutcome::NotFound, "{id}");
        }
    }
    assert_eq!(entries().await, before, "no audit entry per try");

    // The sender is told why, once in the log however often she tries.
    for _ in 0..3 {
        let own = approve(s, send, p.renee).await;
        assert!(
            matches!(&own, ApprovalOutcome::Refused(r) if r.code() == "approval.own_submission"),
            "{own:?}"
        );
    }
    assert_eq!(entries().await, before + 1);

    // Once decided, the send's state is still nobody else's business.
    assert!(matches!(
        approve(s, send, p.jonas).await,
        ApprovalOutcome::Released { .. }
    ));
    assert_eq!(approve(s, send, p.dora).await, ApprovalOutcome::NotFound);
    assert!(matches!(
        approve(s, send, p.maria).await,
        ApprovalOutcome::NotHeld { .. }
    ));
}
