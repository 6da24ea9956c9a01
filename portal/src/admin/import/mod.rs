//! `/admin/import`: an admin uploads the membership database's member or unit export, sees
//! the dry run (for members the sync-safety summary first, then every bad row), and confirms
//! the import.
//!
//! The upload is kept as a file between the two steps, named by the admin's member id and a
//! random token: only the admin who uploaded it can confirm it, and the confirmed import reads
//! exactly the file the dry run read. The import itself is the store's, as from the CLI:
//! nothing is written when a row is bad or the change is above the limit, unless the admin
//! says so on the confirmation. Both runs go in the background ([`jobs`]), so that a whole
//! directory does not keep a request open for half a minute.

mod jobs;
mod list_changes;
mod report;

use crate::admin::{actor, require_admin};
use crate::csrf_form;
use crate::member::not_found;
use crate::page::{internal_error, layout, respond, Frame};
use crate::session::{Member, MemberForm};
use crate::uploads::{self, UploadError};
use crate::AppState;
use axum::extract::multipart::Multipart;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use verteiler_store::directory::import::{Encoding, ImportOptions};

/// How imports from the portal are judged.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The sync-safety limit and phone region, as the CLI's import uses them.
    pub options: ImportOptions,
    /// The largest export accepted (a whole directory of 350,000 members is about 70 MB).
    pub max_upload_bytes: u64,
    jobs: Arc<jobs::Jobs>,
}

impl ImportSettings {
    pub fn new(options: ImportOptions) -> ImportSettings {
        ImportSettings {
            options,
            max_upload_bytes: 256 * 1024 * 1024,
            jobs: Arc::default(),
        }
    }

    /// Waits until the portal's running import (if any) is done, and keeps every other from
    /// starting until the guard is dropped: they wait, and their pages say so.
    pub async fn hold(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.jobs.turn.clone().lock_owned().await
    }
}

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportKind {
    Members,
    Units,
}

impl ExportKind {
    fn as_str(self) -> &'static str {
        match self {
            ExportKind::Members => "members",
            ExportKind::Units => "units",
        }
    }

    /// The form's value; absent means members (the form before units could be chosen).
    fn from_form(value: Option<&str>) -> Option<ExportKind> {
        match value.unwrap_or("members") {
            "members" => Some(ExportKind::Members),
            "units" => Some(ExportKind::Units),
            _ => None,
        }
    }
}

/// One run of an upload: which export, how, and the upload's token.
pub(crate) struct JobRequest {
    pub kind: ExportKind,
    pub options: ImportOptions,
    pub token: String,
}

csrf_form! {
    ConfirmForm {
        upload: String,
        kind: Option<String>,
        encoding: Option<String>,
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
    let form = upload_form(&frame, None, ExportKind::Members, Encoding::Utf8);
    respond(
        StatusCode::OK,
        layout(&frame, frame.t("import_title"), form),
    )
}

fn upload_form(
    frame: &Frame<'_>,
    error: Option<&str>,
    kind: ExportKind,
    encoding: Encoding,
) -> Markup {
    let kinds = [
        (ExportKind::Members, "import_kind_members"),
        (ExportKind::Units, "import_kind_units"),
    ];
    let encodings = [
        (Encoding::Utf8, "import_encoding_utf8"),
        (Encoding::Windows1252, "import_encoding_windows_1252"),
    ];
    html! {
        @if let Some(key) = error {
            p class="error" role="alert" { (frame.t(key)) }
        }
        p { (frame.t("import_intro")) }
        form method="post" action="/admin/import" enctype="multipart/form-data" {
            // First in the form, so the token is checked before the file is read.
            (frame.csrf_field())
            p {
                label for="kind" { (frame.t("import_kind")) }
                select id="kind" name="kind" {
                    @for (value, key) in kinds {
                        option value=(value.as_str()) selected[value == kind] { (frame.t(key)) }
                    }
                }
            }
            p {
                label for="encoding" { (frame.t("import_encoding")) }
                select id="encoding" name="encoding" {
                    @for (value, key) in encodings {
                        option value=(value.as_str()) selected[value == encoding] { (frame.t(key)) }
                    }
                }
            }
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

/// The export and encoding a form names; `None` for values no form of ours sends.
fn choices(kind: Option<&str>, encoding: Option<&str>) -> Option<(ExportKind, Encoding)> {
    let encoding = match encoding {
        None | Some("") => Encoding::Utf8,
        Some(text) => text.parse().ok()?,
    };
    Some((ExportKind::from_form(kind)?, encoding))
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
        Ok(form) => {
            let chosen = choices(
                form.fields.get("kind").map(String::as_str),
                form.fields.get("encoding").map(String::as_str),
            );
            match (form.files.as_slice(), chosen) {
                ([file], Some((kind, encoding))) if file.size > 0 => {
                    let options = ImportOptions {
                        dry_run: true,
                        full: form.has("full"),
                        encoding,
                        ..settings.options.clone()
                    };
                    return start(&state, settings, &member, kind, options, token);
                }
                (files, _) => {
                    for file in files {
                        let _ = tokio::fs::remove_file(&file.path).await;
                    }
                    (StatusCode::UNPROCESSABLE_ENTITY, "import_no_file")
                }
            }
        }
        Err(UploadError::Csrf) => {
            tracing::warn!(event = "http.csrf_refused", member = member.id(), path = %member.path);
            return crate::session::refused(member.lang, &member.path);
        }
        Err(UploadError::Io(e)) => return internal_error(member.lang, &e),
        Err(UploadError::TooLarge) => (StatusCode::PAYLOAD_TOO_LARGE, "import_too_large"),
        Err(UploadError::Unreadable) => (StatusCode::BAD_REQUEST, "import_unreadable"),
    };
    let form = upload_form(&frame, Some(problem.1), ExportKind::Members, Encoding::Utf8);
    respond(problem.0, layout(&frame, frame.t("import_title"), form))
}

pub async fn confirm(
    State(state): State<AppState>,
    MemberForm { member, form }: MemberForm<ConfirmForm>,
) -> Response {
    let settings = match import_settings(&state, &member).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some((kind, encoding)) = choices(form.kind.as_deref(), form.encoding.as_deref()) else {
        return gone(&member);
    };
    let options = ImportOptions {
        dry_run: false,
        full: form.full.is_some(),
        skip_invalid: form.skip_invalid.is_some(),
        allow_large_change: form.allow_large_change.is_some(),
        encoding,
        ..settings.options.clone()
    };
    start(&state, settings, &member, kind, options, form.upload)
}

/// Starts the run of a staged upload in the background and sends the browser to its page.
fn start(
    state: &AppState,
    settings: &ImportSettings,
    member: &Member,
    kind: ExportKind,
    options: ImportOptions,
    token: String,
) -> Response {
    let Some(path) = staged_path(&imports_dir(state), member, &token) else {
        return gone(member);
    };
    if !path.exists() {
        return gone(member);
    }
    let store = state.store.acting_as(actor(member));
    let location = format!("/admin/import/jobs/{token}");
    let request = JobRequest {
        kind,
        options: options.clone(),
        token,
    };
    settings
        .jobs
        .start(member, request, move |progress| async move {
            let options = ImportOptions {
                progress,
                ..options
            };
            let result = match kind {
                ExportKind::Members => store.import_members(&path, &options).await,
                ExportKind::Units => store.import_units(&path, &options).await,
            };
            // Imported, or not an export we can read: the upload is done with either way.
            let done = match &result {
                Ok(report) => report.written,
                Err(e) => !matches!(e, verteiler_store::directory::import::ImportError::Store(_)),
            };
            if done {
                let _ = tokio::fs::remove_file(&path).await;
            }
            result
        });
    Redirect::to(&location).into_response()
}

/// `/admin/import/jobs/{token}`: how far the admin's import is, then its report.
pub async fn job(
    State(state): State<AppState>,
    member: Member,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let settings = match import_settings(&state, &member).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match settings.jobs.find(&member, &token) {
        Some(job) => jobs::page(&member, &job),
        None => gone(&member),
    }
}

fn gone(member: &Member) -> Response {
    let frame = member.frame();
    let form = upload_form(
        &frame,
        Some("import_gone"),
        ExportKind::Members,
        Encoding::Utf8,
    );
    respond(
        StatusCode::NOT_FOUND,
        layout(&frame, frame.t("import_title"), form),
    )
}
