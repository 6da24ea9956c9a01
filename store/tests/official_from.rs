//! Official sender addresses: a `From:` that a list carries is good on that list, for its
//! senders by role, and refused on every other list of the same submission; a member's own
//! address is never a list's. Decided through the intake path SMTP and the portal share. Runs
//! on SQLite and, with VERTEILER_TEST_POSTGRES_URL, PostgreSQL.

mod common;

use common::*;
use verteiler_policies::{
    ContentHash, Decision, FromAddress, MessageFacts, OrgLimits, Reason, RoleFunction,
};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{ApprovalSettings, NewAudience, Store};

const BOARD: &str = "vorstand@oldenfelde.example";

fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits::default(),
        undo_window_secs: 120,
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}

fn message() -> MessageFacts {
    MessageFacts {
        size_bytes: 2_000,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::from_bytes([9; 32]),
    }
}

struct Branch {
    org: Org,
    chair: i64,
}

/// Oldenfelde with its chair and four members; two lists the chair writes to: `oldenfelde`
/// (official address `sender_address`) and `mv-oldenfelde` (none).
async fn branch(s: &Store, sender_address: &str) -> Branch {
    let org = build_org(s).await;
    let chair = member(s, "Chair", org.old).await;
    role(s, chair, org.old, RoleFunction::Chair).await;
    for n in 0..4 {
        member(s, &format!("Old{n}"), org.old).await;
    }
    let mut list =
        NewAudience::structural(slug("oldenfelde"), "Distrikt Oldenfelde", org.old, false);
    list.sender_address = Some(sender_address.into());
    s.create_audience(&list).await.unwrap();
    let meeting = NewAudience::structural(slug("mv-oldenfelde"), "MV Oldenfelde", org.old, false);
    s.create_audience(&meeting).await.unwrap();
    Branch { org, chair }
}

/// The decisions for `addresses` of a message from `from` by `sender`, in order.
async fn decide(s: &Store, sender: i64, from: &str, addresses: &[&str]) -> Vec<Decision> {
    let addresses: Vec<String> = addresses
        .iter()
        .map(|a| format!("{a}@lists.example.org"))
        .collect();
    s.decide_addresses(sender, from, &addresses, &message(), &settings())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.decision)
        .collect()
}

#[tokio::test]
async fn an_official_address_goes_to_its_own_list_and_is_refused_on_the_others_of_the_submission() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s, BOARD).await;
    assert!(s.may_send_as(b.chair, BOARD).await.unwrap());

    let decided = decide(s, b.chair, BOARD, &["oldenfelde", "mv-oldenfelde"]).await;
    assert!(decided[0].is_release(), "{:?}", decided[0]);
    assert_eq!(
        decided[1],
        Decision::Reject {
            reasons: vec![Reason::FromOtherList {
                from: BOARD.into(),
                lists: vec!["Distrikt Oldenfelde".into()],
            }]
        }
    );
    // Written differently, it is the same address.
    let decided = decide(
        s,
        b.chair,
        "Vorstand@Oldenfelde.example",
        &["mv-oldenfelde"],
    )
    .await;
    assert_eq!(decided[0].codes(), ["from.other_list"]);
    // The chair's own address goes to both.
    let own = decide(
        s,
        b.chair,
        "chair@example.org",
        &["oldenfelde", "mv-oldenfelde"],
    )
    .await;
    assert!(own.iter().all(Decision::is_release), "{own:?}");
}

#[tokio::test]
async fn only_senders_by_role_write_as_a_lists_official_address() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let b = branch(s, BOARD).await;
    let rahlstedt = member(s, "Rahlstedt", b.org.rah).await;
    role(s, rahlstedt, b.org.rah, RoleFunction::Chair).await;
    assert!(!s.may_send_as(rahlstedt, BOARD).await.unwrap());
    let decided = decide(s, rahlstedt, BOARD, &["oldenfelde"]).await;
    assert!(
        decided[0].has_reason("sender.not_authorised"),
        "{decided:?}"
    );
    assert!(decided[0].has_reason("from.other_list"), "{decided:?}");

    // A switched-off list lends its address to nobody.
    let list = s
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    s.set_audience_active(list.id, false).await.unwrap();
    assert!(!s.may_send_as(b.chair, BOARD).await.unwrap());
}

#[tokio::test]
async fn a_members_own_address_set_as_a_lists_sender_address_stays_that_members() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    // Old0 is a member of Oldenfelde; the list's "official" address is hers.
    let b = branch(s, "old0@example.org").await;
    assert!(!s.may_send_as(b.chair, "old0@example.org").await.unwrap());
    let decided = decide(s, b.chair, "old0@example.org", &["oldenfelde"]).await;
    assert_eq!(
        decided[0],
        Decision::Reject {
            reasons: vec![Reason::FromNotYours {
                from: "old0@example.org".into()
            }]
        }
    );
    // Also when the person has left, and whatever case the list wrote it in.
    let old0 = s
        .member_id_by_email(&verteiler_policies::EmailAddress::parse("old0@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    s.set_member_left(old0).await.unwrap();
    assert!(!s.may_send_as(b.chair, "OLD0@example.org").await.unwrap());
    let facts = s
        .gather_facts(
            &verteiler_store::Submission {
                sender_member_id: b.chair,
                audience_address: "oldenfelde",
                channel: verteiler_policies::Channel::Email,
                message: message(),
                from: Some("OLD0@example.org"),
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    assert_eq!(
        facts.from_address,
        FromAddress::Foreign {
            address: "OLD0@example.org".into()
        }
    );
}
