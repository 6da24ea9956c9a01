//! The web side of verteiler: member portal, staff pages and JSON API (axum + maud).
//!
//! It serves the health endpoints that load balancers and the README walkthrough use, and the
//! unsubscribe link every list copy carries. The router is built by a function so tests call
//! it without a socket.

mod health;
mod i18n;
mod page;
mod unsubscribe;

use axum::routing::get;
use axum::Router;
use verteiler_store::Store;

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

/// The whole HTTP surface of the portal.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::confirm_page).post(unsubscribe::unsubscribe),
        )
        .with_state(state)
}
