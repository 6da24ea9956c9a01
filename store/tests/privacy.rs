//! What is kept about people, and for how long: the audit log names members by id and contact
//! values only by keyed hash; an erasure takes the member's messages with them and leaves a
//! chain that still verifies; a message is purged once its sends ended longer ago than the
//! retention period; a process with another installation's key is refused.

mod common;

use common::decided::submitted;
use common::*;
use futures::TryStreamExt;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, ApprovalSetting, AuditEntry, AuditQuery, NewAudience, PortalMail, PrivacyKey, RawState,
    SendState, Store,
};

struct Mail;

impl PortalMail for Mail {
    fn sign_in(&self, token: &str, _: &str) -> (String, String) {
        ("sign in".into(), token.into())
    }
    fn confirm_subscription(&self, token: &str, _: &str, _: &str) -> (String, String) {
        ("confirm".into(), token.into())
    }
    fn verify_email(&self, token: &str, _: &str) -> (String, String) {
        ("verify".into(), token.into())
    }
    fn phone_code(&self, code: &str, _: &str) -> String {
        code.into()
    }
}

const DAY_MS: i64 = 24 * 3_600 * 1000;

async fn entries(s: &Store) -> Vec<AuditEntry> {
    s.audit_entries_since(0).try_collect().await.unwrap()
}

async fn actions_found(s: &Store, person: &str) -> Vec<String> {
    let query = AuditQuery {
        person: Some(person.into()),
        ..AuditQuery::default()
    };
    let found = s.audit_search(&query, 100).await.unwrap();
    found.into_iter().map(|e| e.action).collect()
}

/// Zoraida, chair of the Oldenfelde branch, and its list with one more member.
async fn zoraida(s: &Store) -> (Org, i64) {
    let org = build_org(s).await;
    let zoraida = member(s, "Zoraida", org.old).await;
    role(s, zoraida, org.old, RoleFunction::Chair).await;
    member(s, "Anna", org.old).await;
    structural(s, "oldenfelde", org.old, false).await;
    (org, zoraida)
}

#[tokio::test]
async fn the_audit_log_holds_contact_values_only_as_keyed_hashes() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (_, zoraida) = zoraida(s).await;
    let me = s.acting_as(format!("portal:member:{zoraida}"));
    me.add_email(zoraida, "Zoraida.Privat@example.com", &Mail)
        .await
        .unwrap();
    me.add_phone(zoraida, "0151 23456789", "DE", &Mail)
        .await
        .unwrap();
    me.set_postal_address(zoraida, "Hauptstraße 5", "22359", "Hamburg")
        .await
        .unwrap();
    let raw = b"From: zoraida@example.org\r\nSubject: Einladung\r\n\r\nHallo";
    let to = "oldenfelde@lists.example.org";
    submitted(s, zoraida, "zoraida@example.org", to, "m1@example.org", raw).await;
    // A command given an address as its actor, and a handle acting as one.
    s.pause_delivery("test", "zoraida@example.org")
        .await
        .unwrap();
    s.acting_as("zoraida@example.org")
        .create_app_password(zoraida, "Laptop")
        .await
        .unwrap();

    let log = entries(s).await;
    assert!(log.len() >= 6, "{log:?}");
    for e in &log {
        let text = format!("{} {}", e.actor, e.details).to_lowercase();
        for value in ["zoraida", "23456789", "hauptstra", "22359"] {
            assert!(
                !text.contains(value),
                "entry {} holds {value}: {text}",
                e.seq
            );
        }
    }
    let decided = log
        .iter()
        .find(|e| e.action == "submission.decided")
        .unwrap();
    assert_eq!(decided.actor, format!("smtp:member:{zoraida}"));
    assert_eq!(decided.actor_member_id, Some(zoraida));

    // Whoever holds the key finds the entries about a value, in any notation.
    assert!(actions_found(s, "zoraida.privat@EXAMPLE.com")
        .await
        .contains(&"contact.added".to_string()));
    assert!(actions_found(s, "+49 151 23456789")
        .await
        .contains(&"contact.added".to_string()));
    assert_eq!(
        actions_found(s, "Hauptstraße 5,  22359 Hamburg").await,
        ["contact.postal_set"]
    );
    let by_address = actions_found(s, "zoraida@example.org").await;
    for action in [
        "submission.decided",
        "delivery.paused",
        "credential.created",
    ] {
        assert!(by_address.contains(&action.to_string()), "{by_address:?}");
    }
    // Without the key the hashes say nothing: another key finds none of them.
    let other = s.with_privacy_key(PrivacyKey::random());
    assert!(actions_found(&other, "+49 151 23456789").await.is_empty());
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn an_erasure_takes_the_members_messages_and_the_chain_still_verifies() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, zoraida) = zoraida(s).await;
    let mut presse = NewAudience::structural(slug("presse"), "Presse", org.old, false);
    presse.approval = ApprovalSetting::Always;
    presse.approver_functions = vec![RoleFunction::PressOffice];
    s.create_audience(&presse).await.unwrap();
    let raw = b"From: zoraida@example.org\r\nSubject: Einladung\r\n\r\nGeheimer Text";
    let me = "zoraida@example.org";
    let (running, running_send) = submitted(
        s,
        zoraida,
        me,
        "oldenfelde@lists.example.org",
        "a@example.org",
        raw,
    )
    .await;
    s.expand_send(running_send, 100, &checks()).await.unwrap();
    assert_eq!(s.delivery_totals(running_send).await.unwrap().queued, 2);
    let (held, held_send) = submitted(
        s,
        zoraida,
        me,
        "presse@lists.example.org",
        "b@example.org",
        raw,
    )
    .await;
    assert_eq!(
        s.send_record(held_send).await.unwrap().unwrap().state,
        SendState::Held
    );
    let (refused, _) = submitted(
        s,
        zoraida,
        me,
        "nirgends@lists.example.org",
        "c@example.org",
        raw,
    )
    .await;

    assert!(s.request_deletion(zoraida).await.unwrap());
    assert!(s
        .acting_as("cli:admin")
        .complete_deletion(zoraida)
        .await
        .unwrap());

    for id in [running, held, refused] {
        assert_eq!(s.submission_raw(id).await.unwrap(), Some(Vec::new()));
        assert_eq!(s.submission_sms_text(id).await.unwrap(), None);
        let story = s
            .who_sent(id)
            .await
            .unwrap()
            .expect("the audit log still answers");
        assert_eq!(story.kept, RawState::Erased);
        assert_eq!((story.header_from, story.envelope_from), (None, None));
        assert_eq!(story.person, format!("member {zoraida} (erased)"));
        assert_eq!(story.content_hash, "07".repeat(32), "the hash stays");
    }
    // An erased message is never delivered.
    assert_eq!(
        s.send_record(running_send).await.unwrap().unwrap().state,
        SendState::Cancelled
    );
    let totals = s.delivery_totals(running_send).await.unwrap();
    assert_eq!((totals.queued, totals.cancelled), (0, 2));
    assert_eq!(
        s.send_record(held_send).await.unwrap().unwrap().state,
        SendState::Withdrawn
    );
    let log = entries(s).await;
    let erased = log.iter().find(|e| e.action == "member.erased").unwrap();
    assert_eq!(erased.details_json()["submissions_erased"], 3);
    assert_eq!(erased.details_json()["sends_stopped"], 2);
    assert_eq!(erased.actor, "cli:admin");
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
    // Nothing stored about the message keeps its text.
    for e in &log {
        assert!(!e.details.contains("Geheimer"), "{}", e.details);
    }
    assert!(s.notifications_to(me).await.unwrap().is_empty());
}

#[tokio::test]
async fn messages_are_purged_once_their_sends_ended_longer_ago_than_the_retention() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let (org, zoraida) = zoraida(s).await;
    let mut presse = NewAudience::structural(slug("presse"), "Presse", org.old, false);
    presse.approval = ApprovalSetting::Always;
    s.create_audience(&presse).await.unwrap();
    let me = "zoraida@example.org";
    let raw = b"From: zoraida@example.org\r\nSubject: Einladung\r\n\r\nText";
    let list = "oldenfelde@lists.example.org";
    let (sent, send) = submitted(s, zoraida, me, list, "a@example.org", raw).await;
    s.expand_send(send, 100, &checks()).await.unwrap();
    for d in s.claim_deliveries(now_ms(), 60_000, 100).await.unwrap() {
        s.finish_delivery(d.id, &verteiler_store::Attempt::Sent)
            .await
            .unwrap();
    }
    s.complete_finished_sends().await.unwrap();
    assert_eq!(
        s.send_record(send).await.unwrap().unwrap().state,
        SendState::Complete
    );
    // The sender's notice about it went out too.
    let notices = s.claim_notifications(now_ms(), 60_000, 100).await.unwrap();
    let sent_notices: Vec<_> = notices
        .iter()
        .map(|n| (n.id, verteiler_store::Attempt::Sent))
        .collect();
    s.finish_notifications(&sent_notices).await.unwrap();
    assert!(s.notifications_to(me).await.unwrap()[0]
        .1
        .contains("Einladung"));
    let (held, _) = submitted(
        s,
        zoraida,
        me,
        "presse@lists.example.org",
        "b@example.org",
        raw,
    )
    .await;
    let (refused, _) = submitted(
        s,
        zoraida,
        me,
        "nirgends@lists.example.org",
        "c@example.org",
        raw,
    )
    .await;

    let now = now_ms();
    assert_eq!(
        s.purge_expired_messages(90, now + 89 * DAY_MS)
            .await
            .unwrap()
            .submissions,
        0
    );
    assert_eq!(
        s.purge_expired_messages(0, now + 9_000 * DAY_MS)
            .await
            .unwrap()
            .submissions,
        0,
        "0 keeps messages for ever"
    );
    let purged = s
        .purge_expired_messages(90, now + 91 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(
        purged.submissions, 2,
        "the finished one and the refused one"
    );
    assert!(purged.bytes > 0);
    for id in [sent, refused] {
        assert_eq!(s.submission_raw(id).await.unwrap(), Some(Vec::new()));
        assert_eq!(
            s.who_sent(id).await.unwrap().unwrap().kept,
            RawState::Purged
        );
    }
    assert_eq!(
        s.submission_raw(held).await.unwrap().as_deref(),
        Some(&raw[..]),
        "a held message may still be approved: it stays"
    );
    let notices = s.notifications_to(me).await.unwrap();
    assert!(
        notices[0].1.is_empty() && notices[0].2.is_empty(),
        "the notice about it keeps no text: {notices:?}"
    );
    let entry = s
        .last_audit_details("messages.purged")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            entry["submissions"].as_u64(),
            entry["retention_days"].as_u64()
        ),
        (Some(2), Some(90))
    );
    assert_eq!(
        s.purge_expired_messages(90, now + 92 * DAY_MS)
            .await
            .unwrap()
            .submissions,
        0,
        "purged once"
    );
    assert_eq!(s.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_key_file_other_than_the_databases_is_refused() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ours.key"), dir.path().join("theirs.key"));
    let s = db.store.with_privacy_key_file(&ours).await.unwrap();
    let again = db.store.with_privacy_key_file(&ours).await.unwrap();
    assert_eq!(
        s.contact_hash("anna@example.org", "DE"),
        again.contact_hash("anna@example.org", "DE"),
        "the same file, the same hashes"
    );
    // Another installation's key, or a new one made beside another copy of the database.
    PrivacyKey::load_or_create(&theirs).unwrap();
    let other = db.store.with_privacy_key_file(&theirs).await.unwrap_err();
    assert!(other.to_string().contains("not the key"), "{other}");
    std::fs::remove_file(&ours).unwrap();
    let missing = db.store.with_privacy_key_file(&ours).await.unwrap_err();
    assert!(missing.to_string().contains("is missing"), "{missing}");
    assert!(!ours.exists(), "a missing key is not silently replaced");
}
