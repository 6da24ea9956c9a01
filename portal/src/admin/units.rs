//! `/admin/units`: the unit tree, and on a unit's page its state (switched off and on as
//! `verteiler unit deactivate|activate` does), who holds which function there, with granting
//! and revoking (each audited by the store as `role.granted` / `role.revoked`), and inviting
//! its officers. Admins only, like every `/admin` page.

use crate::admin::invite::invite_form;
use crate::admin::lists::{named, state_text, switch_form, unit_refusal, ActiveForm, Failure};
use crate::admin::require_admin;
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{bad_form, see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use std::collections::BTreeMap;
use verteiler_policies::{function_label, EmailAddress, RoleFunction};
use verteiler_store::{NewRole, Unit};

csrf_form! {
    GrantForm { email: String, function: String, subtree: Option<String> }
    RevokeForm { member_id: i64, function: String }
}

/// Levels of the tree drawn at most (a deeper tree is a corrupt one).
const MAX_DEPTH: usize = 16;

pub async fn tree(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let units = match state.store.list_units().await {
        Ok(u) => u,
        Err(e) => return internal_error(member.lang, &e),
    };
    let mut children: BTreeMap<Option<i64>, Vec<&Unit>> = BTreeMap::new();
    for unit in &units {
        children.entry(unit.parent_id).or_default().push(unit);
    }
    let body = html! {
        (branch(&children, None, 0, &frame))
        @if state.settings.mail_client.is_some() {
            (invite_form(&frame, "/admin/invite", "invite_all_title", "invite_all_intro"))
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("admin_units_title"), body),
    )
}

fn branch(
    children: &BTreeMap<Option<i64>, Vec<&Unit>>,
    parent: Option<i64>,
    depth: usize,
    frame: &Frame<'_>,
) -> Markup {
    let Some(units) = children.get(&parent) else {
        return html! {};
    };
    html! {
        ul class="tree" {
            @for unit in units {
                li {
                    a href={ "/admin/units/" (unit.code) } { (unit.name) }
                    " (" (unit.code) ")"
                    @if !unit.active {
                        " – " (state_text(frame, "unit", unit.active, unit.deactivation.as_ref(), true))
                    }
                    @if depth < MAX_DEPTH { (branch(children, Some(unit.id), depth + 1, frame)) }
                }
            }
        }
    }
}

async fn unit_of(state: &AppState, member: &Member, code: &str) -> Result<Unit, Response> {
    require_admin(state, member).await?;
    match state.store.unit_by_code(code).await {
        Ok(Some(unit)) => Ok(unit),
        Ok(None) => Err(not_found(&member.frame())),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

pub async fn unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    member: Member,
) -> Response {
    let unit = match unit_of(&state, &member, &code).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let frame = member.frame();
    unit_page(&state, &member, &frame, &unit, None, StatusCode::OK).await
}

/// The unit's state with the switch: off by a person (who, when), off because it left the
/// export, or on.
fn state_section(frame: &Frame<'_>, unit: &Unit) -> Markup {
    html! {
        section aria-labelledby="unit-state-heading" {
            h2 id="unit-state-heading" { (frame.t("unit_state_heading")) }
            p id="unit-state" { (state_text(frame, "unit", unit.active, unit.deactivation.as_ref(), false)) }
            (switch_form(frame, &format!("/admin/units/{}/active", unit.code), "unit", unit.active))
        }
    }
}

async fn unit_page(
    state: &AppState,
    member: &Member,
    frame: &Frame<'_>,
    unit: &Unit,
    message: Option<Markup>,
    status: StatusCode,
) -> Response {
    let holders = match state.store.roles_at(unit.id).await {
        Ok(h) => h,
        Err(e) => return internal_error(member.lang, &e),
    };
    let unit = &match named(&state.store, unit.deactivation.as_ref()).await {
        Ok(deactivation) => Unit {
            deactivation,
            ..unit.clone()
        },
        Err(e) => return internal_error(member.lang, &e),
    };
    let lang = frame.lang.policies();
    let action = |what: &str| format!("/admin/units/{}/{what}", unit.code);
    let body = html! {
        @if let Some(message) = message { (message) }
        (state_section(frame, unit))
        h2 { (frame.t("unit_roles_heading")) }
        @if holders.is_empty() {
            p { (frame.t("admin_roles_empty")) }
        } @else {
            table class="stack" {
                caption { (frame.t("admin_roles_caption")) }
                thead {
                    tr {
                        @for key in ["admin_role_person", "admin_role_function", "admin_role_subtree", "admin_role_source", "admin_role_action"] {
                            th scope="col" { (frame.t(key)) }
                        }
                    }
                }
                tbody {
                    @for h in &holders {
                        tr {
                            td data-label=(frame.t("admin_role_person")) {
                                (h.name) @if let Some(email) = &h.email { br; span class="address" { (email) } }
                            }
                            td data-label=(frame.t("admin_role_function")) { (function_label(h.function, lang)) }
                            td data-label=(frame.t("admin_role_subtree")) {
                                (frame.t(if h.covers_subtree { "admin_yes" } else { "admin_no" }))
                            }
                            td data-label=(frame.t("admin_role_source")) {
                                (frame.t(if h.source == "import" { "admin_source_import" } else { "admin_source_admin" }))
                            }
                            td data-label=(frame.t("admin_role_action")) {
                                form method="post" action=(action("revoke")) {
                                    (frame.csrf_field())
                                    input type="hidden" name="member_id" value=(h.member_id);
                                    input type="hidden" name="function" value=(h.function.as_str());
                                    button type="submit" class="danger" { (frame.t("admin_revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (frame.t("admin_grant_title")) }
        form method="post" action=(action("grant")) {
            (frame.csrf_field())
            p {
                label for="email" { (frame.t("admin_grant_email")) }
                input id="email" name="email" type="email" required;
            }
            p {
                label for="function" { (frame.t("admin_role_function")) }
                select id="function" name="function" {
                    @for f in RoleFunction::ALL {
                        option value=(f.as_str()) { (function_label(*f, lang)) }
                    }
                }
            }
            p {
                input id="subtree" name="subtree" type="checkbox" value="yes";
                label class="inline" for="subtree" { (frame.t("admin_grant_subtree")) }
            }
            button type="submit" { (frame.t("admin_grant")) }
        }
        @if state.settings.mail_client.is_some() {
            (invite_form(frame, &action("invite"), "invite_unit_title", "invite_unit_intro"))
        }
        p { a href="/admin/units" { (frame.t("admin_units_title")) } }
    };
    let title = format!("{} ({})", unit.name, unit.code);
    respond(status, layout(frame, &title, body))
}

pub async fn grant(
    State(state): State<AppState>,
    Path(code): Path<String>,
    MemberForm { member, form }: MemberForm<GrantForm>,
) -> Response {
    let unit = match unit_of(&state, &member, &code).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let frame = member.frame();
    let found = match (
        form.function.parse::<RoleFunction>(),
        EmailAddress::parse(form.email.trim()),
    ) {
        (Err(_), _) => Err("admin_error_function"),
        (_, Err(_)) => Err("admin_error_person"),
        (Ok(function), Ok(email)) => match state.store.member_id_by_email(&email).await {
            Ok(Some(id)) => Ok((function, id)),
            Ok(None) => Err("admin_error_person"),
            Err(e) => return internal_error(member.lang, &e),
        },
    };
    let (function, holder) = match found {
        Ok(found) => found,
        Err(key) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let message = html! { p class="error" role="alert" { (frame.t(key)) } };
            return unit_page(&state, &member, &frame, &unit, Some(message), status).await;
        }
    };
    let store = state.store_for(&member);
    let role = NewRole {
        member_id: holder,
        unit_id: unit.id,
        function,
        covers_subtree: form.subtree.is_some(),
    };
    match store.grant_role(role).await {
        Ok(()) => see_other(&format!("/admin/units/{}", unit.code), vec![]),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(code): Path<String>,
    MemberForm { member, form }: MemberForm<RevokeForm>,
) -> Response {
    let unit = match unit_of(&state, &member, &code).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(function) = form.function.parse::<RoleFunction>() else {
        return not_found(&member.frame());
    };
    let store = state.store_for(&member);
    match store.revoke_role(form.member_id, unit.id, function).await {
        Ok(true) => see_other(&format!("/admin/units/{}", unit.code), vec![]),
        Ok(false) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    Path(code): Path<String>,
    MemberForm { member, form }: MemberForm<ActiveForm>,
) -> Response {
    let unit = match unit_of(&state, &member, &code).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(active) = form.wanted() else {
        return bad_form(member.lang, &member.path);
    };
    match state
        .store_for(&member)
        .set_unit_active(unit.id, active)
        .await
    {
        Ok(_) => see_other(&format!("/admin/units/{}", unit.code), vec![]),
        Err(e) => match unit_refusal(e) {
            Failure::Store(e) => internal_error(member.lang, &e),
            Failure::Refused(r) => {
                let frame = member.frame();
                let message = r.render(&frame);
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                unit_page(&state, &member, &frame, &unit, Some(message), status).await
            }
        },
    }
}
