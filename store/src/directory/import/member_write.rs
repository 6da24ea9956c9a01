//! Writing validated member rows: the member itself, then what the import gives them
//! (membership, contact points, preferred channel, roles), each in statements of at most
//! [`WRITE_BATCH`] rows.

use super::members::MemberRow;
use super::plan::ChangePlan;
use super::ImportError;
use crate::db::sql::Placeholders;
use crate::now_ms;
use crate::Backend;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use verteiler_policies::RoleFunction;

/// Rows written per statement; keeps every statement far below both databases' parameter caps.
pub(super) const WRITE_BATCH: usize = 500;

/// Functions whose holders act for the whole subtree of their unit (a state press office
/// approves for every district below it).
fn covers_subtree(function: RoleFunction) -> bool {
    matches!(function, RoleFunction::PressOffice | RoleFunction::Admin)
}

/// Writes one batch of rows that the plan says have changed.
pub(super) async fn write_batch(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    plan: &ChangePlan,
    rows: &[MemberRow],
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let ids = upsert_members(tx, backend, rows, now).await?;
    let id_of = |r: &MemberRow| ids.get(&r.external_id).copied().unwrap_or_default();

    // Members that existed before: drop what the previous import gave them and is gone now.
    let existing: Vec<i64> = rows
        .iter()
        .filter(|r| plan.existed(&r.external_id))
        .map(id_of)
        .collect();
    drop_previous_import(tx, backend, &existing).await?;
    write_memberships(tx, backend, rows, &id_of, now).await?;
    write_contact_points(tx, backend, rows, &id_of, now).await?;
    write_preferences(tx, backend, rows, &id_of, now).await?;
    write_roles(tx, backend, rows, &id_of, now).await
}

/// Inserts or updates the members by external id; the returned map leads from external id to
/// member id.
async fn upsert_members(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[MemberRow],
    now: i64,
) -> Result<HashMap<String, i64>, ImportError> {
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
    let ids = q
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(ids)
}

/// Deletes the memberships, contact points and roles an earlier import gave these members.
async fn drop_previous_import(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    existing: &[i64],
) -> Result<(), ImportError> {
    if existing.is_empty() {
        return Ok(());
    }
    for table in ["memberships", "contact_points", "roles"] {
        let sql = format!(
            "DELETE FROM {table} WHERE source = 'import' AND member_id IN ({})",
            Placeholders::new(backend).list(existing.len())
        );
        let mut q = sqlx::query(&sql);
        for id in existing {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn write_memberships(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[MemberRow],
    id_of: &impl Fn(&MemberRow) -> i64,
    now: i64,
) -> Result<(), ImportError> {
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
    Ok(())
}

/// A contact point as the import writes it.
struct Contact<'a> {
    member: i64,
    kind: &'static str,
    value: String,
    key: String,
    postal: Option<&'a MemberRow>,
}

/// The email address, phone number and postal address of each row, as far as it has them.
fn contacts_of<'a>(rows: &'a [MemberRow], id_of: &impl Fn(&MemberRow) -> i64) -> Vec<Contact<'a>> {
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
    contacts
}

/// Contact points from the membership database count as verified: it is the organisation's
/// own record. Members verify what they add themselves in the portal.
async fn write_contact_points(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[MemberRow],
    id_of: &impl Fn(&MemberRow) -> i64,
    now: i64,
) -> Result<(), ImportError> {
    for chunk in contacts_of(rows, id_of).chunks(WRITE_BATCH) {
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
    Ok(())
}

/// The preferred channel from the membership database, for every category; a choice the member
/// made in the portal wins over it.
async fn write_preferences(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[MemberRow],
    id_of: &impl Fn(&MemberRow) -> i64,
    now: i64,
) -> Result<(), ImportError> {
    let preferences: Vec<(i64, &'static str, &'static str)> = rows
        .iter()
        .filter_map(|r| r.preferred_channel.map(|p| (id_of(r), p)))
        .flat_map(|(id, p)| {
            ["statutory", "announcement", "discussion"]
                .map(move |category| (id, category, p.as_str()))
        })
        .collect();
    for chunk in preferences.chunks(WRITE_BATCH) {
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
    Ok(())
}

async fn write_roles(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[MemberRow],
    id_of: &impl Fn(&MemberRow) -> i64,
    now: i64,
) -> Result<(), ImportError> {
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

/// Marks the members a full import no longer lists as having left.
pub(super) async fn mark_left(
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
