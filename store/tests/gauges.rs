//! The figures `/metrics` reads at scrape time (`Store::gauges`): the queue by stage and the
//! age of its oldest copy, sends by state, the kill switch and the pool. Runs on SQLite and,
//! with VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, Attempt, Expansion};

#[tokio::test]
async fn an_empty_store_has_nothing_waiting() {
    let db = TestDatabase::new().await;
    let g = db.store.gauges().await.unwrap();
    assert_eq!(g.copies_due + g.copies_deferred + g.copies_in_flight, 0);
    assert_eq!((g.oldest_copy_age_ms, g.oldest_held_age_ms), (0, 0));
    assert_eq!((g.sends_held, g.breaker_holds, g.texts_waiting), (0, 0, 0));
    assert!(!g.delivery_paused);
    assert!(g.pool_size >= 1 && g.pool_idle <= g.pool_size, "{g:?}");
}

#[tokio::test]
async fn the_queue_is_counted_by_stage_and_the_kill_switch_shows() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..3 {
        member(s, &format!("M{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    let send = released_send(s, chair, list.id, 4).await;
    let g = s.gauges().await.unwrap();
    assert_eq!(g.copies_due, 0, "not expanded yet: {g:?}");
    assert!(g.sends_scheduled + g.sends_sending >= 1, "{g:?}");

    assert!(matches!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::Done { .. }
    ));
    let g = s.gauges().await.unwrap();
    assert_eq!(
        (g.copies_due, g.copies_deferred, g.copies_in_flight),
        (4, 0, 0)
    );
    assert!(g.oldest_copy_age_ms >= 0);

    // Two claimed: in flight; one of them deferred, one sent.
    let claimed = s.claim_deliveries(now_ms(), 60_000, 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let g = s.gauges().await.unwrap();
    assert_eq!(
        (g.copies_due, g.copies_deferred, g.copies_in_flight),
        (2, 0, 2)
    );
    let retry = Attempt::Retry {
        at: now_ms() + 3_600_000,
        error: "451 4.7.1 later".into(),
    };
    s.finish_deliveries(&[(claimed[0].id, retry), (claimed[1].id, Attempt::Sent)])
        .await
        .unwrap();
    let g = s.gauges().await.unwrap();
    assert_eq!(
        (g.copies_due, g.copies_deferred, g.copies_in_flight),
        (2, 1, 0)
    );

    s.pause_delivery("metrics test", "operator").await.unwrap();
    assert!(s.gauges().await.unwrap().delivery_paused);
    s.resume_delivery("operator").await.unwrap();
    assert!(!s.gauges().await.unwrap().delivery_paused);
}
