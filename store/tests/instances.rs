//! Several `serve` processes on one database: claims carry the instance's name, a process
//! that starts again under its name takes its dead predecessor's unfinished claims back at
//! once, a send's expansion is claimed by one instance at a time, and two expanders racing
//! on one send still queue every batch once.

mod common;

use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, Attempt, NewMember, Reclaimed, Store, StoreError};

/// A branch list of `members` (its chair included), `unreachable` more without any address.
async fn setup(s: &Store, members: usize, unreachable: usize) -> (i64, i64) {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 1..members {
        member(s, &format!("M{n}"), org.old).await;
    }
    for n in 0..unreachable {
        s.create_member(&NewMember {
            external_id: Some(format!("X-U{n}")),
            first_name: format!("U{n}"),
            last_name: "Test".into(),
            unit_id: org.old,
            email: None,
        })
        .await
        .unwrap();
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    (chair, list.id)
}

#[tokio::test]
async fn a_restarted_instance_takes_back_its_own_unfinished_claims_only() {
    let db = TestDatabase::new().await;
    let (a, b) = (db.store.as_instance("a"), db.store.as_instance("b"));
    let (chair, list) = setup(&a, 6, 0).await;
    let send = released_send(&a, chair, list, 6).await;
    while !matches!(
        a.expand_send(send, 100, &checks()).await.unwrap(),
        verteiler_store::Expansion::Done { .. }
    ) {}
    let now = now_ms();
    let by_a = a.claim_deliveries(now, 300_000, 3).await.unwrap();
    let by_b = b.claim_deliveries(now, 300_000, 2).await.unwrap();
    assert_eq!((by_a.len(), by_b.len()), (3, 2));
    // One of a's copies has its outcome recorded: it is done, not taken back.
    a.finish_deliveries(&[(by_a[0].id, Attempt::Sent)])
        .await
        .unwrap();
    // "a" was killed; nobody else may claim its copies before their lease runs out.
    assert_eq!(
        b.claim_deliveries(now + 1, 300_000, 10)
            .await
            .unwrap()
            .len(),
        1,
        "only the one unclaimed copy is free"
    );

    let reclaimed = a.reclaim_own_claims().await.unwrap();
    assert_eq!(
        reclaimed,
        Reclaimed {
            copies: 2,
            ..Reclaimed::default()
        }
    );
    let again = a.claim_deliveries(now + 2, 300_000, 10).await.unwrap();
    let mut ids: Vec<i64> = again.iter().map(|d| d.id).collect();
    ids.sort();
    let mut expected: Vec<i64> = by_a[1..].iter().map(|d| d.id).collect();
    expected.sort();
    assert_eq!(ids, expected, "exactly a's unfinished copies come back");
    assert!(again.iter().all(|d| d.attempts == 2));
    // b's claims are b's: a restart of a leaves them alone.
    assert_eq!(b.reclaim_own_claims().await.unwrap().copies, 3);
    assert_eq!(a.reclaim_own_claims().await.unwrap().copies, 2);
}

#[tokio::test]
async fn one_instance_at_a_time_expands_a_send() {
    let db = TestDatabase::new().await;
    let (a, b) = (db.store.as_instance("a"), db.store.as_instance("b"));
    let (chair, list) = setup(&a, 4, 0).await;
    let send = released_send(&a, chair, list, 4).await;
    let now = now_ms();
    let claimed = a.claim_due_sends(now, 60_000, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.send_id).collect::<Vec<_>>(),
        [send]
    );
    assert!(b
        .claim_due_sends(now + 1, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    // Its holder claims it again round after round, renewing the lease.
    assert_eq!(
        a.claim_due_sends(now + 2, 60_000, 10).await.unwrap().len(),
        1
    );
    assert!(b
        .claim_due_sends(now + 60_001, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    // After the lease another instance takes over; a restart of the holder takes it at once.
    assert_eq!(
        b.claim_due_sends(now + 60_003, 60_000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let reclaimed = b.reclaim_own_claims().await.unwrap();
    assert_eq!(reclaimed.expansions, 1);
    assert_eq!(
        a.claim_due_sends(now + 60_004, 60_000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn two_expanders_racing_on_one_send_queue_every_batch_once() {
    let db = TestDatabase::new().await;
    let (a, b) = (db.store.as_instance("a"), db.store.as_instance("b"));
    let (chair, list) = setup(&a, 40, 20).await;
    let send = released_send(&a, chair, list, 60).await;
    let expand = |s: Store| async move {
        let mut batches = 0;
        loop {
            match s.expand_send(send, 3, &checks()).await.unwrap() {
                verteiler_store::Expansion::Progress { .. } => batches += 1,
                verteiler_store::Expansion::Done { .. } => return batches + 1,
                verteiler_store::Expansion::NotScheduled => return batches,
                other => panic!("{other:?}"),
            }
        }
    };
    let (by_a, by_b) = tokio::join!(tokio::spawn(expand(a.clone())), tokio::spawn(expand(b)));
    let written = by_a.unwrap() + by_b.unwrap();
    let totals = a.delivery_totals(send).await.unwrap();
    assert_eq!(
        (totals.queued, totals.unreachable),
        (40, 20),
        "every address queued once, every member without one counted once"
    );
    // Whatever the interleaving, the send holds as many expansion entries as batches written.
    let submission = a.send_record(send).await.unwrap().unwrap().submission_id;
    let entries = a
        .audit_of_submission(submission)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "send.expanded")
        .count();
    assert_eq!(entries, written);
    assert_eq!(
        entries, 21,
        "60 members in 20 full batches of 3, then the empty last one"
    );
}

#[tokio::test]
async fn a_live_instance_name_cannot_be_taken_twice_on_postgres() {
    let db = TestDatabase::new().await;
    let a = db.store.as_instance("a");
    let held = a.take_instance().await.unwrap();
    assert_eq!(held.name(), "a");
    let second = a.take_instance().await;
    if db.url.starts_with("postgres") {
        let err = second.unwrap_err();
        assert!(
            matches!(err, StoreError::InstanceTaken(ref n) if n == "a"),
            "{err}"
        );
        assert!(err.to_string().contains("instance.name"), "{err}");
        // Another name is free; the first is free again once its holder is gone.
        db.store.as_instance("b").take_instance().await.unwrap();
        drop(held);
        let mut retaken = None;
        for _ in 0..50 {
            if let Ok(lock) = a.take_instance().await {
                retaken = Some(lock);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut retaken = retaken.expect("the name is free once its holder's connection ended");
        retaken.keep(&a).await.unwrap();
    } else {
        // SQLite serves one process per file: there is no second process to keep out.
        second.unwrap();
    }
}
