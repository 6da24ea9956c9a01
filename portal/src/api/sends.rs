//! `/api/v1/sends/{id}`: one of the caller's sends — its state, decision, reasons and how far
//! delivery got — and stopping it while it waits or runs (the undo window, the fan-out, the
//! wait for approval), as the portal's submission page does. Another member's send is not
//! found.

use super::caller::Caller;
use super::problem::{Problem, ProblemBody};
use super::submissions::input::check_token;
use super::submissions::object_id;
use super::submissions::view::{SendDetail, SendView, TotalsView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use verteiler_store::{ApiScope, CancelOutcome, OwnSubmission};

/// The caller's send with its submission, or 404.
async fn own_send(state: &AppState, caller: &Caller, id: &str) -> Result<OwnSubmission, Problem> {
    let id = object_id(id, caller)?;
    match state.store.own_send(caller.member_id(), id).await {
        Ok(Some(own)) if own.sends.len() == 1 => Ok(own),
        Ok(_) => Err(caller.not_found()),
        Err(e) => Err(caller.internal(&e)),
    }
}

/// One of the caller's sends.
#[utoipa::path(
    get,
    path = "/sends/{id}",
    tag = "sends",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The send's id")),
    responses(
        (status = 200, description = "The send, with its delivery totals", body = SendDetail),
        (status = 403, description = "The token lacks `sends:read`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such send among the caller's", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<SendDetail>, Problem> {
    caller.require(ApiScope::SendsRead)?;
    let own = own_send(&state, &caller, &id).await?;
    let send = &own.sends[0];
    let totals = state
        .store
        .delivery_totals(send.send.id)
        .await
        .map_err(|e| caller.internal(&e))?;
    Ok(axum::Json(SendDetail {
        send: SendView::of(send),
        subject: own.subject.clone(),
        totals: TotalsView::from(&totals),
    }))
}

/// What stopping a send did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cancelled {
    pub send_id: i64,
    /// `cancelled`, or `withdrawn` for a send that waited for approval.
    pub state: String,
    /// Copies not yet handed over that will not go out.
    pub copies_cancelled: u64,
}

/// Stop one of the caller's sends.
#[utoipa::path(
    post,
    path = "/sends/{id}/cancel",
    tag = "sends",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The send's id")),
    responses(
        (status = 200, description = "Stopped", body = Cancelled),
        (status = 403, description = "The token lacks `send`, or its `send` does not cover the send's list (`list_not_in_token`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such send among the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The send has ended already (`send_not_running`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Cancelled>, Problem> {
    // Stopping changes data: it takes `send`, not `sends:read`.
    caller.require(ApiScope::Send)?;
    let own = own_send(&state, &caller, &id).await?;
    let send_id = own.sends[0].send.id;
    // A token limited to some lists stops only sends to those.
    let domain = state
        .settings
        .approvals
        .as_ref()
        .map_or("", |a| a.list_domain.as_str());
    check_token(
        std::slice::from_ref(&own.sends[0].send.address),
        domain,
        &caller,
    )?;
    let outcome = caller
        .store(&state)
        .cancel_own_send(&caller.actor(), own.id, send_id)
        .await
        .map_err(|e| caller.internal(&e))?;
    match outcome {
        CancelOutcome::Cancelled { copies } => {
            let now = state
                .store
                .send_record(send_id)
                .await
                .map_err(|e| caller.internal(&e))?
                .map_or("cancelled", |s| s.state.as_str());
            tracing::info!(
                event = "api.send_cancelled",
                token = caller.token.id,
                send_id
            );
            Ok(axum::Json(Cancelled {
                send_id,
                state: now.to_string(),
                copies_cancelled: copies,
            }))
        }
        CancelOutcome::NotRunning { state: now } => Err(Problem::with_args(
            StatusCode::CONFLICT,
            "send_not_running",
            caller.lang,
            &[("state", now.as_str())],
        )),
        CancelOutcome::NotFound => Err(caller.not_found()),
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(one))
        .routes(routes!(cancel))
}
