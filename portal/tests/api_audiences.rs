//! `/api/v1/audiences` and `/api/v1/policy/simulate`: the lists a token's owner may send to,
//! within the token's lists, with figures and rules but never a member; and what the engine
//! would decide, with nothing stored.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::api;
use support::staff::{make_chair, offices};

/// The slugs of a page of lists.
fn slugs(answer: &api::Answer) -> Vec<String> {
    answer.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.text))
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Nothing in the answer names a member by address.
fn no_member_address(answer: &api::Answer) {
    for address in ["anna@example.org", "ben@example.org", "clara@example.org"] {
        assert!(!answer.text.contains(address), "{address}: {}", answer.text);
    }
}

#[tokio::test]
async fn the_owner_sees_the_lists_they_may_send_to_within_the_tokens_lists() {
    let org = support::org().await;
    let clara = offices(&org).await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send").await;

    let all = api::get(&org, "/api/v1/audiences", &ben).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let lists = slugs(&all);
    // The chair's branch list and its topic list; not another branch's.
    assert_eq!(lists, ["klima", "oldenfelde"]);
    let oldenfelde = all.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == "oldenfelde")
        .unwrap();
    assert_eq!(oldenfelde["address"], "oldenfelde@lists.example.org");
    assert_eq!(oldenfelde["kind"], "structural");
    assert_eq!(oldenfelde["recipients"], 3);
    no_member_address(&all);

    // Pages, newest first.
    let first = api::get(&org, "/api/v1/audiences?limit=1", &ben).await;
    assert_eq!(slugs(&first), ["klima"]);
    let cursor = first.json["next_cursor"].as_str().unwrap().to_string();
    let rest = api::get(&org, &format!("/api/v1/audiences?cursor={cursor}"), &ben).await;
    assert_eq!(slugs(&rest), ["oldenfelde"]);
    assert!(rest.json.get("next_cursor").is_none());

    // A token for one list shows that one only; a member without office has none.
    let klima_only = api::token(&org, org.ben, "send:klima").await;
    let limited = api::get(&org, "/api/v1/audiences", &klima_only).await;
    assert_eq!(slugs(&limited), ["klima"]);
    let clara = api::token(&org, clara, "send").await;
    let none = api::get(&org, "/api/v1/audiences", &clara).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(
        !slugs(&none).contains(&"oldenfelde".to_string()),
        "{}",
        none.text
    );

    let wrong = api::token(&org, org.ben, "approve sends:read").await;
    let refused = api::get(&org, "/api/v1/audiences", &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_code(), "scope_missing");
}

#[tokio::test]
async fn one_list_shows_figures_by_channel_and_its_rules_and_others_are_not_found() {
    let org = support::org().await;
    let clara = offices(&org).await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send").await;

    let one = api::get(&org, "/api/v1/audiences/oldenfelde", &ben).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let j = &one.json;
    assert_eq!(j["slug"], "oldenfelde");
    assert_eq!(j["name"], "Ortsverband Oldenfelde");
    assert_eq!(j["recipients"], 3);
    assert_eq!(j["by_channel"]["email"], 3);
    assert_eq!(j["by_channel"]["sms"], 0);
    assert_eq!(j["rules"]["senders"], json!(["chair"]));
    assert_eq!(j["rules"]["approval"], "never");
    assert!(j["rules"]["max_recipients"].as_u64().unwrap() > 0);
    no_member_address(&one);

    // Another branch's list, a list the token does not cover, a list of a member without
    // office, a slug that is no slug: the same answer as for no list at all.
    let klima_only = api::token(&org, org.ben, "send:klima").await;
    let clara = api::token(&org, clara, "send").await;
    for (token, path) in [
        (&ben, "/api/v1/audiences/volksdorf-rad"),
        (&ben, "/api/v1/audiences/gibt-es-nicht"),
        (&ben, "/api/v1/audiences/NICHT%20GUT"),
        (&klima_only, "/api/v1/audiences/oldenfelde"),
        (&clara, "/api/v1/audiences/oldenfelde"),
    ] {
        let answer = api::get(&org, path, token).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.problem_code(), "not_found");
    }

    let wrong = api::token(&org, org.ben, "approve").await;
    let refused = api::get(&org, "/api/v1/audiences/oldenfelde", &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_or_revoked_token_sees_no_list_and_simulates_nothing() {
    let org = support::org().await;
    offices(&org).await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send").await;
    let me = api::get(&org, "/api/v1/me", &ben).await;
    let id = me.json["token_id"].as_i64().unwrap();
    verteiler_store::testing::expire_api_token(org.store(), id)
        .await
        .unwrap();
    let other = api::token(&org, org.ben, "send").await;
    let other_id = api::get(&org, "/api/v1/me", &other).await.json["token_id"]
        .as_i64()
        .unwrap();
    assert!(org
        .store()
        .revoke_api_token(other_id, Some(org.ben))
        .await
        .unwrap());
    for token in [&ben, &other] {
        for path in ["/api/v1/audiences", "/api/v1/audiences/oldenfelde"] {
            let answer = api::get(&org, path, token).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(answer.problem_code(), "token_invalid");
        }
        let simulated = api::post_json(
            &org,
            "/api/v1/policy/simulate",
            token,
            json!({"list": "oldenfelde"}),
        )
        .await;
        assert_eq!(simulated.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_simulation_answers_the_engines_decision_and_stores_nothing() {
    let org = support::org().await;
    let clara = offices(&org).await;
    make_chair(&org).await;
    let ben = api::token(&org, org.ben, "send").await;
    let clara = api::token(&org, clara, "send").await;
    let klima_only = api::token(&org, org.ben, "send:klima").await;
    let reader = api::token(&org, org.ben, "sends:read").await;
    let entries = async || org.store().audit_verify().await.unwrap().entries;
    let before = entries().await;
    let simulate = async |token: &str, body: serde_json::Value| {
        api::post_json(&org, "/api/v1/policy/simulate", token, body).await
    };

    let fine = simulate(&ben, json!({"list": "oldenfelde"})).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text);
    assert_eq!(fine.json["decision"], "release");
    assert_eq!(fine.json["recipients"], 3);
    assert_eq!(fine.json["reasons"], json!([]));

    // The open To: line: many visible addresses are refused (or held), with the reason.
    let open = simulate(
        &ben,
        json!({"list": "oldenfelde@lists.example.org", "visible_recipients": 500}),
    )
    .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    assert_ne!(open.json["decision"], "release", "{}", open.text);
    let reason = &open.json["reasons"][0];
    assert!(
        reason["code"].as_str().unwrap().contains('.'),
        "{}",
        open.text
    );
    assert!(!reason["texts"]["de"].as_str().unwrap().is_empty());
    assert!(!reason["texts"]["en"].as_str().unwrap().is_empty());

    // A member without office may not send to the branch: refused, and its size not told.
    let refused = simulate(&clara, json!({"list": "oldenfelde"})).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.json["decision"], "reject", "{}", refused.text);
    assert!(refused.json.get("recipients").is_none(), "{}", refused.text);
    assert!(!refused.json["reasons"].as_array().unwrap().is_empty());

    // A token for another list, a token without `send`, an unknown channel.
    let limited = simulate(&klima_only, json!({"list": "oldenfelde"})).await;
    assert_eq!(limited.status, StatusCode::FORBIDDEN);
    assert_eq!(limited.problem_code(), "scope_missing");
    let scope = simulate(&reader, json!({"list": "oldenfelde"})).await;
    assert_eq!(scope.status, StatusCode::FORBIDDEN);
    let pigeon = simulate(&ben, json!({"list": "oldenfelde", "channel": "pigeon"})).await;
    assert_eq!(pigeon.status, StatusCode::BAD_REQUEST);
    assert_eq!(pigeon.problem_code(), "bad_request");

    assert_eq!(
        entries().await,
        before,
        "a simulation writes no audit entry (nor anything it would be written with)"
    );
}

#[tokio::test]
async fn the_document_describes_these_endpoints_with_their_problems() {
    let org = support::org().await;
    let token = api::token(&org, org.anna, "send").await;
    let document = api::get(&org, "/api/v1/openapi.json", &token).await;
    assert_eq!(document.status, StatusCode::OK);
    let paths = &document.json["paths"];
    for (path, method) in [
        ("/api/v1/held", "get"),
        ("/api/v1/held/{id}", "get"),
        ("/api/v1/held/{id}/approve", "post"),
        ("/api/v1/held/{id}/reject", "post"),
        ("/api/v1/audiences", "get"),
        ("/api/v1/audiences/{slug}", "get"),
        ("/api/v1/policy/simulate", "post"),
    ] {
        let responses = &paths[path][method]["responses"];
        assert!(responses["200"].is_object(), "{path} {method}");
        assert!(
            responses["403"]["content"]["application/problem+json"].is_object(),
            "{path} {method}: {responses}"
        );
    }
}
