//! `/api/v1/held`: the approvals queue over the API. Only the people asked see a held send;
//! approving goes through the same four-eyes operation as the portal, bound to the content
//! hash the client read, and the audit log names the token it was made with.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::api;
use support::staff::{held_send, offices, state_of};
use support::Org;
use verteiler_store::{ApiScopes, NewApiToken, SendState};

const HASH: &str = "abababababababababababababababababababababababababababababababab";

/// A token of `member_id` named `name`: its id and its secret.
async fn token_named(org: &Org, member_id: i64, name: &str, scopes: &str) -> (i64, String) {
    let (token, secret) = org
        .store()
        .create_api_token(&NewApiToken {
            member_id,
            name: name.into(),
            scopes: ApiScopes::parse(scopes).unwrap(),
            expires_at: None,
        })
        .await
        .unwrap()
        .unwrap();
    (token.id, secret)
}

/// The audit entries about `send` with `action`.
async fn audited(org: &Org, send: i64, action: &str) -> Vec<verteiler_store::AuditEntry> {
    let submission = org
        .store()
        .send_record(send)
        .await
        .unwrap()
        .unwrap()
        .submission_id;
    let mut entries = org.store().audit_of_submission(submission).await.unwrap();
    entries.retain(|e| e.action == action && e.send_id == Some(send));
    entries
}

#[tokio::test]
async fn the_queue_holds_what_the_owner_is_asked_to_approve_newest_first_in_pages() {
    let org = support::org().await;
    let clara = offices(&org).await;
    let budget = held_send(&org, "Haushaltsrede").await;
    let vote = held_send(&org, "Urwahl").await;
    let anna = api::token(&org, org.anna, "approve").await;

    let first = api::get(&org, "/api/v1/held?limit=1", &anna).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["items"][0]["id"], vote);
    assert_eq!(
        first.json["items"][0]["sender"],
        "Ben Brandt <ben@example.org>"
    );
    assert_eq!(first.json["items"].as_array().unwrap().len(), 1);
    let cursor = first.json["next_cursor"].as_str().unwrap();
    let second = api::get(
        &org,
        &format!("/api/v1/held?limit=1&cursor={cursor}"),
        &anna,
    )
    .await;
    assert_eq!(second.json["items"][0]["id"], budget);
    assert!(second.json.get("next_cursor").is_none(), "{}", second.text);

    // The sender is not asked about his own sends, a member without office about nothing.
    for member in [org.ben, clara] {
        let token = api::token(&org, member, "approve").await;
        let queue = api::get(&org, "/api/v1/held", &token).await;
        assert_eq!(queue.status, StatusCode::OK);
        assert_eq!(queue.json["items"], json!([]), "{member}");
    }

    let wrong = api::token(&org, org.anna, "send sends:read").await;
    let refused = api::get(&org, "/api/v1/held", &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_code(), "scope_missing");
    let bad = api::get(&org, "/api/v1/held?cursor=x", &anna).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_held_send_shows_its_approvers_what_they_decide_on_and_nobody_else_anything() {
    let org = support::org().await;
    let clara = offices(&org).await;
    let send = held_send(&org, "Haushalt").await;
    let path = format!("/api/v1/held/{send}");
    let anna = api::token(&org, org.anna, "approve").await;

    let held = api::get(&org, &path, &anna).await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.text);
    let j = &held.json;
    assert_eq!(j["sender"], "Ben Brandt <ben@example.org>");
    assert_eq!(j["list"], "Pressemitteilungen Oldenfelde");
    assert_eq!(j["address"], "presse-haushalt@lists.example.org");
    assert_eq!(j["state"], "held");
    assert_eq!(j["content_hash"], HASH);
    assert_eq!(j["preview"], "<b>Text</b> der Mitteilung");
    assert!(j["expires_at"].is_i64());
    assert_eq!(j["decisions"], json!([]));
    let reason = &j["reasons"][0];
    assert!(
        reason["code"].as_str().unwrap().contains('.')
            && !reason["texts"]["de"].as_str().unwrap().is_empty()
            && !reason["texts"]["en"].as_str().unwrap().is_empty(),
        "a reason with its code and both texts: {}",
        held.text
    );

    // The sender, a member without office, and a send that does not exist: one answer.
    let unknown = format!("/api/v1/held/{}", send + 1000);
    for (member, path) in [(org.ben, &path), (clara, &path), (org.anna, &unknown)] {
        let token = api::token(&org, member, "approve").await;
        let answer = api::get(&org, path, &token).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{member} {path}");
        assert_eq!(answer.problem_code(), "not_found");
    }

    let wrong = api::token(&org, org.anna, "sends:read").await;
    assert_eq!(
        api::get(&org, &path, &wrong).await.status,
        StatusCode::FORBIDDEN
    );

    // An expired or revoked token is no token.
    let (expiring, expiring_secret) = token_named(&org, org.anna, "bald weg", "approve").await;
    verteiler_store::testing::expire_api_token(org.store(), expiring)
        .await
        .unwrap();
    let (revoked, revoked_secret) = token_named(&org, org.anna, "widerrufen", "approve").await;
    assert!(org
        .store()
        .revoke_api_token(revoked, Some(org.anna))
        .await
        .unwrap());
    for secret in [&expiring_secret, &revoked_secret] {
        for path in [&path, &"/api/v1/held".to_string()] {
            let answer = api::get(&org, path, secret).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(answer.problem_code(), "token_invalid");
        }
        let approve = api::post_json(
            &org,
            &format!("{path}/approve"),
            secret,
            json!({"content_hash": HASH}),
        )
        .await;
        assert_eq!(approve.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(state_of(&org, send).await, SendState::Held);
}

#[tokio::test]
async fn an_approval_is_bound_to_the_content_and_audited_with_its_token() {
    let org = support::org().await;
    let clara = offices(&org).await;
    let send = held_send(&org, "Wahl").await;
    let approve = format!("/api/v1/held/{send}/approve");
    let (token_id, anna) = token_named(&org, org.anna, "Pressestelle Skript", "approve").await;

    // Content other than the one held: a conflict, and the send stays held.
    let stale = api::post_json(
        &org,
        &approve,
        &anna,
        json!({"content_hash": "cd".repeat(32)}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.problem_code(), "approval.content_changed");
    assert_eq!(state_of(&org, send).await, SendState::Held);

    // The sender may not approve his own, and is told why; a member not asked learns nothing.
    let ben = api::token(&org, org.ben, "approve").await;
    let own = api::post_json(&org, &approve, &ben, json!({"content_hash": HASH})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
    assert_eq!(own.problem_code(), "approval.own_submission");
    assert!(!own.json["texts"]["de"].as_str().unwrap().is_empty());
    assert!(!own.json["texts"]["en"].as_str().unwrap().is_empty());
    let mut refused = audited(&org, send, "approval.refused").await;
    refused.retain(|e| e.actor_member_id == Some(org.ben));
    assert_eq!(
        refused.len(),
        1,
        "the sender's try is audited, with the token it came with"
    );
    let details: serde_json::Value = serde_json::from_str(&refused[0].details).unwrap();
    assert!(
        details["token"].as_str().unwrap().starts_with("api:token:"),
        "{details}"
    );
    let clara = api::token(&org, clara, "approve").await;
    let outsider = api::post_json(&org, &approve, &clara, json!({"content_hash": HASH})).await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND);
    let wrong = api::token(&org, org.anna, "send").await;
    let scope = api::post_json(&org, &approve, &wrong, json!({"content_hash": HASH})).await;
    assert_eq!(scope.status, StatusCode::FORBIDDEN);
    assert_eq!(scope.problem_code(), "scope_missing");
    assert_eq!(state_of(&org, send).await, SendState::Held);
    assert!(audited(&org, send, "approval.given").await.is_empty());

    let approved = api::post_json(
        &org,
        &approve,
        &anna,
        json!({"content_hash": HASH, "comment": "passt"}),
    )
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.json["outcome"], "released");
    assert!(approved.json["recipients"].is_u64());
    assert!(approved.json["undo_until"].is_i64());
    assert_eq!(state_of(&org, send).await, SendState::Scheduled);

    let given = audited(&org, send, "approval.given").await;
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].actor, format!("api:member:{}", org.anna));
    assert_eq!(given[0].actor_member_id, Some(org.anna));
    let details: serde_json::Value = serde_json::from_str(&given[0].details).unwrap();
    assert_eq!(
        details["token"],
        format!("api:token:{token_id} Pressestelle Skript")
    );
    assert_eq!(details["ingress"], "api");
    assert_eq!(details["content_hash"], HASH);

    let detail = api::get(&org, &format!("/api/v1/held/{send}"), &anna).await;
    assert_eq!(detail.json["state"], "scheduled");
    assert_eq!(detail.json["decisions"][0]["verdict"], "approve");
    assert_eq!(detail.json["decisions"][0]["comment"], "passt");
    let again = api::post_json(&org, &approve, &anna, json!({"content_hash": HASH})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.problem_code(), "held_not_waiting");
}

#[tokio::test]
async fn a_rejection_needs_a_comment_and_is_audited_with_its_token() {
    let org = support::org().await;
    let clara = offices(&org).await;
    let send = held_send(&org, "Satzung").await;
    let reject = format!("/api/v1/held/{send}/reject");
    let (token_id, anna) = token_named(&org, org.anna, "Freigabe-Bot", "approve").await;

    let bare = api::post_json(&org, &reject, &anna, json!({"comment": "  "})).await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bare.problem_code(), "held_comment_missing");
    let none = api::post_json(&org, &reject, &anna, json!({})).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let clara = api::token(&org, clara, "approve").await;
    let outsider = api::post_json(&org, &reject, &clara, json!({"comment": "nein"})).await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND);
    let wrong = api::token(&org, org.anna, "sends:read").await;
    let scope = api::post_json(&org, &reject, &wrong, json!({"comment": "nein"})).await;
    assert_eq!(scope.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&org, send).await, SendState::Held);

    let rejected = api::post_json(
        &org,
        &reject,
        &anna,
        json!({"comment": "Bitte erst mit dem Vorstand abstimmen"}),
    )
    .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.text);
    assert_eq!(rejected.json["outcome"], "rejected");
    assert_eq!(state_of(&org, send).await, SendState::Rejected);
    let entries = audited(&org, send, "approval.rejected").await;
    assert_eq!(entries.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(
        details["token"],
        format!("api:token:{token_id} Freigabe-Bot")
    );

    let late = api::post_json(&org, &reject, &anna, json!({"comment": "doch nicht"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
}
