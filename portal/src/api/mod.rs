//! `/api/v1`: the JSON API. The same product as SMTP and the portal behind another door: the
//! same intake, engine, store operations and audit log, and the same fail-closed answers.
//!
//! Every request carries a personal token (`Authorization: Bearer vt_…`, see [`caller`]);
//! every error is `application/problem+json` ([`problem`]); every list pages by cursor
//! ([`paging`]). The OpenAPI 3.1 document is generated from the handlers' `#[utoipa::path]`
//! annotations and served at `/api/v1/openapi.json`, with a readable reference at
//! `/api/v1/reference`. A module per resource holds its handlers and its `routes()`.

mod audiences;
pub mod body;
pub mod caller;
mod directory;
mod fallback;
mod held;
mod me;
mod openapi;
pub mod paging;
mod policy;
pub mod problem;
mod reference;
mod sends;
mod submissions;

pub use caller::{ApiSettings, TokenLimits};

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::Router;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

/// The API's part of the router, and its document.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let (router, document) = OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", resources())
        .split_for_parts();
    let document = Arc::new(openapi::finish(document));
    let limit = state.settings.api.max_body_bytes;
    Router::new()
        .merge(router)
        .route(
            "/api/v1/openapi.json",
            get(openapi::json).with_state(document.clone()),
        )
        .route(
            "/api/v1/reference",
            get(reference::page).with_state(document),
        )
        .route("/api/v1/problems", get(reference::problems))
        .route("/api/v1", any(fallback::unknown))
        .route("/api/v1/{*rest}", any(fallback::unknown))
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(axum::middleware::from_fn(move |request, next| {
            fallback::problems_only(limit, request, next)
        }))
        .layer(DefaultBodyLimit::max(limit))
}

/// Every resource's routes; a new resource adds its module's `routes()` here.
fn resources() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(me::routes())
        .merge(submissions::routes())
        .merge(sends::routes())
        .merge(held::routes())
        .merge(audiences::routes())
        .merge(policy::routes())
        .merge(directory::routes())
}
