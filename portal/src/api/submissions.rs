//! `/api/v1/submissions`: handing a message in, and following one's own submissions.
//!
//! `POST` takes a message as written (`message/rfc822`) or as JSON parts ([`input`]), checks
//! the lists against the token, and hands it to the store's one intake operation — the same
//! checks, engine and durable write as SMTP and the compose page. The answer (202) comes after
//! the submission is committed and names each list's decision. A message refused before any
//! list is asked is a 422 problem (429 for the refused-flood throttle), nothing stored.
//! With an `Idempotency-Key` a retried request gets the first answer ([`idempotency`]).

// `Problem` is the API's one error type, returned by value like axum's own rejections; the
// skeleton's `Caller::require` returns it the same way.

mod idempotency;
pub(super) mod input;
pub(super) mod view;

use super::body::too_large;
use super::caller::Caller;
use super::paging::{Page, PageQuery};
use super::problem::{Problem, ProblemBody, Texts, PROBLEM_JSON};
use crate::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idempotency::Claim;
use input::{Intended, SubmitJson};
use utoipa_axum::{router::OpenApiRouter, routes};
use verteiler_store::intake::{Arrival, IntakeOutcome, IntakeRequest, Mode, Person, Refusal};
use verteiler_store::{ApiScope, Origin};
use view::{DecidedSendView, ReplacedFromName, SubmissionAccepted, SubmissionView};

/// An answer as status and body, kept whole so a retry with the same key gets it again.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// Whether a submission was stored (whatever went wrong after): then the key is never
    /// given up, so no retry stores a second one.
    stored: bool,
}

impl Answer {
    fn json(status: StatusCode, value: &impl serde::Serialize) -> Answer {
        Answer {
            status,
            body: serde_json::to_vec(value).unwrap_or_default(),
            stored: false,
        }
    }

    fn problem(problem: &Problem) -> Answer {
        Answer::json(problem.status, &problem.body())
    }

    fn after_storing(self) -> Answer {
        Answer {
            stored: true,
            ..self
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let content_type = if self.status.is_success() {
            "application/json"
        } else {
            PROBLEM_JSON
        };
        let mut response = (self.status, self.body).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

/// The query of `POST /submissions`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SubmitQuery {
    /// For a `message/rfc822` body: a list to send to (slug or address), repeatable. Without
    /// it, the message's `To:` and `Cc:` addresses in the list domain are its lists.
    to: Option<Vec<String>>,
}

/// Hand in a message.
#[utoipa::path(
    post,
    path = "/submissions",
    tag = "submissions",
    security(("bearer" = [])),
    params(
        SubmitQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the first answer instead of submitting again (up to 255 visible characters, kept for a day)"),
    ),
    request_body(
        description = "The message as JSON parts, or as written (RFC 5322)",
        content((SubmitJson = "application/json"), (String = "message/rfc822"))
    ),
    responses(
        (status = 202, description = "Stored; each list's decision", body = SubmissionAccepted),
        (status = 400, description = "The body, a cursor or the key cannot be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `send`, or a list is not among its lists (`list_not_in_token`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being worked on", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "The body or the attachments are too large", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor message/rfc822", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Refused before any list (`from_not_yours`, `message_unfit`, `message_unreadable`), a field is missing or wrong, or the Idempotency-Key was used for another request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests, or too many refused messages within the hour (`refusals_throttled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "This server takes no submissions", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn submit(State(state): State<AppState>, caller: Caller, request: Request) -> Response {
    match submit_checked(&state, &caller, request).await {
        Ok(answer) => answer.into_response(),
        Err(problem) => problem.into_response(),
    }
}

async fn submit_checked(
    state: &AppState,
    caller: &Caller,
    request: Request,
) -> Result<Answer, Problem> {
    caller.require(ApiScope::Send)?;
    let Some(domain) = state
        .intake
        .as_ref()
        .map(|i| i.settings().list_domain.clone())
    else {
        let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", caller.lang);
        return Err(problem);
    };
    let (parts, body) = request.into_parts();
    let limit = state.settings.api.max_body_bytes;
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(caller.lang, state))?;
    let content_type = media_type(&parts);
    let key = idempotency::key(&parts, caller)?;
    let intended = match content_type.as_str() {
        "application/json" => input::json(&body, &domain, state, caller).await?,
        "message/rfc822" => input::raw(&body, &to_params(&parts), &domain, caller)?,
        _ => {
            return Err(Problem::with_args(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                caller.lang,
                &[("expected", "application/json, message/rfc822")],
            ))
        }
    };
    let Some(key) = key else {
        return Ok(take(state, caller, intended).await);
    };
    let sha256 = idempotency::request_sha256(&parts, &content_type, &body);
    match idempotency::claim(state, caller, &key, &sha256).await? {
        Claim::Repeat { status, body } => Ok(Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: body.into_bytes(),
            stored: false,
        }),
        Claim::Go => {
            let answer = take(state, caller, intended).await;
            let body = String::from_utf8_lossy(&answer.body);
            let status = answer.status.as_u16();
            idempotency::settle(state, caller, &key, status, &body, answer.stored).await;
            Ok(answer)
        }
    }
}

/// The body's media type, lower case, without parameters.
fn media_type(parts: &Parts) -> String {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Every `to` of the query (repeatable, so not a struct's field).
fn to_params(parts: &Parts) -> Vec<String> {
    let query = parts.uri.query().unwrap_or("");
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| name == "to")
        .map(|(_, value)| value)
        .collect()
}

/// Hands the message to the intake and turns its outcome into the answer.
async fn take(state: &AppState, caller: &Caller, intended: Intended) -> Answer {
    let Some(intake) = &state.intake else {
        return Answer::problem(&Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            caller.lang,
        ));
    };
    let request = IntakeRequest {
        arrival: Arrival {
            origin: Origin::Api,
            client_ip: None,
            client_name: None,
            tls: state.settings.secure_cookies,
            envelope_from: None,
        },
        person: Person {
            member_id: caller.member_id(),
            login: caller.token.actor(),
            credential_id: None,
        },
        raw: intended.raw,
        addresses: intended.addresses,
        sms_text: intended.sms_text,
        mode: Mode::Submit,
    };
    let answer = match intake.take(request).await {
        Ok(answer) => answer,
        Err(e) => return Answer::problem(&caller.internal(&e)),
    };
    let stored = match answer.outcome {
        IntakeOutcome::Stored(stored) => stored,
        IntakeOutcome::Refused(refusal) => return Answer::problem(&refused(&refusal, caller)),
        IntakeOutcome::Throttled { limit } => {
            let limit = limit.to_string();
            return Answer::problem(&Problem::with_args(
                StatusCode::TOO_MANY_REQUESTS,
                "refusals_throttled",
                caller.lang,
                &[("limit", &limit)],
            ));
        }
        IntakeOutcome::Checked { .. } => {
            return Answer::problem(&caller.internal(&"a submission came back only checked"))
        }
    };
    // The sends as stored, for their ids and start times; one per address.
    let own = match state
        .store
        .own_submission(caller.member_id(), stored.submission_id)
        .await
    {
        Ok(Some(own)) => own,
        Ok(None) => {
            return Answer::problem(&caller.internal(&"the stored submission is gone"))
                .after_storing()
        }
        Err(e) => return Answer::problem(&caller.internal(&e)).after_storing(),
    };
    let undo_secs = intake.settings().undo_window_secs;
    let mut sends = Vec::with_capacity(stored.decided.len());
    for d in &stored.decided {
        let Some(send) = own.sends.iter().find(|o| o.send.address == d.address) else {
            return Answer::problem(&caller.internal(&"a decided list has no send"))
                .after_storing();
        };
        sends.push(DecidedSendView::of(
            d,
            send.send.id,
            send.send.release_at,
            undo_secs,
        ));
    }
    tracing::info!(
        event = "api.submitted",
        token = caller.token.id,
        submission_id = stored.submission_id,
        lists = sends.len()
    );
    Answer::json(
        StatusCode::ACCEPTED,
        &SubmissionAccepted {
            submission_id: stored.submission_id,
            sends,
            replaced_from_name: stored.replaced_name.map(|r| ReplacedFromName {
                submitted: r.submitted,
                shown: r.shown,
            }),
        },
    )
    .after_storing()
}

/// A message refused before any list was asked: 422, saying why in both languages.
fn refused(refusal: &Refusal, caller: &Caller) -> Problem {
    tracing::info!(event = "api.message_refused", token = caller.token.id, problem = %refusal);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match refusal {
        Refusal::Unfit(unfit) => Problem::with_texts(
            unprocessable,
            "message_unfit",
            caller.lang,
            Texts::rendered(|lang| unfit.text(lang)),
        ),
        Refusal::Unreadable(e) => Problem::with_args(
            unprocessable,
            "message_unreadable",
            caller.lang,
            &[("reason", &e.to_string())],
        ),
        Refusal::FromNotYours { from } => Problem::with_args(
            unprocessable,
            "from_not_yours",
            caller.lang,
            &[("from", from)],
        ),
    }
}

/// The caller's own submissions, newest first.
#[utoipa::path(
    get,
    path = "/submissions",
    tag = "submissions",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's submissions with their sends", body = Page<SubmissionView>),
        (status = 400, description = "A cursor this API did not give out", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `sends:read`", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<SubmissionView>>, Problem> {
    caller.require(ApiScope::SendsRead)?;
    let before = page.before_id(caller.lang)?;
    let limit = page.limit();
    let submissions = state
        .store
        .own_submissions_before(caller.member_id(), before, limit + 1)
        .await
        .map_err(|e| caller.internal(&e))?;
    let items = submissions.iter().map(SubmissionView::of).collect();
    Ok(axum::Json(Page::of(items, limit, |s| s.submission_id)))
}

/// One of the caller's submissions with its sends.
#[utoipa::path(
    get,
    path = "/submissions/{id}",
    tag = "submissions",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "The submission", body = SubmissionView),
        (status = 403, description = "The token lacks `sends:read`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such submission among the caller's", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<SubmissionView>, Problem> {
    caller.require(ApiScope::SendsRead)?;
    let id = object_id(&id, &caller)?;
    match state.store.own_submission(caller.member_id(), id).await {
        Ok(Some(s)) => Ok(axum::Json(SubmissionView::of(&s))),
        Ok(None) => Err(caller.not_found()),
        Err(e) => Err(caller.internal(&e)),
    }
}

/// The id in a path: anything but a positive number names nothing (404, like another
/// member's object).
pub(super) fn object_id(id: &str, caller: &Caller) -> Result<i64, Problem> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| caller.not_found())
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit, list))
        .routes(routes!(one))
}
