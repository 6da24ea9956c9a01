//! `GET /directory/changes`: what members changed themselves in the portal, for the
//! membership database to take over (see `verteiler_store::directory::changes`).

use super::sync::require_sync;
use crate::api::caller::Caller;
use crate::api::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::api::problem::{Problem, ProblemBody};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// `next_cursor` of the last page read; absent (or `0`) for every change from the start.
    pub since: Option<String>,
    /// Changes per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One change a member made themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberChange {
    /// Where this change lies in the feed (`since` reads on after it).
    pub cursor: String,
    /// Milliseconds since 1970 (UTC).
    pub at: i64,
    /// The membership database's id of the member; `null` for a member it does not know.
    pub external_id: Option<String>,
    /// `email_added`, `email_removed`, `email_verified`, `phone_added`, `phone_removed`,
    /// `phone_verified`, `contact_verified` (of a contact point removed since),
    /// `postal_address_set`, `channel_changed`, `deletion_requested`, `erased`.
    pub change: String,
    /// The changed field as it is NOW (not as the change left it): `{"field": "phone",
    /// "numbers": [{"value", "verified", "primary", "from_import"}]}`, `{"field": "email",
    /// "addresses": […]}`, `{"field": "postal", "address": {"street", "postcode", "city"} |
    /// null}`, `{"field": "channels", "choices": [{"category", "channel"}]}`, `{"field":
    /// "deletion", "requested_at": ms | null}`; `null` for an erased member.
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    pub items: Vec<MemberChange>,
    /// Pass as `since` for the next page, and to poll later: always present.
    pub next_cursor: String,
    /// More changes are waiting after `next_cursor`.
    pub more: bool,
}

/// Members' own changes since a cursor, oldest first.
#[utoipa::path(
    get,
    path = "/directory/changes",
    tag = "directory",
    security(("bearer" = [])),
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = ChangesPage),
        (status = 400, description = "A cursor this API did not give out", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Scope `directory:sync` missing, or the owner is no admin", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<ChangesPage>, Problem> {
    require_sync(&state, &caller).await?;
    let bad_cursor = || Problem::new(StatusCode::BAD_REQUEST, "bad_cursor", caller.lang);
    let Query(query) = query.map_err(|_| bad_cursor())?;
    let since = match query.since.as_deref() {
        None | Some("") => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(bad_cursor)?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let page = state
        .store
        .directory_changes(since, limit)
        .await
        .map_err(|e| caller.internal(&e))?;
    Ok(Json(ChangesPage {
        items: page
            .changes
            .into_iter()
            .map(|c| MemberChange {
                cursor: c.cursor.to_string(),
                at: c.at,
                external_id: c.external_id,
                change: c.change.as_str().to_string(),
                value: c
                    .value
                    .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null)),
            })
            .collect(),
        next_cursor: page.next_cursor.to_string(),
        more: page.more,
    }))
}
