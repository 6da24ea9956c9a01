//! The API's OpenAPI 3.1 document, generated from the handlers, and the reference page the
//! portal renders from it (no assets from elsewhere, nothing downloaded at build time).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

/// The document's frame: title, version, the bearer scheme. Paths come from the handlers.
pub(super) fn base() -> OpenApi {
    let mut api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("verteiler API")
                .version("1")
                .description(Some(
                    "Submit, follow, approve and sync the directory. Every request carries a \
                     personal token (`Authorization: Bearer vt_…`); every error is \
                     `application/problem+json`.",
                ))
                .build(),
        )
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    api
}

pub(super) async fn json(State(document): State<Arc<OpenApi>>) -> Response {
    axum::Json(document.as_ref().clone()).into_response()
}

/// `/api/v1/reference`: the document as a page.
pub(super) async fn reference(State(document): State<Arc<OpenApi>>) -> Response {
    let body = maud::html! {
        h1 { (document.info.title) }
        @for (path, item) in &document.paths.paths {
            h2 { code { (path) } }
            @if let Some(op) = &item.get { p { "GET " (op.summary.clone().unwrap_or_default()) } }
            @if let Some(op) = &item.post { p { "POST " (op.summary.clone().unwrap_or_default()) } }
            @if let Some(op) = &item.put { p { "PUT " (op.summary.clone().unwrap_or_default()) } }
        }
    };
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.into_string(),
    )
        .into_response()
}
