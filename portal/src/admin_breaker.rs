//! On the admin overview (`/admin`): the sends the organisation's circuit breaker holds, with
//! their figures, and the way out — release one, release all, or refuse one with a reason
//! (the refusal form posts to `/held/{id}/reject`, where the store lets an organisation admin
//! refuse what the breaker holds). Releasing lifts only the breaker: the store decides each
//! send again, and other reasons still hold it. Admins only; anybody else gets page-not-found.

use crate::admin::require_admin;
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::{Actor, BreakerHold, BreakerRelease, Ingress};

csrf_form! {
    ReleaseForm {}
}

/// The overview's section: every send the breaker holds, or that none waits.
pub(crate) async fn section(state: &AppState, frame: &Frame<'_>) -> Markup {
    let holds = match state.store.breaker_holds().await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(event = "portal.breaker_holds_failed", error = %e);
            return html! { p class="error" role="alert" { (frame.t("error_text")) } };
        }
    };
    html! {
        section id="breaker-holds" aria-labelledby="breaker-holds-title" {
            h2 id="breaker-holds-title" { (frame.t("breaker_title")) }
            @if holds.is_empty() {
                p { (frame.t("breaker_none")) }
            } @else {
                p { (frame.t("breaker_intro")) }
                (table(frame, &holds))
                form method="post" action="/admin/breaker/release-all" {
                    (frame.csrf_field())
                    button type="submit" { (frame.lang.text_with("breaker_release_all", &[("count", &holds.len().to_string())])) }
                }
            }
        }
    }
}

fn table(frame: &Frame<'_>, holds: &[BreakerHold]) -> Markup {
    let lang = frame.lang.policies();
    let columns = [
        "breaker_send",
        "breaker_sender",
        "breaker_list",
        "breaker_recipients",
        "breaker_figures",
        "breaker_held_at",
        "breaker_decide",
    ];
    html! {
        table class="stack" {
            caption { (frame.t("breaker_caption")) }
            thead { tr { @for key in columns { th scope="col" { (frame.t(key)) } } } }
            tbody {
                @for h in holds {
                    tr {
                        td data-label=(frame.t("breaker_send")) { (h.send_id) ": " (h.subject) }
                        td data-label=(frame.t("breaker_sender")) { (h.sender) }
                        td data-label=(frame.t("breaker_list")) { (h.audience) }
                        td data-label=(frame.t("breaker_recipients")) { (format_count(h.recipients, lang)) }
                        td data-label=(frame.t("breaker_figures")) {
                            (frame.lang.text_with("breaker_figures_value", &[
                                ("recipients", &format_count(h.breaker_recipients, lang)),
                                ("limit", &format_count(h.breaker_limit, lang)),
                            ]))
                            @for r in &h.other_reasons { br; (r.text(lang)) }
                        }
                        td data-label=(frame.t("breaker_held_at")) { (when(h.held_at, frame.lang)) }
                        td data-label=(frame.t("breaker_decide")) {
                            form method="post" action={ "/admin/breaker/" (h.send_id) "/release" } {
                                (frame.csrf_field())
                                button type="submit" { (frame.t("breaker_release")) }
                            }
                            form method="post" action={ "/held/" (h.send_id) "/reject" } {
                                (frame.csrf_field())
                                label for={ "reject-" (h.send_id) } { (frame.t("breaker_reject_reason")) }
                                input id={ "reject-" (h.send_id) } name="comment" required maxlength="1000";
                                button type="submit" class="danger" { (frame.t("breaker_reject")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn actor(member: &Member) -> Actor {
    Actor {
        member_id: member.id(),
        label: crate::admin::actor(member),
        ingress: Ingress::Portal,
    }
}

/// `POST /admin/breaker/{id}/release`.
pub async fn release(
    State(state): State<AppState>,
    Path(send_id): Path<i64>,
    MemberForm { member, form: _ }: MemberForm<ReleaseForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let Some(settings) = &state.settings.approvals else {
        return not_found(&frame);
    };
    match state
        .store
        .release_breaker_hold(send_id, &actor(&member), settings)
        .await
    {
        Ok(outcome) => outcomes(&frame, settings, vec![(send_id, outcome)]),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// `POST /admin/breaker/release-all`.
pub async fn release_all(
    State(state): State<AppState>,
    MemberForm { member, form: _ }: MemberForm<ReleaseForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let Some(settings) = &state.settings.approvals else {
        return not_found(&frame);
    };
    match state
        .store
        .release_all_breaker_holds(&actor(&member), settings)
        .await
    {
        Ok(all) => outcomes(&frame, settings, all),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// What became of each send, one paragraph each; 409 when one was not released as asked.
fn outcomes(
    frame: &Frame<'_>,
    settings: &verteiler_store::ApprovalSettings,
    all: Vec<(i64, BreakerRelease)>,
) -> Response {
    let lang = frame.lang.policies();
    let minutes = settings.undo_window_secs.div_ceil(60).to_string();
    let mut conflict = false;
    let mut lines = Vec::new();
    for (id, outcome) in all {
        let id_text = id.to_string();
        let id = ("id", id_text.as_str());
        let (line, reasons) = match outcome {
            BreakerRelease::Released { recipients, .. } => {
                let n = format_count(recipients, lang);
                let args = [id, ("recipients", &n), ("minutes", &minutes)];
                (frame.lang.text_with("breaker_released", &args), Vec::new())
            }
            BreakerRelease::StillHeld {
                approvals_needed,
                reasons,
            } => {
                let missing = approvals_needed.to_string();
                let args = [id, ("missing", missing.as_str())];
                (frame.lang.text_with("breaker_still_held", &args), reasons)
            }
            BreakerRelease::Rejected { reasons } => {
                conflict = true;
                (frame.lang.text_with("breaker_refused", &[id]), reasons)
            }
            BreakerRelease::NotHeld { state } => {
                conflict = true;
                let args = [id, ("state", state.as_str())];
                (frame.lang.text_with("breaker_not_held", &args), Vec::new())
            }
            BreakerRelease::NotBreakerHold => {
                conflict = true;
                (
                    frame.lang.text_with("breaker_not_breaker", &[id]),
                    Vec::new(),
                )
            }
            BreakerRelease::Undecidable => {
                conflict = true;
                (
                    frame.lang.text_with("breaker_undecidable", &[id]),
                    Vec::new(),
                )
            }
            BreakerRelease::NotAdmin | BreakerRelease::NotFound => return not_found(frame),
        };
        let reasons: Vec<String> = reasons.iter().map(|r| r.text(lang)).collect();
        lines.push((line, reasons));
    }
    let body = html! {
        @if lines.is_empty() { p { (frame.t("breaker_none")) } }
        @for (line, reasons) in &lines {
            p { (line) }
            @if !reasons.is_empty() { ul { @for r in reasons { li { (r) } } } }
        }
        p { a href="/admin#breaker-holds" { (frame.t("admin_title")) } }
    };
    let status = if conflict {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    respond(status, layout(frame, frame.t("breaker_title"), body))
}
