//! The unit tree: `code;name;kind;parent_code`, parents anywhere in the file or already stored.
//!
//! The import writes the units and, in the same transaction, keeps the lists in step with the
//! tree ([`crate::lists`]): a list clash, a broken tree or a change above the sync-safety limit
//! rolls the whole import back, and a dry run is the same transaction rolled back at its end,
//! so what it shows is exactly what the import would do.

mod rows;

use super::csv_file::CsvFile;
use super::{ImportError, ImportOptions, ImportReport, Refusal};
use crate::lists::{sync_lists, too_many_list_changes};
use crate::progress::phase::CHECK_ROWS;
use crate::{now_ms, Store};
use rows::{check_parents, count_changes, read_rows, write_units};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use verteiler_policies::UnitKind;

/// The columns of a units export.
pub const UNIT_COLUMNS: &[&str] = &["code", "name", "kind", "parent_code"];

struct UnitRow {
    line: u64,
    code: String,
    name: String,
    kind: UnitKind,
    parent_code: Option<String>,
}

/// A unit as stored before the import.
struct Stored {
    id: i64,
    name: String,
    kind: String,
    parent_id: Option<i64>,
    active: bool,
    gone: bool,
}

/// id, code, name, kind, parent id, active (0/1), deactivation source
type StoredRow = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    i64,
    Option<String>,
);

/// A unit the import renames, moves or gives another kind: before → after, for the audit
/// log (a move changes whom every list including the sub-units reaches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitUpdate {
    pub code: String,
    pub before: UnitShape,
    pub after: UnitShape,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitShape {
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
}

impl UnitUpdate {
    pub fn moved(&self) -> bool {
        self.before.parent != self.after.parent
    }
}

/// Why a `--full` import may not switch a unit off: the tree would break. Refuses the import
/// whatever the sync-safety settings say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnitProblem {
    /// The organisation's top is missing from the export: switching it off would silence
    /// every list at once.
    TopMissing { code: String },
    /// A unit is missing while units of the file still name it as their parent.
    ParentMissing { code: String, children: Vec<String> },
}

impl Store {
    /// Creates or updates units by code. Units are never deleted by an import: lists and the
    /// audit trail refer to them. With `full`, a stored unit the file lacks is switched off
    /// (with its lists); a unit an import switched off comes back when a file has it again.
    pub async fn import_units(
        &self,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let mut file = CsvFile::open(path, &["code", "name", "kind"], options, CHECK_ROWS)?;
        // The write lock first: the tree read here is the tree the import writes over; the
        // chain's head before any list row, in the submission writer's order.
        let mut tx = self.begin_write().await?;
        crate::audit::log::lock_head_first(&mut tx).await?;
        let existing = stored_units(&mut tx).await?;
        let mut report = ImportReport::default();
        let mut rows = read_rows(&mut file, &mut report);
        check_parents(&rows, &existing, &mut report);
        report.errors.sort_by_key(|e| e.line);
        let bad_lines: HashSet<u64> = report.errors.iter().map(|e| e.line).collect();
        rows.retain(|r| !bad_lines.contains(&r.line));
        count_changes(&rows, &existing, &mut report);
        if !report.errors.is_empty() && !options.skip_invalid {
            report.refusal = Some(Refusal::InvalidRows);
            return Ok(report);
        }
        let now = now_ms();
        write_units(&mut tx, &rows, &existing, &file.path, now).await?;
        self.switch_units(&mut tx, &rows, &existing, options, now, &mut report)
            .await?;
        let lists = sync_lists(&mut tx, self.backend, &options.lists, &self.actor, now).await?;
        report.refusal = if !report.unit_problems.is_empty() {
            Some(Refusal::TreeBroken)
        } else if !lists.clashes.is_empty() {
            Some(Refusal::ListClash)
        } else if (too_many_list_changes(&lists, options)
            || too_many_units_changed(&report, existing.len() as u64, options))
            && !options.allow_large_change
        {
            Some(Refusal::LargeChange)
        } else {
            None
        };
        report.lists = Some(lists);
        if report.refusal.is_some() || options.dry_run {
            tx.rollback().await?;
            return Ok(report);
        }
        crate::directory::import::audit_import(&mut tx, self, "import.units", path, &report)
            .await?;
        tx.commit().await?;
        report.written = true;
        self.facts_changed();
        Ok(report)
    }

    /// With `full`, switches off the active units the file lacks; switches back on the units an
    /// import switched off that the file has. A person's deactivation stays. Never the top
    /// unit, never a unit the file's units still hang below: those are named instead.
    async fn switch_units(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        rows: &[UnitRow],
        existing: &HashMap<String, Stored>,
        options: &ImportOptions,
        now: i64,
        report: &mut ImportReport,
    ) -> Result<(), sqlx::Error> {
        let in_file: HashSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let parents: HashSet<i64> = existing.values().filter_map(|u| u.parent_id).collect();
        for (code, unit) in existing {
            if in_file.contains(code.as_str()) {
                if unit.gone {
                    // Only what an import switched off; a person may have since.
                    let on = sqlx::query(
                        "UPDATE units SET active = TRUE, deactivated_at = NULL, \
                         deactivated_by = NULL, deactivation_source = NULL, updated_at = $1 \
                         WHERE id = $2 AND deactivation_source = 'import'",
                    )
                    .bind(now)
                    .bind(unit.id)
                    .execute(&mut **tx)
                    .await?;
                    if on.rows_affected() > 0 {
                        report.units_reactivated.push(code.to_string());
                    }
                }
                continue;
            }
            if !options.full || !unit.active {
                continue;
            }
            let children: Vec<String> = rows
                .iter()
                .filter(|r| r.parent_code.as_deref() == Some(code.as_str()))
                .map(|r| r.code.clone())
                .collect();
            if unit.parent_id.is_none() && parents.contains(&unit.id) {
                report
                    .unit_problems
                    .push(UnitProblem::TopMissing { code: code.clone() });
                continue;
            }
            if !children.is_empty() {
                report.unit_problems.push(UnitProblem::ParentMissing {
                    code: code.clone(),
                    children,
                });
                continue;
            }
            let off = sqlx::query(
                "UPDATE units SET active = FALSE, deactivated_at = $1, deactivated_by = $2, \
                 deactivation_source = 'import', updated_at = $1 WHERE id = $3 AND active",
            )
            .bind(now)
            .bind(self.actor.as_ref())
            .bind(unit.id)
            .execute(&mut **tx)
            .await?;
            if off.rows_affected() > 0 {
                report.units_deactivated.push(code.to_string());
            }
        }
        report.units_deactivated.sort();
        report.units_reactivated.sort();
        report.unit_problems.sort_by_key(|p| match p {
            UnitProblem::TopMissing { code } | UnitProblem::ParentMissing { code, .. } => {
                code.clone()
            }
        });
        Ok(())
    }
}

async fn stored_units(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT id, code, name, kind, parent_id, \
         CAST(CASE WHEN active THEN 1 ELSE 0 END AS BIGINT), deactivation_source FROM units",
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name, kind, parent_id, active, source)| {
            let stored = Stored {
                id,
                name,
                kind,
                parent_id,
                active: active != 0,
                gone: active == 0 && source.as_deref() == Some("import"),
            };
            (code, stored)
        })
        .collect())
}

/// Whether the import switches off or moves more units than the sync-safety limit allows: a
/// moved unit changes whom the lists above it reach.
fn too_many_units_changed(report: &ImportReport, before: u64, options: &ImportOptions) -> bool {
    let limit = ((before as f64) * options.max_change_percent / 100.0).floor() as u64;
    let moved = report.units_updated.iter().filter(|u| u.moved()).count();
    let changed = (report.units_deactivated.len() + moved) as u64;
    before > 0 && changed > limit.max(options.change_slack)
}
