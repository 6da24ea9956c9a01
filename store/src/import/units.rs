//! The unit tree: `code;name;kind;parent_code`, parents anywhere in the file or already stored.
//!
//! The import writes the units and, in the same transaction, keeps the lists in step with the
//! tree ([`crate::lists`]): a list clash or a change above the sync-safety limit rolls the whole
//! import back, and a dry run is the same transaction rolled back at its end, so what it shows
//! is exactly what the import would do.

use super::csv_file::CsvFile;
use super::{ImportError, ImportOptions, ImportReport, Refusal, RowError};
use crate::lists::{sync_lists, too_many_list_changes};
use crate::progress::phase::CHECK_ROWS;
use crate::{now_ms, Store};
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

/// A stored unit: id, name, kind, parent id, whether an import switched it off.
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
        let existing = self.stored_units().await?;
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

        let mut tx = self.begin_write().await?;
        let now = now_ms();
        write_units(&mut tx, &rows, &existing, &file.path, now).await?;
        self.switch_units(&mut tx, &rows, &existing, options, now, &mut report)
            .await?;
        let lists = sync_lists(&mut tx, &options.lists, &self.actor, now).await?;
        let units_too_many = too_many_units_off(&report, existing.len() as u64, options);
        report.refusal = if !lists.clashes.is_empty() {
            Some(Refusal::ListClash)
        } else if (too_many_list_changes(&lists, options) || units_too_many)
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
        crate::import::audit_import(&mut tx, self, "import.units", path, &report).await?;
        tx.commit().await?;
        report.written = true;
        self.facts_changed();
        Ok(report)
    }

    async fn stored_units(&self) -> Result<HashMap<String, Stored>, sqlx::Error> {
        let rows: Vec<StoredRow> =
            sqlx::query_as(
                "SELECT id, code, name, kind, parent_id, \
                 CAST(CASE WHEN active THEN 1 ELSE 0 END AS BIGINT), deactivation_source FROM units",
            )
            .fetch_all(&self.pool)
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

    /// With `full`, switches off the active units the file lacks; switches back on the units an
    /// import switched off that the file has. A person's deactivation stays.
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
        let mut off: Vec<(&String, &Stored)> = Vec::new();
        let mut on: Vec<(&String, &Stored)> = Vec::new();
        for (code, unit) in existing {
            if in_file.contains(code.as_str()) {
                if unit.gone {
                    on.push((code, unit));
                }
            } else if options.full && unit.active {
                off.push((code, unit));
            }
        }
        for (code, unit) in &off {
            sqlx::query(
                "UPDATE units SET active = FALSE, deactivated_at = $1, deactivated_by = $2, \
                 deactivation_source = 'import', updated_at = $1 WHERE id = $3",
            )
            .bind(now)
            .bind(self.actor.as_ref())
            .bind(unit.id)
            .execute(&mut **tx)
            .await?;
            report.units_deactivated.push(code.to_string());
        }
        for (code, unit) in &on {
            sqlx::query(
                "UPDATE units SET active = TRUE, deactivated_at = NULL, deactivated_by = NULL, \
                 deactivation_source = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(unit.id)
            .execute(&mut **tx)
            .await?;
            report.units_reactivated.push(code.to_string());
        }
        report.units_deactivated.sort();
        report.units_reactivated.sort();
        Ok(())
    }
}

/// Whether the import switches off more units than the sync-safety limit allows.
fn too_many_units_off(report: &ImportReport, before: u64, options: &ImportOptions) -> bool {
    let limit = ((before as f64) * options.max_change_percent / 100.0).floor() as u64;
    before > 0 && report.units_deactivated.len() as u64 > limit.max(options.change_slack)
}

/// The file's rows with a code, a name and a known kind; every other row is reported.
fn read_rows(file: &mut CsvFile, report: &mut ImportReport) -> Vec<UnitRow> {
    let mut rows: Vec<UnitRow> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    while let Some(row) = file.next_counted(report) {
        let line = row.line;
        let mut fail = |field: &'static str, reason: String| {
            report.errors.push(RowError {
                line,
                field: Some(field),
                reason,
            });
        };
        let code = row.get(file, "code").to_string();
        let name = row.get(file, "name").to_string();
        let parent = row.get(file, "parent_code");
        let kind = row.get(file, "kind").parse::<UnitKind>();
        if code.is_empty() {
            fail("code", "missing unit code".into());
            continue;
        }
        if let Some(first) = first_line.get(&code) {
            fail(
                "code",
                format!("duplicate unit code {code} (first on line {first})"),
            );
            continue;
        }
        first_line.insert(code.clone(), line);
        if name.is_empty() {
            fail("name", "missing unit name".into());
        }
        let kind = match kind {
            Ok(kind) => kind,
            Err(e) => {
                fail("kind", e.to_string());
                continue;
            }
        };
        if name.is_empty() {
            continue;
        }
        rows.push(UnitRow {
            line,
            code,
            name,
            kind,
            parent_code: (!parent.is_empty()).then(|| parent.to_string()),
        });
    }
    rows
}

/// Parents must exist in the file or the database, and the tree must not loop; a unit below a
/// faulty one has nowhere to go either, so it is named too (not failed on later).
fn check_parents(rows: &[UnitRow], existing: &HashMap<String, Stored>, report: &mut ImportReport) {
    let in_file: HashMap<&str, Option<&str>> = rows
        .iter()
        .map(|r| (r.code.as_str(), r.parent_code.as_deref()))
        .collect();
    // Stored parents count where the file does not move a unit: a loop can run through both.
    let code_of: HashMap<i64, &str> = existing
        .iter()
        .map(|(code, v)| (v.id, code.as_str()))
        .collect();
    let parent_of = |code: &str| -> Option<&str> {
        match in_file.get(code) {
            Some(parent) => *parent,
            None => existing
                .get(code)
                .and_then(|v| v.parent_id)
                .and_then(|id| code_of.get(&id).copied()),
        }
    };
    for r in rows {
        let Some(parent) = &r.parent_code else {
            continue;
        };
        if !in_file.contains_key(parent.as_str()) && !existing.contains_key(parent) {
            report.errors.push(RowError {
                line: r.line,
                field: Some("parent_code"),
                reason: format!("unknown parent unit {parent}"),
            });
            continue;
        }
        let mut seen = HashSet::from([r.code.as_str()]);
        let mut cursor = Some(parent.as_str());
        while let Some(code) = cursor {
            if !seen.insert(code) {
                // A unit merely below a loop is reported as below a faulty unit.
                if code == r.code {
                    report.errors.push(RowError {
                        line: r.line,
                        field: Some("parent_code"),
                        reason: format!("unit {} would be its own ancestor", r.code),
                    });
                }
                break;
            }
            cursor = parent_of(code);
        }
    }
    let mut faulty: HashMap<&str, u64> = HashMap::new();
    loop {
        let bad_lines: HashSet<u64> = report.errors.iter().map(|e| e.line).collect();
        for r in rows.iter().filter(|r| bad_lines.contains(&r.line)) {
            faulty.insert(r.code.as_str(), r.line);
        }
        let below: Vec<RowError> = rows
            .iter()
            .filter(|r| !bad_lines.contains(&r.line))
            .filter_map(|r| {
                let parent = r.parent_code.as_deref()?;
                let line = faulty.get(parent)?;
                Some(RowError {
                    line: r.line,
                    field: Some("parent_code"),
                    reason: format!("parent unit {parent} is faulty (line {line})"),
                })
            })
            .collect();
        if below.is_empty() {
            break;
        }
        report.errors.extend(below);
    }
}

/// Counts new, changed and unchanged units among the good rows.
fn count_changes(rows: &[UnitRow], existing: &HashMap<String, Stored>, report: &mut ImportReport) {
    for r in rows {
        match existing.get(&r.code) {
            None => report.created += 1,
            Some(s)
                if s.name == r.name
                    && s.kind == r.kind.as_str()
                    && match &r.parent_code {
                        None => s.parent_id.is_none(),
                        Some(p) => {
                            s.parent_id.is_some() && existing.get(p).map(|v| v.id) == s.parent_id
                        }
                    } =>
            {
                report.unchanged += 1
            }
            Some(_) => report.updated += 1,
        }
    }
}

/// Parents first: inserts rows whose parent is already placed, until all are.
async fn write_units(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: &[UnitRow],
    existing: &HashMap<String, Stored>,
    path: &str,
    now: i64,
) -> Result<(), ImportError> {
    let mut placed: HashMap<String, i64> =
        existing.iter().map(|(c, v)| (c.clone(), v.id)).collect();
    let mut pending: Vec<&UnitRow> = rows.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for r in pending {
            let parent_id = match &r.parent_code {
                Some(p) => match placed.get(p) {
                    Some(id) => Some(*id),
                    None => {
                        rest.push(r);
                        continue;
                    }
                },
                None => None,
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO units (code, name, kind, parent_id, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, TRUE, $5, $5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 parent_id = excluded.parent_id, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&r.code)
            .bind(&r.name)
            .bind(r.kind.as_str())
            .bind(parent_id)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
            placed.insert(r.code.clone(), id);
        }
        if rest.len() == before {
            // The checks above name every loop and orphan; this only guards against a miss.
            return Err(ImportError::Malformed {
                path: path.to_string(),
                line: rest[0].line,
                reason: "the parent chain of this unit does not reach a root".into(),
            });
        }
        pending = rest;
    }
    Ok(())
}
