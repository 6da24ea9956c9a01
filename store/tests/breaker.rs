//! The circuit breaker's way out: the organisation sends more than its hourly limit, the next
//! send is held for an admin (approvals never lift it, resuming sending neither), and an
//! organisation admin releases it — decided again with the breaker lifted for it alone, sent
//! once — or refuses it. Runs on SQLite and, with VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{
    decide, Channel, ContentHash, Decision, MessageFacts, OrgLimits, Reason, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Actor, ApprovalOutcome, ApprovalSetting, ApprovalSettings, Attempt, BreakerRelease,
    Expansion, NewAudience, NewRole, NewSend, NewSubmission, Origin, SendState, StopOutcome, Store,
    Submission, SubmissionRecord,
};

/// Five recipients pass, ten do not: the second send to the five-member list trips it.
const BREAKER: u64 = 8;

fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits {
            circuit_breaker_recipients_per_hour: BREAKER,
            ..OrgLimits::default()
        },
        undo_window_secs: 0,
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}

struct Fixture {
    org: Org,
    chair: i64,
    admin: i64,
    press: i64,
}

fn actor(member_id: i64, label: &str) -> Actor {
    Actor {
        member_id,
        label: label.into(),
        ingress: Origin::Cli,
    }
}

/// Oldenfelde (the chair and four members, its list), an organisation admin, a press officer
/// of the state who approves the press list `presse` of the branch.
async fn fixture(s: &Store) -> Fixture {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..4 {
        member(s, &format!("Old{n}"), org.old).await;
    }
    structural(s, "oldenfelde", org.old, false).await;
    let admin = member(s, "Admin", org.ott).await;
    role(s, admin, org.hh, RoleFunction::Admin).await;
    let press = member(s, "Press", org.ott).await;
    s.grant_role(NewRole {
        member_id: press,
        unit_id: org.hh,
        function: RoleFunction::PressOffice,
        covers_subtree: true,
    })
    .await
    .unwrap();
    let mut presse = NewAudience::structural(slug("presse"), "Presse Oldenfelde", org.old, false);
    presse.approval = ApprovalSetting::Always;
    presse.approver_functions = vec![RoleFunction::PressOffice];
    s.create_audience(&presse).await.unwrap();
    Fixture {
        org,
        chair,
        admin,
        press,
    }
}

/// Submits as `sender` to `slug` through the real engine with the test's limits, stored as
/// the intake stores it; returns the decision and the send.
async fn submit(s: &Store, sender: i64, slug: &str) -> (Decision, i64) {
    let message = MessageFacts {
        size_bytes: 900,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::parse(&"0d".repeat(32)).unwrap(),
    };
    let address = format!("{slug}@lists.example.org");
    let facts = s
        .gather_facts(
            &Submission {
                sender_member_id: sender,
                audience_address: &address,
                channel: Channel::Email,
                message: message.clone(),
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &settings().limits);
    let now = now_ms();
    let stored = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some(format!("{slug}-{now}@example.org")),
                sender_member_id: sender,
                login: "chair@example.org".into(),
                credential_id: None,
                ingress: Origin::Smtp,
                client_ip: None,
                client_name: None,
                tls: true,
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
                address,
                audience_id: facts.audience.as_ref().map(|a| a.id),
                recipients: facts.resolution.recipients,
                release_at: decision.is_release().then_some(now),
                expires_at: decision.is_hold().then_some(now + 72 * 3_600_000),
                decision: decision.clone(),
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    (decision, s.sends_of(stored.id).await.unwrap()[0].id)
}

/// The first send goes (five recipients in the hour); the second is held by the breaker.
async fn tripped(s: &Store, f: &Fixture) -> i64 {
    let (first, _) = submit(s, f.chair, "oldenfelde").await;
    assert!(first.is_release(), "{first:?}");
    let (second, held) = submit(s, f.chair, "oldenfelde").await;
    let Decision::Hold {
        approvals_needed,
        reasons,
        ..
    } = &second
    else {
        panic!("{second:?}")
    };
    assert_eq!(*approvals_needed, 0, "approvals cannot help");
    assert_eq!(
        reasons.as_slice(),
        [Reason::CircuitBreaker {
            recipients: 10,
            limit: BREAKER
        }]
    );
    held
}

async fn state(s: &Store, send: i64) -> SendState {
    s.send_record(send).await.unwrap().unwrap().state
}

/// Expands the send, hands over every copy of it and completes it; returns the addresses.
async fn deliver(s: &Store, send: i64) -> Vec<String> {
    assert!(matches!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::Done { .. }
    ));
    let claimed: Vec<_> = s
        .claim_deliveries(now_ms(), 60_000, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.send_id == send)
        .collect();
    let outcomes: Vec<_> = claimed.iter().map(|d| (d.id, Attempt::Sent)).collect();
    s.finish_deliveries(&outcomes).await.unwrap();
    s.complete_finished_sends().await.unwrap();
    claimed.into_iter().map(|d| d.address).collect()
}

#[tokio::test]
async fn an_admin_releases_a_breaker_hold_and_it_goes_out_exactly_once() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let f = fixture(s).await;
    let held = tripped(s, &f).await;

    let holds = s.breaker_holds().await.unwrap();
    assert_eq!(holds.len(), 1);
    let h = &holds[0];
    assert_eq!(
        (
            h.send_id,
            h.recipients,
            h.breaker_recipients,
            h.breaker_limit
        ),
        (held, 5, 10, BREAKER)
    );
    assert_eq!(h.audience, "oldenfelde");
    assert!(h.sender.contains("chair@example.org"), "{}", h.sender);
    assert!(h.other_reasons.is_empty());

    // Neither the chair nor resuming sending lets it go.
    let chair = actor(f.chair, "chair@example.org");
    assert_eq!(
        s.release_breaker_hold(held, &chair, &settings())
            .await
            .unwrap(),
        BreakerRelease::NotAdmin
    );
    s.pause_delivery("test", "admin@example.org").await.unwrap();
    let resumed = s.resume_delivery("admin@example.org").await.unwrap();
    assert_eq!(resumed.breaker_holds_waiting, 1);
    assert_eq!(state(s, held).await, SendState::Held);

    // Two releases at once: one schedules it, the other finds it no longer held.
    let admin = actor(f.admin, "admin@example.org");
    let config = settings();
    let (a, b) = tokio::join!(
        s.release_breaker_hold(held, &admin, &config),
        s.release_breaker_hold(held, &admin, &config)
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| !matches!(o, BreakerRelease::Released { .. }));
    assert!(
        matches!(outcomes[0], BreakerRelease::Released { recipients: 5, .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], BreakerRelease::NotHeld { state } if *state == SendState::Scheduled.into()),
        "{outcomes:?}"
    );
    assert!(s.breaker_holds().await.unwrap().is_empty());
    assert!(s
        .release_all_breaker_holds(&admin, &settings())
        .await
        .unwrap()
        .is_empty());

    let mut reached = deliver(s, held).await;
    reached.sort();
    assert_eq!(reached.len(), 5, "{reached:?}");
    reached.dedup();
    assert_eq!(reached.len(), 5, "one copy per member");
    assert_eq!(
        s.expand_send(held, 100, &checks()).await.unwrap(),
        Expansion::NotScheduled
    );
    assert_eq!(s.delivery_totals(held).await.unwrap().sent, 5);
    assert_eq!(state(s, held).await, SendState::Complete);

    let told = s.notifications_to("chair@example.org").await.unwrap();
    let released: Vec<_> = told
        .iter()
        .filter(|n| n.0 == "submission.released")
        .collect();
    assert_eq!(released.len(), 1, "{told:?}");
    assert!(
        released[0]
            .2
            .contains("Admin Test <admin@example.org> hat sie freigegeben"),
        "{}",
        released[0].2
    );
    let submission = s.send_record(held).await.unwrap().unwrap().submission_id;
    let trail = s.audit_of_submission(submission).await.unwrap();
    let release = trail
        .iter()
        .find(|e| e.action == "send.released")
        .expect("audited");
    assert_eq!(release.actor_member_id, Some(f.admin));
    assert!(
        release
            .details
            .to_string()
            .contains("circuit_breaker_lifted"),
        "{}",
        release.details
    );
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn releasing_lifts_only_the_breaker_and_the_approvers_decide_the_rest() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let f = fixture(s).await;
    tripped(s, &f).await;
    let (decision, held) = submit(s, f.chair, "presse").await;
    assert_eq!(
        decision.codes(),
        ["org.circuit_breaker", "approval.required"]
    );
    // The approval counts, but the breaker still holds the send.
    let press = actor(f.press, "press@example.org");
    assert_eq!(
        s.approve_send(held, &press, None, None, &settings())
            .await
            .unwrap(),
        ApprovalOutcome::Recorded { missing: 0 }
    );
    assert_eq!(state(s, held).await, SendState::Held);

    let admin = actor(f.admin, "admin@example.org");
    let all = s
        .release_all_breaker_holds(&admin, &settings())
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let (send, outcome) = all.iter().find(|(id, _)| *id == held).unwrap();
    assert_eq!(*send, held);
    // The approval given before still counts: the breaker was all that held it.
    assert!(
        matches!(outcome, BreakerRelease::Released { .. }),
        "{outcome:?}"
    );
    assert!(all
        .iter()
        .all(|(_, o)| matches!(o, BreakerRelease::Released { .. })));

    // A fresh one: lifted, it waits for the press office, and their approval releases it
    // although the organisation is still above its limit.
    let (_, next) = submit(s, f.chair, "presse").await;
    let outcome = s
        .release_breaker_hold(next, &admin, &settings())
        .await
        .unwrap();
    let BreakerRelease::StillHeld {
        approvals_needed,
        reasons,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(*approvals_needed, 1);
    assert_eq!(reasons[0].code(), "approval.required");
    let waiting = s.held_send(next).await.unwrap().unwrap();
    assert_eq!(waiting.approvals_needed, 1);
    assert!(waiting
        .reasons
        .iter()
        .all(|r| r.code() != "org.circuit_breaker"));
    assert!(s.request_approvals(&settings()).await.unwrap() >= 1);
    assert!(s
        .notifications_to("press@example.org")
        .await
        .unwrap()
        .iter()
        .any(|n| n.0 == "approval.requested" && n.2.contains(&format!("/held/{next}"))));
    let approved = s
        .approve_send(next, &press, None, None, &settings())
        .await
        .unwrap();
    assert!(
        matches!(approved, ApprovalOutcome::Released { .. }),
        "{approved:?}"
    );
}

#[tokio::test]
async fn an_admin_refuses_a_breaker_hold_with_a_reason_and_others_may_not() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let f = fixture(s).await;
    let admin = actor(f.admin, "admin@example.org");
    // Before the breaker trips: a hold that is the approvers' to decide, not the admin's.
    let (decision, approval) = submit(s, f.chair, "presse").await;
    assert_eq!(decision.codes(), ["approval.required"]);
    assert_eq!(
        s.release_breaker_hold(approval, &admin, &settings())
            .await
            .unwrap(),
        BreakerRelease::NotBreakerHold
    );
    let not_theirs = s
        .reject_send(approval, &admin, "nein", &settings())
        .await
        .unwrap();
    assert_eq!(
        not_theirs,
        StopOutcome::NotFound,
        "not asked: answered as for a send that does not exist"
    );

    let held = tripped(s, &f).await;
    let outsider = member(s, "Outsider", f.org.ott).await;
    let refused = s
        .reject_send(
            held,
            &actor(outsider, "outsider@example.org"),
            "nein",
            &settings(),
        )
        .await
        .unwrap();
    assert_eq!(refused, StopOutcome::NotFound);
    assert_eq!(state(s, held).await, SendState::Held);

    assert_eq!(
        s.reject_send(held, &admin, "Spamwelle, bitte morgen", &settings())
            .await
            .unwrap(),
        StopOutcome::Stopped
    );
    assert_eq!(state(s, held).await, SendState::Rejected);
    let told = s.notifications_to("chair@example.org").await.unwrap();
    let rejected: Vec<_> = told
        .iter()
        .filter(|n| n.0 == "submission.rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{told:?}");
    assert!(
        rejected[0].2.contains("Spamwelle, bitte morgen"),
        "{}",
        rejected[0].2
    );
    assert_eq!(
        s.release_breaker_hold(held, &admin, &settings())
            .await
            .unwrap(),
        BreakerRelease::NotHeld {
            state: SendState::Rejected.into()
        }
    );
    let submission = s.send_record(held).await.unwrap().unwrap().submission_id;
    let trail = s.audit_of_submission(submission).await.unwrap();
    let rejection = trail
        .iter()
        .find(|e| e.action == "approval.rejected")
        .expect("audited");
    assert_eq!(rejection.actor_member_id, Some(f.admin));
}

#[tokio::test]
async fn a_breaker_hold_whose_list_was_repointed_is_refused_when_the_admin_releases_it() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let f = fixture(s).await;
    // Scoped to the district, so that Rahlstedt (as large as Oldenfelde) is in scope: the
    // repointed list is refused for its new definition alone, not for its scope or size.
    let list = s
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    let mut district = list.definition();
    district.scope_unit_id = f.org.wa;
    s.edit_list(list.id, &district, &OrgLimits::default())
        .await
        .unwrap();
    verteiler_store::testing::age_definition_change(s, list.id, 60_000)
        .await
        .unwrap();
    role(s, f.chair, f.org.wa, RoleFunction::Chair).await;
    for n in 0..5 {
        member(s, &format!("Rah{n}"), f.org.rah).await;
    }
    let held = tripped(s, &f).await;
    s.set_audience_target(list.id, f.org.rah, false)
        .await
        .unwrap();
    let outcome = s
        .release_breaker_hold(held, &actor(f.admin, "admin@example.org"), &settings())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        BreakerRelease::Rejected {
            reasons: vec![Reason::AudienceRedefined {
                audience: "oldenfelde".into()
            }]
        }
    );
    assert_eq!(state(s, held).await, SendState::Rejected);
    assert_eq!(
        s.expand_send(held, 100, &checks()).await.unwrap(),
        Expansion::NotScheduled,
        "nothing reaches Rahlstedt"
    );
    assert!(s
        .notifications_to("chair@example.org")
        .await
        .unwrap()
        .iter()
        .any(|(kind, _, body)| kind == "submission.rejected"
            && body.contains("wurde geändert, nachdem diese Nachricht eingereicht worden war")));
}
