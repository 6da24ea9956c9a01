//! Four eyes over the API, end to end with the real binary: an official statement submitted
//! over the API is held; the sender's own token cannot approve it; the second press officer's
//! token sees it in the queue, is refused for content it did not read, approves the content it
//! read, and the send is delivered after the undo window. The tokens are made with `verteiler
//! token create`, as an operator makes them; the audit log names the approving token.

mod support;

use std::time::{Duration, Instant};
use support::*;
use verteiler_store::SendState;

const RENEE: &str = "renee.hoffmann@example.org";
const JONAS: &str = "jonas.petersen@example.org";

/// One API call: status and JSON body.
async fn call(
    server: &Server,
    token: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1{path}", server.http);
    let request = match body {
        Some(body) => client.post(url).json(&body),
        None => client.get(url),
    };
    let response = request
        .bearer_auth(token)
        .header("accept-language", "en")
        .send()
        .await
        .expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_second_press_officer_approves_over_the_api_and_the_statement_goes_out() {
    let env = Env::new().await;
    let demo = env.run(&["demo", "--members", "600"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let server = env.serve_with(
        &["--demo"],
        &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "2")],
    );
    let store = &env.db.store;
    let (_, renee) = cli_token(&env, RENEE, "Renées Skript", "send approve");
    let (jonas_id, jonas) = cli_token(&env, JONAS, "Pressestelle Jonas", "approve");

    let statement = serde_json::json!({
        "from": "presse@example.org",
        "subject": "Stellungnahme",
        "text": "Der Landesverband nimmt wie folgt Stellung …",
        "lists": ["pressemitteilungen"],
    });
    let (status, submitted) = call(&server, &renee, "/submissions", Some(statement)).await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["sends"][0]["decision"], "held", "{submitted}");
    let submission = submitted["submission_id"].as_i64().unwrap();
    let send = submitted["sends"][0]["send_id"].as_i64().unwrap();
    let state = async || store.send_record(send).await.unwrap().unwrap().state;
    assert_eq!(state().await, SendState::Held);

    let (status, queue) = call(&server, &jonas, "/held", None).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["items"][0]["id"], send, "{queue}");
    let (status, held) = call(&server, &jonas, &format!("/held/{send}"), None).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["subject"], "Stellungnahme");
    let hash = held["content_hash"].as_str().unwrap().to_string();

    let approve = format!("/held/{send}/approve");
    let (status, own) = call(
        &server,
        &renee,
        &approve,
        Some(serde_json::json!({"content_hash": hash})),
    )
    .await;
    assert_eq!(status, 403, "{own}");
    assert_eq!(own["code"], "approval.own_submission");
    let other = "0".repeat(64);
    let (status, stale) = call(
        &server,
        &jonas,
        &approve,
        Some(serde_json::json!({"content_hash": other})),
    )
    .await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(state().await, SendState::Held);

    let (status, approved) = call(
        &server,
        &jonas,
        &approve,
        Some(serde_json::json!({"content_hash": hash, "comment": "freigegeben"})),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["outcome"], "released");
    assert_eq!(state().await, SendState::Scheduled);

    let deadline = Instant::now() + Duration::from_secs(60);
    while state().await != SendState::Complete {
        assert!(
            Instant::now() < deadline,
            "the send is still {}",
            state().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let totals = store.delivery_totals(send).await.unwrap();
    assert!(totals.sent > 0, "{totals:?}");

    let given: Vec<_> = store
        .audit_of_submission(submission)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "approval.given")
        .collect();
    assert_eq!(given.len(), 1);
    assert!(given[0].actor.starts_with("api:member:"), "{:?}", given[0]);
    assert!(
        given[0]
            .details
            .contains(&format!("api:token:{jonas_id} Pressestelle Jonas")),
        "{}",
        given[0].details
    );
    let raw = store.submission_raw(submission).await.unwrap().unwrap();
    let raw = String::from_utf8_lossy(&raw);
    let message_id = raw
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID:"))
        .expect("the built message has a Message-ID")
        .trim()
        .to_string();
    let who = env.run(&["audit", "who", &message_id]);
    assert!(who.status.success(), "{}", stderr(&who));
    assert!(
        stdout(&who).contains("approved by Jonas Petersen <jonas.petersen@example.org>"),
        "{}",
        stdout(&who)
    );
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
    server.kill();
}
