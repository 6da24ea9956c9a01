//! `/sms/webhook`: the HTTP SMS provider's calls back — delivery receipts and inbound texts
//! (STOP). Not a form of a person but a machine's request, so no session and no CSRF token.
//!
//! Every call carries `X-Timestamp: UNIX-SECONDS` and `X-Signature: sha256=HEX`, the
//! HMAC-SHA256 under the shared secret (`sms.http.webhook_secret`, at least
//! [`MIN_SECRET_BYTES`] bytes) of the timestamp, a `.` and the raw body. It is checked in
//! constant time before the body is read as anything. A timestamp more than
//! [`MAX_SKEW_SECS`] from our clock is refused, so a recorded call cannot be played again
//! later; within that window each signature counts once ([`Replays`]). Without a configured
//! secret — or with one too short to be a secret — the endpoint does not exist.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use verteiler_store::Inbound;

/// The shortest webhook secret accepted: 32 bytes, the HMAC-SHA256 block's worth of guessing.
pub const MIN_SECRET_BYTES: usize = 32;
/// How far a call's signed timestamp may be from our clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// Signatures remembered at most: far more than a provider sends in [`MAX_SKEW_SECS`]. When
/// full, new calls are answered "try again" rather than let a replay through.
const MAX_REMEMBERED: usize = 100_000;

/// The signatures of the calls taken within the last [`MAX_SKEW_SECS`]: a call seen again
/// (a replay inside the window) changes nothing.
#[derive(Debug, Default)]
pub struct Replays {
    /// Signature → the second after which its timestamp is outside the window anyway.
    seen: Mutex<HashMap<Vec<u8>, i64>>,
}

/// What [`Replays::claim`] found.
#[derive(Debug, PartialEq, Eq)]
enum Claim {
    New,
    Replayed,
    Full,
}

impl Replays {
    /// Takes `mac` for this call, unless a call with it was taken already.
    fn claim(&self, mac: &[u8], timestamp: i64, now: i64) -> Claim {
        let Ok(mut seen) = self.seen.lock() else {
            return Claim::Full;
        };
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, until| *until >= now);
        }
        if seen.contains_key(mac) {
            return Claim::Replayed;
        }
        if seen.len() >= MAX_REMEMBERED {
            return Claim::Full;
        }
        seen.insert(mac.to_vec(), timestamp + MAX_SKEW_SECS);
        Claim::New
    }

    /// Gives a claim back: the call failed on our side and the provider will try it again.
    fn release(&self, mac: &[u8]) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(mac);
        }
    }
}

/// What the provider sends.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Call {
    /// The fate of one of our texts, named by the reference we gave it or by the id the
    /// provider answered with (`sms.http.id_field`).
    Receipt {
        reference: Option<String>,
        id: Option<String>,
        status: String,
    },
    /// A text somebody sent to our number.
    Inbound { from: String, text: String },
}

/// The MAC of a call: HMAC-SHA256 under `secret` of `TIMESTAMP.BODY`.
fn mac_of(secret: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The MAC `signature` (`sha256=HEX`) names, if it is that of `timestamp` and `body` under
/// `secret` (compared in constant time).
fn signed(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> Option<Vec<u8>> {
    let given = hex::decode(signature.trim().strip_prefix("sha256=")?).ok()?;
    let mac = mac_of(secret, timestamp, body)?;
    mac.verify_slice(&given).ok()?;
    Some(given)
}

/// The call's timestamp, when it is Unix seconds within [`MAX_SKEW_SECS`] of `now`.
fn fresh(timestamp: &str, now: i64) -> Option<i64> {
    let t: i64 = timestamp.trim().parse().ok()?;
    ((t - now).abs() <= MAX_SKEW_SECS).then_some(t)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn answer(status: StatusCode, what: &str) -> Response {
    (status, Json(serde_json::json!({ "result": what }))).into_response()
}

pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state
        .settings
        .sms_webhook_secret
        .as_deref()
        .filter(|s| s.len() >= MIN_SECRET_BYTES)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let timestamp = header(&headers, "x-timestamp");
    let Some(mac) = signed(secret, timestamp, &body, header(&headers, "x-signature")) else {
        tracing::warn!(event = "sms.webhook_refused", "bad or missing signature");
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    };
    let now = verteiler_store::now_ms() / 1000;
    let Some(timestamp) = fresh(timestamp, now) else {
        tracing::warn!(
            event = "sms.webhook_refused",
            "timestamp outside the window"
        );
        return answer(StatusCode::UNAUTHORIZED, "stale timestamp");
    };
    match state.webhook_replays.claim(&mac, timestamp, now) {
        Claim::New => {}
        Claim::Replayed => {
            tracing::warn!(event = "sms.webhook_refused", "replayed call");
            return answer(StatusCode::CONFLICT, "replayed");
        }
        Claim::Full => return answer(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    }
    let response = handle(&state, &body).await;
    if response.status().is_server_error() {
        state.webhook_replays.release(&mac);
    }
    response
}

/// A signed, fresh call, taken once: what it asks for.
async fn handle(state: &AppState, body: &[u8]) -> Response {
    let call: Call = match serde_json::from_slice(body) {
        Ok(call) => call,
        Err(e) => return answer(StatusCode::BAD_REQUEST, &format!("unreadable: {e}")),
    };
    let store = &state.store;
    match call {
        Call::Receipt {
            reference,
            id,
            status,
        } => {
            let delivered = match status.to_ascii_lowercase().as_str() {
                "delivered" | "delivrd" => true,
                "failed" | "undeliv" | "undelivered" | "rejected" | "expired" => false,
                // Interim states ("accepted", "enroute") change nothing.
                _ => return answer(StatusCode::OK, "ignored"),
            };
            let recorded = match (reference, id) {
                (Some(reference), _) => {
                    let Ok(reference) = reference.parse::<i64>() else {
                        return answer(StatusCode::BAD_REQUEST, "the reference is not one of ours");
                    };
                    store.record_text_receipt(reference, delivered).await
                }
                (None, Some(id)) if !id.is_empty() => store
                    .record_part_receipt(&id, delivered)
                    .await
                    .map(|()| true),
                _ => {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        "a receipt needs a reference or an id",
                    )
                }
            };
            match recorded {
                Ok(true) => answer(StatusCode::OK, "recorded"),
                Ok(false) => answer(StatusCode::NOT_FOUND, "unknown reference"),
                Err(e) => {
                    tracing::error!(event = "sms.receipt_failed", error = %e);
                    answer(StatusCode::SERVICE_UNAVAILABLE, "try again")
                }
            }
        }
        Call::Inbound { from, text } => match store.receive_text(&from, &text, "http").await {
            Ok(Inbound::OptedOut { .. }) => answer(StatusCode::OK, "opted out"),
            Ok(Inbound::AlreadyOptedOut { .. }) => answer(StatusCode::OK, "already opted out"),
            Ok(Inbound::Ignored) => answer(StatusCode::OK, "ignored"),
            Ok(Inbound::BadNumber(reason)) => answer(StatusCode::BAD_REQUEST, &reason),
            Err(e) => {
                tracing::error!(event = "sms.inbound_failed", error = %e);
                answer(StatusCode::SERVICE_UNAVAILABLE, "try again")
            }
        },
    }
}
