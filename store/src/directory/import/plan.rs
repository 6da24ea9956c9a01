//! Sync safety: what a member import would change per unit, and whether that is too much.
//!
//! A broken export (a filter left on, a truncated file) must not silently empty or flood the
//! audiences. So the whole change is counted before anything is written, per unit and for the
//! directory, and refused above the limit unless the admin says it is intended.

use super::members::MemberRow;
use super::{ImportOptions, ImportReport, Refusal};
use crate::progress::{phase, Progress};
use crate::{Store, StoreError};
use futures::TryStreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The first 12 bytes of a row's SHA-256, stored as hex in `members.import_fingerprint`;
/// kept as bytes here because the plan holds one per member.
pub(super) type Fingerprint = [u8; 12];

/// Reads a fingerprint; anything unreadable counts as "changed".
pub(super) fn parse_fingerprint(hex_text: &str) -> Option<Fingerprint> {
    let mut out = [0_u8; 12];
    hex::decode_to_slice(hex_text, &mut out).ok()?;
    Some(out)
}

/// A member as stored before the import.
pub(super) struct Existing {
    pub id: i64,
    pub fingerprint: Option<Fingerprint>,
    pub active: bool,
    /// The unit the last import placed the member in.
    pub unit_id: Option<i64>,
    pub seen: bool,
}

/// The planned change of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitChange {
    pub unit_code: String,
    pub members_before: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Above the sync-safety limit.
    pub too_large: bool,
}

impl UnitChange {
    pub fn total(&self) -> u64 {
        self.added + self.changed + self.removed
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    added: u64,
    changed: u64,
    removed: u64,
}

pub(super) struct ChangePlan {
    existing: HashMap<String, Existing>,
    members_per_unit: HashMap<i64, u64>,
    unit_codes: HashMap<i64, String>,
    counts: HashMap<i64, Counts>,
    created: u64,
    updated: u64,
    unchanged: u64,
}

impl ChangePlan {
    pub async fn load(store: &Store, progress: &Progress) -> Result<ChangePlan, StoreError> {
        // Streamed row by row: holding 400,000 decoded rows at once would triple the memory.
        let mut rows = sqlx::query(
            "SELECT m.id, m.external_id, m.import_fingerprint, m.status, \
             (SELECT MIN(ms.unit_id) FROM memberships ms WHERE ms.member_id = m.id AND ms.source = 'import') AS unit_id \
             FROM members m WHERE m.external_id IS NOT NULL",
        )
        .fetch(&store.pool);
        let mut existing = HashMap::new();
        let mut counter = progress.counter(phase::LOAD_MEMBERS, None);
        while let Some(row) = rows.try_next().await? {
            let (external_id, member) = Existing::from_row(&row)?;
            existing.insert(external_id, member);
            counter.add(1);
        }
        counter.finish();
        drop(rows);
        let mut members_per_unit = HashMap::new();
        for e in existing.values().filter(|e| e.active) {
            if let Some(unit) = e.unit_id {
                *members_per_unit.entry(unit).or_insert(0) += 1;
            }
        }
        let unit_codes = store
            .list_units()
            .await?
            .into_iter()
            .map(|u| (u.id, u.code))
            .collect();
        Ok(ChangePlan {
            existing,
            members_per_unit,
            unit_codes,
            counts: HashMap::new(),
            created: 0,
            updated: 0,
            unchanged: 0,
        })
    }

    /// Counts one valid row of the file.
    pub fn observe(&mut self, row: &MemberRow) {
        match self.existing.get_mut(&row.external_id) {
            None => {
                self.created += 1;
                self.counts.entry(row.unit_id).or_default().added += 1;
            }
            Some(e) => {
                e.seen = true;
                if e.active
                    && e.fingerprint.is_some()
                    && e.fingerprint == parse_fingerprint(&row.fingerprint)
                {
                    self.unchanged += 1;
                    return;
                }
                self.updated += 1;
                match e.unit_id {
                    Some(old) if old != row.unit_id && e.active => {
                        self.counts.entry(old).or_default().removed += 1;
                        self.counts.entry(row.unit_id).or_default().added += 1;
                    }
                    _ if !e.active => self.counts.entry(row.unit_id).or_default().added += 1,
                    _ => self.counts.entry(row.unit_id).or_default().changed += 1,
                }
            }
        }
    }

    /// Notes that the file lists a member whose row is faulty, so a full import does not take
    /// the faulty row for a departure.
    pub fn saw(&mut self, external_id: &str) {
        if let Some(e) = self.existing.get_mut(external_id) {
            e.seen = true;
        }
    }

    /// Whether pass 2 must write this row (new, changed, or returning after having left).
    pub fn needs_write(&self, row: &MemberRow) -> bool {
        match self.existing.get(&row.external_id) {
            None => true,
            Some(e) => {
                !e.active
                    || e.fingerprint.is_none()
                    || e.fingerprint != parse_fingerprint(&row.fingerprint)
            }
        }
    }

    pub fn existed(&self, external_id: &str) -> bool {
        self.existing.contains_key(external_id)
    }

    /// Active members the file no longer lists (marked left by a full import).
    pub fn missing_ids(&self) -> Vec<i64> {
        self.existing
            .values()
            .filter(|e| e.active && !e.seen)
            .map(|e| e.id)
            .collect()
    }

    /// Fills the report's figures and decides whether the change is too large.
    pub fn finish(&mut self, options: &ImportOptions, report: &mut ImportReport) {
        if options.full {
            let missing: Vec<Option<i64>> = self
                .existing
                .values()
                .filter(|e| e.active && !e.seen)
                .map(|e| e.unit_id)
                .collect();
            report.marked_left = missing.len() as u64;
            for unit in missing.into_iter().flatten() {
                self.counts.entry(unit).or_default().removed += 1;
            }
        }
        report.created = self.created;
        report.updated = self.updated;
        report.unchanged = self.unchanged;
        report.directory_before = self.members_per_unit.values().sum();
        report.first_import = report.directory_before == 0;
        let limit = |before: u64| -> u64 {
            ((before as f64) * options.max_change_percent / 100.0).floor() as u64
        };
        let mut changes: BTreeMap<String, UnitChange> = BTreeMap::new();
        for (unit, c) in &self.counts {
            let before = self.members_per_unit.get(unit).copied().unwrap_or(0);
            let total = c.added + c.changed + c.removed;
            let code = self
                .unit_codes
                .get(unit)
                .cloned()
                .unwrap_or_else(|| format!("#{unit}"));
            changes.insert(
                code.clone(),
                UnitChange {
                    unit_code: code,
                    members_before: before,
                    added: c.added,
                    changed: c.changed,
                    removed: c.removed,
                    too_large: !report.first_import
                        && total > limit(before).max(options.change_slack),
                },
            );
        }
        report.directory_changes = changes.values().map(|c| c.total()).sum();
        let directory_too_large = !report.first_import
            && report.directory_changes > limit(report.directory_before).max(options.change_slack);
        report.changes = changes.into_values().collect();
        if (directory_too_large || report.changes.iter().any(|c| c.too_large))
            && !options.allow_large_change
        {
            report.refusal = Some(Refusal::LargeChange);
        }
    }
}
