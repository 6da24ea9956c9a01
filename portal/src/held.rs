//! `/held`: the queue of held sends the signed-in member is asked to approve (a press office's
//! work list), newest first.
//!
//! `/held/{id}`: the page the approval request links to. The people asked to approve a held
//! send see what they decide on — sender, list, recipients against the usual size, every
//! reason, the beginning of the text, the decisions so far — and approve or reject it with the
//! same store operations as the `approve+`/`reject+` addresses and the CLI. Anybody else gets
//! the same answer as for a send that does not exist.

use crate::csrf_form;
use crate::member::{category_key, kind_key, not_found};
use crate::message_view;
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use maud::html;
use verteiler_policies::{format_bytes, format_count, Rounding};
use verteiler_store::{Actor, ApprovalOutcome, HeldSend, Origin, SendState, StateNow, StopOutcome};

csrf_form! {
    ApproveForm { content_hash: String, comment: String }
    RejectForm { comment: String }
}

/// The held send, if the signed-in member is one of its approvers; otherwise the answer for a
/// send that does not exist.
async fn reviewable(state: &AppState, member: &Member, send_id: i64) -> Result<HeldSend, Response> {
    let missing = || not_found(&member.frame());
    let Some(settings) = &state.settings.approvals else {
        return Err(missing());
    };
    let found = state
        .store
        .held_send(send_id)
        .await
        .map_err(|e| internal_error(member.lang, &e))?;
    let Some(held) = found else {
        return Err(missing());
    };
    match state
        .store
        .may_review(&held, member.id(), &settings.limits)
        .await
    {
        Ok(true) => Ok(held),
        Ok(false) => Err(missing()),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

/// Requests shown on the queue page; older ones are behind the newest in the same queue.
const QUEUE_PAGE: usize = 100;
const QUEUE_COLUMNS: [&str; 5] = [
    "held_subject",
    "held_sender",
    "held_list",
    "held_recipients",
    "held_expires",
];

pub async fn queue(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let Some(settings) = &state.settings.approvals else {
        return not_found(&frame);
    };
    let queue = match state
        .store
        .approval_queue(member.id(), &settings.limits, QUEUE_PAGE)
        .await
    {
        Ok(queue) => queue,
        Err(e) => return internal_error(member.lang, &e),
    };
    // Press officers also answer "who sent this?" about copies of their area's lists.
    let may_ask_who = matches!(state.store.who_asker(member.id()).await, Ok(Some(_)));
    let lang = frame.lang.policies();
    let body = html! {
        @if may_ask_who {
            p { a href="/admin/who" { (frame.t("who_link")) } }
        }
        @if queue.is_empty() {
            p { (frame.t("queue_empty")) }
        } @else {
            table class="stack" {
                caption { (frame.t("queue_caption")) }
                thead {
                    tr {
                        @for key in QUEUE_COLUMNS { th scope="col" { (frame.t(key)) } }
                    }
                }
                tbody {
                    @for held in &queue {
                        tr {
                            td data-label=(frame.t(QUEUE_COLUMNS[0])) {
                                a href={ "/held/" (held.send_id) } { (held.subject) }
                            }
                            td data-label=(frame.t(QUEUE_COLUMNS[1])) { (held.sender) }
                            td data-label=(frame.t(QUEUE_COLUMNS[2])) { (held.audience) }
                            td data-label=(frame.t(QUEUE_COLUMNS[3])) {
                                (format_count(held.recipients, lang))
                            }
                            td data-label=(frame.t(QUEUE_COLUMNS[4])) {
                                @if let Some(at) = held.expires_at { (when(at, frame.lang)) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, layout(&frame, frame.t("queue_title"), body))
}

pub async fn page(
    State(state): State<AppState>,
    Path(send_id): Path<i64>,
    member: Member,
) -> Response {
    let frame = member.frame();
    let held = match reviewable(&state, &member, send_id).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let lang = frame.lang.policies();
    let view = match state.store.submission_raw(held.submission_id).await {
        Ok(raw) => raw.map(|raw| message_view::view(&raw)).unwrap_or_default(),
        Err(e) => return internal_error(member.lang, &e),
    };
    // Whom the list addresses, as the admins defined it: what the approver weighs the
    // figures against.
    let definition = match held.audience_id {
        Some(id) => match definition_of(&state, id).await {
            Ok(d) => d,
            Err(e) => return internal_error(member.lang, &e),
        },
        None => None,
    };
    let count = format_count(held.recipients, lang);
    let usual = held.usual_size.map(|u| format_count(u, lang));
    let body = html! {
        dl class="facts" {
            dt { (frame.t("held_sender")) } dd { (held.sender) }
            dt { (frame.t("held_list")) } dd { (held.audience) " (" (held.address) ")" }
            @if let Some((audience, unit)) = &definition {
                dt { (frame.t("held_definition")) }
                dd {
                    (frame.t(kind_key(audience.kind))) ", " (frame.t(category_key(audience.category)))
                    " · " (unit.name) " (" (unit.code) ")"
                    @if audience.include_subunits { " " (frame.t("held_with_subunits")) }
                    @if let Some(f) = audience.role_function {
                        " · " (verteiler_policies::function_label(f, lang))
                    }
                }
            }
            dt { (frame.t("held_recipients")) }
            dd {
                (count)
                @if let Some(usual) = &usual { " " (frame.lang.text_with("held_usual", &[("usual", usual)])) }
            }
            dt { (frame.t("held_subject")) } dd { (held.subject) }
            @if let Some(at) = held.expires_at {
                dt { (frame.t("held_expires")) } dd { (when(at, frame.lang)) }
            }
        }
        h2 { (frame.t("held_reasons")) }
        ul { @for reason in &held.reasons { li { (reason.text(lang)) } } }
        h2 { (frame.t("held_text")) }
        pre class="preview" { (held.preview) }
        @if view.html.is_some() {
            h2 { (frame.t("held_html")) }
            // Sandboxed: no script runs, and the frame's own policy loads nothing remote.
            iframe class="message" sandbox="" src={ "/held/" (held.send_id) "/content" }
                title=(frame.t("held_html")) {}
        }
        @if !view.attachments.is_empty() {
            h2 { (frame.t("held_attachments")) }
            ul {
                @for a in &view.attachments {
                    li {
                        (a.name) " (" (a.content_type) ", "
                        (format_bytes(a.bytes, Rounding::Up, lang)) ")"
                    }
                }
            }
        }
        @if !held.decisions.is_empty() {
            h2 { (frame.t("held_decisions")) }
            ul {
                @for d in &held.decisions {
                    li {
                        (d.approver) ": " (d.verdict) " · " (when(d.at, frame.lang))
                        @if let Some(comment) = &d.comment { " · " (comment) }
                    }
                }
            }
        }
        @if held.state == SendState::Held {
            h2 { (frame.t("held_decide")) }
            form method="post" action={ "/held/" (held.send_id) "/approve" } {
                (frame.csrf_field())
                // The approval is bound to the content shown here.
                input type="hidden" name="content_hash" value=(held.content_hash);
                p {
                    label for="approve-comment" { (frame.t("held_comment_optional")) }
                    input id="approve-comment" name="comment" maxlength="500";
                }
                button type="submit" { (frame.t("held_approve")) }
            }
            form method="post" action={ "/held/" (held.send_id) "/reject" } {
                (frame.csrf_field())
                p {
                    label for="reject-comment" { (frame.t("held_reason_required")) }
                    input id="reject-comment" name="comment" maxlength="500" required;
                }
                button type="submit" class="danger" { (frame.t("held_reject")) }
            }
        } @else {
            p { (frame.lang.text_with("held_not_waiting", &[("state", held.state.as_str())])) }
        }
        p { a href="/held" { (frame.t("queue_title")) } }
    };
    let title = frame
        .lang
        .text_with("held_title", &[("id", &held.send_id.to_string())]);
    respond(StatusCode::OK, layout(&frame, &title, body))
}

/// The policy of the framed message: a sandbox (no script, a unique origin), nothing loaded
/// from anywhere but inline styles, and framed only by the portal itself.
const CONTENT_CSP: &str =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'";

/// `/held/{id}/content`: the held message's HTML part, sanitised, for the frame on the page.
/// Only its approvers get it.
pub async fn content(
    State(state): State<AppState>,
    Path(send_id): Path<i64>,
    member: Member,
) -> Response {
    let frame = member.frame();
    let held = match reviewable(&state, &member, send_id).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let html = match state.store.submission_raw(held.submission_id).await {
        Ok(raw) => raw.and_then(|raw| message_view::view(&raw).html),
        Err(e) => return internal_error(member.lang, &e),
    };
    let Some(html) = html else {
        return not_found(&frame);
    };
    let document = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{html}</body></html>",
        frame.lang.code(),
        maud::html! { (held.subject) }.into_string(),
    );
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_SECURITY_POLICY, CONTENT_CSP),
            (X_FRAME_OPTIONS, "SAMEORIGIN"),
            (CACHE_CONTROL, "no-store"),
        ],
        document,
    )
        .into_response()
}

async fn definition_of(
    state: &AppState,
    audience_id: i64,
) -> Result<Option<(verteiler_store::Audience, verteiler_store::Unit)>, verteiler_store::StoreError>
{
    let Some(audience) = state.store.audience_by_id(audience_id).await? else {
        return Ok(None);
    };
    Ok(state
        .store
        .unit_by_id(audience.unit_id)
        .await?
        .map(|unit| (audience, unit)))
}

fn actor(member: &Member) -> Actor {
    Actor {
        member_id: member.id(),
        label: format!(
            "portal:{} {}",
            member.session.first_name, member.session.last_name
        ),
        ingress: Origin::Portal,
    }
}

/// The outcome of a decision as a page with one paragraph.
fn outcome(frame: &Frame<'_>, status: StatusCode, text: String) -> Response {
    let body = html! {
        p { (text) }
        p { a href="/me" { (frame.t("nav_overview")) } }
    };
    respond(status, layout(frame, frame.t("held_done_title"), body))
}

/// A person the rules do not let decide this send: why not.
fn refused(frame: &Frame<'_>, refusal: &verteiler_policies::ApprovalRefusal) -> Response {
    outcome(
        frame,
        StatusCode::FORBIDDEN,
        refusal.text(frame.lang.policies()),
    )
}

/// The send is no longer waiting for a decision: what became of it.
fn not_waiting(frame: &Frame<'_>, state: &StateNow) -> Response {
    outcome(
        frame,
        StatusCode::CONFLICT,
        frame
            .lang
            .text_with("held_not_waiting", &[("state", state.as_str())]),
    )
}

pub async fn approve(
    State(state): State<AppState>,
    Path(send_id): Path<i64>,
    MemberForm { member, form }: MemberForm<ApproveForm>,
) -> Response {
    let frame = member.frame();
    let Some(settings) = state.settings.approvals.clone() else {
        return not_found(&frame);
    };
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    // Not `reviewable`: the store decides who may approve. The sender is told why not; anybody
    // else who is not asked gets the answer for a send that does not exist, as on the page.
    match state
        .store
        .approve_send(
            send_id,
            &actor(&member),
            comment,
            Some(form.content_hash.as_str()),
            &settings,
        )
        .await
    {
        Ok(ApprovalOutcome::Released { recipients, .. }) => outcome(
            &frame,
            StatusCode::OK,
            frame.lang.text_with(
                "held_released",
                &[
                    (
                        "recipients",
                        &format_count(recipients, frame.lang.policies()),
                    ),
                    (
                        "minutes",
                        &settings.undo_window_secs.div_ceil(60).to_string(),
                    ),
                ],
            ),
        ),
        Ok(ApprovalOutcome::Recorded { missing }) => outcome(
            &frame,
            StatusCode::OK,
            frame
                .lang
                .text_with("held_recorded", &[("missing", &missing.to_string())]),
        ),
        Ok(ApprovalOutcome::Rejected { reasons }) => outcome(
            &frame,
            StatusCode::CONFLICT,
            reasons
                .iter()
                .map(|r| r.text(frame.lang.policies()))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Ok(ApprovalOutcome::Refused(refusal)) => refused(&frame, &refusal),
        Ok(ApprovalOutcome::NotHeld { state }) => not_waiting(&frame, &state),
        Ok(ApprovalOutcome::NotFound) => not_found(&frame),
        Ok(ApprovalOutcome::Undecidable) => outcome(
            &frame,
            StatusCode::CONFLICT,
            frame.t("held_undecidable").to_string(),
        ),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn reject(
    State(state): State<AppState>,
    Path(send_id): Path<i64>,
    MemberForm { member, form }: MemberForm<RejectForm>,
) -> Response {
    let frame = member.frame();
    let Some(settings) = state.settings.approvals.clone() else {
        return not_found(&frame);
    };
    match state
        .store
        .reject_send(send_id, &actor(&member), form.comment.trim(), &settings)
        .await
    {
        Ok(StopOutcome::Stopped) => {
            outcome(&frame, StatusCode::OK, frame.t("held_rejected").to_string())
        }
        Ok(StopOutcome::CommentMissing) => outcome(
            &frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            frame.t("held_reason_missing").to_string(),
        ),
        Ok(StopOutcome::Refused(refusal)) => refused(&frame, &refusal),
        Ok(StopOutcome::NotHeld { state }) => not_waiting(&frame, &state),
        Ok(StopOutcome::NotFound | StopOutcome::NotSender) => not_found(&frame),
        Err(e) => internal_error(member.lang, &e),
    }
}
