//! The audiences a member may send to, decided by the engine's rule, and their size by channel
//! (figures only).

mod common;

use common::*;
use verteiler_policies::{ChannelPreference, RoleFunction};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{ChannelCounts, NewRole};

#[tokio::test]
async fn each_chair_finds_the_lists_of_their_own_scope_and_no_others() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair_old = member(s, "ChairOld", org.old).await;
    role(s, chair_old, org.old, RoleFunction::Chair).await;
    let chair_ott = member(s, "ChairOtt", org.ott).await;
    role(s, chair_ott, org.ott, RoleFunction::Chair).await;
    let district = member(s, "District", org.wa).await;
    s.grant_role(NewRole {
        member_id: district,
        unit_id: org.wa,
        function: RoleFunction::Chair,
        covers_subtree: true,
    })
    .await
    .unwrap();
    let plain = member(s, "Plain", org.old).await;
    let old = structural(s, "oldenfelde", org.old, false).await;
    let rah = structural(s, "rahlstedt", org.rah, false).await;
    let ott = structural(s, "ottensen", org.ott, false).await;

    let names = |list: Vec<verteiler_store::SendableAudience>| {
        list.into_iter()
            .map(|a| (a.audience.slug.as_str().to_string(), a.recipients))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.sendable_audiences(chair_old).await.unwrap()),
        [("oldenfelde".to_string(), 2)],
        "the branch chair: their branch list, counted"
    );
    assert_eq!(
        names(s.sendable_audiences(chair_ott).await.unwrap()),
        [("ottensen".to_string(), 1)]
    );
    assert_eq!(
        names(s.sendable_audiences(district).await.unwrap()),
        [("oldenfelde".to_string(), 2), ("rahlstedt".to_string(), 0)],
        "a district chair over the subtree: every branch list below"
    );
    assert!(s.sendable_audiences(plain).await.unwrap().is_empty());

    assert!(s
        .sendable_audience(chair_old, &old.slug)
        .await
        .unwrap()
        .is_some());
    assert!(
        s.sendable_audience(chair_old, &ott.slug)
            .await
            .unwrap()
            .is_none(),
        "another branch's list is not the chair's to see"
    );
    assert!(s
        .sendable_audience(plain, &rah.slug)
        .await
        .unwrap()
        .is_none());
    s.set_audience_active(old.id, false).await.unwrap();
    assert!(
        s.sendable_audience(chair_old, &old.slug)
            .await
            .unwrap()
            .is_none(),
        "a deactivated list is offered to nobody"
    );
}

#[tokio::test]
async fn an_audience_is_counted_by_the_channel_each_member_chose() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    let post = member(s, "Post", org.old).await;
    let none = member(s, "None", org.old).await;
    let sms = member(s, "Sms", org.old).await;
    let list = structural(s, "oldenfelde", org.old, false).await;
    let choose = |m, c| s.set_channel_preference(m, list.category, c);
    assert!(choose(post, ChannelPreference::Post).await.unwrap());
    assert!(
        choose(none, ChannelPreference::None).await.unwrap(),
        "a branch list's mail may be declined"
    );
    // SMS chosen without a verified number: reached by email instead, not left out.
    assert!(choose(sms, ChannelPreference::Sms).await.unwrap());

    let counts = s.channel_counts(&list).await.unwrap();
    assert_eq!(
        counts,
        ChannelCounts {
            email: 2,
            sms: 0,
            post: 1,
            declined: 1,
            no_address: 0,
            ..ChannelCounts::default()
        }
    );
}
