//! Every error of the API as RFC 9457 `application/problem+json`: a stable `code` a script
//! can branch on, the text in the caller's language as `detail`, both languages' texts, and
//! — when the engine or the store refused something — each reason with its own code and texts.

use crate::i18n::Lang;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use verteiler_texts::Arg;

/// A text in both languages the API speaks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Texts {
    pub de: String,
    pub en: String,
}

impl Texts {
    /// The catalogue's text for `key` in both languages, with `{name}` placeholders filled.
    pub fn of(key: &str, args: &[(&str, &str)]) -> Texts {
        let args: Vec<(&str, Arg<'_>)> = args.iter().map(|(n, v)| (*n, Arg::Text(v))).collect();
        Texts {
            de: verteiler_texts::render(verteiler_texts::Lang::De, key, &args),
            en: verteiler_texts::render(verteiler_texts::Lang::En, key, &args),
        }
    }

    /// Texts rendered elsewhere (the engine's reasons render themselves per language).
    pub fn rendered(text: impl Fn(verteiler_policies::Lang) -> String) -> Texts {
        Texts {
            de: text(verteiler_policies::Lang::De),
            en: text(verteiler_policies::Lang::En),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::De => &self.de,
            Lang::En => &self.en,
        }
    }
}

/// One reason behind a refusal or hold, as the engine or store names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemReason {
    pub code: String,
    pub texts: Texts,
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemBody {
    /// A URI reference naming the kind of problem: `/api/v1/problems#<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The problem in the caller's language (`Accept-Language`, German by default).
    pub title: String,
    pub status: u16,
    /// The same as `title`, for clients that show only `detail`.
    pub detail: String,
    /// Stable, for scripts: `token_invalid`, `scope_missing`, `not_found`, an engine reason …
    pub code: String,
    pub texts: Texts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<ProblemReason>,
    /// Problem-specific data (e.g. an import's per-unit summary), when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra: Option<serde_json::Value>,
}

/// An error answer being built; turned into a response by `IntoResponse`. Boxed, so every
/// `Result<_, Problem>` of the handlers stays one pointer wide.
#[derive(Debug, Clone)]
pub struct Problem(Box<ProblemData>);

#[derive(Debug, Clone)]
pub struct ProblemData {
    pub status: StatusCode,
    pub code: String,
    pub texts: Texts,
    pub reasons: Vec<ProblemReason>,
    pub extra: Option<serde_json::Value>,
    pub lang: Lang,
    retry_after: Option<u64>,
}

impl std::ops::Deref for Problem {
    type Target = ProblemData;

    fn deref(&self) -> &ProblemData {
        &self.0
    }
}

impl Problem {
    /// A problem whose text is `api.<code>` in `texts/i18n/*/api.toml`.
    pub fn new(status: StatusCode, code: &str, lang: Lang) -> Problem {
        Problem::with_args(status, code, lang, &[])
    }

    pub fn with_args(status: StatusCode, code: &str, lang: Lang, args: &[(&str, &str)]) -> Problem {
        Problem::with_texts(status, code, lang, Texts::of(&format!("api.{code}"), args))
    }

    /// A problem with texts from elsewhere in the catalogue (the engine's, the store's).
    pub fn with_texts(status: StatusCode, code: &str, lang: Lang, texts: Texts) -> Problem {
        Problem(Box::new(ProblemData {
            status,
            code: code.to_string(),
            texts,
            reasons: Vec::new(),
            extra: None,
            lang,
            retry_after: None,
        }))
    }

    pub fn reasons(mut self, reasons: Vec<ProblemReason>) -> Problem {
        self.0.reasons = reasons;
        self
    }

    pub fn extra(mut self, extra: serde_json::Value) -> Problem {
        self.0.extra = Some(extra);
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.0.retry_after = Some(seconds);
        self
    }

    pub fn not_found(lang: Lang) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", lang)
    }

    /// A store failure: logged with its cause, answered without it.
    pub fn internal(lang: Lang, error: &dyn std::fmt::Display) -> Problem {
        tracing::error!(event = "api.internal_error", error = %error);
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", lang)
    }

    pub fn body(&self) -> ProblemBody {
        let text = self.texts.get(self.lang).to_string();
        ProblemBody {
            kind: format!("/api/v1/problems#{}", self.code),
            title: text.clone(),
            status: self.status.as_u16(),
            detail: text,
            code: self.code.clone(),
            texts: self.texts.clone(),
            reasons: self.reasons.clone(),
            extra: self.extra.clone(),
        }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<verteiler_store::StoreError> for Problem {
    fn from(e: verteiler_store::StoreError) -> Problem {
        Problem::internal(Lang::De, &e)
    }
}
