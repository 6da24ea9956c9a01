//! Importing the membership database's exports: the unit tree first, then the members.
//!
//! Exports from real membership databases and spreadsheet programs carry a byte-order mark,
//! `;` separators, CRLF line ends, quoted fields, Windows-1252 instead of UTF-8 and every kind
//! of faulty row. The importer reads
//! the good rows, names every faulty one with its line number, and by default writes nothing
//! when any row is bad. A member import is planned before it is written, so that an export that
//! would empty or flood the audiences is refused (see [`ImportOptions::allow_large_change`]).

mod csv_file;
mod encoding;
mod member_write;
mod members;
mod plan;
mod units;

pub use encoding::Encoding;
pub use members::{MemberRow, MEMBER_COLUMNS};
pub use plan::UnitChange;
pub use units::{UnitProblem, UnitShape, UnitUpdate, UNIT_COLUMNS};

use serde::Serialize;
use std::fmt;

/// How an import should behave; the defaults are the safe ones.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Report what would happen, write nothing.
    pub dry_run: bool,
    /// Import the good rows even when some are bad (each bad row is still reported).
    pub skip_invalid: bool,
    /// The file is the whole directory: members missing from it are marked as having left.
    pub full: bool,
    /// Accept an import that changes more than `max_change_percent` of a unit.
    pub allow_large_change: bool,
    pub max_change_percent: f64,
    /// Changes a unit may always see, so that one new member in a branch of eight is no alarm.
    pub change_slack: u64,
    /// Region for phone numbers written without a country code (ISO 3166, e.g. `DE`).
    pub default_region: String,
    /// The list templates a units import keeps the lists in step with.
    pub lists: crate::lists::ListRules,
    /// The character encoding of the file.
    pub encoding: Encoding,
    /// Where the import reports how far it is (rows checked, rows written).
    pub progress: crate::progress::Progress,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            skip_invalid: false,
            full: false,
            allow_large_change: false,
            max_change_percent: 10.0,
            change_slack: 5,
            default_region: "DE".into(),
            lists: crate::lists::ListRules::none(),
            encoding: Encoding::Utf8,
            progress: crate::progress::Progress::none(),
        }
    }
}

/// One faulty row: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: Option<&'static str>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "line {}: {field}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why an import wrote nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Refusal {
    /// Some rows are bad and `skip_invalid` was not given.
    InvalidRows,
    /// The change is larger than the sync-safety limit allows.
    LargeChange,
    /// Two units (or a unit and an existing list) would get the same list address; the clashes
    /// are in [`ImportReport::lists`].
    ListClash,
    /// A `full` units export lacks the top unit, or a unit its other units still hang below
    /// ([`ImportReport::unit_problems`]).
    TreeBroken,
}

/// What an import found and did; `written` is false for dry runs and refusals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub errors: Vec<RowError>,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub marked_left: u64,
    /// Per unit: members now, and how many this import adds, changes or removes.
    pub changes: Vec<UnitChange>,
    /// Members before the import and members it touches, organisation-wide.
    pub directory_before: u64,
    pub directory_changes: u64,
    pub first_import: bool,
    /// Units import with `full`: units the export no longer has, switched off with their lists.
    pub units_deactivated: Vec<String>,
    /// Units an earlier import switched off that the export has again.
    pub units_reactivated: Vec<String>,
    /// Units renamed, moved or given another kind: before → after.
    pub units_updated: Vec<units::UnitUpdate>,
    /// Why units could not be switched off (refuses the import).
    pub unit_problems: Vec<units::UnitProblem>,
    /// What a units import does to the lists (`None` for a member import).
    pub lists: Option<crate::lists::ListChanges>,
    pub refusal: Option<Refusal>,
    pub written: bool,
}

impl ImportReport {
    /// Rows with at least one error: the rows a `skip_invalid` import leaves out.
    pub fn bad_rows(&self) -> u64 {
        let mut lines: Vec<u64> = self.errors.iter().map(|e| e.line).collect();
        lines.sort_unstable();
        lines.dedup();
        lines.len() as u64
    }
}

/// The file could not be read at all (as opposed to single bad rows).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: the header line lacks the column(s) {missing} (found: {found})")]
    MissingColumns {
        path: String,
        missing: String,
        found: String,
    },
    #[error(
        "{path} is not UTF-8 text: line {line} holds the byte 0x{byte:02X} (at byte offset {offset} of \
         the file). Spreadsheet programs on Windows save CSV as Windows-1252: import it with \
         --encoding windows-1252, or save it as \"CSV UTF-8\". Nothing was written."
    )]
    NotUtf8 {
        path: String,
        line: u64,
        offset: u64,
        byte: u8,
    },
    #[error(
        "{path} is UTF-8 text, not Windows-1252: read as Windows-1252 every umlaut would be garbled. \
         Import it with --encoding utf-8 (the default). Nothing was written."
    )]
    IsUtf8 { path: String },
    #[error("{path}: line {line}: {reason}")]
    Malformed {
        path: String,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(e.into())
    }
}

/// The audit entry of an import run, in its writing transaction: who imported which file, and
/// what it changed (the per-unit changes included).
pub(crate) async fn audit_import(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    store: &crate::Store,
    action: &'static str,
    path: &std::path::Path,
    report: &ImportReport,
) -> Result<(), crate::StoreError> {
    crate::audit::log::append(
        tx,
        store.backend,
        &[
            crate::AuditEvent::new(action, store.actor.to_string()).details(serde_json::json!({
                "file": path.display().to_string(),
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "marked_left": report.marked_left,
                "rows_with_errors": report.errors.len(),
                "directory_before": report.directory_before,
                "directory_changes": report.directory_changes,
                "changes": report.changes,
                "units_deactivated": report.units_deactivated,
                "units_reactivated": report.units_reactivated,
                "units_updated": report.units_updated,
                "lists": report.lists,
            })),
        ],
        crate::now_ms(),
    )
    .await
}
