//! `/sms/webhook`: the HTTP SMS provider's receipts and inbound texts count only with the
//! HMAC of their timestamp and body under the shared secret, only within five minutes of
//! their timestamp and only once; a STOP opts the number out, a receipt is recorded.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::{org, BASE};
use tower::ServiceExt;
use verteiler_portal::{router, AppState, PortalSettings};
use verteiler_store::TextReceipt;

/// 32 bytes, the shortest secret the webhook takes.
const SECRET: &str = "webhook-s3cret-of-32-bytes-long!";

fn now_secs() -> i64 {
    verteiler_store::now_ms() / 1000
}

/// `sha256=HEX` of `TIMESTAMP.BODY` under `secret`, as the provider signs.
fn signature_with(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// (timestamp, signature) of a call made now.
fn signature(body: &str) -> (i64, String) {
    let now = now_secs();
    (now, signature_with(SECRET, now, body))
}

async fn call(
    app: &axum::Router,
    body: &str,
    (timestamp, signature): &(i64, String),
) -> (StatusCode, String) {
    let request = Request::post("/sms/webhook")
        .header("content-type", "application/json")
        .header("x-timestamp", timestamp.to_string())
        .header("x-signature", signature)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn webhook(store: &verteiler_store::Store, secret: &str) -> axum::Router {
    router(AppState::new(
        store.clone(),
        PortalSettings::new(BASE).with_sms_webhook_secret(Some(secret.into())),
    ))
}

#[tokio::test]
async fn only_signed_calls_count_and_stop_and_receipts_are_recorded() {
    let org = org().await;
    let store = org.store();
    let app = webhook(store, SECRET);
    let stop = r#"{"type":"inbound","from":"4915123456789","text":"STOP"}"#;

    let (status, _) = call(&app, stop, &(now_secs(), "sha256=00".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&app, stop, &(now_secs(), String::new())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let tampered = stop.replace("STOP", "STOPP");
    let (status, _) = call(&app, &tampered, &signature(stop)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the signature covers the body"
    );
    assert!(
        store
            .sms_outbox_for("+4915123456789")
            .await
            .unwrap()
            .is_empty(),
        "nothing happened for an unsigned call"
    );

    let (status, body) = call(&app, stop, &signature(stop)).await;
    assert_eq!(
        (status, body.contains("opted out")),
        (StatusCode::OK, true),
        "{body}"
    );
    let confirmation = store.sms_outbox_for("+4915123456789").await.unwrap();
    assert_eq!(confirmation.len(), 1);
    assert_eq!(confirmation[0].0, "sms.opted_out");

    let text = store
        .claim_texts(verteiler_store::now_ms(), 60_000, 10)
        .await
        .unwrap()
        .remove(0);
    let receipt = format!(
        r#"{{"type":"receipt","reference":"{}","status":"DELIVRD"}}"#,
        text.id
    );
    let (status, body) = call(&app, &receipt, &signature(&receipt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        store.text_receipt(text.id).await.unwrap(),
        Some(TextReceipt::Delivered)
    );
    // A receipt naming the provider's id of the text (from its answer to our POST).
    store
        .finish_texts(
            &[(text.id, verteiler_store::Attempt::Sent)],
            &[(text.id, "prov-77".to_string())],
        )
        .await
        .unwrap();
    let by_id = r#"{"type":"receipt","id":"prov-77","status":"failed"}"#;
    let (status, body) = call(&app, by_id, &signature(by_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        store.text_receipt(text.id).await.unwrap(),
        Some(TextReceipt::Failed)
    );
    let neither = r#"{"type":"receipt","status":"delivered"}"#;
    assert_eq!(
        call(&app, neither, &signature(neither)).await.0,
        StatusCode::BAD_REQUEST
    );
    let unknown = r#"{"type":"receipt","reference":"999999","status":"delivered"}"#;
    assert_eq!(
        call(&app, unknown, &signature(unknown)).await.0,
        StatusCode::NOT_FOUND
    );
    let garbage = r#"{"type":"telegram"}"#;
    assert_eq!(
        call(&app, garbage, &signature(garbage)).await.0,
        StatusCode::BAD_REQUEST
    );

    // Without a configured secret there is no webhook at all.
    assert_eq!(
        call(&org.app, stop, &signature(stop)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_webhook_call_counts_once_and_only_within_five_minutes_of_its_timestamp() {
    let org = org().await;
    let store = org.store();
    let app = webhook(store, SECRET);
    let stop = r#"{"type":"inbound","from":"4915123456789","text":"STOP"}"#;
    let texts = || store.sms_outbox_for("+4915123456789");

    // Recorded six minutes ago, or dated ahead by as much: refused, though signed.
    for skew in [-301, 301] {
        let then = now_secs() + skew;
        let (status, body) = call(&app, stop, &(then, signature_with(SECRET, then, stop))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{skew}: {body}");
    }
    // The timestamp is signed: a fresh one on an old signature does not pass.
    let old = now_secs() - 400;
    let moved = (now_secs(), signature_with(SECRET, old, stop));
    assert_eq!(call(&app, stop, &moved).await.0, StatusCode::UNAUTHORIZED);
    // The body alone signed (no timestamp) is not the scheme.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(stop.as_bytes());
    let body_only = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        call(&app, stop, &(now_secs(), body_only)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(texts().await.unwrap().is_empty(), "nothing happened yet");

    let signed = signature(stop);
    assert_eq!(call(&app, stop, &signed).await.0, StatusCode::OK);
    assert_eq!(texts().await.unwrap().len(), 1, "the confirmation");
    // The same call again, within the window: refused, nothing happens twice.
    let (status, body) = call(&app, stop, &signed).await;
    assert_eq!(
        (status, body.contains("replayed")),
        (StatusCode::CONFLICT, true)
    );
    assert_eq!(texts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_short_webhook_secret_is_no_webhook() {
    let org = org().await;
    let stop = r#"{"type":"inbound","from":"4915123456789","text":"STOP"}"#;
    for secret in ["", "webhook-s3cret", &SECRET[1..]] {
        let app = webhook(org.store(), secret);
        let now = now_secs();
        let (status, _) = call(&app, stop, &(now, signature_with(secret, now, stop))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{} bytes", secret.len());
    }
    assert!(org
        .store()
        .sms_outbox_for("+4915123456789")
        .await
        .unwrap()
        .is_empty());
}
