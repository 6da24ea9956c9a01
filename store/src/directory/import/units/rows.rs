//! Reading a units export's rows and checking the tree they make, before anything is written;
//! then writing them parents first.

use super::{Stored, UnitRow, UnitShape, UnitUpdate};
use crate::directory::import::csv_file::CsvFile;
use crate::directory::import::{ImportError, ImportReport, RowError};
use std::collections::{HashMap, HashSet};
use verteiler_policies::UnitKind;

/// The file's rows with a code, a name and a known kind; every other row is reported.
pub(super) fn read_rows(file: &mut CsvFile, report: &mut ImportReport) -> Vec<UnitRow> {
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
pub(super) fn check_parents(
    rows: &[UnitRow],
    existing: &HashMap<String, Stored>,
    report: &mut ImportReport,
) {
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

/// Counts new, changed and unchanged units among the good rows, and records each change.
pub(super) fn count_changes(
    rows: &[UnitRow],
    existing: &HashMap<String, Stored>,
    report: &mut ImportReport,
) {
    let code_of: HashMap<i64, &str> = existing
        .iter()
        .map(|(code, s)| (s.id, code.as_str()))
        .collect();
    for r in rows {
        let Some(s) = existing.get(&r.code) else {
            report.created += 1;
            continue;
        };
        let before = UnitShape {
            name: s.name.clone(),
            kind: s.kind.clone(),
            parent: s
                .parent_id
                .and_then(|id| code_of.get(&id).map(|c| c.to_string())),
        };
        let after = UnitShape {
            name: r.name.clone(),
            kind: r.kind.as_str().to_string(),
            parent: r.parent_code.clone(),
        };
        if before == after {
            report.unchanged += 1;
        } else {
            report.updated += 1;
            report.units_updated.push(UnitUpdate {
                code: r.code.clone(),
                before,
                after,
            });
        }
    }
}

/// Parents first: inserts rows whose parent is already placed, until all are.
pub(super) async fn write_units(
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
