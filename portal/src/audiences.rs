//! `/audiences`: the lists the signed-in member may send to (a chair's lists), with their size
//! now; `/audiences/{slug}`: one of them with its size by channel and its policy, as the
//! engine applies it within the organisation's caps. Which lists appear is decided by the same
//! rule a submission is decided by; a list the member may not use answers 404. Recipients are
//! never named: these pages show figures only.

use crate::member::{category_key, kind_key, not_found};
use crate::page::{internal_error, layout, respond};
use crate::session::Member;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use verteiler_policies::{
    effective_limits, format_bytes, format_count, function_list, AudienceSlug, OrgLimits, Rounding,
};
use verteiler_store::{ApprovalSetting, Audience, SENDABLE_MAX};

/// The list's address, when the list domain is configured.
fn address(state: &AppState, audience: &Audience) -> Option<String> {
    state
        .settings
        .approvals
        .as_ref()
        .map(|a| format!("{}@{}", audience.slug.as_str(), a.list_domain))
}

pub async fn list(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let audiences = match state.store.sendable_audiences(member.id()).await {
        Ok(a) => a,
        Err(e) => return internal_error(member.lang, &e),
    };
    let lang = frame.lang.policies();
    let body = html! {
        @if audiences.is_empty() {
            p { (frame.t("audiences_empty")) }
        } @else {
            table class="stack" {
                caption { (frame.t("audiences_caption")) }
                thead {
                    tr {
                        th scope="col" { (frame.t("audiences_name")) }
                        th scope="col" { (frame.t("audiences_kind")) }
                        th scope="col" { (frame.t("held_recipients")) }
                    }
                }
                tbody {
                    @for a in &audiences {
                        tr {
                            td data-label=(frame.t("audiences_name")) {
                                a href={ "/audiences/" (a.audience.slug.as_str()) } { (a.audience.name) }
                                @if let Some(address) = address(&state, &a.audience) {
                                    br; span class="address" { (address) }
                                }
                            }
                            td data-label=(frame.t("audiences_kind")) {
                                (frame.t(kind_key(a.audience.kind))) ", " (frame.t(category_key(a.audience.category)))
                            }
                            td data-label=(frame.t("held_recipients")) { (format_count(a.recipients, lang)) }
                        }
                    }
                }
            }
            @if audiences.len() >= SENDABLE_MAX {
                p { (frame.lang.text_with("audiences_more", &[("max", &SENDABLE_MAX.to_string())])) }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("audiences_title"), body),
    )
}

pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    member: Member,
) -> Response {
    let frame = member.frame();
    let Ok(slug) = AudienceSlug::parse(&slug) else {
        return not_found(&frame);
    };
    let audience = match state.store.sendable_audience(member.id(), &slug).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(&frame),
        Err(e) => return internal_error(member.lang, &e),
    };
    let counted = async {
        Ok::<_, verteiler_store::StoreError>((
            state.store.channel_counts(&audience).await?,
            state.store.audience_facts(&audience).await?,
        ))
    };
    let (counts, facts) = match counted.await {
        Ok(c) => c,
        Err(e) => return internal_error(member.lang, &e),
    };
    let org = state
        .settings
        .approvals
        .as_ref()
        .map_or_else(OrgLimits::default, |a| a.limits.clone());
    let limits = effective_limits(Some(&facts), &org);
    let lang = frame.lang.policies();
    let n = |v: u64| format_count(v, lang);
    let approval = match audience.approval {
        ApprovalSetting::Never => frame.t("approval_never").to_string(),
        ApprovalSetting::AboveRecipients(above) => frame
            .lang
            .text_with("approval_above", &[("recipients", &n(above))]),
        ApprovalSetting::Always => frame.t("approval_always").to_string(),
    };
    let body = html! {
        dl class="facts" {
            @if let Some(address) = address(&state, &audience) {
                dt { (frame.t("submissions_address")) } dd { (address) }
            }
            dt { (frame.t("audiences_kind")) }
            dd { (frame.t(kind_key(audience.kind))) ", " (frame.t(category_key(audience.category))) }
        }
        table class="stack" {
            caption { (frame.t("audiences_by_channel")) }
            thead {
                tr {
                    @for (key, _) in channel_rows(&counts) { th scope="col" { (frame.t(key)) } }
                }
            }
            tbody {
                tr {
                    @for (key, v) in channel_rows(&counts) {
                        td data-label=(frame.t(key)) { (n(v)) }
                    }
                }
            }
        }
        h2 { (frame.t("audiences_policy")) }
        dl class="facts" {
            dt { (frame.t("audiences_senders")) }
            dd { (function_list(&audience.allowed_sender_functions, lang)) }
            dt { (frame.t("audiences_approval")) }
            dd {
                (approval)
                @if audience.approval != ApprovalSetting::Never {
                    " · " (frame.lang.text_with("audiences_approvers", &[
                        ("functions", &function_list(limits.approver_functions, lang)),
                        ("n", &audience.approvals_needed.to_string()),
                    ]))
                }
            }
            dt { (frame.t("audiences_max_recipients")) } dd { (n(limits.max_recipients)) }
            dt { (frame.t("audiences_max_size")) }
            dd { (format_bytes(limits.max_message_bytes, Rounding::Down, lang)) }
            dt { (frame.t("audiences_first_send")) } dd { (n(limits.first_send_hold_above)) }
            dt { (frame.t("audiences_usual")) }
            dd {
                @match audience.usual_size {
                    Some(usual) => (n(usual)),
                    None => (frame.t("audiences_usual_none")),
                }
            }
        }
        p {
            a href={ "/compose?list=" (audience.slug.as_str()) } { (frame.t("audiences_write")) }
            " · "
            a href="/audiences" { (frame.t("audiences_title")) }
        }
    };
    respond(StatusCode::OK, layout(&frame, &audience.name, body))
}

fn channel_rows(c: &verteiler_store::ChannelCounts) -> [(&'static str, u64); 5] {
    [
        ("channel_email", c.email),
        ("channel_sms", c.sms),
        ("channel_post", c.post),
        ("audiences_declined", c.declined),
        ("audiences_no_address", c.no_address),
    ]
}
