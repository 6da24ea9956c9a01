//! `/admin`: the organisation's admins (the admin function at a top unit) stop and resume all
//! delivery, see whether the audit chain holds and the organisation's caps, and search the
//! audit log by message id, person and date. Everybody else gets the answer for a page that does
//! not exist. The other admin pages are the modules below: the lists in `lists`, the units in
//! `units`, the import in `import`.

pub(crate) mod breaker;
pub(crate) mod import;
pub(crate) mod invite;
pub(crate) mod lists;
pub(crate) mod units;
pub(crate) mod usual_size;
pub(crate) mod who;

use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{format_bytes, format_count, OrgLimits, Rounding};
use verteiler_store::AuditQuery;

csrf_form! {
    PauseForm { reason: String }
    ResumeForm {}
}

/// Entries shown per audit search.
const AUDIT_PAGE: usize = 200;

/// `Ok` for an admin; the not-found page for anybody else.
pub(crate) async fn require_admin(state: &AppState, member: &Member) -> Result<(), Response> {
    match state.store.is_admin(member.id()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_found(&member.frame())),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

/// The organisation's caps, which every list's own limits must stay within.
pub(crate) fn org_limits(state: &AppState) -> OrgLimits {
    state
        .settings
        .approvals
        .as_ref()
        .map_or_else(OrgLimits::default, |a| a.limits.clone())
}

/// The audit actor of this admin's changes through the portal.
pub(crate) fn actor(member: &Member) -> String {
    format!("portal:member:{}", member.id())
}

pub async fn overview(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let now = verteiler_store::now_ms();
    let (pause, chain, volume) = match async {
        Ok::<_, verteiler_store::StoreError>((
            state.store.delivery_pause().await?,
            state.store.audit_verify().await?,
            // The organisation's figure does not depend on the member asked about.
            state.store.volume_facts(member.id(), None, now).await?,
        ))
    }
    .await
    {
        Ok(v) => v,
        Err(e) => return internal_error(member.lang, &e),
    };
    let breaker_holds = crate::admin::breaker::section(&state, &frame).await;
    let body = html! {
        h2 { (frame.t("admin_delivery")) }
        @match &pause {
            Some(p) => {
                p role="status" {
                    strong { (frame.lang.text_with("admin_paused", &[("by", &p.by), ("at", &when(p.at, frame.lang)), ("reason", &p.reason)])) }
                }
                form method="post" action="/admin/resume" {
                    (frame.csrf_field())
                    button type="submit" { (frame.t("admin_resume")) }
                }
            }
            None => {
                p { (frame.t("admin_running")) }
                form method="post" action="/admin/pause" {
                    (frame.csrf_field())
                    p {
                        label for="reason" { (frame.t("admin_pause_reason")) }
                        input id="reason" name="reason" required maxlength="300";
                    }
                    button type="submit" class="danger" { (frame.t("admin_pause")) }
                }
            }
        }
        (limits_section(&frame, &org_limits(&state), volume.org_recipients_last_hour))
        (breaker_holds)
        h2 { (frame.t("admin_chain")) }
        @match &chain.broken {
            None => p class="wrap" { (frame.lang.text_with("admin_chain_ok", &[("entries", &format_count(chain.entries, frame.lang.policies())), ("hash", &chain.head_hash)])) },
            Some(broken) => p class="error" role="alert" { (frame.t("admin_chain_broken")) " " (broken.to_string()) },
        }
        ul {
            li { a href="/admin/audit" { (frame.t("admin_audit_title")) } }
            li { a href="/admin/who" { (frame.t("who_title")) } }
            li { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
            li { a href="/admin/templates" { (frame.t("templates_title")) } }
            li { a href="/admin/units" { (frame.t("admin_units_title")) } }
            @if state.settings.imports.is_some() {
                li { a href="/admin/import" { (frame.t("import_title")) } }
            }
        }
    };
    respond(StatusCode::OK, layout(&frame, frame.t("admin_title"), body))
}

/// The circuit breaker's reading and the organisation's caps (set in the configuration file,
/// `[limits]`; shown here, changed there).
fn limits_section(frame: &Frame<'_>, org: &OrgLimits, last_hour: u64) -> Markup {
    let lang = frame.lang.policies();
    let n = |v: u64| format_count(v, lang);
    let cap = |c: &verteiler_policies::RateCap| {
        frame.lang.text_with(
            "admin_rate",
            &[("hold", &n(c.hold_above)), ("reject", &n(c.reject_above))],
        )
    };
    html! {
        h2 { (frame.t("admin_breaker")) }
        p {
            (frame.lang.text_with("admin_breaker_reading", &[
                ("sent", &n(last_hour)),
                ("cap", &n(org.circuit_breaker_recipients_per_hour)),
            ]))
        }
        h2 { (frame.t("admin_limits")) }
        p { (frame.t("admin_limits_where")) }
        dl class="facts" {
            dt { (frame.t("audiences_max_recipients")) } dd { (n(org.max_recipients)) }
            dt { (frame.t("audiences_max_size")) }
            dd { (format_bytes(org.max_message_bytes, Rounding::Down, lang)) }
            dt { (frame.t("admin_limit_sender_hour")) } dd { (cap(&org.sender_sends_per_hour)) }
            dt { (frame.t("admin_limit_sender_day")) } dd { (cap(&org.sender_sends_per_day)) }
            dt { (frame.t("admin_limit_recipients_day")) } dd { (cap(&org.sender_recipients_per_day)) }
            dt { (frame.t("admin_limit_visible")) } dd { (org.visible_recipients_threshold) }
            dt { (frame.t("audiences_first_send")) } dd { (n(org.first_send_hold_above)) }
        }
    }
}

pub async fn pause(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<PauseForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let reason = form.reason.trim();
    if reason.is_empty() {
        let frame = member.frame();
        let body = html! {
            p class="error" role="alert" { (frame.t("admin_pause_reason_missing")) }
            p { a href="/admin" { (frame.t("admin_title")) } }
        };
        return respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(&frame, frame.t("admin_title"), body),
        );
    }
    match state.store.pause_delivery(reason, &actor(&member)).await {
        Ok(()) => see_other("/admin", vec![]),
        Err(e) => internal_error(member.lang, &e),
    }
}

pub async fn resume(
    State(state): State<AppState>,
    MemberForm { member, form: _ }: MemberForm<ResumeForm>,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    match state.store.resume_delivery(&actor(&member)).await {
        Ok(_) => see_other("/admin", vec![]),
        Err(e) => internal_error(member.lang, &e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct AuditSearch {
    #[serde(default)]
    message_id: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// A date (`2026-12-01`) as the unix ms of its start (UTC).
fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

pub async fn audit(
    State(state): State<AppState>,
    Query(search): Query<AuditSearch>,
    member: Member,
) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let query = AuditQuery {
        message_id: text(&search.message_id),
        person: text(&search.person),
        from: day_start(&search.from),
        // "to" names the last day searched: everything before the next midnight.
        to: day_start(&search.to).map(|d| d + 86_400_000),
    };
    let entries = match state.store.audit_search(&query, AUDIT_PAGE).await {
        Ok(e) => e,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        form method="get" action="/admin/audit" class="search" {
            p {
                label for="message_id" { (frame.t("admin_message_id")) }
                input id="message_id" name="message_id" value=(search.message_id);
            }
            p {
                label for="person" { (frame.t("admin_person")) }
                input id="person" name="person" value=(search.person);
            }
            p {
                label for="from" { (frame.t("admin_from")) }
                input id="from" name="from" type="date" value=(search.from);
            }
            p {
                label for="to" { (frame.t("admin_to")) }
                input id="to" name="to" type="date" value=(search.to);
            }
            button type="submit" { (frame.t("admin_search")) }
        }
        @if entries.is_empty() {
            p { (frame.t("admin_audit_empty")) }
        } @else {
            table class="stack" {
                caption { (frame.lang.text_with("admin_audit_caption", &[("max", &AUDIT_PAGE.to_string())])) }
                thead {
                    tr {
                        @for key in ["admin_seq", "admin_at", "admin_action", "admin_actor", "admin_details"] {
                            th scope="col" { (frame.t(key)) }
                        }
                    }
                }
                tbody {
                    @for e in &entries {
                        tr {
                            td data-label=(frame.t("admin_seq")) { (e.seq) }
                            td data-label=(frame.t("admin_at")) { (when(e.at, frame.lang)) }
                            td data-label=(frame.t("admin_action")) { code { (e.action) } }
                            td data-label=(frame.t("admin_actor")) { (e.actor) }
                            td data-label=(frame.t("admin_details")) { code class="details" { (e.details) } }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("admin_audit_title"), body),
    )
}
