//! `/sms/webhook`: the HTTP SMS provider's receipts and inbound texts count only with the
//! body's HMAC under the shared secret; a STOP opts the number out, a receipt is recorded.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::{org, BASE};
use tower::ServiceExt;
use verteiler_portal::{router, AppState, PortalSettings};

const SECRET: &str = "webhook-s3cret";

fn signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn call(app: &axum::Router, body: &str, signature: &str) -> (StatusCode, String) {
    let request = Request::post("/sms/webhook")
        .header("content-type", "application/json")
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

#[tokio::test]
async fn only_signed_calls_count_and_stop_and_receipts_are_recorded() {
    let org = org().await;
    let store = org.store();
    let app = router(AppState::new(
        store.clone(),
        PortalSettings::new(BASE).with_sms_webhook_secret(Some(SECRET.into())),
    ));
    let stop = r#"{"type":"inbound","from":"4915123456789","text":"STOP"}"#;

    let (status, _) = call(&app, stop, "sha256=00").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&app, stop, "").await;
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
        store.text_receipt(text.id).await.unwrap().as_deref(),
        Some("delivered")
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
        store.text_receipt(text.id).await.unwrap().as_deref(),
        Some("failed")
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
