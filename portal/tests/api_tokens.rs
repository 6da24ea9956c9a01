//! The API's door: bearer tokens, their scopes, revocation and expiry, the problem documents.

mod support;

use axum::http::StatusCode;
use support::api;
use verteiler_store::{ApiScopes, NewApiToken, TokenRefusal};

#[tokio::test]
async fn a_token_names_itself_and_a_missing_or_revoked_one_is_refused() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let me = api::get(&org, "/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["member_id"], org.anna);
    assert_eq!(me.json["scopes"], serde_json::json!(["sends:read"]));

    let none = api::send(
        &org,
        axum::http::Method::GET,
        "/api/v1/me",
        None,
        None,
        vec![],
        &[],
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.problem_code(), "token_missing");
    assert_eq!(none.headers["www-authenticate"], "Bearer");

    let wrong = api::get(
        &org,
        "/api/v1/me",
        // Another last digit (a token ending in 0 would otherwise be itself).
        &format!(
            "{}{}",
            &token[..token.len() - 1],
            if token.ends_with('0') { '1' } else { '0' }
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.problem_code(), "token_invalid");

    let id: i64 = me.json["token_id"].as_i64().unwrap();
    assert!(org
        .store()
        .revoke_api_token(id, Some(org.anna))
        .await
        .unwrap());
    let revoked = api::get(&org, "/api/v1/me", &token).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.json["texts"]["de"]
        .as_str()
        .unwrap()
        .contains("Token"));
}

#[tokio::test]
async fn only_an_admin_may_hold_the_directory_and_admin_scopes() {
    let org = support::org().await;
    let refused = org
        .store()
        .create_api_token(&NewApiToken {
            member_id: org.anna,
            name: "sync".into(),
            scopes: ApiScopes::parse("directory:sync").unwrap(),
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(
        refused.err(),
        Some(TokenRefusal::BeyondRoles(
            verteiler_store::ApiScope::DirectorySync
        ))
    );
}

#[tokio::test]
async fn an_unknown_api_path_answers_a_problem_not_a_page() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let answer = api::get(&org, "/api/v1/nothing-here", &token).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.problem_code(), "not_found");
}
