//! `/submissions`: what the signed-in member sent (by SMTP, the portal or the CLI), newest
//! first — the page every notification about a submission links to.
//!
//! `/submissions/{id}`: one submission with each send's decision and reasons and its delivery
//! totals, and a button that stops a send while it waits or runs (the undo window, the
//! fan-out, the wait for approval). While a send runs, a small script (`/static/live.js`)
//! fetches the page again every few seconds and swaps the totals in place; without scripts the
//! page is simply current when loaded. Another member's submission is not found.

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, message_page, respond, when, Frame};
use crate::session::{Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{
    header::{self, LOCATION},
    StatusCode,
};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::{
    Actor, CancelOutcome, DeliveryTotals, Origin, OwnSend, OwnSubmission, PostalAccess, SendState,
};

csrf_form! {
    CancelForm {}
}

/// Submissions listed on `/submissions`.
const LIST_PAGE: usize = 100;

/// The translation key of a send's state.
pub(crate) fn send_state_key(state: SendState) -> &'static str {
    match state {
        SendState::Rejected => "state_rejected",
        SendState::Held => "state_held",
        SendState::Scheduled => "state_scheduled",
        SendState::Sending => "state_sending",
        SendState::Complete => "state_complete",
        SendState::Cancelled => "state_cancelled",
        SendState::Withdrawn => "state_withdrawn",
        SendState::Expired => "state_expired",
    }
}

/// The label of a send's state in the page's language.
fn state_label(frame: &Frame<'_>, state: SendState) -> &'static str {
    frame.t(send_state_key(state))
}

fn send_name(own: &OwnSend) -> &str {
    own.audience.as_deref().unwrap_or(&own.send.address)
}

pub async fn list(State(state): State<AppState>, member: Member) -> Response {
    let frame = member.frame();
    let submissions = match state.store.own_submissions(member.id(), LIST_PAGE).await {
        Ok(s) => s,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        @if submissions.is_empty() {
            p { (frame.t("submissions_empty")) }
        } @else {
            table class="stack" {
                caption { (frame.t("submissions_caption")) }
                thead {
                    tr {
                        th scope="col" { (frame.t("held_subject")) }
                        th scope="col" { (frame.t("submissions_when")) }
                        th scope="col" { (frame.t("submissions_sends")) }
                    }
                }
                tbody {
                    @for s in &submissions {
                        tr {
                            td data-label=(frame.t("held_subject")) {
                                a href={ "/submissions/" (s.id) } { (subject(&frame, s)) }
                            }
                            td data-label=(frame.t("submissions_when")) { (when(s.created_at, frame.lang)) }
                            td data-label=(frame.t("submissions_sends")) {
                                @for (i, own) in s.sends.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (send_name(own)) ": " (state_label(&frame, own.send.state))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("submissions_title"), body),
    )
}

fn subject<'a>(frame: &Frame<'a>, s: &'a OwnSubmission) -> &'a str {
    if s.subject.trim().is_empty() {
        frame.t("submissions_no_subject")
    } else {
        &s.subject
    }
}

pub async fn page(State(state): State<AppState>, Path(id): Path<i64>, member: Member) -> Response {
    let frame = member.frame();
    let submission = match state.store.own_submission(member.id(), id).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(&frame),
        Err(e) => return internal_error(member.lang, &e),
    };
    let totals = match state.store.own_totals(&submission).await {
        Ok(t) => t,
        Err(e) => return internal_error(member.lang, &e),
    };
    let live = submission.sends.iter().any(OwnSend::running);
    let body = html! {
        dl class="facts" {
            dt { (frame.t("held_subject")) } dd { (subject(&frame, &submission)) }
            dt { (frame.t("submissions_when")) } dd { (when(submission.created_at, frame.lang)) }
        }
        @for (own, totals) in submission.sends.iter().zip(&totals) {
            (send_section(&frame, submission.id, own, totals))
        }
        p { a href="/submissions" { (frame.t("submissions_title")) } }
        @if live {
            script src="/static/live.js" defer {}
        }
    };
    let title = frame
        .lang
        .text_with("submission_title", &[("id", &submission.id.to_string())]);
    respond(StatusCode::OK, layout(&frame, &title, body))
}

fn send_section(
    frame: &Frame<'_>,
    submission: i64,
    own: &OwnSend,
    totals: &DeliveryTotals,
) -> Markup {
    let send = &own.send;
    let lang = frame.lang.policies();
    let heading = format!("send-{}", send.id);
    html! {
        section aria-labelledby=(heading) {
            h2 id=(heading) { (send_name(own)) }
            // The part the live script swaps: marked while copies are still going out.
            div id={ "live-" (send.id) } data-live[own.running()] {
                dl class="facts" {
                    dt { (frame.t("submissions_address")) } dd { (send.address) }
                    dt { (frame.t("submissions_state")) } dd { (state_label(frame, send.state)) }
                    dt { (frame.t("held_recipients")) } dd { (format_count(send.recipients, lang)) }
                    @if let (Some(at), SendState::Scheduled) = (send.release_at, send.state) {
                        dt { (frame.t("submissions_starts")) } dd { (when(at, frame.lang)) }
                    }
                }
                @if !own.reasons.is_empty() {
                    h3 { (frame.t("submissions_reasons")) }
                    ul { @for reason in &own.reasons { li { (reason.text(lang)) } } }
                }
                @if send.state != SendState::Rejected && send.state != SendState::Held {
                    table class="stack" {
                        caption { (frame.t("submissions_totals")) }
                        thead {
                            tr {
                                @for (key, _) in counts(totals) { th scope="col" { (frame.t(key)) } }
                            }
                        }
                        tbody {
                            tr {
                                @for (key, n) in counts(totals) {
                                    td data-label=(frame.t(key)) { (format_count(n, lang)) }
                                }
                            }
                        }
                    }
                }
                // The list exists once the send has been expanded: it is the send's recipients.
                @if own.audience.is_some() && matches!(send.state, SendState::Sending | SendState::Complete) {
                    p {
                        a href={ "/submissions/" (submission) "/sends/" (send.id) "/postal.csv" } download {
                            (frame.t("submissions_postal_list"))
                        }
                    }
                }
                @if own.cancellable() {
                    form method="post" action={ "/submissions/" (submission) "/sends/" (send.id) "/cancel" } {
                        (frame.csrf_field())
                        p { (frame.t("submissions_cancel_hint")) }
                        button type="submit" class="danger" { (frame.t("submissions_cancel")) }
                    }
                }
            }
        }
    }
}

/// The totals a sender follows, as label key and figure.
fn counts(t: &DeliveryTotals) -> [(&'static str, u64); 7] {
    [
        ("totals_queued", t.queued.saturating_sub(t.deferred)),
        ("totals_sent", t.sent),
        ("totals_sms", t.sms),
        ("totals_deferred", t.deferred),
        ("totals_bounced", t.bounced),
        ("totals_failed", t.failed + t.unreachable),
        ("totals_cancelled", t.cancelled),
    ]
}

pub async fn cancel(
    State(state): State<AppState>,
    Path((id, send_id)): Path<(i64, i64)>,
    MemberForm { member, form: _ }: MemberForm<CancelForm>,
) -> Response {
    let frame = member.frame();
    // Audited like every portal change: as the member, through the portal.
    let actor = Actor {
        member_id: member.id(),
        label: format!("portal:member:{}", member.id()),
        ingress: Origin::Portal,
    };
    match state.store.cancel_own_send(&actor, id, send_id).await {
        // Back to the submission, which now shows the send stopped.
        Ok(CancelOutcome::Cancelled { .. }) => (
            StatusCode::SEE_OTHER,
            [(LOCATION, format!("/submissions/{id}"))],
        )
            .into_response(),
        Ok(CancelOutcome::NotRunning { state: s }) => {
            let text = frame.lang.text_with(
                "submissions_not_running",
                &[("state", state_label(&frame, s))],
            );
            let body = html! {
                p { (text) }
                p { a href={ "/submissions/" (id) } { (frame.t("submissions_back")) } }
            };
            respond(
                StatusCode::CONFLICT,
                layout(&frame, frame.t("submissions_cancel"), body),
            )
        }
        Ok(CancelOutcome::NotFound) => not_found(&frame),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// The postal list of one of the member's own sends, as CSV for the unit's secretary: only
/// for a send released and expanded, and only while the member may still send to its list
/// (the store decides and audits the download). Every refusal is a page, never the list.
pub async fn postal_list(
    State(state): State<AppState>,
    Path((id, send_id)): Path<(i64, i64)>,
    member: Member,
) -> Response {
    let frame = member.frame();
    let actor = Actor {
        member_id: member.id(),
        label: format!("portal:member:{}", member.id()),
        ingress: Origin::Portal,
    };
    let list = match state.store.sender_postal_list(&actor, id, send_id).await {
        Ok(PostalAccess::Granted(list)) => list,
        Ok(PostalAccess::NotFound | PostalAccess::NotReady { .. }) => return not_found(&frame),
        Ok(PostalAccess::NotPermitted) => {
            return message_page(
                &frame,
                StatusCode::FORBIDDEN,
                "submissions_postal_refused_title",
                "submissions_postal_refused_text",
            )
        }
        Err(e) => return internal_error(member.lang, &e),
    };
    let csv = match list.to_csv() {
        Ok(csv) => csv,
        Err(e) => return internal_error(member.lang, &e),
    };
    let disposition = format!("attachment; filename=\"postal-list-{send_id}.csv\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            // Names and home addresses: no cache keeps them.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response()
}
