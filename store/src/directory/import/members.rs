//! Members: validation of each row, planning the change, and writing it in one transaction
//! (the statements themselves are in `member_write`).

use super::csv_file::{CsvFile, CsvRow};
use super::member_write::{mark_left, write_batch, WRITE_BATCH};
use super::plan::{ChangePlan, Existing};
use super::{ImportError, ImportOptions, ImportReport, Refusal, RowError};
use crate::progress::phase;
use crate::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use verteiler_policies::{ChannelPreference, EmailAddress, PhoneNumber, RoleFunction};

/// The columns of a member export, as documented in `verteiler import members --help`.
pub const MEMBER_COLUMNS: &[&str] = &[
    "external_id",
    "first_name",
    "last_name",
    "unit_code",
    "email",
    "phone",
    "street",
    "postcode",
    "city",
    "roles",
    "preferred_channel",
];
const REQUIRED: &[&str] = &["external_id", "first_name", "last_name", "unit_code"];

/// SQLite page cache while an import writes (64 MiB), and the default it returns to.
const IMPORT_CACHE: &str = "PRAGMA cache_size = -65536";
const DEFAULT_CACHE: &str = "PRAGMA cache_size = -2000";

/// A valid member row, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub line: u64,
    pub external_id: String,
    pub first_name: String,
    pub last_name: String,
    pub unit_id: i64,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneNumber>,
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// (function, unit id)
    pub roles: Vec<(RoleFunction, i64)>,
    /// The channel the membership database records as preferred; applied to every category
    /// for which the member has not chosen one themselves.
    pub preferred_channel: Option<ChannelPreference>,
    pub fingerprint: String,
}

fn validate_row(
    file: &CsvFile,
    row: &CsvRow,
    units: &HashMap<String, i64>,
    region: &str,
    errors: &mut Vec<RowError>,
) -> Option<MemberRow> {
    let line = row.line;
    let before = errors.len();
    let mut fail = |field: &'static str, reason: String| {
        errors.push(RowError {
            line,
            field: Some(field),
            reason,
        })
    };
    let external_id = row.get(file, "external_id").to_string();
    if external_id.is_empty() {
        fail("external_id", "missing external id".into());
    }
    let (first_name, last_name) = (row.get(file, "first_name"), row.get(file, "last_name"));
    if first_name.is_empty() && last_name.is_empty() {
        fail("last_name", "missing name".into());
    }
    let unit_code = row.get(file, "unit_code");
    let unit_id = match units.get(unit_code) {
        Some(id) => *id,
        None if unit_code.is_empty() => {
            fail("unit_code", "missing unit code".into());
            0
        }
        None => {
            fail(
                "unit_code",
                format!("unknown unit {unit_code} (import the units first)"),
            );
            0
        }
    };
    let email = match row.get(file, "email") {
        "" => None,
        text => EmailAddress::parse(text)
            .map_err(|e| fail("email", e.to_string()))
            .ok(),
    };
    let phone = match row.get(file, "phone") {
        "" => None,
        text => PhoneNumber::parse(text, region)
            .map_err(|e| fail("phone", e.to_string()))
            .ok(),
    };
    let mut roles = parse_roles(row.get(file, "roles"), units, &mut fail);
    let preferred_channel = parse_preferred_channel(row.get(file, "preferred_channel"), &mut fail);
    if errors.len() > before {
        return None;
    }
    roles.sort();
    roles.dedup();
    let (street, postcode, city) = (
        row.get(file, "street"),
        row.get(file, "postcode"),
        row.get(file, "city"),
    );
    let fingerprint = fingerprint(
        [
            first_name,
            last_name,
            unit_code,
            email.as_ref().map_or("", |e| e.as_str()),
            phone.as_ref().map_or("", |p| p.as_str()),
            street,
            postcode,
            city,
        ],
        &roles,
        preferred_channel,
    );
    Some(MemberRow {
        line,
        external_id,
        first_name: first_name.to_string(),
        last_name: last_name.to_string(),
        unit_id,
        email,
        phone,
        street: street.to_string(),
        postcode: postcode.to_string(),
        city: city.to_string(),
        roles,
        preferred_channel,
        fingerprint,
    })
}

/// The `roles` column: `function@unit_code` entries separated by `|`.
fn parse_roles(
    text: &str,
    units: &HashMap<String, i64>,
    fail: &mut impl FnMut(&'static str, String),
) -> Vec<(RoleFunction, i64)> {
    let mut roles = Vec::new();
    for spec in text.split('|').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((function, unit)) = spec.split_once('@') else {
            fail("roles", format!("\"{spec}\" is not function@unit_code"));
            continue;
        };
        match (function.parse::<RoleFunction>(), units.get(unit.trim())) {
            (Ok(f), Some(u)) => roles.push((f, *u)),
            (Err(e), _) => fail("roles", e.to_string()),
            (_, None) => fail("roles", format!("unknown unit {unit} in role \"{spec}\"")),
        }
    }
    roles
}

/// The `preferred_channel` column; "none" is refused because statutory mail must reach everyone.
fn parse_preferred_channel(
    text: &str,
    fail: &mut impl FnMut(&'static str, String),
) -> Option<ChannelPreference> {
    match text {
        "" => None,
        text => match text.parse::<ChannelPreference>() {
            Ok(ChannelPreference::None) => {
                fail(
                    "preferred_channel",
                    "\"none\" is not possible: statutory mail must reach every member".into(),
                );
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                fail("preferred_channel", e.to_string());
                None
            }
        },
    }
}

/// What the import compares with the previous one to skip unchanged members: a hash over every
/// imported field.
fn fingerprint(
    fields: [&str; 8],
    roles: &[(RoleFunction, i64)],
    preferred_channel: Option<ChannelPreference>,
) -> String {
    let mut hasher = Sha256::new();
    for part in fields {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    for (f, u) in roles {
        hasher.update(format!("{f}@{u}|").as_bytes());
    }
    if let Some(p) = preferred_channel {
        hasher.update(format!("pref={p}").as_bytes());
    }
    hex::encode(&hasher.finalize()[..12])
}

impl Store {
    /// Imports a member export. Reads the file twice: first to validate every row and plan the
    /// change (so a refusal writes nothing and memory stays flat), then to write it.
    pub async fn import_members(
        &self,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        let units: HashMap<String, i64> = self
            .list_units()
            .await?
            .into_iter()
            .map(|u| (u.code, u.id))
            .collect();
        // Opened first: a file in the wrong encoding is refused before anything else is read.
        let mut file = CsvFile::open(path, REQUIRED, options, phase::CHECK_ROWS)?;
        let mut plan = ChangePlan::load(self, &options.progress).await?;
        let mut report = ImportReport::default();

        // Pass 1: validate and plan.
        let mut first_line: HashMap<String, u64> = HashMap::new();
        while let Some(row) = file.next_counted(&mut report) {
            let external_id = row.get(&file, "external_id").to_string();
            if !external_id.is_empty() {
                if let Some(first) = first_line.get(&external_id) {
                    report.errors.push(RowError {
                        line: row.line,
                        field: Some("external_id"),
                        reason: format!(
                            "duplicate external id {external_id} (first on line {first})"
                        ),
                    });
                    continue;
                }
                first_line.insert(external_id.clone(), row.line);
            }
            match validate_row(
                &file,
                &row,
                &units,
                &options.default_region,
                &mut report.errors,
            ) {
                Some(member) => plan.observe(&member),
                // The member is in the export, only the row is faulty: a full import keeps them.
                None => plan.saw(&external_id),
            }
        }
        drop(first_line);
        plan.finish(options, &mut report);
        if !report.errors.is_empty() && !options.skip_invalid {
            report.refusal = Some(Refusal::InvalidRows);
        }
        if report.refusal.is_some() || options.dry_run {
            return Ok(report);
        }

        // Pass 2: write what changed, in one transaction. On SQLite the transaction gets a
        // larger page cache: the contact look-up index takes inserts in random order, and with
        // the default 2 MB a whole-directory import would rewrite the same pages over and over.
        let mut conn = self.pool.acquire().await?;
        if self.backend == crate::Backend::Sqlite {
            sqlx::query(IMPORT_CACHE).execute(&mut *conn).await?;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut file = CsvFile::open(path, REQUIRED, options, phase::WRITE_ROWS)?;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let mut seen_bad = Vec::new();
        // Pass 1 reported repeated ids; pass 2 writes only the first row of each.
        let mut seen_ids: HashSet<String> = HashSet::new();
        while let Some(next) = file.next_row() {
            let Ok(row) = next else { continue };
            let external_id = row.get(&file, "external_id");
            if !seen_ids.insert(external_id.to_string()) {
                continue;
            }
            let Some(member) =
                validate_row(&file, &row, &units, &options.default_region, &mut seen_bad)
            else {
                continue;
            };
            if plan.needs_write(&member) {
                batch.push(member);
                if batch.len() == WRITE_BATCH {
                    write_batch(&mut tx, self.backend, &plan, &batch).await?;
                    batch.clear();
                }
            }
        }
        write_batch(&mut tx, self.backend, &plan, &batch).await?;
        if options.full {
            mark_left(&mut tx, self.backend, &plan.missing_ids()).await?;
        }
        crate::directory::import::audit_import(&mut tx, self, "import.members", path, &report)
            .await?;
        tx.commit().await?;
        if self.backend == crate::Backend::Sqlite {
            sqlx::query(DEFAULT_CACHE).execute(&mut *conn).await?;
        }
        report.written = true;
        self.facts_changed();
        Ok(report)
    }
}

impl Existing {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> Result<(String, Existing), sqlx::Error> {
        Ok((
            row.try_get("external_id")?,
            Existing {
                id: row.try_get("id")?,
                fingerprint: row
                    .try_get::<Option<String>, _>("import_fingerprint")?
                    .as_deref()
                    .and_then(super::plan::parse_fingerprint),
                active: row.try_get::<String, _>("status")? == "active",
                unit_id: row.try_get("unit_id")?,
                seen: false,
            },
        ))
    }
}
