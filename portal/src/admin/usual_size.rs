//! The usual size on a list's admin page (`/admin/audiences/{slug}`): the figure the
//! blast-radius rule compares every send with, the completed sends it was learned from, and a
//! reset (audited, before → after) for an admin — say after the list was redefined on purpose.

use crate::admin::require_admin;
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, when, Frame};
use crate::session::{see_other, MemberForm};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{format_count, AudienceSlug};
use verteiler_store::Audience;

csrf_form! {
    ResetForm {}
}

/// The page's section about the usual size of `audience`. A failed read shows as an error
/// line: the rest of the page stays usable.
pub(crate) async fn section(state: &AppState, frame: &Frame<'_>, audience: &Audience) -> Markup {
    let usual = match state.store.usual_size(audience.id).await {
        Ok(Some(u)) => u,
        Ok(None) => return html! {},
        Err(e) => {
            tracing::error!(event = "portal.usual_size_failed", error = %e);
            return html! { p class="error" role="alert" { (frame.t("error_text")) } };
        }
    };
    let lang = frame.lang.policies();
    let n = |v: u64| format_count(v, lang);
    html! {
        section id="usual-size" aria-labelledby="usual-size-title" {
            h2 id="usual-size-title" { (frame.t("usual_title")) }
            @match usual.value {
                Some(value) => p {
                    (frame.lang.text_with("usual_value", &[
                        ("value", &n(value)),
                        ("sends", &usual.counted.len().to_string()),
                    ]))
                },
                None => p { (frame.t("usual_none")) },
            }
            @if let Some(at) = usual.reset_at {
                p { (frame.lang.text_with("usual_reset_at", &[("at", &when(at, frame.lang))])) }
            }
            @if !usual.counted.is_empty() {
                table class="stack" {
                    caption { (frame.t("usual_history")) }
                    thead {
                        tr {
                            th scope="col" { (frame.t("usual_send")) }
                            th scope="col" { (frame.t("usual_completed")) }
                            th scope="col" { (frame.t("usual_recipients")) }
                        }
                    }
                    tbody {
                        @for c in &usual.counted {
                            tr {
                                td data-label=(frame.t("usual_send")) { (c.send_id) }
                                td data-label=(frame.t("usual_completed")) { (when(c.completed_at, frame.lang)) }
                                td data-label=(frame.t("usual_recipients")) { (n(c.recipients)) }
                            }
                        }
                    }
                }
            }
            form method="post" action={ "/admin/audiences/" (audience.slug) "/usual-size/reset" } {
                (frame.csrf_field())
                p { (frame.t("usual_reset_help")) }
                button type="submit" { (frame.t("usual_reset")) }
            }
        }
    }
}

/// `POST /admin/audiences/{slug}/usual-size/reset`: admins only, audited as this admin.
pub async fn reset(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form: _ }: MemberForm<ResetForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let audience = match AudienceSlug::parse(&slug) {
        Ok(slug) => state.store.audience_by_slug(&slug).await,
        Err(_) => return not_found(&member.frame()),
    };
    let audience = match audience {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(&member.frame()),
        Err(e) => return internal_error(member.lang, &e),
    };
    match state.store_for(&member).reset_usual_size(audience.id).await {
        Ok(Some(_)) => see_other(
            &format!("/admin/audiences/{}#usual-size", audience.slug),
            vec![],
        ),
        Ok(None) => not_found(&member.frame()),
        Err(e) => internal_error(member.lang, &e),
    }
}
