//! `/admin/who`: "who sent this?", asked with what the person asking holds. An admin or a press
//! officer pastes the headers of a copy they received (or just its Message-ID or
//! X-Verteiler-Send id) and sees what `verteiler audit who` prints: who handed the message in
//! and how, what was decided for each list, who approved it, how far delivery got.
//!
//! Admins see any submission; a press officer those sent to a list in their area. Everybody
//! else gets the answer for a page that does not exist, and a press officer asking about a
//! message outside their area the same answer as for one that matches nothing.

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{Member, MemberForm};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::{RawState, SentBy, StoreError, WhoAsker};

csrf_form! {
    WhoForm { headers: String }
}

/// Longest text read: the headers of a copy, not a whole message with attachments.
const HEADERS_MAX: usize = 12 * 1024;

async fn asker(state: &AppState, member: &Member) -> Result<WhoAsker, Response> {
    match state.store.who_asker(member.id()).await {
        Ok(Some(asker)) => Ok(asker),
        Ok(None) => Err(not_found(&member.frame())),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

pub async fn page(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = asker(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("who_title"), form(&frame, "")),
    )
}

pub async fn ask(
    State(state): State<AppState>,
    MemberForm {
        member,
        form: asked,
    }: MemberForm<WhoForm>,
) -> Response {
    let asker = match asker(&state, &member).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let frame = member.frame();
    let text = asked.headers.trim();
    let text = match text.char_indices().nth(HEADERS_MAX) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let stories = match answer(&state, &asker, text).await {
        Ok(s) => s,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        (form(&frame, text))
        section aria-labelledby="answer" role="status" {
            h2 id="answer" { (frame.t("who_answer")) }
            @if stories.is_empty() {
                p { (frame.t("who_none")) }
            }
            @for story in &stories {
                (story_view(&frame, story))
            }
        }
    };
    respond(StatusCode::OK, layout(&frame, frame.t("who_title"), body))
}

/// The submissions the text names that this asker may see, with their stories. A text
/// without a header line is taken as one id.
async fn answer(state: &AppState, asker: &WhoAsker, text: &str) -> Result<Vec<SentBy>, StoreError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let store = &state.store;
    let ids = if text.contains(':') {
        store.submissions_named_by_copy(text.as_bytes()).await?
    } else {
        store.submissions_named_by(text).await?
    };
    let mut stories = Vec::new();
    for id in ids {
        if !store.may_see_who_sent(asker, id).await? {
            continue;
        }
        if let Some(story) = store.who_sent(id).await? {
            stories.push(story);
        }
    }
    Ok(stories)
}

fn form(frame: &Frame<'_>, text: &str) -> Markup {
    html! {
        p { (frame.t("who_intro")) }
        form method="post" action="/admin/who" {
            (frame.csrf_field())
            p {
                label for="headers" { (frame.t("who_headers")) }
                textarea id="headers" name="headers" rows="10" required { (text) }
            }
            button type="submit" { (frame.t("who_ask")) }
        }
    }
}

fn story_view(frame: &Frame<'_>, s: &SentBy) -> Markup {
    let lang = frame.lang.policies();
    let kept = match s.kept {
        RawState::Whole => "who_kept_whole",
        RawState::Headers => "who_kept_headers",
        RawState::Purged => "who_kept_purged",
        RawState::Erased => "who_kept_erased",
    };
    let from = match (&s.header_from, &s.envelope_from) {
        (Some(from), Some(envelope)) => frame.lang.text_with(
            "who_from_value",
            &[("from", from.as_str()), ("envelope", envelope.as_str())],
        ),
        _ => frame.t("who_not_kept").to_string(),
    };
    let client = frame.lang.text_with(
        "who_client_value",
        &[
            ("ip", s.client_ip.as_deref().unwrap_or("-")),
            ("name", s.client_name.as_deref().unwrap_or("-")),
            ("tls", frame.t(if s.tls { "who_yes" } else { "who_no" })),
            ("ingress", &s.ingress),
        ],
    );
    html! {
        article class="who" {
            h3 { (frame.lang.text_with("who_submission", &[("id", &s.submission_id.to_string())])) }
            dl class="facts" {
                dt { (frame.t("who_at")) } dd { (when(s.at, frame.lang)) }
                dt { (frame.t("who_person")) } dd { (s.person) " (" code { (s.actor) } ")" }
                dt { (frame.t("who_credential")) }
                dd { (s.credential.as_deref().unwrap_or(frame.t("who_no_credential"))) }
                dt { (frame.t("who_client")) } dd { (client) }
                dt { (frame.t("who_from")) } dd { (from) }
                dt { (frame.t("held_subject")) } dd { (s.subject) }
                dt { (frame.t("who_content")) }
                dd { code class="details" { (s.content_hash) } " " (frame.t(kept)) }
            }
            @for story in &s.sends {
                @let send = &story.send;
                h4 { (send.address) }
                p {
                    (frame.lang.text_with("who_send", &[
                        ("recipients", &format_count(send.recipients, lang)),
                        ("decision", &send.decision),
                        ("state", send.state.as_str()),
                    ]))
                }
                @if !story.events.is_empty() {
                    table class="stack" {
                        thead { tr {
                            @for key in ["admin_at", "admin_action", "admin_actor"] {
                                th scope="col" { (frame.t(key)) }
                            }
                        } }
                        tbody {
                            @for e in &story.events {
                                tr {
                                    td data-label=(frame.t("admin_at")) { (when(e.at, frame.lang)) }
                                    td data-label=(frame.t("admin_action")) { code { (e.action) } }
                                    td data-label=(frame.t("admin_actor")) { (e.who) }
                                }
                            }
                        }
                    }
                }
                @let t = &story.totals;
                p {
                    (frame.lang.text_with("who_delivery", &[
                        ("sent", &format_count(t.sent, lang)),
                        ("queued", &format_count(t.queued, lang)),
                        ("failed", &format_count(t.failed, lang)),
                        ("bounced", &format_count(t.bounced, lang)),
                        ("cancelled", &format_count(t.cancelled, lang)),
                        ("sms", &format_count(t.sms, lang)),
                    ]))
                }
            }
        }
    }
}
