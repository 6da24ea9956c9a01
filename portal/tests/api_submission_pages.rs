//! `/api/v1/submissions` over many submissions: the list pages by cursor, newest first, and a
//! flood of refused messages is throttled (429) and not stored.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::api;
use support::org;
use support::staff::make_chair;

fn message(subject: &str) -> serde_json::Value {
    json!({"subject": subject, "text": "Liebe Mitglieder.", "lists": ["oldenfelde"]})
}

#[tokio::test]
async fn the_list_pages_newest_first_by_cursor() {
    let org = org().await;
    make_chair(&org).await;
    let token = api::token(&org, org.ben, "send sends:read").await;
    let mut ids = Vec::new();
    for subject in ["Eins", "Zwei", "Drei"] {
        let answer = api::post_json(&org, "/api/v1/submissions", &token, message(subject)).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        ids.push(answer.json["submission_id"].clone());
    }
    let first = api::get(&org, "/api/v1/submissions?limit=2", &token).await;
    let subjects: Vec<&str> = first.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Drei", "Zwei"]);
    let cursor = first.json["next_cursor"].as_str().expect("a next page");
    let second = api::get(
        &org,
        &format!("/api/v1/submissions?limit=2&cursor={cursor}"),
        &token,
    )
    .await;
    assert_eq!(second.json["items"][0]["submission_id"], ids[0]);
    assert_eq!(second.json["items"].as_array().unwrap().len(), 1);
    assert!(second.json.get("next_cursor").is_none(), "the last page");
    let bad = api::get(&org, "/api/v1/submissions?cursor=x", &token).await;
    assert_eq!(
        (bad.status, bad.problem_code()),
        (StatusCode::BAD_REQUEST, "bad_cursor")
    );
}

#[tokio::test]
async fn a_flood_of_refused_messages_is_throttled_with_429() {
    let org = org().await;
    // Anna holds no office: the branch list refuses every message of hers.
    let anna = api::token(&org, org.anna, "send").await;
    let mut answers = Vec::new();
    for _ in 0..25 {
        let answer = api::post_json(&org, "/api/v1/submissions", &anna, message("Hallo")).await;
        answers.push((answer.status, answer.json["code"].clone()));
    }
    let throttled = answers
        .iter()
        .position(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS);
    let at = throttled.expect("throttled after the hour's refusals");
    assert_eq!(answers[at].1, "refusals_throttled");
    assert!(answers[..at]
        .iter()
        .all(|(s, _)| *s == StatusCode::ACCEPTED));
    let stored = org.store().count_submissions().await.unwrap();
    assert_eq!(stored, at as u64, "a throttled message is not stored");
}
