//! App-password logins: what an attempt costs must not tell whether the login is a member
//! (one argon2 check, counted by the store, whoever it names), and only a verified address
//! identifies a member, for a login as for an office.

mod common;

use common::*;
use verteiler_policies::EmailAddress;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{ContactChange, PortalMail, Store};

/// The mails the portal would send; these tests never read them.
struct NoMail;

impl PortalMail for NoMail {
    fn sign_in(&self, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn confirm_subscription(&self, _: &str, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn verify_email(&self, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn phone_code(&self, _: &str, _: &str) -> String {
        String::new()
    }
}

/// How many argon2 checks one login attempt ran, and its outcome.
async fn cost(s: &Store, login: &str, password: &str) -> (u64, Option<(i64, i64)>) {
    let before = s.password_checks();
    let outcome = s.verify_app_password(login, password).await.unwrap();
    (s.password_checks() - before, outcome)
}

fn email(address: &str) -> EmailAddress {
    EmailAddress::parse(address).unwrap()
}

#[tokio::test]
async fn every_login_attempt_costs_one_password_check_whoever_it_names() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let bernd = member(s, "Bernd", org.old).await;
    let mut annas = Vec::new();
    for device in ["laptop", "phone", "tablet"] {
        annas.push(s.new_app_password(anna, device).await.unwrap());
    }
    let (laptop, laptop_password) = annas[0].clone();
    let (tablet, tablet_password) = annas[2].clone();
    assert!(
        laptop_password.starts_with(&format!("{laptop}_")),
        "{laptop_password}"
    );

    let wrong_secret = format!("{tablet}_aaaa-bbbb-cccc-dddd-eeee-ffff");
    let attempts = [
        ("nobody@example.org", "aaaa-bbbb-cccc-dddd-eeee-ffff"),
        ("nobody@example.org", laptop_password.as_str()),
        ("not an address", "whatever"),
        ("bernd@example.org", "aaaa-bbbb-cccc-dddd-eeee-ffff"),
        ("bernd@example.org", laptop_password.as_str()),
        ("anna@example.org", "aaaa-bbbb-cccc-dddd-eeee-ffff"),
        ("anna@example.org", wrong_secret.as_str()),
        ("anna@example.org", "999999_aaaa-bbbb-cccc-dddd-eeee-ffff"),
    ];
    for (login, password) in attempts {
        assert_eq!(
            cost(s, login, password).await,
            (1, None),
            "{login} / {password}"
        );
    }
    assert_eq!(
        cost(s, "ANNA@example.org", &tablet_password).await,
        (1, Some((anna, tablet))),
        "the right password: one check too, found by its id"
    );
    assert_eq!(
        cost(s, "anna@example.org", &laptop_password).await,
        (1, Some((anna, laptop)))
    );

    assert!(s.revoke_app_password(anna, laptop).await.unwrap());
    assert_eq!(
        cost(s, "anna@example.org", &laptop_password).await,
        (1, None),
        "a revoked password no longer logs in, at the same cost"
    );
    assert_eq!(s.list_app_passwords(bernd).await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_password_without_an_id_still_logs_in_and_costs_a_check_per_such_password() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let old = s
        .add_app_password(anna, "before ids", "correct horse battery")
        .await
        .unwrap();
    let chosen = s
        .add_app_password(anna, "chosen", "another long secret")
        .await
        .unwrap();
    let (keyed, keyed_password) = s.new_app_password(anna, "new").await.unwrap();

    assert_eq!(
        cost(s, "anna@example.org", "correct horse battery").await,
        (1, Some((anna, old)))
    );
    assert_eq!(
        cost(s, "anna@example.org", "another long secret").await,
        (2, Some((anna, chosen)))
    );
    assert_eq!(
        cost(s, "anna@example.org", "wrong").await,
        (2, None),
        "until they are replaced, passwords without an id cost one check each"
    );
    assert_eq!(
        cost(s, "anna@example.org", &keyed_password).await,
        (1, Some((anna, keyed))),
        "a keyed password is found by its id, beside the old ones"
    );
}

#[tokio::test]
async fn an_unverified_address_identifies_nobody() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let bernd = member(s, "Bernd", org.old).await;
    // Anna adds the chair's address, which she cannot verify.
    let added = s
        .add_email(anna, "vorsitz@example.org", &NoMail)
        .await
        .unwrap();
    assert_eq!(added, ContactChange::Done);
    assert_eq!(
        s.member_id_by_email(&email("vorsitz@example.org"))
            .await
            .unwrap(),
        None,
        "an office granted to this address must find nobody"
    );
    assert_eq!(
        s.member_id_by_email(&email("anna@example.org"))
            .await
            .unwrap(),
        Some(anna)
    );

    let (_, keyed) = s.new_app_password(anna, "laptop").await.unwrap();
    s.add_app_password(anna, "old", "correct horse battery")
        .await
        .unwrap();
    for password in [keyed.as_str(), "correct horse battery"] {
        assert_eq!(
            cost(s, "vorsitz@example.org", password).await,
            (1, None),
            "no login with an unverified address: {password}"
        );
        assert!(s
            .verify_app_password("anna@example.org", password)
            .await
            .unwrap()
            .is_some());
    }

    // Bernd adds Anna's address too: it is still Anna's, verified, alone.
    s.add_email(bernd, "anna@example.org", &NoMail)
        .await
        .unwrap();
    assert_eq!(
        s.member_id_by_email(&email("anna@example.org"))
            .await
            .unwrap(),
        Some(anna)
    );
}
