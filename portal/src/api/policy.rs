//! `POST /api/v1/policy/simulate`: what the engine would decide about a message from the
//! token's owner to a list — the real resolution and the real engine, as
//! `verteiler policy simulate` (`src/commands/policy.rs`) runs them; nothing is stored.

use super::body::ApiJson;
use super::caller::Caller;
use super::held::reason;
use super::problem::{Problem, ProblemBody, ProblemReason};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use verteiler_policies::{decide, Channel, ContentHash, Decision, MessageFacts};
use verteiler_store::{ApiScope, Submission};

/// The message to judge: its figures, not its text.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SimulateBody {
    /// The list: its slug or its address.
    pub list: String,
    /// `email` (default) or `sms`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The message's From: address; absent, the owner's own.
    #[serde(default)]
    pub from: Option<String>,
    /// Size of the message in bytes (default 20,000).
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub attachments: u32,
    #[serde(default)]
    pub attachment_bytes: u64,
    /// Addresses visible in To/Cc that are not list addresses.
    #[serde(default)]
    pub visible_recipients: u32,
    /// SMS segments of the text (default 1).
    #[serde(default)]
    pub sms_segments: Option<u32>,
}

/// The engine's decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Simulation {
    /// `release`, `hold` or `reject`.
    pub decision: String,
    /// Recipients it would go to; absent when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<u64>,
    /// When held: how many approvals it needs, and from holders of which functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_needed: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    pub reasons: Vec<ProblemReason>,
}

/// What the engine would decide about such a message from the token's owner. Nothing is
/// stored or sent.
#[utoipa::path(
    post,
    path = "/policy/simulate",
    tag = "audiences",
    security(("bearer" = ["send"])),
    request_body = SimulateBody,
    responses(
        (status = 200, description = "The decision with its reasons", body = Simulation),
        (status = 400, description = "The body could not be read (an unknown channel …)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `send` (for this list)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Sending is not set up on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn simulate(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SimulateBody>,
) -> Result<Json<Simulation>, Problem> {
    caller.require(ApiScope::Send)?;
    let Some(settings) = &state.settings.approvals else {
        return Err(caller.not_found());
    };
    let list = body.list.trim();
    let slug = list
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !caller.token.scopes.may_send_to(&slug) {
        return Err(Problem::with_args(
            StatusCode::FORBIDDEN,
            "scope_missing",
            caller.lang,
            &[("scope", &format!("send:{slug}"))],
        ));
    }
    let channel: Channel = body.channel.as_deref().unwrap_or("email").parse().map_err(
        |e: verteiler_policies::UnknownValue| {
            Problem::with_args(
                StatusCode::BAD_REQUEST,
                "bad_request",
                caller.lang,
                &[("reason", &e.to_string())],
            )
        },
    )?;
    let submission = Submission {
        sender_member_id: caller.member_id(),
        audience_address: list,
        channel,
        from: body.from.as_deref(),
        message: MessageFacts {
            size_bytes: body.size.unwrap_or(20_000),
            attachment_count: body.attachments,
            attachment_bytes: body.attachment_bytes,
            visible_recipients: body.visible_recipients,
            sms_segments: body.sms_segments.unwrap_or(1),
            content_hash: ContentHash::from_bytes([0; 32]),
        },
    };
    let facts = state
        .store
        .gather_facts(&submission, &settings.list_domain)
        .await
        .map_err(|e| caller.internal(&e))?;
    let decision = decide(&facts, &settings.limits);
    let reasons = decision.reasons().iter().map(reason).collect();
    // A refused send's size is not told: the owner may be asking about a list not theirs.
    let recipients = Some(facts.resolution.recipients).filter(|_| !decision.is_reject());
    let (name, approvals_needed, approvers) = match &decision {
        Decision::Release { .. } => ("release", None, Vec::new()),
        Decision::Hold {
            approvals_needed,
            approver_roles,
            ..
        } => (
            "hold",
            Some(*approvals_needed),
            approver_roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
        ),
        Decision::Reject { .. } => ("reject", None, Vec::new()),
    };
    Ok(Json(Simulation {
        decision: name.to_string(),
        recipients,
        approvals_needed,
        approvers,
        reasons,
    }))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(simulate))
}
