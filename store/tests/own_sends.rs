//! A sender's own submissions: found only by their sender, with live totals, stoppable only
//! by their sender and only while they run.

mod common;

use common::*;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Actor, CancelOutcome, Origin, SendState};

fn actor(member_id: i64, label: &str) -> Actor {
    Actor {
        member_id,
        label: label.into(),
        ingress: Origin::Portal,
    }
}

#[tokio::test]
async fn only_the_sender_sees_and_stops_their_send() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair_a = member(s, "ChairA", org.old).await;
    let chair_b = member(s, "ChairB", org.ott).await;
    member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let send = released_send(s, chair_a, list.id, 2).await;
    let submission = s.send_record(send).await.unwrap().unwrap().submission_id;
    // Half the copies queued: delivery has begun.
    s.expand_send(send, 1, &common::checks()).await.unwrap();

    let mine = s.own_submissions(chair_a, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, submission);
    assert_eq!(mine[0].sends[0].audience.as_deref(), Some("oldenfelde"));
    assert!(mine[0].sends[0].running() && mine[0].sends[0].cancellable());
    assert!(s.own_submissions(chair_b, 10).await.unwrap().is_empty());
    assert!(
        s.own_submission(chair_b, submission)
            .await
            .unwrap()
            .is_none(),
        "another chair's submission is not found"
    );
    let own = s
        .own_submission(chair_a, submission)
        .await
        .unwrap()
        .unwrap();
    let totals = s.own_totals(&own).await.unwrap();
    assert_eq!(totals[0].queued, 1);

    assert_eq!(
        s.cancel_own_send(&actor(chair_b, "portal:b"), submission, send)
            .await
            .unwrap(),
        CancelOutcome::NotFound,
        "nobody stops another's send"
    );
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Scheduled
    );
    assert_eq!(
        s.cancel_own_send(&actor(chair_a, "portal:a"), submission + 1, send)
            .await
            .unwrap(),
        CancelOutcome::NotFound,
        "the send must belong to the submission named"
    );

    assert_eq!(
        s.cancel_own_send(&actor(chair_a, "portal:a"), submission, send)
            .await
            .unwrap(),
        CancelOutcome::Cancelled { copies: 1 }
    );
    let own = s
        .own_submission(chair_a, submission)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.sends[0].send.state, SendState::Cancelled);
    assert!(!own.sends[0].running());
    assert_eq!(s.own_totals(&own).await.unwrap()[0].cancelled, 1);
    assert_eq!(
        s.cancel_own_send(&actor(chair_a, "portal:a"), submission, send)
            .await
            .unwrap(),
        CancelOutcome::NotRunning {
            state: SendState::Cancelled
        }
    );
    let audit = s.audit_of_submission(submission).await.unwrap();
    let cancelled = audit
        .iter()
        .find(|e| e.action == "send.cancelled")
        .expect("the stop is audited");
    // By member id: the label may be a name or an address, which the log does not keep.
    assert_eq!(cancelled.actor, format!("portal:member:{chair_a}"));
}
