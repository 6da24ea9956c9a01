//! The facts the store gathers, decided by the real engine: the silent-broadening incident
//! reproduced in the database, on SQLite and (with VERTEILER_TEST_POSTGRES_URL) PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{
    decide, Channel, ContentHash, Decision, MessageFacts, OrgLimits, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Store, Submission};

const LIST_DOMAIN: &str = "lists.example.org";

fn message() -> MessageFacts {
    MessageFacts {
        size_bytes: 4_000,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 1,
        content_hash: ContentHash::from_bytes([7; 32]),
    }
}

async fn decide_for(store: &Store, sender: i64, address: &str) -> Decision {
    let submission = Submission {
        sender_member_id: sender,
        audience_address: address,
        channel: Channel::Email,
        message: message(),
        from: None,
    };
    let facts = store.gather_facts(&submission, LIST_DOMAIN).await.unwrap();
    decide(&facts, &OrgLimits::default())
}

/// Oldenfelde's chair, Oldenfelde's list, and members across the state.
async fn setup(store: &Store) -> (Org, i64) {
    let org = build_org(store).await;
    let chair = member(store, "Chair", org.old).await;
    role(store, chair, org.old, RoleFunction::Chair).await;
    for (i, unit) in [org.old, org.old, org.rah, org.ott, org.ott]
        .into_iter()
        .enumerate()
    {
        member(store, &format!("M{i}"), unit).await;
    }
    structural(store, "oldenfelde", org.old, false).await;
    (org, chair)
}

#[tokio::test]
async fn the_chair_may_send_to_the_branch_list() {
    let db = TestDatabase::new().await;
    let (_, chair) = setup(&db.store).await;
    let d = decide_for(&db.store, chair, "oldenfelde@lists.example.org").await;
    assert!(d.is_release(), "{d:?}");
}

#[tokio::test]
async fn incident_1_a_repointed_target_reaching_the_whole_organisation_is_refused_not_widened() {
    let db = TestDatabase::new().await;
    let (org, chair) = setup(&db.store).await;
    let list = db
        .store
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    db.store
        .set_audience_target(list.id, org.hh, true)
        .await
        .unwrap();
    let d = decide_for(&db.store, chair, "oldenfelde@lists.example.org").await;
    assert!(
        d.is_reject() && d.has_reason("audience.out_of_scope"),
        "{d:?}"
    );
}

#[tokio::test]
async fn incident_1_a_deactivated_target_group_is_refused() {
    let db = TestDatabase::new().await;
    let (_, chair) = setup(&db.store).await;
    let list = db
        .store
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    db.store.set_audience_active(list.id, false).await.unwrap();
    let d = decide_for(&db.store, chair, "oldenfelde@lists.example.org").await;
    assert!(d.is_reject() && d.has_reason("audience.inactive"), "{d:?}");
}

#[tokio::test]
async fn a_deactivated_unit_empties_its_list_and_the_send_is_refused() {
    let db = TestDatabase::new().await;
    let (org, chair) = setup(&db.store).await;
    db.store.set_unit_active(org.wa, false).await.unwrap();
    let d = decide_for(&db.store, chair, "oldenfelde@lists.example.org").await;
    assert!(d.is_reject() && d.has_reason("audience.empty"), "{d:?}");
}

#[tokio::test]
async fn an_address_outside_the_list_domain_or_unknown_names_no_audience() {
    let db = TestDatabase::new().await;
    let (_, chair) = setup(&db.store).await;
    for address in [
        "oldenfelde@example.org",
        "unbekannt@lists.example.org",
        "Not A Slug@lists.example.org",
    ] {
        let d = decide_for(&db.store, chair, address).await;
        assert!(
            d.is_reject() && d.has_reason("audience.unknown"),
            "{address}: {d:?}"
        );
    }
}

#[tokio::test]
async fn a_chair_of_another_branch_may_not_send() {
    let db = TestDatabase::new().await;
    let (org, _) = setup(&db.store).await;
    let other = member(&db.store, "Other", org.rah).await;
    role(&db.store, other, org.rah, RoleFunction::Chair).await;
    let d = decide_for(&db.store, other, "oldenfelde@lists.example.org").await;
    assert!(
        d.is_reject() && d.has_reason("sender.not_authorised"),
        "{d:?}"
    );
}
