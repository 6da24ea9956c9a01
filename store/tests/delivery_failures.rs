//! Why a send's copies failed, grouped by reason, as `verteiler send show` prints it. Runs on
//! SQLite and, with VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{now_ms, Attempt, Expansion};

const PRIVATE: &str = "MX host mx.intern.test resolves to a private address 10.0.0.1; \
                       set delivery.mx.allow_private_addresses to deliver there";

#[tokio::test]
async fn failed_copies_are_counted_per_reason_and_other_states_are_left_out() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 1..5 {
        member(s, &format!("M{n}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    let send = released_send(s, chair, list.id, 5).await;
    assert!(matches!(
        s.expand_send(send, 100, &checks()).await.unwrap(),
        Expansion::Done { queued: 5 }
    ));
    let claimed = s.claim_deliveries(now_ms(), 60_000, 10).await.unwrap();
    let failed = |error: &str| Attempt::Failed {
        error: error.to_string(),
    };
    let outcomes = [
        failed(PRIVATE),
        failed("mx.example.net [192.0.2.25] answered 550 5.1.1 no such user"),
        failed(PRIVATE),
        Attempt::Sent,
        Attempt::Retry {
            at: now_ms() + 60_000,
            error: "451 later".into(),
        },
    ];
    for (delivery, outcome) in claimed.iter().zip(&outcomes) {
        s.finish_delivery(delivery.id, outcome).await.unwrap();
    }

    assert_eq!(
        s.failure_reasons(send).await.unwrap(),
        vec![
            (PRIVATE.to_string(), 2),
            (
                "mx.example.net [192.0.2.25] answered 550 5.1.1 no such user".to_string(),
                1
            ),
        ]
    );
}
