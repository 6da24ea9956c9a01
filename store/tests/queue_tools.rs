//! The operator's queue tools (`verteiler send inspect|requeue|flush|purge`): only deferred
//! copies are retried early, a purged copy is final, audited and never handed out again, and
//! nothing a worker holds or that has its outcome is touched. Runs on SQLite and, with
//! VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Attempt, ClaimedDelivery, DeliveryState, Expansion, Purge, RequeueScope, Store,
};

const LATER: i64 = 3_600_000;

/// A released send to the chair and `others` more members, expanded: its copies' ids, in the
/// order a worker claims them, and the send's id.
async fn expanded_send(s: &Store, others: usize) -> (i64, Vec<ClaimedDelivery>) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..others {
        member(s, &format!("M{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    let send = released_send(s, chair, list.id, others as u64 + 1).await;
    assert!(matches!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::Done { .. }
    ));
    let claimed = s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap();
    assert_eq!(claimed.len(), others + 1);
    (send, claimed)
}

fn retry(error: &str) -> Attempt {
    Attempt::Retry {
        at: now_ms() + LATER,
        error: error.into(),
    }
}

#[tokio::test]
async fn requeue_moves_only_deferred_copies_and_leaves_the_rest() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (send, claimed) = expanded_send(s, 4).await;
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    s.finish_delivery(ids[0], &retry("451 later"))
        .await
        .unwrap();
    s.finish_delivery(ids[1], &retry("421 busy")).await.unwrap();
    s.finish_delivery(ids[2], &Attempt::Sent).await.unwrap();
    s.finish_delivery(
        ids[3],
        &Attempt::Failed {
            error: "550 no such user".into(),
        },
    )
    .await
    .unwrap();
    // ids[4] stays with its worker.
    let before_sent = s.inspect_copy(ids[2]).await.unwrap().unwrap();

    let one = RequeueScope::Copies(vec![ids[0], ids[2], ids[3], ids[4]]);
    assert_eq!(s.requeue_copies(&one, "cli:ops").await.unwrap(), 1);
    let now = now_ms();
    assert!(
        s.inspect_copy(ids[0])
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at
            <= now
    );
    assert!(
        s.inspect_copy(ids[1])
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at
            > now + LATER / 2
    );

    assert_eq!(
        s.requeue_copies(&RequeueScope::Send(send + 1), "cli:ops")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.requeue_copies(&RequeueScope::Send(send), "cli:ops")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.requeue_copies(&RequeueScope::All, "cli:ops")
            .await
            .unwrap(),
        0
    );

    // The copies with an outcome and the held one are as they were.
    let sent = s.inspect_copy(ids[2]).await.unwrap().unwrap();
    assert_eq!(sent.state, DeliveryState::Sent);
    assert_eq!(sent.next_attempt_at, before_sent.next_attempt_at);
    assert_eq!(sent.updated_at, before_sent.updated_at);
    let failed = s.inspect_copy(ids[3]).await.unwrap().unwrap();
    assert_eq!(failed.state, DeliveryState::Failed);
    assert!(s
        .inspect_copy(ids[4])
        .await
        .unwrap()
        .unwrap()
        .leased_at(now_ms()));

    // The two deferred copies are due again; the leased one is not handed out twice.
    let mut again: Vec<i64> = s
        .claim_deliveries(now_ms(), 60_000, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    again.sort();
    assert_eq!(again, vec![ids[0], ids[1]]);
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn flush_retries_every_deferred_copy_of_the_organisation() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, claimed) = expanded_send(s, 2).await;
    for c in &claimed {
        s.finish_delivery(c.id, &retry("451 greylisted"))
            .await
            .unwrap();
    }
    assert!(s
        .claim_deliveries(now_ms(), 60_000, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.requeue_copies(&RequeueScope::All, "cli:ops")
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.claim_deliveries(now_ms(), 60_000, 100)
            .await
            .unwrap()
            .len(),
        3
    );
    let requeued = s
        .last_audit_details("delivery.requeued")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(requeued["copies_requeued"], 3);
}

#[tokio::test]
async fn a_purged_copy_is_final_audited_and_never_handed_out_again() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (send, claimed) = expanded_send(s, 2).await;
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    // Two copies wait for their retry, one stays with its worker.
    s.finish_delivery(ids[0], &retry("451 later"))
        .await
        .unwrap();
    s.finish_delivery(ids[1], &retry("451 later"))
        .await
        .unwrap();

    let outcomes = s
        .purge_copies(&[ids[0], ids[2]], "mailbox gone, stuck for days", "cli:ops")
        .await
        .unwrap();
    assert_eq!(outcomes[0], (ids[0], Purge::Purged));
    assert!(
        matches!(outcomes[1], (id, Purge::Leased { until }) if id == ids[2] && until > now_ms())
    );

    let purged = s.inspect_copy(ids[0]).await.unwrap().unwrap();
    assert_eq!(purged.state, DeliveryState::Cancelled);
    assert_eq!(purged.audit.len(), 1);
    let entry = &purged.audit[0];
    assert_eq!(entry.action, "delivery.purged");
    assert_eq!(entry.actor, "cli:ops");
    assert_eq!(entry.send_id, Some(send));
    assert_eq!(entry.submission_id, Some(purged.submission_id));
    let details = entry.details_json();
    assert_eq!(details["copy_id"], ids[0]);
    assert_eq!(details["send_id"], send);
    assert_eq!(details["reason"], "mailbox gone, stuck for days");
    // The leased copy got no entry and is still the worker's.
    let leased = s.inspect_copy(ids[2]).await.unwrap().unwrap();
    assert_eq!(leased.state, DeliveryState::Queued);
    assert!(leased.audit.is_empty());

    // Requeueing everything hands out the other deferred copy, never the purged one.
    assert_eq!(
        s.requeue_copies(&RequeueScope::All, "cli:ops")
            .await
            .unwrap(),
        1
    );
    let again: Vec<i64> = s
        .claim_deliveries(now_ms() + 2 * LATER, 60_000, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(
        !again.contains(&ids[0]),
        "purged copy handed out: {again:?}"
    );
    assert!(again.contains(&ids[1]));
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_delivered_or_unknown_copy_is_not_purged() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, claimed) = expanded_send(s, 1).await;
    s.finish_delivery(claimed[0].id, &Attempt::Sent)
        .await
        .unwrap();
    s.finish_delivery(
        claimed[1].id,
        &Attempt::Failed {
            error: "550".into(),
        },
    )
    .await
    .unwrap();
    let outcomes = s
        .purge_copies(
            &[claimed[0].id, claimed[1].id, 999_999],
            "why not",
            "cli:ops",
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            (claimed[0].id, Purge::Final(DeliveryState::Sent)),
            (claimed[1].id, Purge::Final(DeliveryState::Failed)),
            (999_999, Purge::NotFound),
        ]
    );
    assert_eq!(
        s.inspect_copy(claimed[0].id).await.unwrap().unwrap().state,
        DeliveryState::Sent
    );
    assert_eq!(s.last_audit_details("delivery.purged").await.unwrap(), None);
}

#[tokio::test]
async fn inspect_shows_attempts_the_last_error_and_bounces() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (send, claimed) = expanded_send(s, 1).await;
    let copy = &claimed[0];
    s.finish_delivery(copy.id, &retry("451 4.2.0 mailbox busy"))
        .await
        .unwrap();
    let deferred = s.inspect_copy(copy.id).await.unwrap().unwrap();
    assert_eq!(
        deferred.last_error.as_deref(),
        Some("451 4.2.0 mailbox busy")
    );
    assert_eq!(deferred.attempts, 1);
    s.record_bounce(&copy.token, false, Some("4.2.2"), "mailbox full", 3)
        .await
        .unwrap()
        .unwrap();

    let seen = s.inspect_copy(copy.id).await.unwrap().unwrap();
    assert_eq!(seen.send_id, send);
    assert_eq!(seen.list_address, "list@lists.example.org");
    assert_eq!(seen.address, copy.address);
    assert!(seen.member_id.is_some());
    assert_eq!(seen.channel, "email");
    assert_eq!(seen.state, DeliveryState::Queued);
    assert_eq!(seen.attempts, 1);
    // A soft bounce report is the newest error.
    assert_eq!(
        seen.last_error.as_deref(),
        Some("soft bounce: mailbox full")
    );
    assert!(seen.next_attempt_at > now_ms());
    assert!(!seen.leased_at(now_ms()));
    assert_eq!(seen.bounces.len(), 1);
    assert_eq!(seen.bounces[0].status.as_deref(), Some("4.2.2"));
    assert!(!seen.bounces[0].hard);
    assert!(s.inspect_copy(999_999).await.unwrap().is_none());
}
