//! `/admin/import`: an admin uploads the membership database's member export, sees the dry
//! run (the sync-safety summary first, then every bad row), and confirms the import.
//!
//! The upload is kept as a file between the two steps, named by the admin's member id and a
//! random token: only the admin who uploaded it can confirm it, and the confirmed import reads
//! exactly the file the dry run read. The import itself is the store's, as from the CLI:
//! nothing is written when a row is bad or the change is above the limit, unless the admin
//! says so on the confirmation.

use crate::admin::{actor, require_admin};
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{Member, MemberForm};
use crate::uploads::{self, UploadError};
use crate::AppState;
use axum::extract::multipart::Multipart;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use std::path::{Path, PathBuf};
use verteiler_policies::format_count;
use verteiler_store::import::{ImportOptions, ImportReport, Refusal};

/// How member imports from the portal are judged.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The sync-safety limit and phone region, as the CLI's import uses them.
    pub options: ImportOptions,
    /// The largest export accepted (a whole directory of 350,000 members is about 70 MB).
    pub max_upload_bytes: u64,
}

impl ImportSettings {
    pub fn new(options: ImportOptions) -> ImportSettings {
        ImportSettings {
            options,
            max_upload_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Bad rows listed on the report; the count names them all.
const ERRORS_SHOWN: usize = 200;
/// Units listed besides those above the limit.
const UNITS_SHOWN: usize = 40;

csrf_form! {
    ConfirmForm {
        upload: String,
        full: Option<String>,
        skip_invalid: Option<String>,
        allow_large_change: Option<String>
    }
}

async fn import_settings<'a>(
    state: &'a AppState,
    member: &Member,
) -> Result<&'a ImportSettings, Response> {
    require_admin(state, member).await?;
    state
        .settings
        .imports
        .as_ref()
        .ok_or_else(|| not_found(&member.frame()))
}

pub async fn page(State(state): State<AppState>, member: Member) -> Response {
    if let Err(r) = import_settings(&state, &member).await {
        return r;
    }
    let frame = member.frame();
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("import_title"), upload_form(&frame, None)),
    )
}

fn upload_form(frame: &Frame<'_>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(key) = error {
            p class="error" role="alert" { (frame.t(key)) }
        }
        p { (frame.t("import_intro")) }
        form method="post" action="/admin/import" enctype="multipart/form-data" {
            // First in the form, so the token is checked before the file is read.
            (frame.csrf_field())
            p {
                label for="file" { (frame.t("import_file")) }
                input id="file" name="file" type="file" accept=".csv,text/csv" required;
            }
            p {
                input id="full" name="full" type="checkbox" value="1";
                label class="inline" for="full" { (frame.t("import_full")) }
            }
            button type="submit" { (frame.t("import_check")) }
        }
        p { a href="/admin" { (frame.t("admin_title")) } }
    }
}

/// Where uploads wait for their confirmation.
fn imports_dir(state: &AppState) -> PathBuf {
    state.settings.upload_dir.join("imports")
}

/// The staged file of `member`'s upload `token`; `None` for anything but a token we made.
fn staged_path(dir: &Path, member: &Member, token: &str) -> Option<PathBuf> {
    uploads::is_token(token).then(|| dir.join(format!("{}-{token}.csv", member.id())))
}

pub async fn upload(
    State(state): State<AppState>,
    member: Member,
    multipart: Multipart,
) -> Response {
    let settings = match import_settings(&state, &member).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let frame = member.frame();
    let dir = imports_dir(&state);
    uploads::remove_stale(&dir).await;
    let token = uploads::new_token();
    let Some(path) = staged_path(&dir, &member, &token) else {
        return internal_error(member.lang, &std::io::Error::other("upload token"));
    };
    let received = uploads::receive(&member, multipart, settings.max_upload_bytes, |_, _| {
        path.clone()
    })
    .await;
    let problem = match received {
        Ok(form) => match form.files.as_slice() {
            [file] if file.size > 0 => {
                let options = ImportOptions {
                    dry_run: true,
                    full: form.has("full"),
                    ..settings.options.clone()
                };
                return run(&state, &member, &token, &options).await;
            }
            files => {
                for file in files {
                    let _ = tokio::fs::remove_file(&file.path).await;
                }
                (StatusCode::UNPROCESSABLE_ENTITY, "import_no_file")
            }
        },
        Err(UploadError::Csrf) => {
            tracing::warn!(event = "http.csrf_refused", member = member.id(), path = %member.path);
            return crate::session::refused(member.lang, &member.path);
        }
        Err(UploadError::Io(e)) => return internal_error(member.lang, &e),
        Err(UploadError::TooLarge) => (StatusCode::PAYLOAD_TOO_LARGE, "import_too_large"),
        Err(UploadError::Unreadable) => (StatusCode::BAD_REQUEST, "import_unreadable"),
    };
    respond(
        problem.0,
        layout(
            &frame,
            frame.t("import_title"),
            upload_form(&frame, Some(problem.1)),
        ),
    )
}

pub async fn confirm(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<ConfirmForm>,
) -> Response {
    let settings = match import_settings(&state, &member).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let options = ImportOptions {
        dry_run: false,
        full: form.full.is_some(),
        skip_invalid: form.skip_invalid.is_some(),
        allow_large_change: form.allow_large_change.is_some(),
        ..settings.options.clone()
    };
    run(&state, &member, &form.upload, &options).await
}

/// Runs the import of a staged upload and shows its report.
async fn run(state: &AppState, member: &Member, token: &str, options: &ImportOptions) -> Response {
    let frame = member.frame();
    let gone = || {
        respond(
            StatusCode::NOT_FOUND,
            layout(
                &frame,
                frame.t("import_title"),
                upload_form(&frame, Some("import_gone")),
            ),
        )
    };
    let Some(path) = staged_path(&imports_dir(state), member, token) else {
        return gone();
    };
    if !path.exists() {
        return gone();
    }
    let store = state.store.acting_as(actor(member));
    let report = match store.import_members(&path, options).await {
        Ok(report) => report,
        Err(verteiler_store::import::ImportError::Store(e)) => {
            return internal_error(member.lang, &e)
        }
        // The file itself is not an export we can read: no header, missing columns.
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            let body = html! {
                p class="error" role="alert" { (frame.t("import_not_an_export")) }
                p class="wrap" { code { (e.to_string().replace(&format!("{}: ", path.display()), "")) } }
                (upload_form(&frame, None))
            };
            return respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&frame, frame.t("import_title"), body),
            );
        }
    };
    if report.written {
        let _ = tokio::fs::remove_file(&path).await;
    }
    let status = if report.refusal.is_some() && !options.dry_run {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(
        status,
        layout(
            &frame,
            frame.t("import_title"),
            report_page(&frame, &report, options, token),
        ),
    )
}

fn report_page(
    frame: &Frame<'_>,
    report: &ImportReport,
    options: &ImportOptions,
    token: &str,
) -> Markup {
    let lang = frame.lang.policies();
    let n = |v: u64| format_count(v, lang);
    let too_large: Vec<_> = report.changes.iter().filter(|c| c.too_large).collect();
    let others: Vec<_> = report
        .changes
        .iter()
        .filter(|c| !c.too_large)
        .take(UNITS_SHOWN)
        .collect();
    let hidden = report.changes.len() - too_large.len() - others.len();
    html! {
        section aria-labelledby="safety" {
            h2 id="safety" { (frame.t("import_safety")) }
            @if report.first_import {
                p { (frame.t("import_first")) }
            } @else if too_large.is_empty() {
                p role="status" { (frame.t("import_within_limit")) }
            } @else {
                p class="error" role="alert" {
                    (frame.lang.text_with("import_above_limit", &[
                        ("units", &n(too_large.len() as u64)),
                        ("percent", &options.max_change_percent.to_string()),
                        ("slack", &n(options.change_slack)),
                    ]))
                }
            }
            p {
                (frame.lang.text_with("import_directory", &[
                    ("before", &n(report.directory_before)),
                    ("touched", &n(report.directory_changes)),
                ]))
            }
            @if !report.changes.is_empty() {
                table class="stack" {
                    caption { (frame.t("import_units_caption")) }
                    thead {
                        tr {
                            @for key in UNIT_COLUMNS { th scope="col" { (frame.t(key)) } }
                        }
                    }
                    tbody {
                        @for c in too_large.iter().chain(others.iter()) {
                            tr class=[c.too_large.then_some("above")] {
                                td data-label=(frame.t(UNIT_COLUMNS[0])) {
                                    (c.unit_code)
                                    @if c.too_large { " " strong { (frame.t("import_unit_above")) } }
                                }
                                td data-label=(frame.t(UNIT_COLUMNS[1])) { (n(c.members_before)) }
                                td data-label=(frame.t(UNIT_COLUMNS[2])) { (n(c.added)) }
                                td data-label=(frame.t(UNIT_COLUMNS[3])) { (n(c.changed)) }
                                td data-label=(frame.t(UNIT_COLUMNS[4])) { (n(c.removed)) }
                            }
                        }
                    }
                }
                @if hidden > 0 {
                    p { (frame.lang.text_with("import_more_units", &[("n", &n(hidden as u64))])) }
                }
            }
        }
        section aria-labelledby="rows" {
            h2 id="rows" { (frame.t("import_rows")) }
            p {
                (frame.lang.text_with("import_counts", &[
                    ("rows", &n(report.rows)),
                    ("created", &n(report.created)),
                    ("updated", &n(report.updated)),
                    ("unchanged", &n(report.unchanged)),
                    ("bad", &n(report.errors.len() as u64)),
                ]))
                @if options.full {
                    " " (frame.lang.text_with("import_marked_left", &[("n", &n(report.marked_left))]))
                }
            }
            @if !report.errors.is_empty() {
                table class="stack" {
                    caption {
                        (frame.lang.text_with("import_errors_caption", &[("max", &ERRORS_SHOWN.to_string())]))
                    }
                    thead {
                        tr {
                            @for key in ERROR_COLUMNS { th scope="col" { (frame.t(key)) } }
                        }
                    }
                    tbody {
                        @for e in report.errors.iter().take(ERRORS_SHOWN) {
                            tr {
                                td data-label=(frame.t(ERROR_COLUMNS[0])) { (e.line) }
                                td data-label=(frame.t(ERROR_COLUMNS[1])) { (e.field.unwrap_or("")) }
                                td data-label=(frame.t(ERROR_COLUMNS[2])) { (e.reason) }
                            }
                        }
                    }
                }
            }
        }
        (outcome(frame, report, options, token))
    }
}

const UNIT_COLUMNS: [&str; 5] = [
    "admin_unit",
    "import_members_before",
    "import_added",
    "import_changed",
    "import_removed",
];
const ERROR_COLUMNS: [&str; 3] = ["import_line", "import_field", "import_reason"];

/// What happened, and on a dry run or a refusal the confirmation with what it must say.
fn outcome(
    frame: &Frame<'_>,
    report: &ImportReport,
    options: &ImportOptions,
    token: &str,
) -> Markup {
    if report.written {
        return html! {
            section role="status" aria-labelledby="done" {
                h2 id="done" { (frame.t("import_done")) }
                p { a href={ "/admin/audit?person=portal:member:" (frame.member.map_or(0, |m| m.member_id)) } { (frame.t("admin_see_audit")) } }
            }
        };
    }
    let bad_rows = !report.errors.is_empty();
    let too_large =
        report.changes.iter().any(|c| c.too_large) || report.refusal == Some(Refusal::LargeChange);
    let refused_key = match (&report.refusal, options.dry_run) {
        (Some(Refusal::InvalidRows), false) => Some("import_refused_rows"),
        (Some(Refusal::LargeChange), false) => Some("import_refused_large"),
        _ => None,
    };
    html! {
        section aria-labelledby="confirm" {
            h2 id="confirm" { (frame.t("import_confirm_title")) }
            @if let Some(key) = refused_key {
                p class="error" role="alert" { (frame.t(key)) }
            } @else {
                p { (frame.t("import_dry_run")) }
            }
            form method="post" action="/admin/import/confirm" {
                (frame.csrf_field())
                input type="hidden" name="upload" value=(token);
                @if options.full {
                    input type="hidden" name="full" value="1";
                }
                @if bad_rows {
                    p {
                        input id="skip_invalid" name="skip_invalid" type="checkbox" value="1";
                        label class="inline" for="skip_invalid" { (frame.t("import_skip_invalid")) }
                    }
                }
                @if too_large {
                    p {
                        input id="allow_large_change" name="allow_large_change" type="checkbox" value="1";
                        label class="inline" for="allow_large_change" { (frame.t("import_allow_large")) }
                    }
                }
                button type="submit" { (frame.t("import_confirm")) }
            }
            p { a href="/admin/import" { (frame.t("import_other_file")) } }
        }
    }
}
