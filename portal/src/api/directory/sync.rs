//! `PUT /directory/units` and `PUT /directory/members`: the membership database pushes its
//! export, and the same importer as the CLI's and the admin page's takes it, with the same
//! checks and the same sync safety (one place builds the options: the portal's
//! `ImportSettings`, made from the configuration like the CLI's).
//!
//! `allow_large_change` is taken only from a token with the scope `admin`: an unattended sync
//! job holding `directory:sync` must not be able to wave through the change the limit exists
//! to stop (a filter left on in the export); a person with an admin token decides that.
//! A sync token asking for it is refused (403), not silently ignored.

use super::body::{rows_as_csv, BodyKind, ExportRows, Staged};
use super::report::{refused, unreadable, SyncReport};
use crate::api::body::too_large;
use crate::api::caller::Caller;
use crate::api::problem::{Problem, ProblemBody};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use verteiler_store::directory::import::{Encoding, ImportOptions, MEMBER_COLUMNS, UNIT_COLUMNS};
use verteiler_store::ApiScope;

/// Whether the body is the whole directory or a part of it.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The whole directory: members it lacks are marked as having left, units it lacks are
    /// switched off with their lists.
    Full,
    /// New and changed rows only; nothing is removed.
    #[default]
    Delta,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// `delta` (default) or `full`.
    #[param(inline)]
    pub mode: Option<Mode>,
    /// Report what the import would do; write nothing (answers 200 even when it would be
    /// refused: the report's `refusal` says why).
    pub dry_run: Option<bool>,
    /// Import the good rows even when some are bad (each bad row is still reported).
    pub skip_invalid: Option<bool>,
    /// Accept a change above the sync-safety limit; only with a token holding `admin`.
    pub allow_large_change: Option<bool>,
    /// The CSV body's encoding: `utf-8` (default) or `windows-1252`. JSON is always UTF-8.
    pub encoding: Option<String>,
}

#[derive(Clone, Copy)]
enum Export {
    Units,
    Members,
}

/// Replace or add the unit tree.
#[utoipa::path(
    put,
    path = "/directory/units",
    tag = "directory",
    security(("bearer" = [])),
    params(SyncQuery),
    request_body(
        description = "The units export (`code;name;kind;parent_code`) as `text/csv`, or its rows as JSON",
        content(
            (String = "text/csv"),
            (ExportRows = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Imported, or the dry run's plan", body = SyncReport),
        (status = 400, description = "The query or JSON could not be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Scope `directory:sync` missing, owner no admin, or `allow_large_change` without `admin`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Imports are not set up on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Refused: a list address clash or a broken tree (`extra` says which); nothing written", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Body neither `text/csv` nor JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Faulty rows (`extra.errors`: line, field, reason) or an unreadable export; nothing written", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn put_units(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncReport>, Problem> {
    sync(&state, &caller, Export::Units, &headers, query, body).await
}

/// Replace or add members.
#[utoipa::path(
    put,
    path = "/directory/members",
    tag = "directory",
    security(("bearer" = [])),
    params(SyncQuery),
    request_body(
        description = "The members export (the columns of `verteiler import members`) as `text/csv`, or its rows as JSON",
        content(
            (String = "text/csv"),
            (ExportRows = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Imported, or the dry run's plan", body = SyncReport),
        (status = 400, description = "The query or JSON could not be read", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Scope `directory:sync` missing, owner no admin, or `allow_large_change` without `admin`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Imports are not set up on this server", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Refused by sync safety: `extra.changes` holds the change per unit; nothing written", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Body neither `text/csv` nor JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Faulty rows (`extra.errors`: line, field, reason) or an unreadable export; nothing written", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn put_members(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncReport>, Problem> {
    sync(&state, &caller, Export::Members, &headers, query, body).await
}

/// Who may sync: the scope, and an owner who is an admin now (a token outlives roles).
pub(super) async fn require_sync(state: &AppState, caller: &Caller) -> Result<(), Problem> {
    caller.require(ApiScope::DirectorySync)?;
    if !state
        .store
        .is_admin(caller.member_id())
        .await
        .map_err(|e| caller.internal(&e))?
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "directory_not_admin",
            caller.lang,
        ));
    }
    Ok(())
}

async fn sync(
    state: &AppState,
    caller: &Caller,
    export: Export,
    headers: &HeaderMap,
    query: Result<Query<SyncQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncReport>, Problem> {
    let lang = caller.lang;
    require_sync(state, caller).await?;
    let Query(query) = query.map_err(|e| bad_request(&e.body_text(), caller))?;
    let allow_large_change = query.allow_large_change.unwrap_or(false);
    if allow_large_change && !caller.token.scopes.has(ApiScope::Admin) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "directory_large_change_admin_only",
            lang,
        ));
    }
    let Some(settings) = state.settings.imports.as_ref() else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "unavailable", lang));
    };
    let kind = BodyKind::of(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        lang,
    )?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(lang, state),
        _ => bad_request(&e.body_text(), caller),
    })?;
    let columns = match export {
        Export::Units => UNIT_COLUMNS,
        Export::Members => MEMBER_COLUMNS,
    };
    let (bytes, encoding, rows) = match kind {
        BodyKind::Csv => {
            let encoding = match query.encoding.as_deref() {
                None | Some("") => Encoding::Utf8,
                Some(text) => text.parse().map_err(|e: String| bad_request(&e, caller))?,
            };
            (body.to_vec(), encoding, None)
        }
        BodyKind::Json => {
            let mut rows = rows_as_csv(&body, columns, lang)?;
            (std::mem::take(&mut rows.csv), Encoding::Utf8, Some(rows))
        }
    };
    let dry_run = query.dry_run.unwrap_or(false);
    let options = ImportOptions {
        dry_run,
        skip_invalid: query.skip_invalid.unwrap_or(false),
        full: query.mode.unwrap_or_default() == Mode::Full,
        allow_large_change,
        encoding,
        ..settings.options.clone()
    };
    let staged = Staged::write(&state.settings.upload_dir.join("imports"), &bytes)
        .await
        .map_err(|e| caller.internal(&e))?;
    // One import at a time, the portal's included: two would plan against each other's
    // half-written changes.
    let _turn = settings.hold().await;
    let store = caller.store(state);
    let result = match export {
        Export::Units => store.import_units(&staged.0, &options).await,
        Export::Members => store.import_members(&staged.0, &options).await,
    };
    drop(staged);
    let report = result.map_err(|e| unreadable(&e, lang))?;
    if !dry_run {
        if let Some(problem) = refused(&report, rows.as_ref(), lang) {
            return Err(problem);
        }
    }
    Ok(Json(SyncReport::of(&report, dry_run, rows.as_ref())))
}

fn bad_request(reason: &str, caller: &Caller) -> Problem {
    Problem::with_args(
        StatusCode::BAD_REQUEST,
        "bad_request",
        caller.lang,
        &[("reason", reason)],
    )
}
