//! `/admin`: the organisation's admins (the admin function at a top unit) stop and resume all
//! delivery, see whether the audit chain holds, change an audience's policy within the
//! organisation's caps (every change lands in the audit log with before → after) and search the
//! audit log by message id, person and date. Everybody else gets the answer for a page that
//! does not exist.

use crate::csrf_form;
use crate::member::{category_key, kind_key, not_found};
use crate::page::{internal_error, layout, respond, when, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{format_bytes, format_count, AudienceSlug, OrgLimits, Rounding};
use verteiler_store::{ApprovalSetting, AudiencePolicyChange, AuditQuery};

csrf_form! {
    PauseForm { reason: String }
    ResumeForm {}
    PolicyForm {
        approval: String,
        threshold: String,
        approvals_needed: String,
        max_recipients: String,
        max_message_kb: String,
        sends_per_day: String,
        // A checkbox: absent when not ticked.
        email_and_sms: Option<String>
    }
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

fn org_limits(state: &AppState) -> OrgLimits {
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
    let breaker_holds = crate::admin_breaker::section(&state, &frame).await;
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
            li { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
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

pub async fn audiences(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = require_admin(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    let all = match state.store.list_audiences().await {
        Ok(a) => a,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        table class="stack" {
            caption { (frame.t("admin_audiences_caption")) }
            thead {
                tr {
                    th scope="col" { (frame.t("audiences_name")) }
                    th scope="col" { (frame.t("audiences_kind")) }
                    th scope="col" { (frame.t("admin_unit")) }
                }
            }
            tbody {
                @for a in &all {
                    tr {
                        td data-label=(frame.t("audiences_name")) {
                            a href={ "/admin/audiences/" (a.slug) } { (a.name) }
                            @if !a.active { " (" (frame.t("admin_inactive")) ")" }
                        }
                        td data-label=(frame.t("audiences_kind")) {
                            (frame.t(kind_key(a.kind))) ", " (frame.t(category_key(a.category)))
                        }
                        td data-label=(frame.t("admin_unit")) { (a.unit_code) }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("admin_audiences_title"), body),
    )
}

fn current_form(a: &verteiler_store::Audience) -> PolicyForm {
    let (approval, threshold) = match a.approval {
        ApprovalSetting::Never => ("never", String::new()),
        ApprovalSetting::AboveRecipients(n) => ("above", n.to_string()),
        ApprovalSetting::Always => ("always", String::new()),
    };
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    PolicyForm {
        csrf: String::new(),
        approval: approval.into(),
        threshold,
        approvals_needed: a.approvals_needed.to_string(),
        max_recipients: opt(a.max_recipients),
        max_message_kb: opt(a.max_message_bytes.map(|b| b / 1000)),
        sends_per_day: opt(a.sends_per_sender_per_day.map(u64::from)),
        email_and_sms: a.email_and_sms.then(|| "1".to_string()),
    }
}

fn policy_page(
    frame: &Frame<'_>,
    audience: &verteiler_store::Audience,
    org: &OrgLimits,
    form: &PolicyForm,
    message: Option<Markup>,
    usual_size: Markup,
) -> Markup {
    let lang = frame.lang.policies();
    let slug = audience.slug.as_str();
    let body = html! {
        @if let Some(message) = message { (message) }
        form method="post" action={ "/admin/audiences/" (slug) } {
            (frame.csrf_field())
            fieldset {
                legend { (frame.t("audiences_approval")) }
                @for (value, key) in [("never", "approval_never"), ("above", "admin_approval_above"), ("always", "approval_always")] {
                    p {
                        input type="radio" id={ "approval-" (value) } name="approval" value=(value)
                            checked[form.approval == value];
                        label class="inline" for={ "approval-" (value) } { (frame.t(key)) }
                    }
                }
                p {
                    label for="threshold" { (frame.t("admin_threshold")) }
                    input id="threshold" name="threshold" inputmode="numeric" value=(form.threshold);
                }
                p {
                    label for="approvals_needed" { (frame.t("admin_approvals_needed")) }
                    input id="approvals_needed" name="approvals_needed" inputmode="numeric" value=(form.approvals_needed);
                }
            }
            p {
                label for="max_recipients" {
                    (frame.lang.text_with("admin_max_recipients", &[("cap", &format_count(org.max_recipients, lang))]))
                }
                input id="max_recipients" name="max_recipients" inputmode="numeric" value=(form.max_recipients);
            }
            p {
                label for="max_message_kb" {
                    (frame.lang.text_with("admin_max_kb", &[("cap", &format_bytes(org.max_message_bytes, Rounding::Down, lang))]))
                }
                input id="max_message_kb" name="max_message_kb" inputmode="numeric" value=(form.max_message_kb);
            }
            p {
                label for="sends_per_day" { (frame.t("admin_sends_per_day")) }
                input id="sends_per_day" name="sends_per_day" inputmode="numeric" value=(form.sends_per_day);
            }
            p {
                input id="email_and_sms" name="email_and_sms" type="checkbox" value="1"
                    checked[form.email_and_sms.is_some()];
                label class="inline" for="email_and_sms" { (frame.t("admin_email_and_sms")) }
            }
            button type="submit" { (frame.t("admin_save")) }
        }
        (usual_size)
        p { a href="/admin/audiences" { (frame.t("admin_audiences_title")) } }
    };
    layout(frame, &audience.name, body)
}

async fn admin_audience(
    state: &AppState,
    member: &Member,
    slug: &str,
) -> Result<verteiler_store::Audience, Response> {
    require_admin(state, member).await?;
    let Ok(slug) = AudienceSlug::parse(slug) else {
        return Err(not_found(&member.frame()));
    };
    match state.store.audience_by_slug(&slug).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(not_found(&member.frame())),
        Err(e) => Err(internal_error(member.lang, &e)),
    }
}

pub async fn audience(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    member: Member,
) -> Response {
    let audience = match admin_audience(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let frame = member.frame();
    let form = current_form(&audience);
    let usual = crate::admin_usual_size::section(&state, &frame, &audience).await;
    respond(
        StatusCode::OK,
        policy_page(&frame, &audience, &org_limits(&state), &form, None, usual),
    )
}

/// The change the form asks for, or the text key of the first field that is wrong.
fn parse_policy(form: &PolicyForm, org: &OrgLimits) -> Result<AudiencePolicyChange, &'static str> {
    fn number(text: &str) -> Result<Option<u64>, ()> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<u64>().map(Some).map_err(|_| ())
    }
    let threshold = number(&form.threshold).map_err(|_| "admin_error_threshold")?;
    let approval = match form.approval.as_str() {
        "never" => ApprovalSetting::Never,
        "always" => ApprovalSetting::Always,
        "above" => match threshold {
            Some(n) if n >= 1 => ApprovalSetting::AboveRecipients(n),
            _ => return Err("admin_error_threshold"),
        },
        _ => return Err("admin_error_approval"),
    };
    let approvals_needed = match number(&form.approvals_needed) {
        Ok(Some(n @ 1..=5)) => n as u32,
        _ => return Err("admin_error_approvals_needed"),
    };
    let max_recipients = match number(&form.max_recipients) {
        Ok(Some(n)) if n >= 1 && n <= org.max_recipients => Some(n),
        Ok(None) => None,
        _ => return Err("admin_error_max_recipients"),
    };
    let max_message_bytes = match number(&form.max_message_kb) {
        Ok(Some(kb)) if kb >= 1 && kb.saturating_mul(1000) <= org.max_message_bytes => {
            Some(kb * 1000)
        }
        Ok(None) => None,
        _ => return Err("admin_error_max_size"),
    };
    let sends_per_sender_per_day = match number(&form.sends_per_day) {
        Ok(Some(n)) if (1..=u64::from(u32::MAX)).contains(&n) => Some(n as u32),
        Ok(None) => None,
        _ => return Err("admin_error_sends_per_day"),
    };
    Ok(AudiencePolicyChange {
        approval,
        approvals_needed,
        max_recipients,
        max_message_bytes,
        sends_per_sender_per_day,
        email_and_sms: form.email_and_sms.is_some(),
    })
}

pub async fn save_audience(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    MemberForm { member, form }: MemberForm<PolicyForm>,
) -> Response {
    let audience = match admin_audience(&state, &member, &slug).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let frame = member.frame();
    let usual = crate::admin_usual_size::section(&state, &frame, &audience).await;
    let org = org_limits(&state);
    let change = match parse_policy(&form, &org) {
        Ok(c) => c,
        Err(key) => {
            let message = html! { p class="error" role="alert" { (frame.t(key)) } };
            return respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                policy_page(&frame, &audience, &org, &form, Some(message), usual),
            );
        }
    };
    let store = state.store_for(&member);
    match store.set_audience_policy(audience.id, &change).await {
        Ok(Some(before)) => {
            let lines = changes(&frame, &before, &change);
            let message = html! {
                section role="status" aria-labelledby="saved" {
                    h2 id="saved" { (frame.t("admin_saved")) }
                    @if lines.is_empty() {
                        p { (frame.t("admin_unchanged")) }
                    } @else {
                        ul { @for line in &lines { li { (line) } } }
                    }
                    p {
                        a href={ "/admin/audit?person=" (actor(&member)) } { (frame.t("admin_see_audit")) }
                    }
                }
            };
            let now = match store.audience_by_id(audience.id).await {
                Ok(Some(a)) => a,
                Ok(None) => return not_found(&frame),
                Err(e) => return internal_error(member.lang, &e),
            };
            let form = current_form(&now);
            respond(
                StatusCode::OK,
                policy_page(&frame, &now, &org, &form, Some(message), usual),
            )
        }
        Ok(None) => not_found(&frame),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// "field: before → after" for each field that changed.
fn changes(
    frame: &Frame<'_>,
    before: &AudiencePolicyChange,
    after: &AudiencePolicyChange,
) -> Vec<String> {
    let lang = frame.lang.policies();
    let approval = |a: &ApprovalSetting| match a {
        ApprovalSetting::Never => frame.t("approval_never").to_string(),
        ApprovalSetting::AboveRecipients(n) => frame
            .lang
            .text_with("approval_above", &[("recipients", &format_count(*n, lang))]),
        ApprovalSetting::Always => frame.t("approval_always").to_string(),
    };
    let opt = |v: Option<u64>| {
        v.map_or_else(
            || frame.t("admin_org_default").to_string(),
            |v| format_count(v, lang),
        )
    };
    let rows = [
        (
            "audiences_approval",
            approval(&before.approval),
            approval(&after.approval),
        ),
        (
            "admin_approvals_needed",
            before.approvals_needed.to_string(),
            after.approvals_needed.to_string(),
        ),
        (
            "audiences_max_recipients",
            opt(before.max_recipients),
            opt(after.max_recipients),
        ),
        (
            "audiences_max_size",
            opt(before.max_message_bytes),
            opt(after.max_message_bytes),
        ),
        (
            "admin_sends_per_day",
            opt(before.sends_per_sender_per_day.map(u64::from)),
            opt(after.sends_per_sender_per_day.map(u64::from)),
        ),
    ];
    rows.into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(key, b, a)| format!("{}: {b} → {a}", frame.t(key)))
        .collect()
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
