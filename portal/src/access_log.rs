//! One log line per HTTP request (`event=http.request`): method, the route as the router
//! knows it (`/signin/link/{token}`, never the token itself), status and duration. No query
//! string, no header, no client address: sign-in links, unsubscribe tokens and API tokens
//! never reach a log collector.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        event = "http.request",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
    );
    response
}
