//! `/admin/templates`: the list templates in effect and what each makes. They are set in the
//! configuration file; the page only shows them, so that an admin can tell why a list exists
//! and what the next units import will do.

use super::form_view::channel_key;
use crate::admin::require_admin;
use crate::member::{category_key, kind_key};
use crate::page::{layout, respond, Frame};
use crate::session::Member;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{format_count, function_label, RoleFunction, UnitKind};
use verteiler_store::lists::{ListTemplate, UnitSelector};
use verteiler_store::ApprovalSetting;

pub(crate) fn unit_kind_key(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Federal => "unit_kind_federal",
        UnitKind::State => "unit_kind_state",
        UnitKind::District => "unit_kind_district",
        UnitKind::SubDistrict => "unit_kind_sub_district",
        UnitKind::Branch => "unit_kind_branch",
        UnitKind::Committee => "unit_kind_committee",
        UnitKind::WorkingGroup => "unit_kind_working_group",
        UnitKind::InterestGroup => "unit_kind_interest_group",
    }
}

pub async fn templates(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let rules = &state.settings.list_rules;
    let domain = state
        .settings
        .approvals
        .as_ref()
        .map(|a| a.list_domain.as_str());
    let body = html! {
        p { (frame.t("templates_intro")) }
        p { (frame.t("templates_placeholders")) }
        h2 { (frame.t("templates_prefixes")) }
        @if rules.name_prefixes.is_empty() {
            p { (frame.t("templates_no_prefixes")) }
        } @else {
            p id="name-prefixes" { (rules.name_prefixes.join(", ")) }
        }
        @if rules.templates.is_empty() {
            p { (frame.t("templates_none")) }
        }
        @for t in &rules.templates {
            (template(&frame, t, domain))
        }
        p { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("templates_title"), body),
    )
}

fn template(frame: &Frame<'_>, t: &ListTemplate, domain: Option<&str>) -> Markup {
    let lang = frame.lang.policies();
    let functions = |v: &[RoleFunction]| {
        v.iter()
            .map(|f| function_label(*f, lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let units = match t.units {
        UnitSelector::Top => frame.t("templates_units_top").to_string(),
        UnitSelector::Kind(kind) => frame.lang.text_with(
            "templates_units_kind",
            &[("kind", frame.t(unit_kind_key(kind)))],
        ),
    };
    let approval = match t.approval {
        ApprovalSetting::Never => frame.t("approval_never").to_string(),
        ApprovalSetting::AboveRecipients(n) => frame
            .lang
            .text_with("approval_above", &[("recipients", &format_count(n, lang))]),
        ApprovalSetting::Always => frame.t("approval_always").to_string(),
    };
    let approvers = frame.lang.text_with(
        "audiences_approvers",
        &[
            ("functions", &functions(&t.approvers)),
            ("n", &t.approvals_needed.to_string()),
        ],
    );
    let address = match domain {
        Some(d) => format!("{}@{d}", t.slug),
        None => t.slug.to_string(),
    };
    html! {
        section aria-labelledby={ "template-" (t.id) } {
            h2 id={ "template-" (t.id) } { (frame.lang.text_with("templates_template", &[("id", &t.id)])) }
            dl class="facts" {
                dt { (frame.t("templates_units")) } dd { (units) }
                dt { (frame.t("list_field_slug")) } dd { code { (address) } }
                dt { (frame.t("list_field_name")) } dd { code { (t.name.to_string()) } }
                dt { (frame.t("list_field_kind")) }
                dd {
                    (frame.t(kind_key(t.kind)))
                    @if let Some(role) = t.role_function { " (" (function_label(role, lang)) ")" }
                    @if t.include_subunits { ", " (frame.t("list_field_subunits")) }
                }
                dt { (frame.t("list_field_category")) } dd { (frame.t(category_key(t.category))) }
                dt { (frame.t("list_field_senders")) } dd { (functions(&t.senders)) }
                dt { (frame.t("list_field_channels")) }
                dd { (t.channels.iter().map(|c| frame.t(channel_key(*c))).collect::<Vec<_>>().join(", ")) }
                dt { (frame.t("audiences_approval")) }
                dd { (approval) @if t.approval != ApprovalSetting::Never { ", " (approvers) } }
                @if let Some(n) = t.max_recipients {
                    dt { (frame.t("audiences_max_recipients")) } dd { (format_count(n, lang)) }
                }
                @if let Some(a) = &t.sender_address {
                    dt { (frame.t("list_field_sender_address")) } dd { (a) }
                }
            }
        }
    }
}
