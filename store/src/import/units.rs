//! The unit tree: `code;name;kind;parent_code`, parents anywhere in the file or already stored.

use super::csv_file::CsvFile;
use super::{ImportError, ImportOptions, ImportReport, Refusal, RowError};
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

impl Store {
    /// Creates or updates units by code. Units are never deleted by an import: audiences and
    /// the audit trail refer to them; an admin deactivates a unit instead.
    pub async fn import_units(
        &self,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let mut file = CsvFile::open(path, &["code", "name", "kind"], options, CHECK_ROWS)?;
        let existing: HashMap<String, (i64, String, String, Option<i64>)> = self
            .list_units()
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.code.clone(),
                    (u.id, u.name, u.kind.as_str().to_string(), u.parent_id),
                )
            })
            .collect();
        let mut report = ImportReport::default();
        let mut rows: Vec<UnitRow> = Vec::new();
        let mut first_line: HashMap<String, u64> = HashMap::new();
        while let Some(row) = file.next_counted(&mut report) {
            let line = row.line;
            let mut fail = |field: &'static str, reason: String| {
                report.errors.push(RowError {
                    line,
                    field: Some(field),
                    reason,
                });
            };
            let code = row.get(&file, "code").to_string();
            let name = row.get(&file, "name").to_string();
            let parent = row.get(&file, "parent_code");
            let kind = row.get(&file, "kind").parse::<UnitKind>();
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
        // Parents must exist in the file or the database, and the tree must not loop.
        let in_file: HashMap<&str, Option<&str>> = rows
            .iter()
            .map(|r| (r.code.as_str(), r.parent_code.as_deref()))
            .collect();
        // Stored parents count where the file does not move a unit: a loop can run through both.
        let code_of: HashMap<i64, &str> = existing
            .iter()
            .map(|(code, v)| (v.0, code.as_str()))
            .collect();
        let parent_of = |code: &str| -> Option<&str> {
            match in_file.get(code) {
                Some(parent) => *parent,
                None => existing
                    .get(code)
                    .and_then(|v| v.3)
                    .and_then(|id| code_of.get(&id).copied()),
            }
        };
        for r in &rows {
            if let Some(parent) = &r.parent_code {
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
        }
        // A unit below a faulty one has nowhere to go either: name it, not fail on it later.
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
        report.errors.sort_by_key(|e| e.line);
        let bad_lines: HashSet<u64> = report.errors.iter().map(|e| e.line).collect();
        rows.retain(|r| !bad_lines.contains(&r.line));
        for r in &rows {
            match existing.get(&r.code) {
                None => report.created += 1,
                Some((_, name, kind, parent_id))
                    if name == &r.name
                        && kind == r.kind.as_str()
                        && match &r.parent_code {
                            None => parent_id.is_none(),
                            Some(p) => {
                                parent_id.is_some() && existing.get(p).map(|v| v.0) == *parent_id
                            }
                        } =>
                {
                    report.unchanged += 1
                }
                Some(_) => report.updated += 1,
            }
        }
        if !report.errors.is_empty() && !options.skip_invalid {
            report.refusal = Some(Refusal::InvalidRows);
            return Ok(report);
        }
        if options.dry_run {
            return Ok(report);
        }
        // Parents first: insert rows whose parent is already placed, until all are.
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let mut placed: HashMap<String, i64> =
            existing.iter().map(|(c, v)| (c.clone(), v.0)).collect();
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
                .fetch_one(&mut *tx)
                .await?;
                placed.insert(r.code.clone(), id);
            }
            if rest.len() == before {
                // The checks above name every loop and orphan; this only guards against a miss.
                return Err(ImportError::Malformed {
                    path: file.path.clone(),
                    line: rest[0].line,
                    reason: "the parent chain of this unit does not reach a root".into(),
                });
            }
            pending = rest;
        }
        crate::import::audit_import(&mut tx, self, "import.units", path, &report).await?;
        tx.commit().await?;
        report.written = true;
        self.facts_changed();
        Ok(report)
    }
}
