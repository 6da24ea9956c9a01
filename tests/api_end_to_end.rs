//! The API end to end: the real binary with the demo organisation, a token of the Oldenfelde
//! chair made with `verteiler token create`, a message handed in over HTTP with reqwest — delivered to the outbox like one sent
//! by SMTP — and a retried request with the same Idempotency-Key stored once.

mod support;

use std::time::Duration;
use support::*;

/// The demo, served with no undo window, and a token of its Oldenfelde chair.
async fn demo_with_chair_token() -> (Env, Server, String) {
    let env = Env::new().await;
    let demo = env.run(&["demo", "--members", "600"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let server = env.serve_with(
        &["--demo"],
        &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "0")],
    );
    // As an operator makes it: `verteiler token create`, the token alone on stdout.
    let (_, token) = cli_token(&env, CHAIR.0, "Pressetool", "send sends:read");
    (env, server, token)
}

fn invitation(subject: &str) -> serde_json::Value {
    serde_json::json!({
        "subject": subject,
        "text": "Liebe Mitglieder,\n\nwir laden zum Sommerfest ein.",
        "lists": ["oldenfelde"],
    })
}

/// Outbox copies (`d…eml`) whose text holds `subject`.
fn copies_with(env: &Env, subject: &str) -> usize {
    std::fs::read_dir(env.path("data/outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with('d') && name.ends_with(".eml")
        })
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|text| text.contains(subject))
        .count()
}

#[tokio::test]
async fn a_message_submitted_over_the_api_is_delivered_to_the_outbox() {
    let (env, server, token) = demo_with_chair_token().await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/v1/submissions", server.http))
        .bearer_auth(&token)
        .json(&invitation("Sommerfest per API"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    let send = &answer["sends"][0];
    assert_eq!(send["decision"], "released", "{answer}");
    let send_id = send["send_id"].as_i64().unwrap();

    wait_until_complete(&env, send_id, Duration::from_secs(90)).await;
    let followed: serde_json::Value = client
        .get(format!("{}/api/v1/sends/{send_id}", server.http))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followed["state"], "complete", "{followed}");
    let sent = followed["totals"]["sent"].as_u64().unwrap();
    assert!(sent > 100, "the branch's members got it: {followed}");
    assert_eq!(copies_with(&env, "Sommerfest per API") as u64, sent);
    let audit = env
        .db
        .store
        .audit_of_submission(answer["submission_id"].as_i64().unwrap());
    assert_eq!(audit.await.unwrap()[0].details_json()["ingress"], "api");
}

#[tokio::test]
async fn a_retried_submission_with_the_same_idempotency_key_is_stored_once() {
    let (env, server, token) = demo_with_chair_token().await;
    let client = reqwest::Client::new();
    let before = env.db.store.count_submissions().await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = client
            .post(format!("{}/api/v1/submissions", server.http))
            .bearer_auth(&token)
            .header("Idempotency-Key", "sommerfest-2026-1")
            .json(&invitation("Sommerfest, einmal"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        answers.push(response.json::<serde_json::Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1], "the retry gets the first answer");
    assert_eq!(env.db.store.count_submissions().await.unwrap(), before + 1);
}
