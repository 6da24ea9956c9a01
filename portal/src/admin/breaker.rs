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
use crate::submissions::send_state_key;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::{Actor, BreakerHold, BreakerRelease, Origin, StateNow};

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
        ingress: Origin::Portal,
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
        // The one send asked for names nothing this admin may release: page-not-found, as
        // for anybody who is not an admin.
        Ok(BreakerRelease::NotFound | BreakerRelease::NotAdmin) => not_found(&frame),
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
/// Every outcome is shown, also after one that released nothing: a page that hid the sends
/// already released would leave the admin guessing what went out.
fn outcomes(
    frame: &Frame<'_>,
    settings: &verteiler_store::ApprovalSettings,
    all: Vec<(i64, BreakerRelease)>,
) -> Response {
    let (status, body) = outcome_page(frame, settings, all);
    respond(status, layout(frame, frame.t("breaker_title"), body))
}

/// The body of [`outcomes`] and its status.
fn outcome_page(
    frame: &Frame<'_>,
    settings: &verteiler_store::ApprovalSettings,
    all: Vec<(i64, BreakerRelease)>,
) -> (StatusCode, Markup) {
    let lang = frame.lang.policies();
    let minutes = settings.undo_window_secs.div_ceil(60).to_string();
    let mut conflict = false;
    let mut lines = Vec::new();
    for (id, outcome) in all {
        let id_text = id.to_string();
        let id = ("id", id_text.as_str());
        let simple = |key: &str| (frame.lang.text_with(key, &[id]), Vec::new());
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
                let args = [id, ("state", send_state(frame, state))];
                (frame.lang.text_with("breaker_not_held", &args), Vec::new())
            }
            BreakerRelease::NotBreakerHold => {
                conflict = true;
                simple("breaker_not_breaker")
            }
            BreakerRelease::Undecidable => {
                conflict = true;
                simple("breaker_undecidable")
            }
            BreakerRelease::NotAdmin => {
                conflict = true;
                simple("breaker_not_admin")
            }
            BreakerRelease::NotFound => {
                conflict = true;
                simple("breaker_not_found")
            }
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
    (status, body)
}

/// A send's state as a word of the page's language (`scheduled` → "geplant").
fn send_state(frame: &Frame<'_>, state: StateNow) -> &'static str {
    frame.t(match state {
        StateNow::Is(state) => send_state_key(state),
        StateNow::Gone => "state_gone",
        StateNow::DecidedMeanwhile => "state_unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use verteiler_policies::{OrgLimits, Reason};
    use verteiler_store::ApprovalSettings;
    use verteiler_store::SendState;

    fn settings() -> ApprovalSettings {
        ApprovalSettings {
            list_domain: "lists.example.org".into(),
            limits: OrgLimits::default(),
            undo_window_secs: 120,
            approval_window_secs: 72 * 3600,
            portal_base_url: "http://portal.test".into(),
        }
    }

    #[test]
    fn release_all_shows_every_outcome_also_after_one_that_released_nothing() {
        let frame = Frame::anonymous(Lang::De, "/admin/breaker/release-all");
        let all = vec![
            (
                11,
                BreakerRelease::Released {
                    release_at: 0,
                    recipients: 212,
                },
            ),
            (12, BreakerRelease::NotAdmin),
            (13, BreakerRelease::NotFound),
            (
                14,
                BreakerRelease::NotHeld {
                    state: SendState::Scheduled.into(),
                },
            ),
            (
                15,
                BreakerRelease::Rejected {
                    reasons: vec![Reason::AudienceInactive {
                        audience: "Distrikt Oldenfelde".into(),
                    }],
                },
            ),
        ];
        let (status, body) = outcome_page(&frame, &settings(), all);
        let body = body.into_string();
        assert_eq!(status, StatusCode::CONFLICT);
        for expected in [
            "Sendung 11 freigegeben: 212 Empfänger",
            "Sendung 12 darf nur die Administration der ganzen Organisation freigeben",
            "Sendung 13 gibt es nicht",
            "Sendung 14 wartet nicht mehr (Zustand: geplant)",
            "Sendung 15 ist neu entschieden",
            "Distrikt Oldenfelde ist deaktiviert",
        ] {
            assert!(body.contains(expected), "{expected}: {body}");
        }
        assert!(!body.contains("scheduled"), "{body}");
    }

    #[test]
    fn every_state_a_release_can_meet_has_a_word_in_both_languages() {
        for lang in [Lang::De, Lang::En] {
            let frame = Frame::anonymous(lang, "/admin");
            let states = SendState::ALL.iter().map(|s| StateNow::Is(*s));
            for state in states.chain([StateNow::Gone, StateNow::DecidedMeanwhile]) {
                let word = send_state(&frame, state);
                assert!(!word.is_empty(), "{state}");
                if lang == Lang::De {
                    assert_ne!(word, state.as_str(), "German has a word of its own");
                }
            }
        }
        let en = Frame::anonymous(Lang::En, "/admin");
        assert_eq!(send_state(&en, StateNow::Gone), "no longer there");
    }
}
