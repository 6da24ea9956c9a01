//! Imports run in the background: a whole directory takes half a minute, longer than a
//! browser should wait for an answer. The admin's browser is sent to the job's page, which
//! reloads itself (a meta refresh: the pages work without scripts) and shows how far the
//! import is, then its report. A job is found by the admin who started it and the upload's
//! token, never by anybody else; one import runs at a time.

use super::{upload_form, JobRequest};
use crate::page::{internal_error, layout, layout_refreshing, respond, Frame};
use crate::session::Member;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use verteiler_policies::format_count;
use verteiler_store::directory::import::{Encoding, ImportError, ImportReport};
use verteiler_store::progress::{phase, Progress, Step};

/// How often the page of a running job reloads itself.
const REFRESH_SECS: u32 = 2;
/// A finished job's report stays this long (reloading the page shows it again).
const KEPT: Duration = Duration::from_secs(86_400);

type Key = (i64, String);

/// The portal's import jobs.
#[derive(Default)]
pub(super) struct Jobs {
    /// Held by the running import: two imports at once would plan against each other's
    /// half-written changes.
    pub turn: Arc<tokio::sync::Mutex<()>>,
    jobs: Mutex<HashMap<Key, Arc<Job>>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jobs")
    }
}

pub(super) struct Job {
    pub request: JobRequest,
    started: Instant,
    state: Mutex<State>,
}

enum State {
    /// Another import holds the turn.
    Waiting,
    Running(Option<Step>),
    /// Boxed: a report with its list changes is far larger than the other states.
    Done(Box<Result<ImportReport, ImportError>>),
}

impl Job {
    fn set(&self, state: State) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    fn is_done(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(PoisonError::into_inner),
            State::Done(_)
        )
    }
}

impl Jobs {
    pub fn find(&self, member: &Member, token: &str) -> Option<Arc<Job>> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.get(&(member.id(), token.to_string())).cloned()
    }

    /// Starts `run` for the member's upload, unless an import of it still runs (a second
    /// click on "import now" must not import twice).
    pub fn start<F, Fut>(&self, member: &Member, request: JobRequest, run: F)
    where
        F: FnOnce(Progress) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ImportReport, ImportError>> + Send + 'static,
    {
        let key = (member.id(), request.token.clone());
        let job = {
            let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            jobs.retain(|_, j| !j.is_done() || j.started.elapsed() < KEPT);
            if jobs.get(&key).is_some_and(|j| !j.is_done()) {
                return;
            }
            let job = Arc::new(Job {
                request,
                started: Instant::now(),
                state: Mutex::new(State::Waiting),
            });
            jobs.insert(key, job.clone());
            job
        };
        let turn = self.turn.clone();
        let worker = job.clone();
        let handle = tokio::spawn(async move {
            let _turn = turn.lock_owned().await;
            worker.set(State::Running(None));
            let sink = worker.clone();
            let progress = Progress::new(move |step| sink.set(State::Running(Some(step))));
            let result = run(progress).await;
            worker.set(State::Done(Box::new(result)));
        });
        // A job that died must not leave its page reloading for ever.
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                tracing::error!(event = "import.job_failed", error = %e);
                job.set(State::Done(Box::new(Err(ImportError::Io {
                    path: String::new(),
                    source: std::io::Error::other("the import stopped unexpectedly"),
                }))));
            }
        });
    }
}

/// The job's page: how far it is while it runs, then its report.
pub(super) fn page(member: &Member, job: &Job) -> Response {
    let frame = member.frame();
    let title = frame.t("import_title");
    let state = job.state.lock().unwrap_or_else(PoisonError::into_inner);
    let step = match &*state {
        State::Done(done) => match done.as_ref() {
            Ok(report) => {
                let status = if report.refusal.is_some() && !job.request.options.dry_run {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                };
                let body = super::report::report_page(&frame, report, &job.request);
                return respond(status, layout(&frame, title, body));
            }
            Err(e) => return unreadable(&frame, &job.request, e),
        },
        State::Waiting => None,
        State::Running(step) => *step,
    };
    let running_key = if job.request.options.dry_run {
        "import_running_check"
    } else {
        "import_running_write"
    };
    let body = html! {
        section role="status" aria-labelledby="running" {
            h2 id="running" { (frame.t(running_key)) }
            @match step {
                None => p { (frame.t("import_waiting")) },
                Some(step) => {
                    p { (progress_text(&frame, step)) }
                    @if let Some(total) = step.total {
                        progress max=(total.max(1)) value=(step.done.min(total)) {
                            (step.percent().unwrap_or(0)) " %"
                        }
                    }
                }
            }
            p { (frame.t("import_refresh")) }
            p { a href={ "/admin/import/jobs/" (job.request.token) } { (frame.t("import_reload")) } }
        }
    };
    respond(
        StatusCode::OK,
        layout_refreshing(&frame, title, body, Some(REFRESH_SECS)),
    )
}

/// "Rows checked: 120.000 of 400.000 (30 %)".
fn progress_text(frame: &Frame<'_>, step: Step) -> String {
    let n = |v: u64| format_count(v, frame.lang.policies());
    let phase_key = match step.phase {
        phase::LOAD_MEMBERS => "import_phase_load_members",
        phase::WRITE_ROWS => "import_phase_write_rows",
        _ => "import_phase_check_rows",
    };
    let phase = frame.t(phase_key);
    match (step.total, step.percent()) {
        (Some(total), Some(percent)) => frame.lang.text_with(
            "import_progress",
            &[
                ("phase", phase),
                ("done", &n(step.done)),
                ("total", &n(total)),
                ("percent", &percent.to_string()),
            ],
        ),
        _ => frame.lang.text_with(
            "import_progress_open",
            &[("phase", phase), ("done", &n(step.done))],
        ),
    }
}

/// The file could not be read as an export: say why, and offer the upload again (with the
/// other encoding chosen when the encoding was wrong).
fn unreadable(frame: &Frame<'_>, request: &JobRequest, e: &ImportError) -> Response {
    let (message, detail, encoding) = match e {
        ImportError::Store(e) => return internal_error(frame.lang, e),
        ImportError::NotUtf8 {
            line, offset, byte, ..
        } => (
            frame.lang.text_with(
                "import_not_utf8",
                &[
                    ("line", &line.to_string()),
                    ("byte", &format!("{byte:02X}")),
                    ("offset", &offset.to_string()),
                ],
            ),
            None,
            Encoding::Windows1252,
        ),
        ImportError::IsUtf8 { .. } => (frame.t("import_is_utf8").to_string(), None, Encoding::Utf8),
        other => {
            let detail = other.to_string();
            // The staged file's name means nothing to the admin.
            let detail = detail
                .split_once(".csv: ")
                .map_or(detail.as_str(), |(_, rest)| rest)
                .to_string();
            (
                frame.t("import_not_an_export").to_string(),
                Some(detail),
                request.options.encoding,
            )
        }
    };
    let body = html! {
        p class="error" role="alert" { (message) }
        @if let Some(detail) = detail {
            p class="wrap" { code { (detail) } }
        }
        (upload_form(frame, None, request.kind, encoding))
    };
    respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        layout(frame, frame.t("import_title"), body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    #[test]
    fn the_page_says_how_far_each_phase_is_in_the_admins_language() {
        let step = |phase, done, total| Step { phase, done, total };
        let de = Frame::anonymous(Lang::De, "/admin/import");
        assert_eq!(
            progress_text(&de, step(phase::WRITE_ROWS, 120_000, Some(400_000))),
            "Zeilen geschrieben: 120.000 von 400.000 (30 %)"
        );
        let en = Frame::anonymous(Lang::En, "/admin/import");
        assert_eq!(
            progress_text(&en, step(phase::CHECK_ROWS, 5, Some(10))),
            "Rows checked: 5 of 10 (50 %)"
        );
        assert_eq!(
            progress_text(&en, step(phase::LOAD_MEMBERS, 2_500, None)),
            "Stored members read: 2,500"
        );
    }
}
