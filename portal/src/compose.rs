//! `/compose`: writing to a list from the browser, for chairs who do not use a mail client.
//!
//! The form builds an ordinary email (From: the member's own verified address, To: the list,
//! Bcc-only delivery as ever) and hands it to the same intake operation as SMTP
//! ([`verteiler_store::intake::Intake::take`]): the store gathers the facts, the engine
//! decides each list, and the decision is stored with the submission before the page answers. *Prüfen* runs exactly that decision without storing anything; *Senden*
//! stores it and shows the submission's page with its state and reasons.
//!
//! The form is `multipart/form-data` for its attachments. Browsers cannot refill a file
//! input, so the attachments of a checked draft wait in the upload directory (named by the
//! member and a random token carried in the form) until the draft is sent or a day is over;
//! the message's facts (size, attachments) are read from the built message exactly as the
//! gateway reads a submitted one.

use crate::drafts::{self, draft_dir, drafts_dir, Attachment, Attachments};
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{see_other, CsrfField, Member, MemberForm};
use crate::uploads::{self, ReceivedForm, UploadError};
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use verteiler_policies::{format_bytes, format_count, Rounding, SmsEncoding, SmsText};
use verteiler_store::intake::{DecidedSend, IntakeOutcome};
use verteiler_store::{ApprovalSettings, SendableAudience};

pub(crate) mod message;

/// The compose form: the fields of the message, the action, and the token of the attachments
/// waiting from an earlier check.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ComposeForm {
    pub csrf: String,
    pub list: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The text for members reached by SMS; without it they get a rendering of the email.
    pub sms_text: String,
    pub action: String,
    pub draft: String,
    /// Present when the waiting attachments are to be left out.
    pub drop_attachments: Option<String>,
}

impl CsrfField for ComposeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl ComposeForm {
    fn from_received(form: &ReceivedForm) -> ComposeForm {
        ComposeForm {
            csrf: form.field("csrf"),
            list: form.field("list"),
            subject: form.field("subject"),
            text: form.field("text"),
            html: form.field("html"),
            sms_text: form.field("sms_text"),
            action: form.field("action"),
            draft: form.field("draft"),
            drop_attachments: form.has("drop_attachments").then(String::new),
        }
    }
}

/// The problem of a draft over the cap (its translation takes the cap).
const DRAFTS_FULL: &str = "compose_drafts_full";

/// Longest subject accepted (a subject is one line in every mail client).
pub(crate) const SUBJECT_MAX: usize = 200;
/// Longest SMS text accepted: ten parts of GSM text; the list's own limit is the engine's.
pub(crate) const SMS_MAX: usize = 1_530;

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
        list: pre.list.unwrap_or_default(),
        ..ComposeForm::default()
    };
    let none = Attachments::none();
    render(&state, &member, &frame, &draft, &none, None, StatusCode::OK).await
}

/// What the form shows below it: the decision of a check, or why the draft cannot be sent.
enum Outcome {
    /// The decision, and the SMS text's measure when one was written.
    Checked(Vec<DecidedSend>, Option<SmsText>),
    Invalid(&'static str),
    Upload(&'static str),
    /// The member has as many drafts with attachments waiting as they may.
    DraftsFull(u32),
}

async fn render(
    state: &AppState,
    member: &Member,
    frame: &Frame<'_>,
    draft: &ComposeForm,
    attachments: &Attachments,
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
            (form(frame, &lists, draft, attachments))
        }
    };
    respond(status, layout(frame, frame.t("compose_title"), body))
}

fn outcome_box(frame: &Frame<'_>, settings: &ApprovalSettings, outcome: &Outcome) -> Markup {
    let lang = frame.lang.policies();
    html! {
        @match outcome {
            Outcome::Checked(decided, sms) => {
                section class="decision" aria-labelledby="decision" role="status" {
                    h2 id="decision" { (frame.t("compose_decision")) }
                    @for d in decided {
                        @let lines = d.lines(settings.undo_window_secs, lang);
                        p { strong { (lines[0]) } }
                        @if lines.len() > 1 {
                            ul { @for line in &lines[1..] { li { (line) } } }
                        }
                    }
                    @if let Some(sms) = sms {
                        p { (sms_measure(frame, sms)) }
                    }
                    p { (frame.t("compose_checked")) }
                }
            }
            Outcome::Invalid(key) | Outcome::Upload(key) => {
                p class="error" role="alert" { (frame.t(key)) }
            }
            Outcome::DraftsFull(max) => {
                p class="error" role="alert" {
                    (frame.lang.text_with("compose_drafts_full", &[("max", &max.to_string())]))
                }
                (drafts::discard_form(frame))
            }
        }
    }
}

/// "2 SMS parts (GSM 7-bit, 214 characters)": what the networks will bill per recipient.
fn sms_measure(frame: &Frame<'_>, sms: &SmsText) -> String {
    let encoding = match sms.encoding() {
        SmsEncoding::Gsm7 => "compose_sms_gsm",
        SmsEncoding::Ucs2 => "compose_sms_ucs2",
    };
    frame.lang.text_with(
        "compose_sms_measure",
        &[
            ("parts", &sms.segments().to_string()),
            ("encoding", frame.t(encoding)),
            ("units", &sms.units().to_string()),
        ],
    )
}

fn form(
    frame: &Frame<'_>,
    lists: &[SendableAudience],
    draft: &ComposeForm,
    attachments: &Attachments,
) -> Markup {
    let lang = frame.lang.policies();
    html! {
        form method="post" action="/compose" enctype="multipart/form-data" {
            // First in the form: the token is checked before any file is read.
            (frame.csrf_field())
            @if !attachments.list.is_empty() {
                input type="hidden" name="draft" value=(attachments.token);
            }
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
                label for="sms_text" { (frame.t("compose_sms")) }
                textarea id="sms_text" name="sms_text" rows="3" maxlength=(SMS_MAX) aria-describedby="sms-hint" { (draft.sms_text) }
                span id="sms-hint" class="hint" { (frame.t("compose_sms_hint")) }
            }
            @if !attachments.list.is_empty() {
                section aria-labelledby="attached" {
                    h2 id="attached" { (frame.t("compose_attached")) }
                    ul {
                        @for a in &attachments.list {
                            li { (a.file_name) " (" (format_bytes(a.size, Rounding::Up, lang)) ")" }
                        }
                    }
                    p {
                        input id="drop_attachments" name="drop_attachments" type="checkbox" value="1";
                        label class="inline" for="drop_attachments" { (frame.t("compose_drop_attachments")) }
                    }
                }
            }
            p {
                label for="attachments" { (frame.t("compose_attachments")) }
                input id="attachments" name="attachments" type="file" multiple;
            }
            p {
                button type="submit" name="action" value="check" { (frame.t("compose_check")) }
                " "
                button type="submit" name="action" value="send" { (frame.t("compose_send")) }
            }
        }
    }
}

/// Reads the form in either encoding: `multipart/form-data` from the page (with files, kept
/// in the draft's folder with those of an earlier check), or a plain form without files.
async fn read_form(
    state: &AppState,
    request: Request,
) -> Result<(Member, ComposeForm, Attachments, Option<&'static str>), Response> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let MemberForm { member, form } =
            MemberForm::<ComposeForm>::from_request(request, state).await?;
        let mut attachments = Attachments::load(state, &member, &form.draft).await;
        if form.drop_attachments.is_some() {
            attachments.remove().await;
            attachments = Attachments::none();
        }
        return Ok((member, form, attachments, None));
    }
    let (mut parts, body) = request.into_parts();
    let member = Member::from_request_parts(&mut parts, state).await?;
    let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|_| crate::session::bad_form(member.lang, &member.path))?;
    let drafts = drafts_dir(state);
    uploads::remove_stale(&drafts).await;
    let token = uploads::new_token();
    let Some(dir) = draft_dir(state, &member, &token) else {
        return Err(internal_error(
            member.lang,
            &std::io::Error::other("draft token"),
        ));
    };
    let max = max_attachment_bytes(state);
    let received = uploads::receive(&member, multipart, max, |n, _| dir.join(n.to_string())).await;
    let received = match received {
        Ok(r) => r,
        Err(UploadError::Csrf) => {
            tracing::warn!(event = "http.csrf_refused", member = member.id(), path = %member.path);
            return Err(crate::session::refused(member.lang, &member.path));
        }
        Err(UploadError::Io(e)) => return Err(internal_error(member.lang, &e)),
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            let key = match e {
                UploadError::TooLarge => "compose_attachments_too_large",
                _ => "compose_upload_failed",
            };
            let form = ComposeForm::default();
            return Ok((member, form, Attachments::none(), Some(key)));
        }
    };
    let form = ComposeForm::from_received(&received);
    let earlier = Attachments::load(state, &member, &form.draft).await;
    let mut attachments = Attachments {
        dir: dir.clone(),
        token,
        list: Vec::new(),
    };
    // The attachments of the earlier check move into this draft's folder, then the new ones.
    if form.drop_attachments.is_none() && !earlier.list.is_empty() {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| internal_error(member.lang, &e))?;
        for a in &earlier.list {
            let stored_as = format!("{}", attachments.list.len() + received.files.len());
            tokio::fs::rename(earlier.dir.join(&a.stored_as), dir.join(&stored_as))
                .await
                .map_err(|e| internal_error(member.lang, &e))?;
            attachments.list.push(Attachment {
                stored_as,
                ..a.clone()
            });
        }
    }
    earlier.remove().await;
    for (n, file) in received.files.iter().enumerate() {
        attachments.list.push(Attachment {
            file_name: file.file_name.clone(),
            content_type: file.content_type.clone(),
            stored_as: n.to_string(),
            size: file.size,
        });
    }
    if attachments.list.is_empty() {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        attachments = Attachments::none();
    } else if drafts::over_cap(state, &member).await {
        // This draft is one too many: its files go at once (limits.drafts_per_member).
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Ok((member, form, Attachments::none(), Some(DRAFTS_FULL)));
    } else {
        attachments
            .save()
            .await
            .map_err(|e| internal_error(member.lang, &e))?;
    }
    let problem = (attachments.total_bytes() > max).then_some("compose_attachments_too_large");
    Ok((member, form, attachments, problem))
}

/// Attachments together may be as large as the organisation lets a message be; the engine
/// then judges the whole message against the list's own limit.
pub(crate) fn max_attachment_bytes(state: &AppState) -> u64 {
    state
        .settings
        .approvals
        .as_ref()
        .map_or(0, |a| a.limits.max_message_bytes)
}

pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let (member, form, attachments, upload_problem) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let frame = member.frame();
    let reply = Reply {
        state: &state,
        member: &member,
        frame: &frame,
        form: &form,
        attachments: &attachments,
    };
    let (Some(_), Some(intake)) = (&state.settings.approvals, &state.intake) else {
        return crate::member::not_found(&frame);
    };
    if let Some(key) = upload_problem {
        let (outcome, status) = if key == DRAFTS_FULL {
            let max = state.settings.drafts_per_member;
            (Outcome::DraftsFull(max), StatusCode::TOO_MANY_REQUESTS)
        } else {
            (Outcome::Upload(key), StatusCode::PAYLOAD_TOO_LARGE)
        };
        return reply.with(outcome, status).await;
    }
    let problem = form_problem(&form);
    if let Some(key) = problem {
        return reply.refuse(key).await;
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
        return reply.refuse("compose_no_address").await;
    };
    let address = format!("{}@{}", form.list, intake.settings().list_domain);
    let built = message::build(
        &state.store,
        member.id(),
        &from,
        &address,
        &form,
        &attachments,
    );
    let raw = match built.await {
        Ok(raw) => raw,
        Err(e) => return internal_error(member.lang, &*e),
    };
    let sms = Some(form.sms_text.trim())
        .filter(|t| !t.is_empty())
        .map(SmsText::new);
    let request = message::request(&member, &from, &form, address, raw, &sms, &state);
    let answer = match intake.take(request).await {
        Ok(answer) => answer,
        Err(e) => return internal_error(member.lang, &e),
    };
    match answer.outcome {
        // The form builds the message from the member's own address: a refusal of it is
        // this program's fault, not the member's.
        IntakeOutcome::Refused(refusal) => internal_error(member.lang, &refusal),
        IntakeOutcome::Throttled { .. } => {
            reply
                .with(
                    Outcome::Invalid("compose_refusals_throttled"),
                    StatusCode::TOO_MANY_REQUESTS,
                )
                .await
        }
        IntakeOutcome::Checked { decided } => {
            reply
                .with(Outcome::Checked(decided, sms), StatusCode::OK)
                .await
        }
        IntakeOutcome::Stored(stored) => {
            // The message is stored whole; its attachments need not wait any longer.
            attachments.remove().await;
            see_other(&format!("/submissions/{}", stored.submission_id), vec![])
        }
    }
}

/// What every answer of [`submit`] is drawn from: the member's form as they sent it.
struct Reply<'a, 'f> {
    state: &'a AppState,
    member: &'a Member,
    frame: &'a Frame<'f>,
    form: &'a ComposeForm,
    attachments: &'a Attachments,
}

impl Reply<'_, '_> {
    async fn with(&self, outcome: Outcome, status: StatusCode) -> Response {
        let (state, member, frame) = (self.state, self.member, self.frame);
        render(
            state,
            member,
            frame,
            self.form,
            self.attachments,
            Some(outcome),
            status,
        )
        .await
    }

    async fn refuse(&self, key: &'static str) -> Response {
        self.with(Outcome::Invalid(key), StatusCode::UNPROCESSABLE_ENTITY)
            .await
    }
}

/// Why the form's fields cannot make a message, as the key of the text saying so.
fn form_problem(form: &ComposeForm) -> Option<&'static str> {
    let subject = form.subject.trim();
    if subject.is_empty() {
        Some("compose_subject_missing")
    } else if subject.chars().count() > SUBJECT_MAX || subject.contains(['\r', '\n']) {
        Some("compose_subject_invalid")
    } else if form.text.trim().is_empty() {
        Some("compose_text_missing")
    } else if form.sms_text.trim().chars().count() > SMS_MAX {
        Some("compose_sms_too_long")
    } else if verteiler_policies::AudienceSlug::parse(&form.list).is_err() {
        Some("compose_list_missing")
    } else {
        None
    }
}
