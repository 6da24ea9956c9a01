//! `GET /api/v1/me`: the token itself — whose it is, what it may do, until when. The first
//! call a script makes to check its setup.

use super::caller::Caller;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub token_id: i64,
    pub name: String,
    pub member_id: i64,
    /// `send`, `sends:read`, `approve`, `directory:sync`, `admin`.
    pub scopes: Vec<String>,
    /// The lists `send` is limited to; absent when it covers every list the owner may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lists: Option<Vec<String>>,
    /// Milliseconds since 1970 (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// The calling token.
#[utoipa::path(
    get,
    path = "/me",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token", body = TokenInfo),
    )
)]
async fn me(caller: Caller) -> axum::Json<TokenInfo> {
    let t = &caller.token;
    axum::Json(TokenInfo {
        token_id: t.id,
        name: t.name.clone(),
        member_id: t.member_id,
        scopes: t
            .scopes
            .scopes()
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        send_lists: t.scopes.send_lists().map(<[String]>::to_vec),
        expires_at: t.expires_at,
    })
}

pub(super) fn routes() -> OpenApiRouter<crate::AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
