//! Inviting officers from the admin pages, as `verteiler member invite` does: the holders of a
//! function in a unit and the units below it (or in the whole organisation) get a sign-in link
//! with how to set up their mail client. The result names who was invited, who was skipped
//! and why, and who has no email address to invite them at.

use crate::admin::require_admin;
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{function_label, RoleFunction};
use verteiler_store::{InviteReport, Officer, Unit};

csrf_form! {
    InviteForm { function: String }
}

/// The invitation form: which function's holders to invite (below `action`'s unit, or all).
pub(crate) fn invite_form(frame: &Frame<'_>, action: &str, title: &str, intro: &str) -> Markup {
    let lang = frame.lang.policies();
    html! {
        section aria-labelledby="invite-heading" {
            h2 id="invite-heading" { (frame.t(title)) }
            p { (frame.t(intro)) }
            form method="post" action=(action) {
                (frame.csrf_field())
                p {
                    label for="invite-function" { (frame.t("invite_function")) }
                    select id="invite-function" name="function" {
                        @for f in RoleFunction::ALL {
                            option value=(f.as_str()) selected[*f == RoleFunction::Chair] { (function_label(*f, lang)) }
                        }
                    }
                }
                button type="submit" id="invite-submit" { (frame.t("invite_submit")) }
            }
        }
    }
}

pub async fn invite_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    MemberForm { member, form }: MemberForm<InviteForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let unit = match state.store.unit_by_code(&code).await {
        Ok(Some(unit)) => unit,
        Ok(None) => return not_found(&member.frame()),
        Err(e) => return internal_error(member.lang, &e),
    };
    invite(&state, &member, &form, Some(&unit)).await
}

pub async fn invite_all(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<InviteForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    invite(&state, &member, &form, None).await
}

async fn invite(
    state: &AppState,
    member: &Member,
    form: &InviteForm,
    unit: Option<&Unit>,
) -> Response {
    let frame = member.frame();
    let Some(setup) = &state.settings.mail_client else {
        return not_found(&frame);
    };
    let Ok(function) = form.function.parse::<RoleFunction>() else {
        return crate::session::bad_form(member.lang, &member.path);
    };
    let store = state.store_for(member);
    let report = match store
        .invite_officers(function, unit.map(|u| u.id), setup, &state.mails)
        .await
    {
        Ok(r) => r,
        Err(e) => return internal_error(member.lang, &e),
    };
    let lang = frame.lang.policies();
    let whom = match unit {
        Some(u) => frame.lang.text_with(
            "invite_done_unit",
            &[
                ("function", function_label(function, lang)),
                ("unit", &format!("{} ({})", u.name, u.code)),
            ],
        ),
        None => frame.lang.text_with(
            "invite_done_all",
            &[("function", function_label(function, lang))],
        ),
    };
    let back = unit.map_or_else(
        || "/admin/units".to_string(),
        |u| format!("/admin/units/{}", u.code),
    );
    let body = html! {
        p role="status" id="invite-done" {
            (whom) " "
            (frame.lang.text_with("invite_counts", &[
                ("invited", &report.invited.len().to_string()),
                ("skipped", &(report.skipped.len() + report.pending.len()).to_string()),
                ("without", &report.without_email.len().to_string()),
            ]))
        }
        (group(&frame, "invite-invited", "invite_invited", &report.invited, true))
        (group(&frame, "invite-skipped", "invite_skipped", &report.skipped, false))
        (group(&frame, "invite-pending", "invite_pending", &report.pending, false))
        (group(&frame, "invite-without-email", "invite_without_email", &report.without_email, false))
        @if is_empty(&report) {
            p { (frame.t("invite_nobody")) }
        }
        p { a href=(back) { (frame.t("invite_back")) } }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("invite_title"), body),
    )
}

fn is_empty(r: &InviteReport) -> bool {
    r.invited.is_empty()
        && r.skipped.is_empty()
        && r.pending.is_empty()
        && r.without_email.is_empty()
}

fn group(
    frame: &Frame<'_>,
    id: &str,
    key: &str,
    officers: &[Officer],
    with_address: bool,
) -> Markup {
    if officers.is_empty() {
        return html! {};
    }
    html! {
        section aria-labelledby={ (id) "-heading" } {
            h2 id={ (id) "-heading" } { (frame.t(key)) }
            ul id=(id) {
                @for o in officers {
                    li {
                        (o.name) " (" (o.unit_code) ")"
                        @if with_address { @if let Some(email) = &o.email { " – " span class="address" { (email) } } }
                    }
                }
            }
        }
    }
}
