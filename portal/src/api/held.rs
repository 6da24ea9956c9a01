//! `/api/v1/held`: the held sends the token's owner is asked to approve, one of them with what
//! an approver decides on, and approving or rejecting it — the portal's `/held` pages
//! (`crate::held`) over the API, with the same store calls. Only the people asked see a held
//! send; anybody else gets the answer for one that does not exist. An approval is bound to
//! the content hash the client read, and the audit entry names the token it was made with.

use super::body::ApiJson;
use super::caller::Caller;
use super::paging::{Page, PageQuery};
use super::problem::{Problem, ProblemBody, ProblemReason, Texts};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use verteiler_policies::{ApprovalRefusal, Reason};
use verteiler_store::{ApiScope, ApprovalOutcome, HeldSend, StateNow, StopOutcome};

/// A held send as the queue lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldItem {
    pub id: i64,
    pub subject: String,
    /// The sender's name.
    pub sender: String,
    /// The list's name and address.
    pub list: String,
    pub address: String,
    /// Recipients when it was held.
    pub recipients: u64,
    /// Milliseconds since 1970 (UTC); absent when it does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// One decision recorded on a held send.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldDecision {
    pub approver: String,
    /// `approve` or `reject`.
    pub verdict: String,
    pub content_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: i64,
}

/// What an approver decides on.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldDetail {
    #[serde(flatten)]
    pub item: HeldItem,
    /// `held` while it waits; what became of it otherwise.
    pub state: String,
    /// The list's usual size, once learned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_size: Option<u64>,
    /// Approvals still needed (0 once decided, or when only an admin can release it).
    pub approvals_needed: u64,
    pub reasons: Vec<ProblemReason>,
    /// Send this back when approving: the approval is for exactly this content.
    pub content_hash: String,
    /// The beginning of the message's text.
    pub preview: String,
    pub created_at: i64,
    pub decisions: Vec<HeldDecision>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApproveBody {
    /// The `content_hash` of the held send as read.
    pub content_hash: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectBody {
    /// Required: the sender reads it.
    #[serde(default)]
    pub comment: String,
}

/// What an approval or rejection did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOutcome {
    /// `released` (it goes out after the undo window), `recorded` (more approvals needed) or
    /// `rejected`.
    pub outcome: String,
    /// Recipients it goes to, when released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<u64>,
    /// Until when the sender may still cancel it (milliseconds since 1970), when released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_until: Option<i64>,
    /// Approvals still missing, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_missing: Option<u32>,
}

pub(super) fn reason(r: &Reason) -> ProblemReason {
    ProblemReason {
        code: r.code().to_string(),
        texts: Texts::rendered(|lang| r.text(lang)),
    }
}

fn item(h: &HeldSend) -> HeldItem {
    HeldItem {
        id: h.send_id,
        subject: h.subject.clone(),
        sender: h.sender.clone(),
        list: h.audience.clone(),
        address: h.address.clone(),
        recipients: h.recipients,
        expires_at: h.expires_at,
    }
}

/// The approval settings; without them nothing is ever held, so there is nothing to find.
fn approval_settings<'a>(
    state: &'a AppState,
    caller: &Caller,
) -> Result<&'a verteiler_store::ApprovalSettings, Problem> {
    state
        .settings
        .approvals
        .as_ref()
        .ok_or_else(|| caller.not_found())
}

/// The held sends the token's owner is asked to approve, newest first.
#[utoipa::path(
    get,
    path = "/held",
    tag = "approvals",
    security(("bearer" = ["approve"])),
    params(PageQuery),
    responses(
        (status = 200, description = "The queue, newest first", body = Page<HeldItem>),
        (status = 400, description = "A cursor this API did not give out", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `approve`", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<HeldItem>>, Problem> {
    caller.require(ApiScope::Approve)?;
    let before = page.before_id(caller.lang)?;
    let limit = page.limit();
    let Some(settings) = &state.settings.approvals else {
        return Ok(Json(Page::of(Vec::new(), limit, |i| i.id)));
    };
    // The queue is decided per send (who is asked), so it is read whole and paged here; a
    // press office's queue is short.
    let queue = state
        .store
        .approval_queue(caller.member_id(), &settings.limits, usize::MAX)
        .await
        .map_err(|e| caller.internal(&e))?;
    let items = queue
        .iter()
        .filter(|h| before.is_none_or(|b| h.send_id < b))
        .take(limit + 1)
        .map(item)
        .collect();
    Ok(Json(Page::of(items, limit, |i| i.id)))
}

/// One held send, for the people asked to approve it.
#[utoipa::path(
    get,
    path = "/held/{id}",
    tag = "approvals",
    security(("bearer" = ["approve"])),
    params(("id" = i64, Path, description = "The held send")),
    responses(
        (status = 200, description = "What the approver decides on", body = HeldDetail),
        (status = 403, description = "The token lacks the scope `approve`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such send, or its owner is not asked to approve it", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(send_id): Path<i64>,
) -> Result<Json<HeldDetail>, Problem> {
    caller.require(ApiScope::Approve)?;
    let settings = approval_settings(&state, &caller)?;
    let internal = |e: verteiler_store::StoreError| caller.internal(&e);
    let held = state
        .store
        .held_send(send_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| caller.not_found())?;
    let asked = state
        .store
        .may_review(&held, caller.member_id(), &settings.limits)
        .await
        .map_err(internal)?;
    if !asked {
        return Err(caller.not_found());
    }
    Ok(Json(HeldDetail {
        item: item(&held),
        state: held.state.as_str().to_string(),
        usual_size: held.usual_size,
        approvals_needed: held.approvals_needed,
        reasons: held.reasons.iter().map(reason).collect(),
        content_hash: held.content_hash.clone(),
        preview: held.preview.clone(),
        created_at: held.created_at,
        decisions: held
            .decisions
            .iter()
            .map(|d| HeldDecision {
                approver: d.approver.clone(),
                verdict: d.verdict.clone(),
                content_hash: d.content_hash.clone(),
                comment: d.comment.clone(),
                at: d.at,
            })
            .collect(),
    }))
}

/// A person the rules do not let decide this send: why not. Another content than the one
/// held is a conflict (read it again); anything else is not theirs to decide.
fn refused(caller: &Caller, refusal: &ApprovalRefusal) -> Problem {
    let status = match refusal {
        ApprovalRefusal::ContentChanged {} | ApprovalRefusal::Duplicate {} => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    Problem::with_texts(
        status,
        refusal.code(),
        caller.lang,
        Texts::rendered(|lang| refusal.text(lang)),
    )
}

/// The send is no longer waiting for a decision: what became of it.
fn not_waiting(caller: &Caller, state: &StateNow) -> Problem {
    Problem::with_args(
        StatusCode::CONFLICT,
        "held_not_waiting",
        caller.lang,
        &[("state", state.as_str())],
    )
    .extra(serde_json::json!({ "state": state.as_str() }))
}

/// Approves a held send, for the content with `content_hash`.
#[utoipa::path(
    post,
    path = "/held/{id}/approve",
    tag = "approvals",
    security(("bearer" = ["approve"])),
    params(("id" = i64, Path, description = "The held send")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "Counted: released, or more approvals needed", body = DecisionOutcome),
        (status = 400, description = "The body could not be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `approve`, or the owner may not approve this send (their own, out of scope)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such send, or its owner is not asked to approve it", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The content changed, the owner approved it already, it is no longer waiting, or deciding again refused it", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(send_id): Path<i64>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<Json<DecisionOutcome>, Problem> {
    caller.require(ApiScope::Approve)?;
    let settings = approval_settings(&state, &caller)?;
    let comment = body
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let outcome = caller
        .store(&state)
        .approve_send(
            send_id,
            &caller.actor(),
            comment,
            Some(body.content_hash.trim()),
            settings,
        )
        .await
        .map_err(|e| caller.internal(&e))?;
    let done = |outcome: &str| DecisionOutcome {
        outcome: outcome.to_string(),
        recipients: None,
        undo_until: None,
        approvals_missing: None,
    };
    match outcome {
        ApprovalOutcome::Released {
            release_at,
            recipients,
        } => Ok(Json(DecisionOutcome {
            recipients: Some(recipients),
            undo_until: Some(release_at),
            ..done("released")
        })),
        ApprovalOutcome::Recorded { missing } => Ok(Json(DecisionOutcome {
            approvals_missing: Some(missing),
            ..done("recorded")
        })),
        ApprovalOutcome::Rejected { reasons } => {
            Err(
                Problem::new(StatusCode::CONFLICT, "held_refused_again", caller.lang)
                    .reasons(reasons.iter().map(reason).collect()),
            )
        }
        ApprovalOutcome::Refused(refusal) => Err(refused(&caller, &refusal)),
        ApprovalOutcome::NotHeld { state } => Err(not_waiting(&caller, &state)),
        ApprovalOutcome::NotFound => Err(caller.not_found()),
        ApprovalOutcome::Undecidable => Err(Problem::new(
            StatusCode::CONFLICT,
            "held_undecidable",
            caller.lang,
        )),
    }
}

/// Rejects a held send; the comment reaches the sender.
#[utoipa::path(
    post,
    path = "/held/{id}/reject",
    tag = "approvals",
    security(("bearer" = ["approve"])),
    params(("id" = i64, Path, description = "The held send")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "Rejected: nothing goes out", body = DecisionOutcome),
        (status = 400, description = "The body could not be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `approve`, or the owner may not decide this send", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such send, or its owner is not asked to approve it", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "It is no longer waiting for a decision", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "No comment given", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(send_id): Path<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<DecisionOutcome>, Problem> {
    caller.require(ApiScope::Approve)?;
    let settings = approval_settings(&state, &caller)?;
    let outcome = caller
        .store(&state)
        .reject_send(send_id, &caller.actor(), body.comment.trim(), settings)
        .await
        .map_err(|e| caller.internal(&e))?;
    match outcome {
        StopOutcome::Stopped => Ok(Json(DecisionOutcome {
            outcome: "rejected".into(),
            recipients: None,
            undo_until: None,
            approvals_missing: None,
        })),
        StopOutcome::CommentMissing => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "held_comment_missing",
            caller.lang,
        )),
        StopOutcome::Refused(refusal) => Err(refused(&caller, &refusal)),
        StopOutcome::NotHeld { state } => Err(not_waiting(&caller, &state)),
        StopOutcome::NotFound | StopOutcome::NotSender => Err(caller.not_found()),
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(detail))
        .routes(routes!(approve))
        .routes(routes!(reject))
}
