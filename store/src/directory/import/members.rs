//! Members: validation of each row, planning the change, and writing it in one transaction.

use super::csv_file::{CsvFile, CsvRow};
use super::plan::{ChangePlan, Existing};
use super::{ImportError, ImportOptions, ImportReport, Refusal, RowError};
use crate::db::sql::Placeholders;
use crate::progress::phase;
use crate::Backend;
use crate::{now_ms, Store};
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};
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

/// Rows written per statement; keeps every statement far below both databases' parameter caps.
const WRITE_BATCH: usize = 500;

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

/// Functions whose holders act for the whole subtree of their unit (a state press office
/// approves for every district below it).
fn covers_subtree(function: RoleFunction) -> bool {
    matches!(function, RoleFunction::PressOffice | RoleFunction::Admin)
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
    let mut roles = Vec::new();
    for spec in row
        .get(file, "roles")
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
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
    let preferred_channel = match row.get(file, "preferred_channel") {
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
    };
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
    let mut hasher = Sha256::new();
    for part in [
        first_name,
        last_name,
        unit_code,
        email.as_ref().map_or("", |e| e.as_str()),
        phone.as_ref().map_or("", |p| p.as_str()),
        street,
        postcode,
        city,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    for (f, u) in &roles {
        hasher.update(format!("{f}@{u}|").as_bytes());
    }
    if let Some(p) = preferred_channel {
        hasher.update(format!("pref={p}").as_bytes());
    }
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
        fingerprint: hex::encode(&hasher.finalize()[..12]),
    })
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

async fn write_batch(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    plan: &ChangePlan,
    rows: &[MemberRow],
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    // Members: insert or update by external id; the returned ids map rows to members.
    let sql = format!(
        "INSERT INTO members (external_id, first_name, last_name, import_fingerprint, status, created_at, updated_at) \
         VALUES {} ON CONFLICT (external_id) DO UPDATE SET first_name = excluded.first_name, \
         last_name = excluded.last_name, import_fingerprint = excluded.import_fingerprint, \
         status = 'active', left_at = NULL, updated_at = excluded.updated_at RETURNING id, external_id",
        Placeholders::new(backend).values(rows.len(), 7)
    );
    let mut q = sqlx::query(&sql);
    for r in rows {
        q = q
            .bind(&r.external_id)
            .bind(&r.first_name)
            .bind(&r.last_name)
            .bind(&r.fingerprint)
            .bind("active")
            .bind(now)
            .bind(now);
    }
    let ids: HashMap<String, i64> = q
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let id_of = |r: &MemberRow| ids.get(&r.external_id).copied().unwrap_or_default();

    // Members that existed before: drop what the previous import gave them and is gone now.
    let existing: Vec<i64> = rows
        .iter()
        .filter(|r| plan.existed(&r.external_id))
        .map(id_of)
        .collect();
    if !existing.is_empty() {
        for table in ["memberships", "contact_points", "roles"] {
            let sql = format!(
                "DELETE FROM {table} WHERE source = 'import' AND member_id IN ({})",
                Placeholders::new(backend).list(existing.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &existing {
                q = q.bind(*id);
            }
            q.execute(&mut **tx).await?;
        }
    }

    let sql = format!(
        "INSERT INTO memberships (member_id, unit_id, source, created_at) VALUES {} \
         ON CONFLICT (member_id, unit_id) DO NOTHING",
        Placeholders::new(backend).values(rows.len(), 4)
    );
    let mut q = sqlx::query(&sql);
    for r in rows {
        q = q.bind(id_of(r)).bind(r.unit_id).bind("import").bind(now);
    }
    q.execute(&mut **tx).await?;

    // Contact points from the membership database count as verified: it is the organisation's
    // own record. Members verify what they add themselves in the portal.
    struct Contact<'a> {
        member: i64,
        kind: &'static str,
        value: String,
        key: String,
        postal: Option<&'a MemberRow>,
    }
    let mut contacts = Vec::new();
    for r in rows {
        let member = id_of(r);
        if let Some(e) = &r.email {
            contacts.push(Contact {
                member,
                kind: "email",
                value: e.as_str().into(),
                key: e.key(),
                postal: None,
            });
        }
        if let Some(p) = &r.phone {
            contacts.push(Contact {
                member,
                kind: "phone",
                value: p.as_str().into(),
                key: p.as_str().into(),
                postal: None,
            });
        }
        if !r.street.is_empty() || !r.city.is_empty() {
            let value = format!("{}, {} {}", r.street, r.postcode, r.city)
                .trim()
                .to_string();
            let key = value.to_lowercase();
            contacts.push(Contact {
                member,
                kind: "postal",
                value,
                key,
                postal: Some(r),
            });
        }
    }
    for chunk in contacts.chunks(WRITE_BATCH) {
        let sql = format!(
            "INSERT INTO contact_points (member_id, kind, value, value_key, street, postcode, city, is_primary, \
             verified, verified_at, undeliverable, source, created_at, updated_at) VALUES {} \
             ON CONFLICT (member_id, kind, value_key) DO NOTHING",
            Placeholders::new(backend).values(chunk.len(), 14)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(c.member)
                .bind(c.kind)
                .bind(&c.value)
                .bind(&c.key)
                .bind(c.postal.map(|r| r.street.as_str()))
                .bind(c.postal.map(|r| r.postcode.as_str()))
                .bind(c.postal.map(|r| r.city.as_str()))
                .bind(true)
                .bind(true)
                .bind(now)
                .bind(false)
                .bind("import")
                .bind(now)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }

    let preferences: Vec<(i64, &'static str, &'static str)> = rows
        .iter()
        .filter_map(|r| r.preferred_channel.map(|p| (id_of(r), p)))
        .flat_map(|(id, p)| {
            ["statutory", "announcement", "discussion"]
                .map(move |category| (id, category, p.as_str()))
        })
        .collect();
    for chunk in preferences.chunks(WRITE_BATCH) {
        // A choice the member made in the portal wins over the membership database's.
        let sql = format!(
            "INSERT INTO channel_preferences (member_id, category, channel, created_at, updated_at) VALUES {} \
             ON CONFLICT (member_id, category) DO NOTHING",
            Placeholders::new(backend).values(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (member, category, channel) in chunk {
            q = q
                .bind(*member)
                .bind(*category)
                .bind(*channel)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }

    let roles: Vec<(i64, RoleFunction, i64)> = rows
        .iter()
        .flat_map(|r| r.roles.iter().map(move |(f, u)| (id_of(r), *f, *u)))
        .collect();
    for chunk in roles.chunks(WRITE_BATCH) {
        let sql = format!(
            "INSERT INTO roles (member_id, unit_id, function, covers_subtree, source, created_at) VALUES {} \
             ON CONFLICT (member_id, unit_id, function) DO NOTHING",
            Placeholders::new(backend).values(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (member, function, unit) in chunk {
            q = q
                .bind(*member)
                .bind(*unit)
                .bind(function.as_str())
                .bind(covers_subtree(*function))
                .bind("import")
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn mark_left(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    ids: &[i64],
) -> Result<(), ImportError> {
    let now = now_ms();
    for chunk in ids.chunks(WRITE_BATCH) {
        let mut p = Placeholders::new(backend);
        let (left_at, updated_at) = (p.one(), p.one());
        let sql = format!(
            "UPDATE members SET status = 'left', left_at = {left_at}, updated_at = {updated_at} WHERE id IN ({})",
            p.list(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(now).bind(now);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
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
