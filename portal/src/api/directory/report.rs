//! An import's report as the API answers it, and the problems a refused import becomes.

use super::body::RowsFile;
use crate::api::problem::Problem;
use crate::i18n::Lang;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use verteiler_store::directory::import::{ImportError, ImportReport, Refusal};

/// One faulty row of the export.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblem {
    /// The line of the CSV export (the header is line 1); for JSON rows, of the export
    /// they were written as.
    pub line: u64,
    /// The index of the JSON row (0 for the first), when the body was JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub field: Option<String>,
    pub reason: String,
}

/// The planned change of one unit (sync safety).
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitChangeBody {
    pub unit_code: String,
    pub members_before: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Above the sync-safety limit.
    pub too_large: bool,
}

/// What an import found and did (or, on a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncReport {
    /// False for a dry run and for a refused import.
    pub written: bool,
    pub dry_run: bool,
    /// Why nothing was (or would be) written: `invalid_rows`, `large_change`, `list_clash`,
    /// `tree_broken`.
    pub refusal: Option<String>,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Members missing from a full export, marked as having left.
    pub marked_left: u64,
    /// Rows left out (with `skip_invalid`) or refusing the import.
    pub bad_rows: u64,
    pub errors: Vec<RowProblem>,
    /// Members import: per unit, members now and what the import adds, changes, removes.
    pub changes: Vec<UnitChangeBody>,
    pub directory_before: u64,
    pub directory_changes: u64,
    pub first_import: bool,
    /// Units import with `mode=full`: units switched off, with their lists.
    pub units_deactivated: Vec<String>,
    pub units_reactivated: Vec<String>,
    /// Units renamed, moved or given another kind: before → after.
    #[schema(value_type = Vec<Object>)]
    pub units_updated: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub unit_problems: serde_json::Value,
    /// Units import: what it does to the lists made from the tree.
    #[schema(value_type = Option<Object>)]
    pub lists: serde_json::Value,
}

pub fn refusal_code(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::InvalidRows => "invalid_rows",
        Refusal::LargeChange => "large_change",
        Refusal::ListClash => "list_clash",
        Refusal::TreeBroken => "tree_broken",
    }
}

impl SyncReport {
    pub fn of(report: &ImportReport, dry_run: bool, rows: Option<&RowsFile>) -> SyncReport {
        SyncReport {
            written: report.written,
            dry_run,
            refusal: report.refusal.as_ref().map(|r| refusal_code(r).to_string()),
            rows: report.rows,
            created: report.created,
            updated: report.updated,
            unchanged: report.unchanged,
            marked_left: report.marked_left,
            bad_rows: report.bad_rows(),
            errors: row_problems(report, rows),
            changes: report
                .changes
                .iter()
                .map(|c| UnitChangeBody {
                    unit_code: c.unit_code.clone(),
                    members_before: c.members_before,
                    added: c.added,
                    changed: c.changed,
                    removed: c.removed,
                    too_large: c.too_large,
                })
                .collect(),
            directory_before: report.directory_before,
            directory_changes: report.directory_changes,
            first_import: report.first_import,
            units_deactivated: report.units_deactivated.clone(),
            units_reactivated: report.units_reactivated.clone(),
            units_updated: json(&report.units_updated),
            unit_problems: json(&report.unit_problems),
            lists: json(&report.lists),
        }
    }
}

/// A part of the store's report as JSON (the shapes the store gives it).
fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn row_problems(report: &ImportReport, rows: Option<&RowsFile>) -> Vec<RowProblem> {
    report
        .errors
        .iter()
        .map(|e| RowProblem {
            line: e.line,
            row: rows.and_then(|r| r.row_of(e.line)),
            field: e.field.map(str::to_string),
            reason: e.reason.clone(),
        })
        .collect()
}

/// The problem of an import that refused to write; `None` when the report is the answer.
pub fn refused(report: &ImportReport, rows: Option<&RowsFile>, lang: Lang) -> Option<Problem> {
    let body = SyncReport::of(report, false, rows);
    let report_json = serde_json::to_value(&body).unwrap_or_default();
    let problem = match report.refusal.as_ref()? {
        Refusal::InvalidRows => Problem::with_args(
            StatusCode::UNPROCESSABLE_ENTITY,
            "directory_invalid_rows",
            lang,
            &[("count", &report.bad_rows().to_string())],
        )
        .extra(serde_json::json!({ "errors": body.errors, "report": report_json })),
        Refusal::LargeChange => Problem::new(StatusCode::CONFLICT, "directory_large_change", lang)
            .extra(serde_json::json!({
                "changes": body.changes,
                "directory_before": report.directory_before,
                "directory_changes": report.directory_changes,
                "report": report_json,
            })),
        Refusal::ListClash => Problem::new(StatusCode::CONFLICT, "directory_list_clash", lang)
            .extra(serde_json::json!({ "lists": body.lists, "report": report_json })),
        Refusal::TreeBroken => Problem::new(StatusCode::CONFLICT, "directory_tree_broken", lang)
            .extra(serde_json::json!({
                "unit_problems": body.unit_problems,
                "report": report_json,
            })),
    };
    Some(problem)
}

/// A body the importer could not read at all: 422 with the reason (without the staged
/// file's name, which means nothing to the client); a store failure is ours (500).
pub fn unreadable(error: &ImportError, lang: Lang) -> Problem {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    match error {
        ImportError::Store(e) => Problem::internal(lang, e),
        ImportError::NotUtf8 {
            line, offset, byte, ..
        } => Problem::with_args(
            status,
            "directory_not_utf8",
            lang,
            &[
                ("line", &line.to_string()),
                ("byte", &format!("{byte:02X}")),
                ("offset", &offset.to_string()),
            ],
        ),
        ImportError::IsUtf8 { .. } => Problem::new(status, "directory_is_utf8", lang),
        other => {
            let text = other.to_string();
            let reason = text
                .split_once(".csv: ")
                .map_or(text.as_str(), |(_, rest)| rest);
            Problem::with_args(status, "directory_unreadable", lang, &[("reason", reason)])
        }
    }
}
