//! `/api/v1/audiences`: the lists the token's owner may send to (within the token's `send`
//! lists), with their size now; `/api/v1/audiences/{slug}`: one of them with its size by
//! channel and its policy as the engine applies it — the portal's `/audiences` pages
//! (`crate::audiences`) over the API. Figures only: no member is ever named or addressed.

use super::caller::Caller;
use super::paging::{Page, PageQuery};
use super::problem::{Problem, ProblemBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use verteiler_policies::{effective_limits, AudienceSlug, OrgLimits, RoleFunction};
use verteiler_store::{ApiScope, ApprovalSetting, Audience, StoreError};

/// A list the owner may send to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceItem {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The list's address, when the list domain is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `structural`, `functional` or `topic`.
    pub kind: String,
    /// The kind of mail (`announcement`, `discussion`, …), which members choose channels for.
    pub category: String,
    /// Recipients now.
    pub recipients: u64,
}

/// Recipients by the channel they get it on, and those it does not reach.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelFigures {
    pub email: u64,
    pub sms: u64,
    pub post: u64,
    /// Chose no channel for this kind of mail.
    pub declined: u64,
    /// Chose a channel they have no verified address or number for.
    pub no_address: u64,
}

/// The rules the engine applies to a send to this list (within the organisation's caps).
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceRules {
    /// Functions whose holders may send (`chair`, `press_office`, …).
    pub senders: Vec<String>,
    /// `never`, `above` (more recipients than `approval_above`) or `always`.
    pub approval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_above: Option<u64>,
    /// Functions whose holders approve; empty when nothing needs approval.
    pub approvers: Vec<String>,
    pub approvals_needed: u32,
    pub max_recipients: u64,
    pub max_message_bytes: u64,
    /// The first send to more recipients than this is held.
    pub first_send_hold_above: u64,
    /// The learned usual size; absent until learned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_size: Option<u64>,
    /// Channels the list sends on.
    pub channels: Vec<String>,
}

/// One list with its figures by channel and its rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceDetail {
    #[serde(flatten)]
    pub item: AudienceItem,
    pub by_channel: ChannelFigures,
    pub rules: AudienceRules,
}

fn item(state: &AppState, a: &Audience, recipients: u64) -> AudienceItem {
    AudienceItem {
        id: a.id,
        slug: a.slug.as_str().to_string(),
        name: a.name.clone(),
        address: state
            .settings
            .approvals
            .as_ref()
            .map(|s| format!("{}@{}", a.slug.as_str(), s.list_domain)),
        kind: a.kind.as_str().to_string(),
        category: a.category.as_str().to_string(),
        recipients,
    }
}

fn names(functions: &[RoleFunction]) -> Vec<String> {
    functions.iter().map(|f| f.as_str().to_string()).collect()
}

/// The lists the token's owner may send to, within the token's `send` lists; newest first.
#[utoipa::path(
    get,
    path = "/audiences",
    tag = "audiences",
    security(("bearer" = ["send"])),
    params(PageQuery),
    responses(
        (status = 200, description = "The lists, newest first", body = Page<AudienceItem>),
        (status = 400, description = "A cursor this API did not give out", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the scope `send`", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AudienceItem>>, Problem> {
    caller.require(ApiScope::Send)?;
    let before = page.before_id(caller.lang)?;
    let limit = page.limit();
    let mut sendable = state
        .store
        .sendable_audiences(caller.member_id())
        .await
        .map_err(|e| caller.internal(&e))?;
    sendable.retain(|a| {
        caller.token.scopes.may_send_to(a.audience.slug.as_str())
            && before.is_none_or(|b| a.audience.id < b)
    });
    sendable.sort_by_key(|a| std::cmp::Reverse(a.audience.id));
    let items = sendable
        .iter()
        .take(limit + 1)
        .map(|a| item(&state, &a.audience, a.recipients))
        .collect();
    Ok(Json(Page::of(items, limit, |i| i.id)))
}

/// One list the owner may send to, with its figures by channel and its rules.
#[utoipa::path(
    get,
    path = "/audiences/{slug}",
    tag = "audiences",
    security(("bearer" = ["send"])),
    params(("slug" = String, Path, description = "The list's slug (`klima` of klima@lists…)")),
    responses(
        (status = 200, description = "The list", body = AudienceDetail),
        (status = 403, description = "The token lacks the scope `send`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such list, or not one the owner (or this token) may send to", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Json<AudienceDetail>, Problem> {
    caller.require(ApiScope::Send)?;
    let slug = AudienceSlug::parse(&slug).map_err(|_| caller.not_found())?;
    if !caller.token.scopes.may_send_to(slug.as_str()) {
        return Err(caller.not_found());
    }
    let internal = |e: StoreError| caller.internal(&e);
    let audience = state
        .store
        .sendable_audience(caller.member_id(), &slug)
        .await
        .map_err(internal)?
        .ok_or_else(|| caller.not_found())?;
    let counts = state
        .store
        .channel_counts(&audience)
        .await
        .map_err(internal)?;
    let facts = state
        .store
        .audience_facts(&audience)
        .await
        .map_err(internal)?;
    let org = state
        .settings
        .approvals
        .as_ref()
        .map_or_else(OrgLimits::default, |a| a.limits.clone());
    let limits = effective_limits(Some(&facts), &org);
    let (approval, approval_above) = match audience.approval {
        ApprovalSetting::Never => ("never", None),
        ApprovalSetting::AboveRecipients(above) => ("above", Some(above)),
        ApprovalSetting::Always => ("always", None),
    };
    let approvers = if audience.approval == ApprovalSetting::Never {
        Vec::new()
    } else {
        names(limits.approver_functions)
    };
    // The same count the list and a decision read, not a sum of the channels.
    let recipients = state.store.resolution_summary(&audience).await.recipients;
    Ok(Json(AudienceDetail {
        item: item(&state, &audience, recipients),
        by_channel: ChannelFigures {
            email: counts.email,
            sms: counts.sms,
            post: counts.post,
            declined: counts.declined,
            no_address: counts.no_address,
        },
        rules: AudienceRules {
            senders: names(&audience.allowed_sender_functions),
            approval: approval.to_string(),
            approval_above,
            approvers,
            approvals_needed: audience.approvals_needed,
            max_recipients: limits.max_recipients,
            max_message_bytes: limits.max_message_bytes,
            first_send_hold_above: limits.first_send_hold_above,
            usual_size: audience.usual_size,
            channels: audience
                .channels
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        },
    }))
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
}
