//! The name a submission's `From:` shows, taken from the directory: the member's name with
//! the unit of the role they send by, or a list's name for its official sender address —
//! never what the sender wrote. Runs on SQLite and, with VERTEILER_TEST_POSTGRES_URL,
//! PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{AudienceKind, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::NewAudience;

const LISTS: &str = "lists.example.org";

fn at(slug: &str) -> Vec<String> {
    vec![format!("{slug}@{LISTS}")]
}

#[tokio::test]
async fn a_chair_is_shown_with_the_unit_of_the_role_they_send_by() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Ole", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    structural(s, "oldenfelde", org.old, false).await;

    let name = s
        .from_display_name(chair, "ole@example.org", &at("oldenfelde"), LISTS)
        .await
        .unwrap();

    assert_eq!(name, "Ole Test (Unit HH-WA-OLD)");
}

#[tokio::test]
async fn an_official_sender_address_is_shown_with_its_lists_name() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let press = member(s, "Renee", org.ott).await;
    role(s, press, org.hh, RoleFunction::PressOffice).await;
    let mut list = NewAudience::structural(slug("presse"), "Pressemitteilungen", org.hh, true);
    list.allowed_sender_functions = vec![RoleFunction::PressOffice];
    list.sender_address = Some("presse@example.org".into());
    s.create_audience(&list).await.unwrap();

    let name = s
        .from_display_name(press, "presse@example.org", &at("presse"), LISTS)
        .await
        .unwrap();

    assert_eq!(name, "Pressemitteilungen");
}

#[tokio::test]
async fn a_subscriber_without_a_sending_role_is_shown_by_name_alone() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let zoe = member(s, "Zoe", org.old).await;
    role(s, zoe, org.rah, RoleFunction::Chair).await;
    let mut topic = NewAudience::structural(slug("klima"), "Themenliste Klima", org.hh, false);
    topic.kind = AudienceKind::Topic;
    topic.subscribers_may_post = true;
    s.create_audience(&topic).await.unwrap();

    let name = s
        .from_display_name(zoe, "zoe@example.org", &at("klima"), LISTS)
        .await
        .unwrap();

    assert_eq!(name, "Zoe Test", "a chair elsewhere is no sender here");
}
