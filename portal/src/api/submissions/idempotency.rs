//! `Idempotency-Key` on `POST /submissions`: a client that did not hear the answer sends the
//! same request again with the same key and gets the first answer, never a second
//! submission. The key is claimed in the store before the intake; the answer is kept with it.

use super::super::caller::Caller;
use super::super::problem::Problem;
use axum::http::request::Parts;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use verteiler_store::{IdempotencyStart, IDEMPOTENCY_KEY_MAX};

pub const HEADER: &str = "idempotency-key";

/// The key the request carries, if any; one that is empty, too long or not visible ASCII
/// is a 400.
pub fn key(parts: &Parts, caller: &Caller) -> Result<Option<String>, Problem> {
    let Some(value) = parts.headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX && k.bytes().all(|b| b.is_ascii_graphic())
    });
    match key {
        Some(key) => Ok(Some(key.to_string())),
        None => {
            let max = IDEMPOTENCY_KEY_MAX.to_string();
            Err(Problem::with_args(
                StatusCode::BAD_REQUEST,
                "idempotency_key_invalid",
                caller.lang,
                &[("max", &max)],
            ))
        }
    }
}

/// What makes two requests the same: method, path with query, content type and body.
pub fn request_sha256(parts: &Parts, content_type: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [
        parts.method.as_str(),
        parts.uri.path_and_query().map_or("", |p| p.as_str()),
        content_type,
    ] {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    hash.update(body);
    hex::encode(hash.finalize())
}

/// What claiming the key says to do: go on (`None`), or answer at once.
pub enum Claim {
    Go,
    Repeat { status: u16, body: String },
}

pub async fn claim(
    state: &crate::AppState,
    caller: &Caller,
    key: &str,
    sha256: &str,
) -> Result<Claim, Problem> {
    let started = state
        .store
        .claim_idempotent(caller.token.id, key, sha256)
        .await
        .map_err(|e| caller.internal(&e))?;
    match started {
        IdempotencyStart::Claimed => Ok(Claim::Go),
        IdempotencyStart::Answered { status, body } => Ok(Claim::Repeat { status, body }),
        IdempotencyStart::InProgress => Err(Problem::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            caller.lang,
        )),
        IdempotencyStart::Mismatch => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_mismatch",
            caller.lang,
        )),
    }
}

/// Keeps an answer for the key's retries, or gives the key up when nothing was stored and the
/// request may succeed when tried again (a failure on our side, the refused-flood throttle).
pub async fn settle(
    state: &crate::AppState,
    caller: &Caller,
    key: &str,
    status: u16,
    body: &str,
    stored: bool,
) {
    let keep = stored || (status < 500 && status != 429);
    let done = if keep {
        state
            .store
            .finish_idempotent(caller.token.id, key, status, body)
            .await
    } else {
        state.store.release_idempotent(caller.token.id, key).await
    };
    if let Err(e) = done {
        // The answer still goes out; a retry then finds the key in progress (409), never a
        // second submission.
        tracing::error!(event = "api.idempotency_not_settled", error = %e);
    }
}
