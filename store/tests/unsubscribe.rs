//! Leaving a list by the token of a delivered copy: structural and functional lists record an
//! opt-out that resolution honours, topic lists end the subscription, statutory mail stays.

mod common;

use common::*;
use futures::TryStreamExt;
use verteiler_policies::{AudienceKind, Category, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, Audience, NewAudience, Store, UnsubscribeOutcome, UnsubscribePreview,
};

/// Sends to `audience` as `sender`, expands the send and claims its deliveries: the tokens
/// the copies carry, by address.
async fn deliver(s: &Store, sender: i64, audience: &Audience) -> Vec<(String, String)> {
    let recipients = s.count(audience).await.unwrap();
    let send = released_send(s, sender, audience.id, recipients).await;
    s.expand_send(send, 1_000, &common::checks()).await.unwrap();
    let mut tokens: Vec<(String, String)> = s
        .claim_deliveries(now_ms(), 60_000, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.address, d.token))
        .collect();
    tokens.sort();
    assert_eq!(tokens.len() as u64, recipients);
    tokens
}

fn token_of<'a>(tokens: &'a [(String, String)], address: &str) -> &'a str {
    &tokens.iter().find(|(a, _)| a == address).unwrap().1
}

async fn names(s: &Store, audience: &Audience) -> Vec<String> {
    let batch = s.resolve_batch(audience, 0, 100).await.unwrap();
    let streamed: Vec<String> = s
        .resolve(audience)
        .try_concat()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    let names: Vec<String> = batch.into_iter().map(|r| r.name).collect();
    assert_eq!(names, streamed, "batches and the stream agree");
    assert_eq!(
        s.count(audience).await.unwrap(),
        names.len() as u64,
        "the count and the expansion agree"
    );
    names
}

#[tokio::test]
async fn leaving_a_branch_list_takes_the_member_out_of_count_and_resolution() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    member(s, "Bernd", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let wider = structural(s, "wandsbek", org.wa, true).await;
    let tokens = deliver(s, chair, &list).await;
    let anna = token_of(&tokens, "anna@example.org");

    assert_eq!(
        s.unsubscribe_preview(anna).await.unwrap(),
        Some(UnsubscribePreview {
            audience_name: "oldenfelde".into(),
            statutory: false,
            already_unsubscribed: false,
        })
    );
    assert_eq!(
        s.unsubscribe_by_token(anna).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed {
            audience_name: "oldenfelde".into()
        }
    );
    assert_eq!(names(s, &list).await, ["Chair Test", "Bernd Test"]);
    assert_eq!(
        names(s, &wider).await.len(),
        3,
        "leaving one list leaves no other"
    );
    assert!(
        s.unsubscribe_preview(anna)
            .await
            .unwrap()
            .unwrap()
            .already_unsubscribed
    );

    // The next send to the list has no copy for her.
    let next = deliver(s, chair, &list).await;
    assert!(next.iter().all(|(a, _)| a != "anna@example.org"));
}

#[tokio::test]
async fn a_second_click_changes_nothing_and_says_so() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let tokens = deliver(s, chair, &list).await;
    let anna = token_of(&tokens, "anna@example.org");

    assert!(matches!(
        s.unsubscribe_by_token(anna).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed { .. }
    ));
    for _ in 0..2 {
        assert_eq!(
            s.unsubscribe_by_token(anna).await.unwrap(),
            UnsubscribeOutcome::AlreadyUnsubscribed {
                audience_name: "oldenfelde".into()
            }
        );
    }
    assert_eq!(names(s, &list).await, ["Chair Test"]);
}

#[tokio::test]
async fn concurrent_clicks_unsubscribe_exactly_once() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let tokens = deliver(s, chair, &list).await;
    let anna = token_of(&tokens, "anna@example.org").to_string();

    let clicks = (0..4).map(|_| {
        let (s, anna) = (s.clone(), anna.clone());
        tokio::spawn(async move { s.unsubscribe_by_token(&anna).await })
    });
    let mut unsubscribed = 0;
    for click in futures::future::join_all(clicks).await {
        match click.unwrap().unwrap() {
            UnsubscribeOutcome::Unsubscribed { .. } => unsubscribed += 1,
            UnsubscribeOutcome::AlreadyUnsubscribed { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        unsubscribed, 1,
        "a scanner's click and the person's: one opt-out"
    );
    assert_eq!(names(s, &list).await, ["Chair Test"]);
}

#[tokio::test]
async fn an_unknown_token_changes_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    deliver(s, chair, &list).await;

    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        s.unsubscribe_by_token(unknown).await.unwrap(),
        UnsubscribeOutcome::UnknownToken
    );
    assert_eq!(s.unsubscribe_preview(unknown).await.unwrap(), None);
    assert_eq!(
        s.unsubscribe_by_token("").await.unwrap(),
        UnsubscribeOutcome::UnknownToken
    );
    assert_eq!(names(s, &list).await, ["Chair Test"]);
}

#[tokio::test]
async fn statutory_mail_cannot_be_left_by_a_click() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    let mut new = NewAudience::structural(
        slug("mv-oldenfelde"),
        "Mitgliederversammlung",
        org.old,
        false,
    );
    new.category = Category::Statutory;
    s.create_audience(&new).await.unwrap();
    let list = s
        .audience_by_slug(&slug("mv-oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    let tokens = deliver(s, chair, &list).await;
    let anna = token_of(&tokens, "anna@example.org");

    assert_eq!(
        s.unsubscribe_preview(anna).await.unwrap(),
        Some(UnsubscribePreview {
            audience_name: "Mitgliederversammlung".into(),
            statutory: true,
            already_unsubscribed: false,
        })
    );
    for _ in 0..2 {
        assert_eq!(
            s.unsubscribe_by_token(anna).await.unwrap(),
            UnsubscribeOutcome::Statutory {
                audience_name: "Mitgliederversammlung".into()
            }
        );
    }
    assert_eq!(names(s, &list).await, ["Chair Test", "Anna Test"]);
}

#[tokio::test]
async fn leaving_a_topic_list_ends_the_subscription() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.hh).await;
    role(s, chair, org.hh, RoleFunction::Chair).await;
    let anna = member(s, "Anna", org.old).await;
    let carla = member(s, "Carla", org.ott).await;
    let mut topic = NewAudience::structural(slug("klima"), "AG Klima", org.hh, true);
    topic.kind = AudienceKind::Topic;
    let id = s.create_audience(&topic).await.unwrap();
    s.subscribe_confirmed(id, anna, "sub-anna").await.unwrap();
    s.subscribe_confirmed(id, carla, "sub-carla").await.unwrap();
    let topic = s.audience_by_slug(&slug("klima")).await.unwrap().unwrap();
    let tokens = deliver(s, chair, &topic).await;
    let anna_token = token_of(&tokens, "anna@example.org");

    assert_eq!(
        s.unsubscribe_by_token(anna_token).await.unwrap(),
        UnsubscribeOutcome::Unsubscribed {
            audience_name: "AG Klima".into()
        }
    );
    assert_eq!(names(s, &topic).await, ["Carla Test"]);
    assert!(
        s.unsubscribe_preview(anna_token)
            .await
            .unwrap()
            .unwrap()
            .already_unsubscribed
    );
    assert_eq!(
        s.unsubscribe_by_token(anna_token).await.unwrap(),
        UnsubscribeOutcome::AlreadyUnsubscribed {
            audience_name: "AG Klima".into()
        }
    );
}

#[tokio::test]
async fn leaving_a_functional_list_takes_the_role_holder_out() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let sender = member(s, "Sender", org.wa).await;
    role(s, sender, org.wa, RoleFunction::Chair).await;
    let old_chair = member(s, "Olga", org.old).await;
    let rah_chair = member(s, "Rita", org.rah).await;
    role(s, old_chair, org.old, RoleFunction::Chair).await;
    role(s, rah_chair, org.rah, RoleFunction::Chair).await;
    let mut chairs = NewAudience::structural(slug("vorsitzende-wa"), "Vorsitzende", org.wa, true);
    chairs.kind = AudienceKind::Functional;
    chairs.role_function = Some(RoleFunction::Chair);
    s.create_audience(&chairs).await.unwrap();
    let chairs = s
        .audience_by_slug(&slug("vorsitzende-wa"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(names(s, &chairs).await.len(), 3);
    let tokens = deliver(s, sender, &chairs).await;

    assert!(matches!(
        s.unsubscribe_by_token(token_of(&tokens, "olga@example.org"))
            .await
            .unwrap(),
        UnsubscribeOutcome::Unsubscribed { .. }
    ));
    assert_eq!(names(s, &chairs).await, ["Sender Test", "Rita Test"]);
    assert_eq!(s.count_outside_scope(&chairs).await.unwrap(), 0);
}
