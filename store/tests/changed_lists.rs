//! A send whose list changed under it: deactivated or redefined after the decision, it is
//! refused at expansion (not held for approvers who could never let it go), the sender is
//! told, and the refusal is audited. Runs on SQLite and, with VERTEILER_TEST_POSTGRES_URL,
//! PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{
    decide, Channel, ContentHash, Decision, MessageFacts, OrgLimits, Reason, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Actor, ApprovalOutcome, ApprovalSetting, ApprovalSettings, Expansion, NewAudience,
    NewRole, NewSend, NewSubmission, Origin, SendState, Store, Submission, SubmissionRecord,
};

struct Branch {
    org: Org,
    chair: i64,
    list: i64,
}

/// The Oldenfelde branch with its chair and four more members, and its list.
async fn branch(s: &Store) -> Branch {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..4 {
        member(s, &format!("Old{n}"), org.old).await;
    }
    // Rahlstedt as large as Oldenfelde: repointing there is no growth, only a new definition.
    for n in 0..5 {
        member(s, &format!("Rah{n}"), org.rah).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await.id;
    Branch { org, chair, list }
}

async fn state(s: &Store, send: i64) -> SendState {
    s.send_record(send).await.unwrap().unwrap().state
}

/// The notices queued for the chair, as (kind, subject, body).
async fn told(s: &Store) -> Vec<(String, String, String)> {
    s.notifications_to("chair@example.org").await.unwrap()
}

/// The audit actions of the send's submission, in order, with the details of each.
async fn trail(s: &Store, send: i64) -> Vec<(String, String)> {
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    s.audit_of_submission(submission)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.details.to_string()))
        .collect()
}

#[tokio::test]
async fn a_list_repointed_after_the_decision_refuses_its_send_and_tells_the_sender() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s).await;
    // Setting the same target again is no change: a send decided now still goes.
    s.set_audience_target(b.list, b.org.old, false)
        .await
        .unwrap();
    let unchanged = released_send(s, b.chair, b.list, 5).await;
    assert_eq!(
        s.expand_send(unchanged, 100, &checks()).await.unwrap(),
        Expansion::Done { queued: 5 }
    );

    let send = released_send(s, b.chair, b.list, 5).await;
    s.set_audience_target(b.list, b.org.rah, false)
        .await
        .unwrap();
    let outcome = s.expand_send(send, 100, &checks()).await.unwrap();
    assert_eq!(
        outcome,
        Expansion::Refused(vec![Reason::AudienceRedefined {
            audience: "oldenfelde".into()
        }])
    );
    let record = s.send_record(send).await.unwrap().unwrap();
    assert_eq!(
        (record.state.as_str(), record.decision.as_str()),
        ("rejected", "reject")
    );
    assert!(record.reasons.contains("audience.redefined"), "{record:?}");
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!(totals.queued + totals.sent, 0, "nothing reaches Rahlstedt");
    assert!(
        s.held_sends().await.unwrap().is_empty(),
        "nobody is asked to approve it"
    );
    assert_eq!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::NotScheduled
    );

    let notices = told(s).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let (kind, subject, body) = &notices[0];
    assert_eq!(kind, "submission.rejected");
    assert_eq!(subject, "[oldenfelde] Nicht verschickt: Einladung");
    assert!(
        body.contains("Der Verteiler oldenfelde wurde geändert, nachdem diese Nachricht eingereicht worden war"),
        "{body}"
    );
    assert!(body.contains("http://portal.test/submissions/"), "{body}");

    let trail = trail(s, send).await;
    let (action, details) = trail.last().unwrap();
    assert_eq!(action, "send.rejected");
    assert!(
        details.contains("at expansion") && details.contains("audience.redefined"),
        "{details}"
    );
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_deactivated_list_refuses_its_send_by_name_and_tells_the_sender() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s).await;
    let send = released_send(s, b.chair, b.list, 5).await;
    s.set_audience_active(b.list, false).await.unwrap();
    let outcome = s.expand_send(send, 100, &checks()).await.unwrap();
    assert_eq!(
        outcome,
        Expansion::Refused(vec![Reason::AudienceInactive {
            audience: "oldenfelde".into()
        }])
    );
    assert_eq!(state(s, send).await, SendState::Rejected);
    assert!(s.held_sends().await.unwrap().is_empty());
    let notices = told(s).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].0, "submission.rejected");
    assert!(
        notices[0]
            .2
            .contains("Der Verteiler oldenfelde ist deaktiviert"),
        "{}",
        notices[0].2
    );
    let trail = trail(s, send).await;
    assert!(
        trail
            .iter()
            .any(|(a, d)| a == "send.rejected" && d.contains("audience.inactive")),
        "{trail:?}"
    );
}

fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits::default(),
        undo_window_secs: 0,
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}

/// Submits as the chair to the list through the real engine; returns the send.
async fn submit(s: &Store, sender: i64) -> i64 {
    let message = MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"0a".repeat(32)).unwrap(),
    };
    let address = "oldenfelde@lists.example.org";
    let facts = s
        .gather_facts(
            &Submission {
                sender_member_id: sender,
                audience_address: address,
                channel: Channel::Email,
                message: message.clone(),
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &OrgLimits::default());
    assert!(matches!(decision, Decision::Hold { .. }), "{decision:?}");
    let stored = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: None,
                sender_member_id: sender,
                login: "chair@example.org".into(),
                credential_id: None,
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: "chair@example.org".into(),
                header_from: "chair@example.org".into(),
                subject: "Einladung".into(),
                content_hash: message.content_hash.to_string(),
                raw: b"Subject: Einladung\r\n\r\nHallo".to_vec(),
                message_facts: Some(message),
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: address.into(),
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
    s.sends_of(stored.id).await.unwrap()[0].id
}

#[tokio::test]
async fn an_approval_after_the_change_refuses_the_send_and_tells_approver_and_sender_why() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    // The district's chair writes to a list of one of its branches, scoped to the district.
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.wa, RoleFunction::Chair).await;
    let press = member(s, "Press", org.ott).await;
    s.grant_role(NewRole {
        member_id: press,
        unit_id: org.hh,
        function: RoleFunction::PressOffice,
        covers_subtree: true,
    })
    .await
    .unwrap();
    for n in 0..3 {
        member(s, &format!("Rah{n}"), org.rah).await;
    }
    let mut list = NewAudience::structural(slug("oldenfelde"), "Oldenfelde", org.old, false);
    list.scope_unit_id = org.wa;
    list.approval = ApprovalSetting::Always;
    list.approver_functions = vec![RoleFunction::PressOffice];
    let list = s.create_audience(&list).await.unwrap();
    let approver = Actor {
        member_id: press,
        label: "press@example.org".into(),
        ingress: Origin::Cli,
    };

    // Held for approval, then the list is repointed (Oldenfelde → Rahlstedt): the sender
    // addressed Oldenfelde, the approver was asked about Oldenfelde's figures. The approval
    // is answered with the refusal, and nothing reaches Rahlstedt.
    let send = submit(s, chair).await;
    s.set_audience_target(list, org.rah, false).await.unwrap();
    let outcome = s
        .approve_send(send, &approver, None, None, &settings())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ApprovalOutcome::Rejected {
            reasons: vec![Reason::AudienceRedefined {
                audience: "Oldenfelde".into()
            }]
        }
    );
    assert_eq!(state(s, send).await, SendState::Rejected);
    assert_eq!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::NotScheduled
    );
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!(totals.queued + totals.sent, 0, "nothing reaches Rahlstedt");
    let notices = told(s).await;
    assert!(
        notices.iter().any(|(kind, subject, body)| kind == "submission.rejected"
            && subject.starts_with("[Oldenfelde]")
            && body.contains("Der Verteiler Oldenfelde wurde geändert, nachdem diese Nachricht eingereicht worden war")),
        "{notices:?}"
    );
    let trail = trail(s, send).await;
    assert!(
        trail.iter().any(|(a, d)| a == "send.rejected"
            && d.contains("decided again at approval")
            && d.contains("audience.redefined")),
        "{trail:?}"
    );

    // A list that changes back is still not the definition the sender addressed.
    let back = submit(s, chair).await;
    s.set_audience_target(list, org.old, false).await.unwrap();
    s.set_audience_target(list, org.rah, false).await.unwrap();
    s.set_audience_target(list, org.old, false).await.unwrap();
    assert!(matches!(
        s.approve_send(back, &approver, None, None, &settings()).await.unwrap(),
        ApprovalOutcome::Rejected { reasons } if reasons[0].code() == "audience.redefined"
    ));

    // Approved first, repointed after: the approval was for a definition that is gone, and
    // expansion refuses the send. (The last change is aged past the facts cache's lifetime:
    // one just before a submission may not have been seen by its decision, and counts as
    // after it.)
    verteiler_store::testing::age_definition_change(s, list, 60_000)
        .await
        .unwrap();
    let later = submit(s, chair).await;
    let outcome = s
        .approve_send(later, &approver, None, None, &settings())
        .await
        .unwrap();
    assert!(
        matches!(outcome, ApprovalOutcome::Released { .. }),
        "{outcome:?}"
    );
    s.set_audience_target(list, org.rah, false).await.unwrap();
    assert!(matches!(
        s.expand_send(later, 100, &checks()).await.unwrap(),
        Expansion::Refused(r) if r[0].code() == "audience.redefined"
    ));
    assert_eq!(state(s, later).await, SendState::Rejected);
}

#[tokio::test]
async fn a_list_switched_off_half_way_stops_its_queued_copies_and_texts() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    // Tarek has a number and no address: the first batch queues a text for him.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("members.csv");
    std::fs::write(
        &csv,
        "external_id;first_name;last_name;unit_code;email;phone\n\
         900002;Tarek;Texter;HH-WA-OLD;;+49 151 22222222\n",
    )
    .unwrap();
    let options = verteiler_store::directory::import::ImportOptions {
        allow_large_change: true,
        ..Default::default()
    };
    assert!(s.import_members(&csv, &options).await.unwrap().written);
    for n in 0..3 {
        member(s, &format!("Late{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await.id;
    let send = released_send(s, chair, list, 5).await;
    assert_eq!(
        s.expand_send(send, 2, &checks()).await.unwrap(),
        Expansion::Progress { queued: 1 }
    );
    assert_eq!(s.delivery_totals(send).await.unwrap().sms, 1);

    s.set_audience_active(list, false).await.unwrap();
    assert!(matches!(
        s.expand_send(send, 2, &checks()).await.unwrap(),
        Expansion::Refused(_)
    ));
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!((totals.queued, totals.cancelled), (0, 1), "{totals:?}");
    assert!(
        s.claim_deliveries(now_ms(), 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "no copy of it leaves"
    );
    assert!(
        s.claim_texts(now_ms(), 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "nor any text"
    );
    let trail = trail(s, send).await;
    let (action, details) = trail.last().unwrap();
    assert_eq!(action, "send.rejected");
    assert!(
        details.contains("\"texts_stopped\":1") && details.contains("\"copies_cancelled\":1"),
        "{details}"
    );
}

#[tokio::test]
async fn an_admins_edit_of_whom_a_list_reaches_refuses_sends_decided_before_but_a_rule_edit_does_not(
) {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s).await;
    let caps = OrgLimits::default();
    let before_rules = released_send(s, b.chair, b.list, 5).await;
    let mut stricter = s
        .audience_by_id(b.list)
        .await
        .unwrap()
        .unwrap()
        .definition();
    stricter.max_recipients = Some(100);
    s.edit_list(b.list, &stricter, &caps).await.unwrap();
    assert_eq!(
        s.expand_send(before_rules, 100, &checks()).await.unwrap(),
        Expansion::Done { queued: 5 },
        "a rule is no new definition of whom the list reaches"
    );

    let send = released_send(s, b.chair, b.list, 5).await;
    let mut wider = stricter.clone();
    wider.unit_id = b.org.wa;
    wider.scope_unit_id = b.org.wa;
    wider.include_subunits = true;
    s.edit_list(b.list, &wider, &caps).await.unwrap();
    let outcome = s.expand_send(send, 100, &checks()).await.unwrap();
    assert!(
        matches!(&outcome, Expansion::Refused(r) if r[0].code() == "audience.redefined"),
        "{outcome:?}"
    );
    let totals = s.delivery_totals(send).await.unwrap();
    assert_eq!(
        totals.queued + totals.sent,
        0,
        "nobody of the district is reached"
    );
}

#[tokio::test]
async fn a_list_that_reaches_nobody_when_its_send_is_due_refuses_it_instead_of_sending_to_nobody() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s).await;

    // The district above Oldenfelde is switched off after the decision: the list is still
    // active, but reaches nobody.
    let send = released_send(s, b.chair, b.list, 5).await;
    s.set_unit_active(b.org.wa, false).await.unwrap();
    let outcome = s.expand_send(send, 100, &checks()).await.unwrap();
    assert_eq!(
        outcome,
        Expansion::Refused(vec![Reason::AudienceEmptied {
            audience: "oldenfelde".into()
        }])
    );
    let record = s.send_record(send).await.unwrap().unwrap();
    assert_eq!(record.state, SendState::Rejected);
    assert!(record.reasons.contains("audience.emptied"), "{record:?}");
    assert_eq!(
        s.complete_finished_sends().await.unwrap(),
        0,
        "it never completes"
    );
    assert_eq!(s.usual_size(b.list).await.unwrap().unwrap().value, None);
    let notices = told(s).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let (kind, subject, body) = &notices[0];
    assert_eq!(kind, "submission.rejected");
    assert_eq!(subject, "[oldenfelde] Nicht verschickt: Einladung");
    assert!(
        body.contains("Der Verteiler oldenfelde erreicht niemanden mehr")
            && body.contains("Es wurde nichts verschickt"),
        "{body}"
    );
    let trail = trail(s, send).await;
    let (action, details) = trail.last().unwrap();
    assert_eq!(action, "send.rejected");
    assert!(
        details.contains("at expansion") && details.contains("audience.emptied"),
        "{details}"
    );

    // Everybody of Rahlstedt left after the decision: the same.
    s.set_unit_active(b.org.wa, true).await.unwrap();
    let rahlstedt = structural(s, "rahlstedt", b.org.rah, false).await.id;
    let send = released_send(s, b.chair, rahlstedt, 5).await;
    for m in s
        .resolve_batch(&s.audience_by_id(rahlstedt).await.unwrap().unwrap(), 0, 100)
        .await
        .unwrap()
    {
        s.set_member_left(m.member_id.unwrap()).await.unwrap();
    }
    assert!(matches!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::Refused(r) if r == [Reason::AudienceEmptied { audience: "rahlstedt".into() }]
    ));
    assert_eq!(state(s, send).await, SendState::Rejected);
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}
