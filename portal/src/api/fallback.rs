//! The API answers every error as a problem document, whoever made it: an unknown path, a
//! method a path does not take, and axum's own rejections (an unreadable path parameter or
//! query string, a body over the limit), which would otherwise be plain text.

use super::problem::{Problem, Texts, PROBLEM_JSON};
use crate::i18n::Lang;
use axum::extract::Request;
use axum::http::header::{ACCEPT_LANGUAGE, ALLOW, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn lang_of(request: &Request) -> Lang {
    Lang::negotiate(
        request
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// A path the API does not have: a problem document, not the portal's HTML 404.
pub(super) async fn unknown(request: Request) -> Response {
    Problem::not_found(lang_of(&request)).into_response()
}

/// A known path asked with a method it does not take (axum adds `Allow`).
pub(super) async fn method_not_allowed(request: Request) -> Response {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        lang_of(&request),
    )
    .into_response()
}

/// Middleware: a 4xx answer that is not a problem document becomes one with the same status,
/// its text as the reason. `max_body_bytes` names the limit in a 413.
pub(super) async fn problems_only(max_body_bytes: usize, request: Request, next: Next) -> Response {
    let lang = lang_of(&request);
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v == PROBLEM_JSON);
    if !status.is_client_error() || is_problem {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = |code: &str| {
        Problem::with_texts(
            status,
            code,
            lang,
            Texts::of("api.bad_request", &[("reason", &text)]),
        )
    };
    let problem = match status {
        StatusCode::NOT_FOUND => Problem::not_found(lang),
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(status, "method_not_allowed", lang),
        StatusCode::PAYLOAD_TOO_LARGE => {
            let bytes = verteiler_texts::format_bytes(
                max_body_bytes as u64,
                verteiler_texts::Rounding::Down,
                lang.policies(),
            );
            Problem::with_args(status, "body_too_large", lang, &[("bytes", &bytes)])
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => reason("unsupported_media_type"),
        _ => reason("bad_request"),
    };
    let mut answer = problem.into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(ALLOW, allow);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::{Path, Query};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Limit {
        #[allow(dead_code)]
        limit: u32,
    }

    async fn answer(uri: &str) -> (StatusCode, String, serde_json::Value) {
        let app = Router::new()
            .route(
                "/x/{id}",
                get(|Path(id): Path<i64>| async move { id.to_string() }),
            )
            .route("/q", get(|Query(_): Query<Limit>| async { "ok" }))
            .layer(axum::middleware::from_fn(|r, n| problems_only(1024, r, n)));
        let request = axum::http::Request::get(uri)
            .header(ACCEPT_LANGUAGE, "en")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            kind,
            serde_json::from_slice(&bytes).unwrap_or_default(),
        )
    }

    #[tokio::test]
    async fn axums_own_rejections_become_problems() {
        assert_eq!(answer("/x/7").await.0, StatusCode::OK);
        for uri in ["/x/seven", "/q?limit=many", "/q"] {
            let (status, kind, body) = answer(uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(kind, PROBLEM_JSON, "{uri}");
            assert_eq!(body["code"], "bad_request", "{uri}");
            assert!(body["detail"]
                .as_str()
                .unwrap()
                .starts_with("The request could not be read: "));
        }
    }
}
