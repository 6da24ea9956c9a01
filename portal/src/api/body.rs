//! Request bodies of the API: JSON whose every rejection is a problem document (not axum's
//! plain-text answers), so a client always gets the same error shape.

use super::caller::request_lang;
use super::problem::Problem;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// `Json<T>` with problem+json rejections.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        let (parts, body) = request.into_parts();
        let lang = request_lang(&parts);
        let request = Request::from_parts(parts, body);
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection, lang, state)),
        }
    }
}

fn json_problem(rejection: JsonRejection, lang: crate::i18n::Lang, state: &AppState) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Problem::with_args(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            lang,
            &[("expected", "application/json")],
        ),
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large(lang, state)
        }
        other => Problem::with_args(
            StatusCode::BAD_REQUEST,
            "bad_request",
            lang,
            &[("reason", &other.body_text())],
        ),
    }
}

/// 413 naming the limit.
pub fn too_large(lang: crate::i18n::Lang, state: &AppState) -> Problem {
    let bytes = verteiler_texts::format_bytes(
        state.settings.api.max_body_bytes as u64,
        verteiler_texts::Rounding::Down,
        lang.policies(),
    );
    Problem::with_args(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        lang,
        &[("bytes", &bytes)],
    )
}
