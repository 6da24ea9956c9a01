//! Verification texts and mails (codes for new numbers, links for new addresses) are limited per
//! member and per destination, per hour and per day, with the counts in the database so that a
//! restart does not reset them; the portal's texts count against the portal's SMS budget.

mod common;

use common::{build_org, member};
use sha2::{Digest, Sha256};
use verteiler_store::testing::{age_verification_sends, verification_sends, TestDatabase};
use verteiler_store::{
    ContactChange, PortalMail, Store, VerificationLimits, VerificationRefusal,
    VERIFICATION_SENDS_KEPT_MS,
};

const HOUR: i64 = 3_600_000;

struct Texts;

impl PortalMail for Texts {
    fn sign_in(&self, _: &str, _: &str) -> (String, String) {
        Default::default()
    }
    fn confirm_subscription(&self, _: &str, _: &str, _: &str) -> (String, String) {
        Default::default()
    }
    fn verify_email(&self, token: &str, _: &str) -> (String, String) {
        ("Bitte bestätigen".into(), token.into())
    }
    fn phone_code(&self, code: &str, _: &str) -> String {
        format!("Ihr Code: {code}")
    }
}

async fn two_members(store: &Store) -> (i64, i64) {
    let org = build_org(store).await;
    (
        member(store, "Anna", org.old).await,
        member(store, "Ben", org.old).await,
    )
}

async fn phone_id(store: &Store, member_id: i64, number: &str) -> i64 {
    store
        .member_contacts(member_id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "phone" && c.value == number)
        .map(|c| c.id)
        .unwrap()
}

async fn resend(store: &Store, member_id: i64, contact_id: i64) -> ContactChange {
    store
        .resend_phone_code(member_id, contact_id, &Texts)
        .await
        .unwrap()
}

#[tokio::test]
async fn codes_to_one_number_stop_at_the_hourly_limit_even_after_a_restart() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let (anna, _) = two_members(store).await;
    let added = store.add_phone(anna, "0151 2345678", "DE", &Texts).await;
    assert_eq!(added.unwrap(), ContactChange::Done);
    let phone = phone_id(store, anna, "+491512345678").await;
    assert_eq!(resend(store, anna, phone).await, ContactChange::Done);
    assert_eq!(resend(store, anna, phone).await, ContactChange::Done);
    let limited = ContactChange::Limited(VerificationRefusal::DestinationPerHour { limit: 3 });
    assert_eq!(resend(store, anna, phone).await, limited);

    let restarted = Store::open(&db.url, 2).await.unwrap();
    assert_eq!(resend(&restarted, anna, phone).await, limited);
    let texts = store.sms_outbox_for("+491512345678").await.unwrap();
    assert_eq!(texts.len(), 3, "refused codes are not sent");
}

#[tokio::test]
async fn a_member_is_limited_over_all_numbers_and_addresses_and_a_refusal_changes_nothing() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let (anna, _) = two_members(store).await;
    for number in ["0151 1000001", "0151 1000002", "0151 1000003"] {
        let added = store.add_phone(anna, number, "DE", &Texts).await.unwrap();
        assert_eq!(added, ContactChange::Done);
    }
    for address in ["a1@example.com", "a2@example.com"] {
        let added = store.add_email(anna, address, &Texts).await.unwrap();
        assert_eq!(added, ContactChange::Done);
    }
    let sixth = store.add_email(anna, "a3@example.com", &Texts).await;
    assert_eq!(
        sixth.unwrap(),
        ContactChange::Limited(VerificationRefusal::MemberPerHour { limit: 5 })
    );
    let seventh = store.add_phone(anna, "0151 1000004", "DE", &Texts).await;
    assert_eq!(
        seventh.unwrap(),
        ContactChange::Limited(VerificationRefusal::MemberPerHour { limit: 5 })
    );
    let values: Vec<String> = store
        .member_contacts(anna)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.value)
        .collect();
    assert!(!values.iter().any(|v| v == "a3@example.com"), "{values:?}");
    assert!(!values.iter().any(|v| v == "+491511000004"), "{values:?}");
    assert!(store
        .notifications_to("a3@example.com")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .sms_outbox_for("+491511000004")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_number_is_limited_whichever_member_asks() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let (anna, ben) = two_members(store).await;
    assert_eq!(
        store
            .add_phone(anna, "0171 555000", "DE", &Texts)
            .await
            .unwrap(),
        ContactChange::Done
    );
    let annas = phone_id(store, anna, "+49171555000").await;
    assert_eq!(resend(store, anna, annas).await, ContactChange::Done);
    assert_eq!(
        store
            .add_phone(ben, "+49 171 555000", "DE", &Texts)
            .await
            .unwrap(),
        ContactChange::Done
    );
    let bens = phone_id(store, ben, "+49171555000").await;
    assert_eq!(
        resend(store, ben, bens).await,
        ContactChange::Limited(VerificationRefusal::DestinationPerHour { limit: 3 })
    );
}

#[tokio::test]
async fn after_an_hour_the_hourly_limit_is_passed_but_the_daily_one_holds() {
    let db = TestDatabase::new().await;
    let store = &db
        .store
        .clone()
        .with_verification_limits(VerificationLimits {
            per_member_per_hour: 2,
            per_member_per_day: 3,
            ..VerificationLimits::default()
        });
    let (anna, _) = two_members(store).await;
    store
        .add_email(anna, "b1@example.com", &Texts)
        .await
        .unwrap();
    store
        .add_email(anna, "b2@example.com", &Texts)
        .await
        .unwrap();
    assert_eq!(
        store
            .add_email(anna, "b3@example.com", &Texts)
            .await
            .unwrap(),
        ContactChange::Limited(VerificationRefusal::MemberPerHour { limit: 2 })
    );
    age_verification_sends(store, HOUR + 1).await.unwrap();
    assert_eq!(
        store
            .add_email(anna, "b3@example.com", &Texts)
            .await
            .unwrap(),
        ContactChange::Done
    );
    age_verification_sends(store, HOUR + 1).await.unwrap();
    assert_eq!(
        store
            .add_email(anna, "b4@example.com", &Texts)
            .await
            .unwrap(),
        ContactChange::Limited(VerificationRefusal::MemberPerDay { limit: 3 })
    );
    age_verification_sends(store, 22 * HOUR).await.unwrap();
    assert_eq!(
        store
            .add_email(anna, "b4@example.com", &Texts)
            .await
            .unwrap(),
        ContactChange::Done
    );
}

#[tokio::test]
async fn destinations_are_kept_only_as_hashes_and_only_for_two_days() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let (anna, _) = two_members(store).await;
    store
        .add_phone(anna, "0151 7777777", "DE", &Texts)
        .await
        .unwrap();
    store
        .add_email(anna, "Anna.Work@Example.com", &Texts)
        .await
        .unwrap();
    let sha = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    assert_eq!(
        verification_sends(store).await.unwrap(),
        [
            (anna, sha("+491517777777"), "sms".to_string()),
            (anna, sha("anna.work@example.com"), "email".to_string()),
        ]
    );
    age_verification_sends(store, VERIFICATION_SENDS_KEPT_MS + 1)
        .await
        .unwrap();
    store
        .add_email(anna, "later@example.com", &Texts)
        .await
        .unwrap();
    assert_eq!(
        verification_sends(store).await.unwrap(),
        [(anna, sha("later@example.com"), "email".to_string())]
    );
}

#[tokio::test]
async fn an_erasure_takes_the_hashes_of_the_members_destinations() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let (anna, ben) = two_members(store).await;
    for (who, number) in [(anna, "0151 4000001"), (ben, "0151 4000002")] {
        store.add_phone(who, number, "DE", &Texts).await.unwrap();
    }
    assert!(store.request_deletion(anna).await.unwrap());
    assert!(store.complete_deletion(anna).await.unwrap());
    let kept: Vec<i64> = verification_sends(store)
        .await
        .unwrap()
        .into_iter()
        .map(|(member, _, _)| member)
        .collect();
    assert_eq!(kept, [ben], "only the other member's send is left");
}

#[tokio::test]
async fn portal_texts_count_against_the_portal_sms_budget() {
    let db = TestDatabase::new().await;
    let store = &db
        .store
        .clone()
        .with_verification_limits(VerificationLimits {
            sms_cost_per_segment_cents: 9,
            sms_monthly_budget_cents: 20,
            ..VerificationLimits::default()
        });
    let (anna, ben) = two_members(store).await;
    for (who, number) in [(anna, "0151 3000001"), (ben, "0151 3000002")] {
        let added = store.add_phone(who, number, "DE", &Texts).await.unwrap();
        assert_eq!(added, ContactChange::Done);
    }
    assert_eq!(store.portal_sms_segments_this_month().await.unwrap(), 2);
    let third = store.add_phone(ben, "0151 3000003", "DE", &Texts).await;
    assert_eq!(
        third.unwrap(),
        ContactChange::Limited(VerificationRefusal::SmsBudget { budget_cents: 20 })
    );
    assert_eq!(store.portal_sms_segments_this_month().await.unwrap(), 2);
    assert!(store
        .sms_outbox_for("+491513000003")
        .await
        .unwrap()
        .is_empty());
    // Mails cost nothing: the budget does not stop them.
    let mail = store.add_email(ben, "ben.work@example.com", &Texts).await;
    assert_eq!(mail.unwrap(), ContactChange::Done);
}

#[tokio::test]
async fn requests_at_the_same_moment_cannot_pass_a_limit_together() {
    let db = TestDatabase::new().await;
    let store = &db.store;
    let org = build_org(store).await;
    let mut members = Vec::new();
    for name in ["Cem", "Dora", "Emil", "Frida", "Gül", "Hans"] {
        members.push(member(store, name, org.old).await);
    }
    let tasks: Vec<_> = members
        .into_iter()
        .map(|who| {
            let store = store.clone();
            tokio::spawn(async move { store.add_phone(who, "0160 999999", "DE", &Texts).await })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ContactChange::Done => done += 1,
            ContactChange::Limited(VerificationRefusal::DestinationPerHour { limit: 3 }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 3);
    assert_eq!(store.sms_outbox_for("+49160999999").await.unwrap().len(), 3);
}
