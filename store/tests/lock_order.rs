//! Transactions that lock a list's row and then append to the audit chain take the chain's
//! head first, in the order the submission writer takes the two: on PostgreSQL, the other
//! order deadlocked under load, aborting a sender's submission (a 451) or an admin's change.
//! Runs on SQLite too, where one writer at a time makes the order moot.

mod common;

use common::{build_org, member, released_send, role};
use verteiler_policies::{OrgLimits, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::NewAudience;

#[tokio::test]
async fn submissions_and_list_changes_on_one_list_at_once_never_deadlock() {
    let db = TestDatabase::new().await;
    let s = db.store.clone();
    let org = build_org(&s).await;
    let chair = member(&s, "Chair", org.old).await;
    role(&s, chair, org.old, RoleFunction::Chair).await;
    let list = s
        .create_list(
            &NewAudience::structural(common::slug("oldenfelde"), "Oldenfelde", org.old, false),
            &OrgLimits::default(),
        )
        .await
        .unwrap();

    let writers = (0..4).map(|_| {
        let s = s.clone();
        tokio::spawn(async move {
            for _ in 0..25 {
                released_send(&s, chair, list, 5).await;
            }
        })
    });
    let editors = (0..2).map(|n| {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..25u64 {
                let mut a = s.audience_by_id(list).await.unwrap().unwrap().definition();
                a.max_recipients = Some(1_000 + i * 2 + n);
                s.edit_list(list, &a, &OrgLimits::default()).await.unwrap();
                s.set_list_active(list, i % 2 == 0).await.unwrap();
            }
        })
    });
    for task in writers.chain(editors).collect::<Vec<_>>() {
        task.await
            .expect("no submission and no list change was aborted");
    }
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}
