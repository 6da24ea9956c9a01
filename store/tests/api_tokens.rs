//! Personal API tokens and idempotency keys: only the exact, usable token of an active member
//! opens the API, and a key stands for one request and one answer, however many retries race.

mod common;

use common::*;
use sqlx::Connection;
use verteiler_policies::RoleFunction;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, ApiScope, ApiScopes, IdempotencyStart, NewApiToken, Store, TokenRefusal,
};

fn new_token(member_id: i64, scopes: &str) -> NewApiToken {
    NewApiToken {
        member_id,
        name: "Newsroom".into(),
        scopes: ApiScopes::parse(scopes).unwrap(),
        expires_at: None,
    }
}

async fn created(s: &Store, member_id: i64, scopes: &str) -> (i64, String) {
    let (token, text) = s
        .create_api_token(&new_token(member_id, scopes))
        .await
        .unwrap()
        .unwrap();
    (token.id, text)
}

async fn authenticates(s: &Store, presented: &str) -> Option<i64> {
    s.authenticate_api_token(presented)
        .await
        .unwrap()
        .map(|t| t.id)
}

/// Runs one statement on the test database directly (what no store operation would do).
async fn raw_sql(db: &TestDatabase, sql: &str, a: i64, b: i64) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query(sql)
        .bind(a)
        .bind(b)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn only_the_exact_token_authenticates_and_its_use_is_noted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let (id, text) = created(s, anna, "send sends:read").await;
    assert!(text.starts_with(&format!("vt_{id}_")), "{text}");
    assert_eq!(s.api_tokens_of(anna).await.unwrap()[0].last_used_at, None);

    let before = now_ms();
    assert_eq!(authenticates(s, &text).await, Some(id));
    assert_eq!(
        authenticates(s, &format!("  {text}\n")).await,
        Some(id),
        "surrounding blanks are no part of a token"
    );
    let used = s.api_tokens_of(anna).await.unwrap()[0].last_used_at;
    assert!(used.is_some_and(|at| at >= before), "{used:?}");

    let secret = text.rsplit('_').next().unwrap();
    let flipped = format!(
        "vt_{id}_{}{}",
        if secret.starts_with('0') { '1' } else { '0' },
        &secret[1..]
    );
    let (other, _) = created(s, anna, "approve").await;
    for wrong in [
        flipped,
        format!("vt_{other}_{secret}"),
        format!("vt_{}_{secret}", id + 100),
        text[..text.len() - 1].to_string(),
        format!("{text}0"),
        text.to_uppercase(),
        String::new(),
    ] {
        assert_eq!(authenticates(s, &wrong).await, None, "{wrong}");
    }
}

#[tokio::test]
async fn expired_revoked_and_left_members_tokens_open_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let bernd = member(s, "Bernd", org.old).await;

    let soon = NewApiToken {
        expires_at: Some(now_ms() + 3_600_000),
        ..new_token(anna, "send")
    };
    let (expiring, expiring_text) = s.create_api_token(&soon).await.unwrap().unwrap();
    assert_eq!(authenticates(s, &expiring_text).await, Some(expiring.id));
    raw_sql(
        &db,
        "UPDATE api_tokens SET expires_at = $1 WHERE id = $2",
        now_ms() - 1,
        expiring.id,
    )
    .await;
    assert_eq!(authenticates(s, &expiring_text).await, None, "expired");

    let (revoked, revoked_text) = created(s, anna, "send").await;
    assert!(
        !s.revoke_api_token(revoked, Some(bernd)).await.unwrap(),
        "not Bernd's token"
    );
    assert_eq!(authenticates(s, &revoked_text).await, Some(revoked));
    assert!(s.revoke_api_token(revoked, Some(anna)).await.unwrap());
    assert!(
        !s.revoke_api_token(revoked, None).await.unwrap(),
        "revoked once"
    );
    assert_eq!(authenticates(s, &revoked_text).await, None, "revoked");
    let listed = s.api_tokens_of(anna).await.unwrap();
    assert!(listed
        .iter()
        .any(|t| t.id == revoked && t.revoked_at.is_some()));

    let (bernds, bernds_text) = created(s, bernd, "sends:read").await;
    assert_eq!(authenticates(s, &bernds_text).await, Some(bernds));
    s.set_member_left(bernd).await.unwrap();
    assert_eq!(authenticates(s, &bernds_text).await, None, "left");
}

#[tokio::test]
async fn creation_refuses_what_the_owner_may_not_have() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let admin = member(s, "Ada", org.hh).await;
    role(s, admin, org.hh, RoleFunction::Admin).await;

    let refused = |scopes: &str, name: &str, expires_at: Option<i64>| NewApiToken {
        name: name.into(),
        expires_at,
        ..new_token(anna, scopes)
    };
    for (new, why) in [
        (
            refused("directory:sync", "x", None),
            TokenRefusal::BeyondRoles(ApiScope::DirectorySync),
        ),
        (
            refused("send admin", "x", None),
            TokenRefusal::BeyondRoles(ApiScope::Admin),
        ),
        (refused("send", "  ", None), TokenRefusal::NameMissing),
        (
            refused("send", &"n".repeat(101), None),
            TokenRefusal::NameTooLong,
        ),
        (
            refused("send", "x", Some(now_ms() - 1000)),
            TokenRefusal::ExpiryPassed,
        ),
    ] {
        assert_eq!(s.create_api_token(&new).await.unwrap().err(), Some(why));
    }
    assert!(s.api_tokens_of(anna).await.unwrap().is_empty());
    let (_, text) = created(s, admin, "directory:sync admin").await;
    let token = s.authenticate_api_token(&text).await.unwrap().unwrap();
    assert!(token.scopes.has(ApiScope::DirectorySync) && token.scopes.has(ApiScope::Admin));
}

#[tokio::test]
async fn an_idempotency_key_stands_for_one_request_and_one_answer() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let (token, _) = created(s, anna, "send").await;
    let (other_token, _) = created(s, anna, "send").await;

    let claim = |key: &'static str, hash: &'static str| s.claim_idempotent(token, key, hash);
    assert_eq!(claim("k1", "h1").await.unwrap(), IdempotencyStart::Claimed);
    assert_eq!(
        claim("k1", "h1").await.unwrap(),
        IdempotencyStart::InProgress
    );
    assert_eq!(claim("k1", "h2").await.unwrap(), IdempotencyStart::Mismatch);
    assert_eq!(
        s.claim_idempotent(other_token, "k1", "h1").await.unwrap(),
        IdempotencyStart::Claimed,
        "keys are per token"
    );

    s.finish_idempotent(token, "k1", 201, r#"{"id":7}"#)
        .await
        .unwrap();
    let answered = IdempotencyStart::Answered {
        status: 201,
        body: r#"{"id":7}"#.into(),
    };
    assert_eq!(claim("k1", "h1").await.unwrap(), answered);
    assert_eq!(claim("k1", "h2").await.unwrap(), IdempotencyStart::Mismatch);
    s.release_idempotent(token, "k1").await.unwrap();
    assert_eq!(
        claim("k1", "h1").await.unwrap(),
        answered,
        "an answered key is never released"
    );

    assert_eq!(claim("k2", "h1").await.unwrap(), IdempotencyStart::Claimed);
    s.release_idempotent(token, "k2").await.unwrap();
    assert_eq!(
        claim("k2", "h3").await.unwrap(),
        IdempotencyStart::Claimed,
        "a released key may be claimed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_claims_exactly_one_wins() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let anna = member(s, "Anna", org.old).await;
    let (token, _) = created(s, anna, "send").await;
    for round in 0..5 {
        let key = format!("race-{round}");
        let (a, b) = (s.clone(), s.clone());
        let (k1, k2) = (key.clone(), key.clone());
        let first = tokio::spawn(async move { a.claim_idempotent(token, &k1, "h").await });
        let second = tokio::spawn(async move { b.claim_idempotent(token, &k2, "h").await });
        let mut starts = vec![
            first.await.unwrap().unwrap(),
            second.await.unwrap().unwrap(),
        ];
        starts.sort_by_key(|s| s != &IdempotencyStart::Claimed);
        assert_eq!(
            starts,
            [IdempotencyStart::Claimed, IdempotencyStart::InProgress],
            "{key}"
        );
    }
}

#[tokio::test]
async fn erasure_revokes_and_blanks_tokens_and_the_export_lists_them_without_secrets() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let zoe = member(s, "Zoe", org.old).await;
    let limited = NewApiToken {
        name: "Zoes Skript".into(),
        expires_at: Some(now_ms() + 86_400_000),
        ..new_token(zoe, "sends:read send:ov-old")
    };
    let (token, text) = s.create_api_token(&limited).await.unwrap().unwrap();
    assert_eq!(authenticates(s, &text).await, Some(token.id));

    let export = s.export_member_data(zoe).await.unwrap().unwrap();
    let listed = &export["api_tokens"][0];
    assert_eq!(listed["id"], token.id);
    assert_eq!(listed["name"], "Zoes Skript");
    assert_eq!(listed["scopes"], "send sends:read");
    assert_eq!(listed["send_lists"], "ov-old");
    assert_eq!(listed["expires_at"], token.expires_at.unwrap());
    assert!(listed["last_used_at"].is_i64(), "{listed}");
    assert!(listed["revoked_at"].is_null());
    let secret = text.rsplit('_').next().unwrap();
    let exported = export.to_string();
    assert!(!exported.contains(secret), "{exported}");
    assert!(!exported.contains("secret_sha256"), "{exported}");

    assert!(s.request_deletion(zoe).await.unwrap());
    assert!(s
        .acting_as("cli:admin")
        .complete_deletion(zoe)
        .await
        .unwrap());
    assert_eq!(authenticates(s, &text).await, None);
    let kept = s.api_tokens_of(zoe).await.unwrap();
    assert_eq!(kept.len(), 1, "the row stays for the audit trail");
    assert_eq!(kept[0].name, "");
    assert!(kept[0].revoked_at.is_some());
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let hash: String = sqlx::query_scalar("SELECT secret_sha256 FROM api_tokens WHERE id = $1")
        .bind(token.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(hash, "");
}
