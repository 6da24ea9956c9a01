//! `/me/tokens`: a member makes, sees and revokes their own API tokens; the text of a token
//! is shown once and works on the API at once; nobody gets a scope beyond their roles or
//! touches another member's token. And a token over its rate is told when to come back.

mod support;

use axum::http::StatusCode;
use support::{api, staff, Browser, Org};

/// The token's text on the page that answers the creation form.
fn shown_token(body: &str) -> String {
    let marker = "<code id=\"api-token\">";
    let at = body.find(marker).expect("the token is shown") + marker.len();
    body[at..at + body[at..].find('<').unwrap()].to_string()
}

/// Creates a token through the page, as `browser`'s member; the answer page.
async fn create(browser: &mut Browser, fields: &[(&str, &str)]) -> support::Page {
    let form = browser.get("/me/tokens").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    browser.post("/me/tokens", fields).await
}

/// The id of the member's newest token.
async fn newest_token(org: &Org, member_id: i64) -> i64 {
    org.store().api_tokens_of(member_id).await.unwrap()[0].id
}

#[tokio::test]
async fn a_token_made_on_the_page_works_at_once_and_is_never_shown_again() {
    let org = support::org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let empty = anna.get("/me/tokens").await;
    assert!(empty.body.contains("Sie haben keine API-Tokens."));
    let created = create(
        &mut anna,
        &[
            ("name", "Newsroom"),
            ("send", "on"),
            ("sends_read", "on"),
            ("lists", "oldenfelde, klima"),
            ("expires", "2099-12-31"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.headers["cache-control"], "no-store");
    let token = shown_token(&created.body);
    assert!(token.starts_with("vt_"), "{token}");

    let me = api::get(&org, "/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["member_id"], org.anna);
    assert_eq!(me.json["scopes"], serde_json::json!(["send", "sends:read"]));
    assert_eq!(
        me.json["send_lists"],
        serde_json::json!(["klima", "oldenfelde"])
    );

    let listed = anna.get("/me/tokens").await;
    assert!(listed.body.contains("Newsroom"), "{}", listed.body);
    assert!(listed.body.contains("nur an: klima, oldenfelde"));
    assert!(
        listed.body.contains("01.01.2100 00:00 UTC"),
        "the whole day"
    );
    let secret = token.rsplit('_').next().unwrap();
    for page in ["/me/tokens", "/me/account", "/me"] {
        let shown = anna.get(page).await;
        assert!(!shown.body.contains(secret), "{page} shows the token again");
    }
    assert!(
        listed.body.contains("href=\"/me/tokens\""),
        "in the navigation"
    );
}

#[tokio::test]
async fn a_member_gets_no_scope_beyond_their_roles_not_even_by_a_forged_form() {
    let org = support::org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let form = anna.get("/me/tokens").await;
    assert!(form.body.contains("name=\"sends_read\""));
    for admin_only in ["name=\"directory_sync\"", "name=\"admin\""] {
        assert!(!form.body.contains(admin_only), "{admin_only} offered");
    }
    let forged = anna
        .post(
            "/me/tokens",
            &[("name", "sync"), ("directory_sync", "on"), ("send", "on")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("directory:sync"), "{}", forged.body);
    assert!(!forged.body.contains("api-token"));
    assert!(org
        .store()
        .api_tokens_of(org.anna)
        .await
        .unwrap()
        .is_empty());

    let erik = staff::admin(&org).await;
    let mut admin = org.signed_in("erik@example.org").await;
    let form = admin.get("/me/tokens").await;
    assert!(
        form.body.contains("name=\"directory_sync\""),
        "{}",
        form.body
    );
    let created = admin
        .post(
            "/me/tokens",
            &[("name", "Mitgliederdatenbank"), ("directory_sync", "on")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let me = api::get(&org, "/api/v1/me", &shown_token(&created.body)).await;
    assert_eq!(me.json["member_id"], erik);
    assert_eq!(me.json["scopes"], serde_json::json!(["directory:sync"]));
}

#[tokio::test]
async fn a_form_that_cannot_become_a_token_is_told_in_the_pages_language() {
    let org = support::org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.accept_language = Some("en".into());
    for (fields, status, says) in [
        (
            vec![("name", "x")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least one permission",
        ),
        (
            vec![("name", "x"), ("approve", "on"), ("lists", "klima")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose “Submit messages” as well",
        ),
        (
            vec![("name", "x"), ("send", "on"), ("lists", "kl ima")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "“kl ima” is not a valid list short name",
        ),
        (
            vec![("name", "x"), ("send", "on"), ("expires", "31.12.2099")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "YYYY-MM-DD",
        ),
        (
            vec![("name", "x"), ("send", "on"), ("expires", "2001-01-01")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "lies in the past",
        ),
        (
            vec![("name", " "), ("send", "on")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "give the token a name",
        ),
        (
            vec![("name", "x"), ("admin", "on")],
            StatusCode::FORBIDDEN,
            "Only an administrator",
        ),
    ] {
        let answer = create(&mut anna, &fields).await;
        assert_eq!(answer.status, status, "{fields:?}: {}", answer.body);
        assert!(answer.body.contains(says), "{fields:?}: {}", answer.body);
    }
    assert!(org
        .store()
        .api_tokens_of(org.anna)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_token_revoked_on_the_page_is_refused_and_only_its_owner_may_revoke_it() {
    let org = support::org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    let kept = shown_token(
        &create(&mut anna, &[("name", "kept"), ("approve", "on")])
            .await
            .body,
    );
    let kept_id = newest_token(&org, org.anna).await;
    let gone = shown_token(
        &create(&mut anna, &[("name", "gone"), ("send", "on")])
            .await
            .body,
    );
    let gone_id = newest_token(&org, org.anna).await;

    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/me/tokens").await;
    let foreign = ben.post(&format!("/me/tokens/{kept_id}/revoke"), &[]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api::get(&org, "/api/v1/me", &kept).await.status,
        StatusCode::OK,
        "Ben cannot revoke Anna's token"
    );

    anna.get("/me/tokens").await;
    let revoked = anna
        .post(&format!("/me/tokens/{gone_id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location(), Some("/me/tokens"));
    let refused = api::get(&org, "/api/v1/me", &gone).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.problem_code(), "token_invalid");
    assert_eq!(
        api::get(&org, "/api/v1/me", &kept).await.status,
        StatusCode::OK
    );
    let listed = anna.get("/me/tokens").await;
    assert!(listed.body.contains("Widerrufen am"), "{}", listed.body);
    assert!(!listed
        .body
        .contains(&format!("/me/tokens/{gone_id}/revoke")));
    let again = anna
        .post(&format!("/me/tokens/{gone_id}/revoke"), &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "revoked once");

    let forged = anna
        .post_raw(
            &format!("/me/tokens/{kept_id}/revoke"),
            &[("csrf", "not-the-token")],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "no revocation without CSRF"
    );
}

#[tokio::test]
async fn a_token_over_its_rate_is_told_when_to_come_back() {
    let org = support::org_with_api(verteiler_portal::ApiSettings {
        requests_per_minute: 2,
        ..Default::default()
    })
    .await;
    let token = api::token(&org, org.anna, "sends:read").await;
    let other = api::token(&org, org.ben, "sends:read").await;
    for _ in 0..2 {
        assert_eq!(
            api::get(&org, "/api/v1/me", &token).await.status,
            StatusCode::OK
        );
    }
    let limited = api::get(&org, "/api/v1/me", &token).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_eq!(limited.content_type(), "application/problem+json");
    assert_eq!(limited.problem_code(), "rate_limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        api::get(&org, "/api/v1/me", &other).await.status,
        StatusCode::OK,
        "the rate is per token"
    );
}
