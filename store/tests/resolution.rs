//! Audience resolution on the configured test database (SQLite, or PostgreSQL when
//! `VERTEILER_TEST_POSTGRES_URL` is set).

mod common;

use common::*;
use futures::TryStreamExt;
use verteiler_policies::{AudienceKind, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Audience, NewAudience, Readiness, Store};

async fn names(store: &Store, audience: &Audience) -> Vec<String> {
    let batches: Vec<_> = store.resolve(audience).try_collect().await.unwrap();
    let mut names: Vec<String> = batches.into_iter().flatten().map(|r| r.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_fresh_database_is_migrated_and_ready() {
    let db = TestDatabase::new().await;
    assert_eq!(db.store.readiness().await, Readiness::Ready);
    // Migrating twice is harmless.
    db.store.migrate().await.unwrap();
    let counts = db.store.directory_counts().await.unwrap();
    assert_eq!((counts.units, counts.members_active), (0, 0));
}

#[tokio::test]
async fn structural_audience_with_subunits_reaches_every_member_below_once() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    member(s, "Bernd", org.rah).await;
    member(s, "Carla", org.ott).await;
    // Anna belongs to both branches of the district: she must still appear once.
    s.add_membership(anna, org.rah).await.unwrap();

    let district = structural(s, "kreis-wandsbek", org.wa, true).await;
    assert_eq!(names(s, &district).await, ["Anna Test", "Bernd Test"]);
    assert_eq!(s.count(&district).await.unwrap(), 2);
    assert_eq!(s.count_outside_scope(&district).await.unwrap(), 0);

    let district_only = structural(s, "kreis-wandsbek-vorstand", org.wa, false).await;
    assert!(
        names(s, &district_only).await.is_empty(),
        "no member belongs to the district itself"
    );
}

#[tokio::test]
async fn recipients_carry_their_contact_data() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let batch = s.resolve_batch(&list, 0, 10).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].member_id, Some(anna));
    assert_eq!(batch[0].email.as_deref(), Some("anna@example.org"));
    assert_eq!(batch[0].phone, None);
}

#[tokio::test]
async fn a_deactivated_unit_removes_itself_and_its_subtree_and_never_widens() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    member(s, "Anna", org.old).await;
    member(s, "Bernd", org.rah).await;
    member(s, "Carla", org.ott).await;
    let state = structural(s, "hamburg", org.hh, true).await;
    let branch = structural(s, "oldenfelde", org.old, false).await;

    s.set_unit_active(org.wa, false).await.unwrap();
    assert_eq!(
        names(s, &state).await,
        ["Carla Test"],
        "the deactivated district's subtree is gone"
    );
    assert_eq!(
        s.count(&branch).await.unwrap(),
        0,
        "a branch below a deactivated district is still reachable only through itself"
    );

    s.set_unit_active(org.old, false).await.unwrap();
    assert_eq!(
        s.count(&branch).await.unwrap(),
        0,
        "a deactivated target resolves to nobody, not to more"
    );
}

#[tokio::test]
async fn members_who_left_are_not_recipients() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    member(s, "Bernd", org.old).await;
    s.set_member_left(anna).await.unwrap();
    let list = structural(s, "oldenfelde", org.old, false).await;
    assert_eq!(names(s, &list).await, ["Bernd Test"]);
}

#[tokio::test]
async fn functional_audience_reaches_role_holders_in_the_subtree() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let bernd = member(s, "Bernd", org.rah).await;
    let carla = member(s, "Carla", org.ott).await;
    member(s, "Dora", org.old).await;
    role(s, anna, org.old, RoleFunction::Chair).await;
    role(s, bernd, org.rah, RoleFunction::Chair).await;
    role(s, bernd, org.rah, RoleFunction::Board).await;
    role(s, carla, org.ott, RoleFunction::Chair).await;

    let mut chairs =
        NewAudience::structural(slug("vorsitzende-wandsbek"), "Vorsitzende", org.wa, true);
    chairs.kind = AudienceKind::Functional;
    chairs.role_function = Some(RoleFunction::Chair);
    s.create_audience(&chairs).await.unwrap();
    let chairs = s
        .audience_by_slug(&slug("vorsitzende-wandsbek"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(names(s, &chairs).await, ["Anna Test", "Bernd Test"]);
    assert_eq!(s.count_outside_scope(&chairs).await.unwrap(), 0);
}

#[tokio::test]
async fn a_target_outside_the_declared_scope_is_counted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    member(s, "Anna", org.old).await;
    member(s, "Bernd", org.rah).await;
    member(s, "Carla", org.ott).await;
    let branch = structural(s, "oldenfelde", org.old, true).await;
    // The silent-broadening incident: the target is repointed to the whole state.
    s.set_audience_target(branch.id, org.hh, true)
        .await
        .unwrap();
    let broken = s
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.count(&broken).await.unwrap(), 3);
    assert_eq!(s.count_outside_scope(&broken).await.unwrap(), 2);
}

#[tokio::test]
async fn topic_lists_reach_confirmed_subscribers_only() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let carla = member(s, "Carla", org.ott).await;
    member(s, "Bernd", org.rah).await;
    let mut topic = NewAudience::structural(slug("klima"), "AG Klima", org.hh, true);
    topic.kind = AudienceKind::Topic;
    let id = s.create_audience(&topic).await.unwrap();
    s.subscribe_confirmed(id, anna, "t1").await.unwrap();
    s.subscribe_confirmed(id, carla, "t2").await.unwrap();
    s.set_member_left(carla).await.unwrap();
    let topic = s.audience_by_slug(&slug("klima")).await.unwrap().unwrap();
    assert_eq!(names(s, &topic).await, ["Anna Test"]);
    assert_eq!(s.count(&topic).await.unwrap(), 1);
    assert_eq!(s.count_outside_scope(&topic).await.unwrap(), 0);
}

#[tokio::test]
async fn resolution_streams_in_batches_in_member_order() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    for i in 0..25 {
        member(s, &format!("M{i:02}"), org.old).await;
    }
    let list = structural(s, "oldenfelde", org.old, false).await;
    let first = s.resolve_batch(&list, 0, 10).await.unwrap();
    let second = s
        .resolve_batch(&list, first.last().unwrap().cursor, 10)
        .await
        .unwrap();
    let third = s
        .resolve_batch(&list, second.last().unwrap().cursor, 10)
        .await
        .unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (10, 10, 5));
    let ids: Vec<i64> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|r| r.cursor)
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "keyset order without repeats"
    );
}

#[tokio::test]
async fn unit_path_runs_from_the_root() {
    let db = TestDatabase::new().await;
    let org = build_org(&db.store).await;
    assert_eq!(
        db.store.unit_path(org.old).await.unwrap(),
        vec![org.hh, org.wa, org.old]
    );
}
