//! `/healthz` says the process is alive; `/readyz` says it can do its work (database reachable,
//! every migration applied), so a load balancer sends traffic only to ready instances.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use verteiler_store::Readiness;

pub async fn healthz() -> (StatusCode, Json<Value>) {
    (StatusCode::OK, Json(json!({ "status": "alive" })))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.readiness().await {
        Readiness::Ready => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Readiness::MigrationsPending(versions) => {
            tracing::warn!(
                event = "http.not_ready",
                ?versions,
                "migrations not applied"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "migrations pending", "versions": versions })),
            )
        }
        Readiness::Unreachable(reason) => {
            tracing::warn!(event = "http.not_ready", %reason, "database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unreachable" })),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{router, AppState};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use verteiler_store::testing::TestDatabase;

    async fn get(state: AppState, path: &str) -> StatusCode {
        router(state)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn a_migrated_database_is_ready() {
        let db = TestDatabase::new().await;
        let state = AppState::new(
            db.store.clone(),
            crate::PortalSettings::new("http://127.0.0.1:8080"),
        );
        assert_eq!(get(state.clone(), "/healthz").await, StatusCode::OK);
        assert_eq!(get(state, "/readyz").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_closed_database_is_not_ready_but_the_process_is_alive() {
        let db = TestDatabase::new().await;
        let state = AppState::new(
            db.store.clone(),
            crate::PortalSettings::new("http://127.0.0.1:8080"),
        );
        db.store.close().await;
        assert_eq!(get(state.clone(), "/healthz").await, StatusCode::OK);
        assert_eq!(get(state, "/readyz").await, StatusCode::SERVICE_UNAVAILABLE);
    }
}
