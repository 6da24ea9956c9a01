//! An API client for router tests: bearer tokens made in the store, JSON in and out.

use super::Org;
use axum::body::Body;
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;
use verteiler_store::{ApiScopes, NewApiToken};

/// A token of `member_id` with `scopes` (`"send sends:read"`, `"send:klima"` …).
pub async fn token(org: &Org, member_id: i64, scopes: &str) -> String {
    org.store()
        .create_api_token(&NewApiToken {
            member_id,
            name: format!("test {scopes}"),
            scopes: ApiScopes::parse(scopes).expect("scopes"),
            expires_at: None,
        })
        .await
        .expect("store")
        .expect("token refused")
        .1
}

/// One answer: status, headers, and the body as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
    pub text: String,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The problem code of an error answer (asserting it is a problem document).
    pub fn problem_code(&self) -> &str {
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        self.json["code"].as_str().unwrap_or("")
    }
}

/// A request with a body of any type.
pub async fn send(
    org: &Org,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(ACCEPT_LANGUAGE, "en");
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(ct) = content_type {
        request = request.header(CONTENT_TYPE, ct);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = org
        .app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

pub async fn get(org: &Org, path: &str, token: &str) -> Answer {
    send(org, Method::GET, path, Some(token), None, vec![], &[]).await
}

pub async fn post_json(org: &Org, path: &str, token: &str, body: serde_json::Value) -> Answer {
    send(
        org,
        Method::POST,
        path,
        Some(token),
        Some("application/json"),
        body.to_string().into_bytes(),
        &[],
    )
    .await
}

pub async fn put_json(org: &Org, path: &str, token: &str, body: serde_json::Value) -> Answer {
    send(
        org,
        Method::PUT,
        path,
        Some(token),
        Some("application/json"),
        body.to_string().into_bytes(),
        &[],
    )
    .await
}
