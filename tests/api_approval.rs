//! Four eyes over the API, end to end with the real binary: an official statement over real
//! SMTP is held; the sender's own token cannot approve it; the second press officer's token
//! sees it in the queue, is refused for content it did not read, approves the content it read,
//! and the send is delivered after the undo window. The audit log names the token.

mod support;

use std::time::{Duration, Instant};
use support::*;
use verteiler_policies::EmailAddress;
use verteiler_store::{ApiScopes, NewApiToken, SendState, Store};

const RENEE: (&str, &str) = ("renee.hoffmann@example.org", "presse-eins");
const JONAS: &str = "jonas.petersen@example.org";

/// A token with the scope `approve` for the member with `email`: its id and its secret.
async fn approve_token(store: &Store, email: &str, name: &str) -> (i64, String) {
    let member_id = store
        .member_id_by_email(&EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .expect("a demo member");
    let (token, secret) = store
        .create_api_token(&NewApiToken {
            member_id,
            name: name.into(),
            scopes: ApiScopes::parse("approve").unwrap(),
            expires_at: None,
        })
        .await
        .unwrap()
        .unwrap();
    (token.id, secret)
}

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
    let Some((env, server)) =
        demo_server("python3", &[("VERTEILER_DELIVERY__UNDO_WINDOW_SECS", "2")]).await
    else {
        return;
    };
    let store = &env.db.store;
    let r = smtplib_send(
        &server.smtp(),
        RENEE.0,
        RENEE.1,
        "presse@example.org",
        "pressemitteilungen@lists.example.org",
        &["--subject", "Stellungnahme"],
    );
    assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
    let submission = store
        .submissions_by_message_id(r.message_id.trim_matches(['<', '>']))
        .await
        .unwrap()[0];
    let send = store.sends_of(submission).await.unwrap()[0].id;
    let state = async || store.send_record(send).await.unwrap().unwrap().state;
    assert_eq!(state().await, SendState::Held);

    let (_, renee) = approve_token(store, RENEE.0, "Renées Skript").await;
    let (jonas_id, jonas) = approve_token(store, JONAS, "Pressestelle Jonas").await;

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
    let who = env.run(&["audit", "who", &r.message_id]);
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
