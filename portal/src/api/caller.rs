//! Who calls the API: the bearer token, checked against the store on every request, and the
//! per-token request rate.

use super::problem::Problem;
use crate::i18n::Lang;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION};
use axum::http::request::Parts;
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use verteiler_store::{Actor, ApiScope, ApiToken, Origin, Store};

/// The API's limits (`api.*` in the configuration).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Requests one token may make per minute, after a burst of as many.
    pub requests_per_minute: u32,
    /// Largest request body taken (a raw message, an export pushed by the membership database).
    pub max_body_bytes: usize,
}

impl Default for ApiSettings {
    fn default() -> ApiSettings {
        ApiSettings {
            requests_per_minute: 600,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// One rate limiter per token id, shared by every request of the process.
pub struct TokenLimits {
    per_token: DefaultKeyedRateLimiter<i64>,
}

impl TokenLimits {
    pub fn new(requests_per_minute: u32) -> TokenLimits {
        let n = NonZeroU32::new(requests_per_minute).unwrap_or(NonZeroU32::MIN);
        TokenLimits {
            per_token: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// Whether the token may make a request now; if not, the seconds until it may.
    fn check(&self, token_id: i64) -> Result<(), u64> {
        self.per_token.check_key(&token_id).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

impl std::fmt::Debug for TokenLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenLimits")
    }
}

/// The token of an API request, checked: known, unrevoked, unexpired, its owner active, within
/// its rate. Handlers then ask [`Caller::require`] for the scope they need.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
    /// The language problems are told in (`Accept-Language`; German by default).
    pub lang: Lang,
}

impl Caller {
    pub fn member_id(&self) -> i64 {
        self.token.member_id
    }

    /// 403 unless the token carries `scope`. (`admin` carries every scope an admin's roles
    /// give, so it passes too.)
    pub fn require(&self, scope: ApiScope) -> Result<(), Problem> {
        if self.token.scopes.has(scope) || self.token.scopes.has(ApiScope::Admin) {
            Ok(())
        } else {
            Err(Problem::with_args(
                StatusCode::FORBIDDEN,
                "scope_missing",
                self.lang,
                &[("scope", scope.as_str())],
            ))
        }
    }

    /// The store, with every change audited as made with this token (its id and name).
    pub fn store(&self, state: &AppState) -> Store {
        state.store.acting_as(self.token.actor())
    }

    /// The token's owner as the approval operations name a person.
    pub fn actor(&self) -> Actor {
        Actor {
            member_id: self.token.member_id,
            label: self.token.actor(),
            ingress: Origin::Api,
        }
    }

    pub fn not_found(&self) -> Problem {
        Problem::not_found(self.lang)
    }

    pub fn internal(&self, error: &dyn std::fmt::Display) -> Problem {
        Problem::internal(self.lang, error)
    }
}

/// The language of an API request: `Accept-Language` only (an API client has no cookies).
pub fn request_lang(parts: &Parts) -> Lang {
    Lang::negotiate(
        parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Problem> {
        let lang = request_lang(parts);
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let Some(presented) = presented else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "token_missing",
                lang,
            ));
        };
        let token = match state.store.authenticate_api_token(presented).await {
            Ok(Some(token)) => token,
            Ok(None) => {
                tracing::info!(event = "api.token_refused");
                return Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "token_invalid",
                    lang,
                ));
            }
            Err(e) => return Err(Problem::internal(lang, &e)),
        };
        if let Err(seconds) = state.api_limits.check(token.id) {
            return Err(Problem::with_args(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                lang,
                &[("seconds", &seconds.to_string())],
            )
            .retry_after(seconds));
        }
        Ok(Caller { token, lang })
    }
}
