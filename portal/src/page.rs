//! The frame every HTML page shares, and how pages are answered.

use crate::i18n::Lang;
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY, VARY};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// A whole page: `title` is both the tab's title and the heading.
pub fn layout(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Pages reached by a personal link have no business in a search index.
                meta name="robots" content="noindex";
                title { (title) }
            }
            body {
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// An HTML answer. The URLs of these pages carry personal tokens: no cache may keep them and
/// no link may pass them on as a referrer. The text depends on `Accept-Language`.
pub fn respond(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [
            (CACHE_CONTROL, "no-store"),
            (REFERRER_POLICY, "no-referrer"),
            (VARY, "Accept-Language"),
        ],
        page,
    )
        .into_response()
}

/// The opaque answer to an internal failure, logged here once with its whole cause chain.
pub fn internal_error(lang: Lang, error: &dyn std::error::Error) -> Response {
    let mut causes = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push_str(": ");
        causes.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(event = "http.internal_error", error = %causes);
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        layout(
            lang,
            lang.text("error_title"),
            html! { p { (lang.text("error_text")) } },
        ),
    )
}
