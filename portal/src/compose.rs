//! `/compose`: writing to a list from the browser, for chairs who do not use a mail client.
//!
//! The form builds an ordinary email (From: the member's own verified address, To: the list,
//! Bcc-only delivery as ever) and hands it to the same intake as SMTP: the store gathers the
//! facts, the engine decides each list, and the decision is stored with the submission before
//! the page answers. *Prüfen* runs exactly that decision without storing anything; *Senden*
//! stores it and shows the submission's page with its state and reasons.

use crate::csrf_form;
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{see_other, Member, MemberForm};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use sha2::{Digest, Sha256};
use verteiler_policies::{format_count, ContentHash, Lang as PolicyLang, MessageFacts};
use verteiler_store::intake::{self, DecidedSend};
use verteiler_store::{ApprovalSettings, Ingress, NewSubmission, SendableAudience};

csrf_form! {
    ComposeForm { list: String, subject: String, text: String, html: String, action: String }
}

/// Longest subject accepted (a subject is one line in every mail client).
const SUBJECT_MAX: usize = 200;

#[derive(serde::Deserialize)]
pub struct Preselect {
    list: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Query(pre): Query<Preselect>,
    member: Member,
) -> Response {
    let frame = member.frame();
    let draft = ComposeForm {
        csrf: String::new(),
        list: pre.list.unwrap_or_default(),
        subject: String::new(),
        text: String::new(),
        html: String::new(),
        action: String::new(),
    };
    render(&state, &member, &frame, &draft, None, StatusCode::OK).await
}

/// What the form shows below it: the decision of a check, or why the draft cannot be sent.
enum Outcome {
    Checked(Vec<DecidedSend>),
    Invalid(&'static str),
}

async fn render(
    state: &AppState,
    member: &Member,
    frame: &Frame<'_>,
    draft: &ComposeForm,
    outcome: Option<Outcome>,
    status: StatusCode,
) -> Response {
    let Some(settings) = &state.settings.approvals else {
        return crate::member::not_found(frame);
    };
    let lists = match state.store.sendable_audiences(member.id()).await {
        Ok(l) => l,
        Err(e) => return internal_error(member.lang, &e),
    };
    let body = html! {
        // A forced draft is decided like any other: its decision is shown even to somebody
        // the form offers no list.
        @if let Some(outcome) = &outcome {
            (outcome_box(frame, settings, outcome))
        }
        @if lists.is_empty() {
            p { (frame.t("audiences_empty")) }
        } @else {
            (form(frame, &lists, draft))
        }
    };
    respond(status, layout(frame, frame.t("compose_title"), body))
}

fn outcome_box(frame: &Frame<'_>, settings: &ApprovalSettings, outcome: &Outcome) -> Markup {
    let lang = frame.lang.policies();
    html! {
        @match outcome {
            Outcome::Checked(decided) => {
                section class="decision" aria-labelledby="decision" role="status" {
                    h2 id="decision" { (frame.t("compose_decision")) }
                    @for d in decided {
                        @let lines = d.lines(settings.undo_window_secs, lang);
                        p { strong { (lines[0]) } }
                        @if lines.len() > 1 {
                            ul { @for line in &lines[1..] { li { (line) } } }
                        }
                    }
                    p { (frame.t("compose_checked")) }
                }
            }
            Outcome::Invalid(key) => {
                p class="error" role="alert" { (frame.t(key)) }
            }
        }
    }
}

fn form(frame: &Frame<'_>, lists: &[SendableAudience], draft: &ComposeForm) -> Markup {
    let lang = frame.lang.policies();
    html! {
        form method="post" action="/compose" {
            (frame.csrf_field())
            p {
                label for="list" { (frame.t("compose_list")) }
                select id="list" name="list" {
                    @for a in lists {
                        @let slug = a.audience.slug.as_str();
                        option value=(slug) selected[slug == draft.list] {
                            (a.audience.name) " (" (format_count(a.recipients, lang)) ")"
                        }
                    }
                }
            }
            p {
                label for="subject" { (frame.t("held_subject")) }
                input id="subject" name="subject" required maxlength=(SUBJECT_MAX) value=(draft.subject);
            }
            p {
                label for="text" { (frame.t("compose_text")) }
                textarea id="text" name="text" rows="12" required { (draft.text) }
            }
            p {
                label for="html" { (frame.t("compose_html")) }
                textarea id="html" name="html" rows="6" aria-describedby="html-hint" { (draft.html) }
                span id="html-hint" class="hint" { (frame.t("compose_html_hint")) }
            }
            p {
                button type="submit" name="action" value="check" { (frame.t("compose_check")) }
                " "
                button type="submit" name="action" value="send" { (frame.t("compose_send")) }
            }
        }
    }
}

pub async fn submit(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<ComposeForm>,
) -> Response {
    let frame = member.frame();
    let Some(settings) = state.settings.approvals.clone() else {
        return crate::member::not_found(&frame);
    };
    let subject = form.subject.trim();
    let problem = if subject.is_empty() {
        Some("compose_subject_missing")
    } else if subject.chars().count() > SUBJECT_MAX || subject.contains(['\r', '\n']) {
        Some("compose_subject_invalid")
    } else if form.text.trim().is_empty() {
        Some("compose_text_missing")
    } else if verteiler_policies::AudienceSlug::parse(&form.list).is_err() {
        Some("compose_list_missing")
    } else {
        None
    };
    if let Some(key) = problem {
        return refuse(&state, &member, &frame, &form, key).await;
    }
    let profile = match state.store.sender_profile(member.id()).await {
        Ok(p) => p,
        Err(e) => return internal_error(member.lang, &e),
    };
    // The message goes out from the member's own verified address, as the gateway requires.
    let Some(from) = profile
        .emails
        .iter()
        .find(|(_, verified)| *verified)
        .map(|(address, _)| address.clone())
    else {
        return refuse(&state, &member, &frame, &form, "compose_no_address").await;
    };
    let address = format!("{}@{}", form.list, settings.list_domain);
    let name = format!("{} {}", member.session.first_name, member.session.last_name);
    let raw = match build_message(&name, &from, &address, subject, &form, &settings) {
        Ok(raw) => raw,
        Err(e) => return internal_error(member.lang, &e),
    };
    let message = MessageFacts {
        size_bytes: raw.len() as u64,
        attachment_count: 0,
        attachment_bytes: 0,
        // To: names only the list; nobody's address is shown to the others.
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::from_bytes(Sha256::digest(&raw).into()),
    };
    let decided = match state
        .store
        .decide_addresses(member.id(), &[address], &message, &settings)
        .await
    {
        Ok(d) => d,
        Err(e) => return internal_error(member.lang, &e),
    };
    if form.action != "send" {
        let outcome = Some(Outcome::Checked(decided));
        return render(&state, &member, &frame, &form, outcome, StatusCode::OK).await;
    }
    let submission = NewSubmission {
        message_id: None,
        sender_member_id: member.id(),
        login: from.clone(),
        credential_id: None,
        ingress: Ingress::Portal,
        client_ip: None,
        client_name: None,
        tls: state.settings.secure_cookies,
        envelope_from: from.clone(),
        header_from: from.clone(),
        subject: subject.to_string(),
        content_hash: message.content_hash.to_string(),
        raw,
        message_facts: Some(message),
        preview: Some(form.text.chars().take(intake::PREVIEW_CHARS).collect()),
    };
    let sender = intake::Sender {
        member_id: member.id(),
        notify_to: from,
        lang: PolicyLang::from_tag(&profile.language),
    };
    let record = intake::submission_record(
        submission,
        decided,
        &sender,
        &settings,
        verteiler_store::now_ms(),
    );
    match state.store.record_submission(&record).await {
        Ok(stored) => see_other(&format!("/submissions/{}", stored.id), vec![]),
        Err(e) => internal_error(member.lang, &e),
    }
}

/// The form again, with why the draft cannot be sent (422).
async fn refuse(
    state: &AppState,
    member: &Member,
    frame: &Frame<'_>,
    draft: &ComposeForm,
    key: &'static str,
) -> Response {
    let outcome = Some(Outcome::Invalid(key));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render(state, member, frame, draft, outcome, status).await
}

/// The email as a mail client would write it: text, and the HTML as its alternative.
fn build_message(
    name: &str,
    from: &str,
    to: &str,
    subject: &str,
    form: &ComposeForm,
    settings: &ApprovalSettings,
) -> std::io::Result<Vec<u8>> {
    let id = format!(
        "{}.{}@{}",
        verteiler_store::now_ms(),
        &verteiler_store::new_secret()[..16],
        settings.list_domain
    );
    let mut builder = mail_builder::MessageBuilder::new()
        .from((name, from))
        .to(to)
        .subject(subject)
        .message_id(id)
        .text_body(form.text.replace("\r\n", "\n"));
    if !form.html.trim().is_empty() {
        builder = builder.html_body(form.html.clone());
    }
    builder.write_to_vec()
}
