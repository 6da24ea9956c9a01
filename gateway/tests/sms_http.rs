//! The HTTP SMS provider against a loopback HTTP server: the request's shape (configured field
//! names, our reference, the bearer token) and how each answer maps to an outcome.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use std::sync::{Arc, Mutex};
use verteiler_gateway::delivery::Outcome;
use verteiler_gateway::sms::{HttpProvider, HttpSettings, OutgoingText, SmsProvider};
use verteiler_policies::SmsText;

#[derive(Default)]
struct Api {
    /// Answers to give, in order (then 200).
    answers: Mutex<Vec<StatusCode>>,
    /// (Authorization header, JSON body) of every request.
    seen: Mutex<Vec<(String, serde_json::Value)>>,
}

async fn messages(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut seen = api.seen.lock().unwrap();
    seen.push((auth, body));
    let count = seen.len();
    let mut answers = api.answers.lock().unwrap();
    let status = if answers.is_empty() {
        StatusCode::OK
    } else {
        answers.remove(0)
    };
    // The provider's own id for the text, as such APIs answer.
    let answer = format!(
        "{{\"status\":\"{}\",\"id\":\"msg-{count}\"}}",
        status.as_u16()
    );
    (status, answer)
}

async fn api(answers: Vec<StatusCode>) -> (Arc<Api>, String) {
    let api = Arc::new(Api {
        answers: Mutex::new(answers),
        ..Api::default()
    });
    let app = Router::new()
        .route("/v1/messages", post(messages))
        .with_state(Arc::clone(&api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (api, format!("http://{addr}/v1/messages"))
}

fn text() -> OutgoingText {
    OutgoingText {
        id: 7,
        to: "+4915123456789".into(),
        kind: "list".into(),
        text: SmsText::new("[Oldenfelde] Einladung: Samstag 15 Uhr - Ole Brandt"),
        send_id: Some(3),
    }
}

fn settings(url: &str) -> HttpSettings {
    HttpSettings {
        token: Some("sekret-token".into()),
        to_field: "msisdn".into(),
        text_field: "message".into(),
        reference_field: "ref".into(),
        ..HttpSettings::new(url)
    }
}

#[tokio::test]
async fn a_text_is_posted_in_the_configured_shape_with_the_bearer_token() {
    let (api, url) = api(vec![]).await;
    let provider = HttpProvider::new(settings(&url)).unwrap();
    let submitted = provider.submit(&text()).await;
    assert_eq!(
        (submitted.outcome, submitted.provider_ids),
        (Outcome::Sent, vec!["msg-1".to_string()]),
        "the answer's id is kept for the receipts that name it"
    );
    let seen = api.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (auth, body) = &seen[0];
    assert_eq!(auth, "Bearer sekret-token");
    assert_eq!(
        body,
        &serde_json::json!({
            "msisdn": "+4915123456789",
            "message": "[Oldenfelde] Einladung: Samstag 15 Uhr - Ole Brandt",
            "ref": "7",
        })
    );
    assert!(
        !format!("{:?}", settings(&url)).contains("sekret"),
        "the token is never printed"
    );
}

#[tokio::test]
async fn throttling_and_outages_are_temporary_a_bad_request_is_permanent() {
    let (_, url) = api(vec![
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
    ])
    .await;
    let provider = HttpProvider::new(settings(&url)).unwrap();
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let submitted = provider.submit(&text()).await;
        assert!(submitted.provider_ids.is_empty(), "a refusal names no text");
        outcomes.push(submitted.outcome);
    }
    assert!(
        matches!(&outcomes[0], Outcome::Temporary(e) if e.contains("429")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], Outcome::Temporary(e) if e.contains("503")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[2], Outcome::Permanent(e) if e.contains("400")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[3], Outcome::Permanent(e) if e.contains("401")),
        "{outcomes:?}"
    );

    // Nobody listening: the text waits for the provider to come back.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gone = HttpProvider::new(settings(&format!("http://{closed}/v1/messages"))).unwrap();
    let outcome = gone.submit(&text()).await.outcome;
    assert!(
        matches!(&outcome, Outcome::Temporary(e) if !e.contains(&closed.to_string())),
        "{outcome:?}"
    );
}
