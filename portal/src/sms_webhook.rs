//! `/sms/webhook`: the HTTP SMS provider's calls back — delivery receipts and inbound texts
//! (STOP). Not a form of a person but a machine's request, so no session and no CSRF token:
//! every call carries `X-Signature: sha256=HEX`, the HMAC-SHA256 of the body under the shared
//! secret (`sms.http.webhook_secret`), checked in constant time before the body is read as
//! anything. Without a configured secret the endpoint does not exist.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use verteiler_store::Inbound;

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

/// Whether `signature` (`sha256=HEX`) is the body's HMAC under `secret`.
pub fn signed(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_mac) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_mac) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn answer(status: StatusCode, what: &str) -> Response {
    (status, Json(serde_json::json!({ "result": what }))).into_response()
}

pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.settings.sms_webhook_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let signature = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !signed(secret, &body, signature) {
        tracing::warn!(event = "sms.webhook_refused", "bad or missing signature");
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let call: Call = match serde_json::from_slice(&body) {
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
