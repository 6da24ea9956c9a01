//! Units, members and roles outside of the bulk import: look-ups and single changes.

pub mod changes;
pub mod import;
pub(crate) mod roles;

use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::{EmailAddress, RoleFunction, UnitKind};

/// A node of the organisation tree, or a free-standing committee or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<i64>,
    pub active: bool,
    /// Who switched the unit off and when, while it is inactive.
    pub deactivation: Option<crate::audiences::definitions::Deactivation>,
}

/// Why a unit could not be switched off or on; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("unknown unit {0}")]
    Unknown(String),
    #[error(
        "{0} is the organisation's top unit: switching it off would silence every list at once \
         (pause all sending with `verteiler send pause-all` instead)"
    )]
    Top(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for UnitError {
    fn from(e: sqlx::Error) -> Self {
        UnitError::Store(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
}

/// A member created outside the import (tests, demo fixtures).
#[derive(Debug, Clone)]
pub struct NewMember {
    pub external_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub unit_id: i64,
    pub email: Option<EmailAddress>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewRole {
    pub member_id: i64,
    pub unit_id: i64,
    pub function: RoleFunction,
    pub covers_subtree: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryCounts {
    pub units: u64,
    pub members_active: u64,
    pub members_left: u64,
    pub audiences: u64,
}

const UNIT_COLUMNS: &str =
    "id, code, name, kind, parent_id, active, deactivated_at, deactivated_by, deactivation_source";

fn unit_from_row(row: &sqlx::any::AnyRow) -> Result<Unit, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(Unit {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: kind.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        parent_id: row.try_get("parent_id")?,
        active: crate::db::sql::get_bool(row, "active")?,
        deactivation: crate::audiences::definitions::Deactivation::from_row(row)?,
    })
}

impl Store {
    /// Every unit, parents before children where ids allow; the tree has ~10,000 nodes at most.
    pub async fn list_units(&self) -> Result<Vec<Unit>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(unit_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(unit_from_row).transpose()?)
    }

    pub async fn unit_by_id(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(unit_from_row).transpose()?)
    }

    /// The unit ids from the root down to and including `unit_id`: how the pure policy engine
    /// learns whether a role's subtree covers an audience's scope.
    pub async fn unit_path(&self, unit_id: i64) -> Result<Vec<i64>, StoreError> {
        // One recursive query (this runs for every submission); depth is bounded so that a
        // corrupt tree with a cycle ends instead of looping.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
               SELECT id, parent_id, 0 FROM units WHERE id = $1 \
               UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM units u JOIN up ON u.id = up.parent_id \
               WHERE up.depth < 64) \
             SELECT id, CAST(depth AS BIGINT) FROM up ORDER BY depth DESC",
        )
        .bind(unit_id)
        .fetch_all(&self.pool)
        .await?;
        let path: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
        let mut seen = std::collections::HashSet::new();
        if path.len() > 64 || !path.iter().all(|id| seen.insert(*id)) {
            // A cycle or absurd depth is a corrupt tree: refuse rather than guess a scope.
            return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "the unit tree above unit {unit_id} is not a tree"
            ))));
        }
        Ok(path)
    }

    /// Switches a unit off or on by a person's decision (recorded with who and when). An
    /// inactive unit's subtree falls silent: its lists resolve to nobody and are refused. The
    /// organisation's top (a unit without a parent that others hang below) cannot be switched
    /// off: that would silence everything at once. Returns whether the state changed.
    pub async fn set_unit_active(&self, unit_id: i64, active: bool) -> Result<bool, UnitError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT code, active, parent_id, \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM units c WHERE c.parent_id = units.id) AS children \
             FROM units WHERE id = $1",
        )
        .bind(unit_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(UnitError::Unknown(format!("#{unit_id}")))?;
        let code: String = row.try_get("code")?;
        let was = crate::db::sql::get_bool(&row, "active")?;
        let parent: Option<i64> = row.try_get("parent_id")?;
        let children: i64 = row.try_get("children")?;
        if !active && parent.is_none() && children > 0 {
            return Err(UnitError::Top(code));
        }
        if was == active {
            return Ok(false);
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE units SET active = $1, deactivated_at = $2, deactivated_by = $3, \
             deactivation_source = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(active)
        .bind((!active).then_some(now))
        .bind((!active).then(|| self.actor.to_string()))
        .bind((!active).then_some("admin"))
        .bind(now)
        .bind(unit_id)
        .execute(&mut *tx)
        .await?;
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[
                crate::AuditEvent::new("unit.changed", self.actor.to_string()).details(
                    serde_json::json!({
                        "unit_id": unit_id,
                        "code": code,
                        "before": { "active": was },
                        "after": { "active": active },
                    }),
                ),
            ],
            now,
        )
        .await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(true)
    }

    /// Adds one unit below an existing parent; for whole trees use the units import.
    pub async fn create_unit(&self, unit: &NewUnit) -> Result<i64, StoreError> {
        let parent_id = match &unit.parent_code {
            Some(code) => Some(
                self.unit_by_code(code)
                    .await?
                    .ok_or_else(|| sqlx::Error::RowNotFound)?
                    .id,
            ),
            None => None,
        };
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (code, name, kind, parent_id, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING id",
        )
        .bind(&unit.code)
        .bind(&unit.name)
        .bind(unit.kind.as_str())
        .bind(parent_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[
                crate::AuditEvent::new("unit.created", self.actor.to_string()).details(
                    serde_json::json!({
                        "unit_id": id,
                        "before": null,
                        "after": { "code": unit.code, "name": unit.name, "kind": unit.kind.as_str(), "parent_id": parent_id },
                    }),
                ),
            ],
            now,
        )
        .await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(id)
    }

    /// Adds one active member with a verified primary email; for real data use the import.
    pub async fn create_member(&self, member: &NewMember) -> Result<i64, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO members (external_id, first_name, last_name, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'active', $4, $4) RETURNING id",
        )
        .bind(&member.external_id)
        .bind(&member.first_name)
        .bind(&member.last_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO memberships (member_id, unit_id, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(member.unit_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some(email) = &member.email {
            sqlx::query(
                "INSERT INTO contact_points (member_id, kind, value, value_key, is_primary, verified, \
                 verified_at, source, created_at, updated_at) \
                 VALUES ($1, 'email', $2, $3, TRUE, TRUE, $4, 'member', $4, $4)",
            )
            .bind(id)
            .bind(email.as_str())
            .bind(email.key())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.facts_changed();
        Ok(id)
    }

    pub async fn add_membership(&self, member_id: i64, unit_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (member_id, unit_id, source, created_at) VALUES ($1, $2, 'admin', $3) \
             ON CONFLICT (member_id, unit_id) DO NOTHING",
        )
        .bind(member_id)
        .bind(unit_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        self.facts_changed();
        Ok(())
    }

    pub async fn set_member_left(&self, member_id: i64) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE members SET status = 'left', left_at = $1, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(member_id)
        .execute(&self.pool)
        .await?;
        self.facts_changed();
        Ok(())
    }

    pub async fn grant_role(&self, role: NewRole) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let before: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(CASE WHEN covers_subtree THEN 1 ELSE 0 END AS BIGINT) FROM roles \
             WHERE member_id = $1 AND unit_id = $2 AND function = $3",
        )
        .bind(role.member_id)
        .bind(role.unit_id)
        .bind(role.function.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO roles (member_id, unit_id, function, covers_subtree, source, created_at) \
             VALUES ($1, $2, $3, $4, 'admin', $5) \
             ON CONFLICT (member_id, unit_id, function) DO UPDATE SET covers_subtree = excluded.covers_subtree",
        )
        .bind(role.member_id)
        .bind(role.unit_id)
        .bind(role.function.as_str())
        .bind(role.covers_subtree)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let grant = |subtree: bool| {
            serde_json::json!({
                "member_id": role.member_id,
                "unit_id": role.unit_id,
                "function": role.function.as_str(),
                "covers_subtree": subtree,
            })
        };
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[
                crate::AuditEvent::new("role.granted", self.actor.to_string()).details(
                    serde_json::json!({
                        "before": before.map(|b| grant(b != 0)),
                        "after": grant(role.covers_subtree),
                    }),
                ),
            ],
            now,
        )
        .await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(())
    }

    /// The active member an address identifies: only a verified address does (an unverified
    /// one is anybody's claim: a member who adds someone else's address must not receive
    /// their office or their login), and only when exactly one active member has it verified.
    pub async fn member_id_by_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<i64>, StoreError> {
        let owners: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT c.member_id FROM contact_points c JOIN members m ON m.id = c.member_id \
             WHERE c.kind = 'email' AND c.value_key = $1 AND c.verified AND m.status = 'active' \
             ORDER BY c.member_id LIMIT 2",
        )
        .bind(email.key())
        .fetch_all(&self.pool)
        .await?;
        Ok(match owners[..] {
            [only] => Some(only),
            _ => None,
        })
    }

    pub async fn directory_counts(&self) -> Result<DirectoryCounts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM units) AS units, \
             (SELECT COUNT(*) FROM members WHERE status = 'active') AS active, \
             (SELECT COUNT(*) FROM members WHERE status = 'left') AS left_, \
             (SELECT COUNT(*) FROM audiences) AS audiences",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(DirectoryCounts {
            units: row.try_get::<i64, _>("units")? as u64,
            members_active: row.try_get::<i64, _>("active")? as u64,
            members_left: row.try_get::<i64, _>("left_")? as u64,
            audiences: row.try_get::<i64, _>("audiences")? as u64,
        })
    }
}
