//! Lists by hand: create, edit, switch off and on, delete. The CLI and the admin pages call
//! these same operations; each is one transaction with its audit entry (before → after).

use super::definition::{check_caps, check_shape, ListError};
use crate::audiences::definitions::{audience_from_row, insert_audience, join};
use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, Audience, Backend, NewAudience, Store};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::OrgLimits;

/// One field of a list that an edit changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// Fields whose change alters whom the list reaches: a send decided before such a change must
/// not go out to the new definition.
const TARGET_FIELDS: &[&str] = &[
    "kind",
    "unit_id",
    "include_subunits",
    "role_function",
    "scope_unit_id",
];

/// Who changes a list's state: a person (the store's actor) or an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    Person,
    Import,
}

impl ChangedBy {
    fn source(self) -> &'static str {
        match self {
            ChangedBy::Person => "admin",
            ChangedBy::Import => "import",
        }
    }
}

/// The fields that differ between two definitions, in the definition's order.
pub(crate) fn field_changes(before: &NewAudience, after: &NewAudience) -> Vec<FieldChange> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    a.into_iter()
        .filter_map(|(field, after)| {
            let before = b.get(&field).cloned().unwrap_or(serde_json::Value::Null);
            (before != after).then_some(FieldChange {
                field,
                before,
                after,
            })
        })
        .collect()
}

/// Which list owns `slug`, as its own address or as an alias: (list id, the list's address).
pub(crate) async fn slug_owner(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    slug: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, slug FROM audiences WHERE slug = $1 \
         UNION ALL SELECT a.id, a.slug FROM audience_aliases al \
         JOIN audiences a ON a.id = al.audience_id WHERE al.slug = $1",
    )
    .bind(slug)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("slug")?)))
        .transpose()
}

/// Writes the definition columns of list `id`.
pub(crate) async fn update_definition(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    a: &NewAudience,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (rule, threshold) = a.approval.columns();
    sqlx::query(
        "UPDATE audiences SET slug = $1, name = $2, kind = $3, unit_id = $4, include_subunits = $5, \
         role_function = $6, scope_unit_id = $7, category = $8, allowed_sender_functions = $9, \
         subscribers_may_post = $10, open_to_public = $11, channels = $12, approval_rule = $13, \
         approval_threshold = $14, approver_functions = $15, approvals_needed = $16, \
         max_recipients = $17, max_message_bytes = $18, sends_per_sender_per_day = $19, \
         reply_mode = $20, visible_recipients_mode = $21, sender_address = $22, \
         email_and_sms = $23, updated_at = $24 WHERE id = $25",
    )
    .bind(a.slug.as_str())
    .bind(a.name.trim())
    .bind(a.kind.as_str())
    .bind(a.unit_id)
    .bind(a.include_subunits)
    .bind(a.role_function.map(|f| f.as_str()))
    .bind(a.scope_unit_id)
    .bind(a.category.as_str())
    .bind(join(&a.allowed_sender_functions))
    .bind(a.subscribers_may_post)
    .bind(a.open_to_public)
    .bind(join(&a.channels))
    .bind(rule)
    .bind(threshold)
    .bind(join(&a.approver_functions))
    .bind(i64::from(a.approvals_needed))
    .bind(a.max_recipients.map(|v| v as i64))
    .bind(a.max_message_bytes.map(|v| v as i64))
    .bind(a.sends_per_sender_per_day.map(i64::from))
    .bind(a.reply_mode.as_str())
    .bind(a.visible_recipients_mode.as_str())
    .bind(a.sender_address.as_ref().map(|s| s.to_lowercase()))
    .bind(a.email_and_sms)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Switches list `id` on or off and records who and when; returns whether it changed.
pub(crate) async fn write_active(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    active: bool,
    by: ChangedBy,
    actor: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = if active {
        // An import switches on only what an import switched off; a person's "off" stays.
        let only = match by {
            ChangedBy::Import => " AND deactivation_source = 'import'",
            ChangedBy::Person => "",
        };
        sqlx::query(&format!(
            "UPDATE audiences SET active = TRUE, deactivated_at = NULL, deactivated_by = NULL, \
             deactivation_source = NULL, updated_at = $1 WHERE id = $2 AND NOT active{only}"
        ))
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE audiences SET active = FALSE, deactivated_at = $1, deactivated_by = $2, \
             deactivation_source = $3, updated_at = $1 WHERE id = $4 AND active",
        )
        .bind(now)
        .bind(actor)
        .bind(by.source())
        .bind(id)
        .execute(&mut **tx)
        .await?
    };
    Ok(changed.rows_affected() > 0)
}

/// Records that whom list `id` reaches changed now: a send decided for the old definition is
/// refused at expansion (`audiences.definition_changed_at`).
pub(crate) async fn mark_redefined(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audiences SET definition_changed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Serialises every change of list addresses (own and aliases live in two tables, so no one
/// unique index covers both): SQLite's write lock does it already, PostgreSQL takes a
/// transaction-scoped advisory lock.
pub(crate) async fn lock_addresses(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        // An arbitrary constant of this lock's own ("list addresses").
        sqlx::query("SELECT CAST(pg_advisory_xact_lock(7426021) AS TEXT)")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// What an edit of a template's list may not change: its address and name follow the unit,
/// and it belongs to its unit (the template makes one list per unit).
fn check_template_edit(list: &Audience, after: &NewAudience) -> Result<(), ListError> {
    let Some(template) = &list.template_id else {
        return Ok(());
    };
    let field = if list.slug != after.slug {
        "slug"
    } else if list.name.trim() != after.name.trim() {
        "name"
    } else if list.unit_id != after.unit_id || list.scope_unit_id != after.scope_unit_id {
        "unit"
    } else {
        return Ok(());
    };
    Err(ListError::Invalid {
        field,
        reason: format!(
            "the list is made by the template {template} for its unit: its address, name and \
             unit follow the unit (change the unit in the membership database, or the template \
             in the configuration)"
        ),
    })
}

impl Store {
    /// Makes a list by hand after checking its definition, its scope and the caps.
    pub async fn create_list(&self, a: &NewAudience, caps: &OrgLimits) -> Result<i64, ListError> {
        let a = &normalised(a);
        check_shape(a)?;
        check_caps(a, caps)?;
        self.check_scope(a).await?;
        self.check_sender_address(a).await?;
        let mut tx = self.begin_write().await?;
        lock_addresses(&mut tx, self.backend).await?;
        if let Some((_, owner)) = slug_owner(&mut tx, a.slug.as_str()).await? {
            return Err(ListError::SlugTaken {
                slug: a.slug.to_string(),
                owner,
            });
        }
        let id = insert_audience(&mut tx, a, None).await?;
        let now = now_ms();
        let event = AuditEvent::new("audience.created", self.actor.to_string())
            .details(serde_json::json!({ "audience_id": id, "before": null, "after": a }));
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(id)
    }

    /// Replaces list `id`'s definition with `after` (its changed fields audited before →
    /// after). A new address keeps the old one as an alias, so mail to it still arrives.
    pub async fn edit_list(
        &self,
        id: i64,
        after: &NewAudience,
        caps: &OrgLimits,
    ) -> Result<Vec<FieldChange>, ListError> {
        self.edit_list_seen(id, None, after, caps).await
    }

    /// Like [`Store::edit_list`], refused with [`ListError::ChangedMeanwhile`] when the list's
    /// definition is no longer the one `seen` ([`Audience::definition_tag`]) was taken from:
    /// two admins editing one list never silently undo each other's change.
    pub async fn edit_list_seen(
        &self,
        id: i64,
        seen: Option<&str>,
        after: &NewAudience,
        caps: &OrgLimits,
    ) -> Result<Vec<FieldChange>, ListError> {
        let after = &normalised(after);
        check_shape(after)?;
        check_caps(after, caps)?;
        self.check_scope(after).await?;
        self.check_sender_address(after).await?;
        let mut tx = self.begin_write().await?;
        lock_addresses(&mut tx, self.backend).await?;
        let list = locked_list(&mut tx, self.backend, id).await?;
        if seen.is_some_and(|seen| seen != list.definition_tag()) {
            return Err(ListError::ChangedMeanwhile(list.slug.to_string()));
        }
        check_template_edit(&list, after)?;
        let before = list.definition();
        let changes = field_changes(&before, after);
        if changes.is_empty() {
            return Ok(changes);
        }
        let now = now_ms();
        if before.slug != after.slug {
            if let Some((owner_id, owner)) = slug_owner(&mut tx, after.slug.as_str()).await? {
                if owner_id != id {
                    return Err(ListError::SlugTaken {
                        slug: after.slug.to_string(),
                        owner,
                    });
                }
            }
            super::aliases::move_address(
                &mut tx,
                id,
                before.slug.as_str(),
                after.slug.as_str(),
                now,
            )
            .await?;
        }
        update_definition(&mut tx, id, after, now).await?;
        if changes
            .iter()
            .any(|c| TARGET_FIELDS.contains(&c.field.as_str()))
        {
            mark_redefined(&mut tx, id, now).await?;
        }
        let event = AuditEvent::new("audience.changed", self.actor.to_string()).details(
            serde_json::json!({ "audience_id": id, "slug": before.slug, "changes": changes }),
        );
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(changes)
    }

    /// Switches a list off (nothing is sent to it until it is switched on again, within the
    /// fact cache's lifetime) or on. Returns whether its state changed.
    pub async fn set_list_active(&self, id: i64, active: bool) -> Result<bool, ListError> {
        let mut tx = self.begin_write().await?;
        let list = locked_list(&mut tx, self.backend, id).await?;
        let now = now_ms();
        let changed =
            write_active(&mut tx, id, active, ChangedBy::Person, &self.actor, now).await?;
        if changed {
            let event = AuditEvent::new("audience.changed", self.actor.to_string()).details(
                serde_json::json!({
                    "audience_id": id,
                    "slug": list.slug,
                    "before": { "active": list.active },
                    "after": { "active": active },
                }),
            );
            audit::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        self.facts_changed();
        Ok(changed)
    }

    /// Deletes a list that never had a send (with its aliases and subscriptions). A list with
    /// sends stays for the record: "who sent what to whom" must remain answerable.
    pub async fn delete_list(&self, id: i64) -> Result<(), ListError> {
        let mut tx = self.begin_write().await?;
        let list = locked_list(&mut tx, self.backend, id).await?;
        let sends: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM sends WHERE audience_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if sends > 0 {
            return Err(ListError::HasSends {
                slug: list.slug.to_string(),
                sends: sends as u64,
            });
        }
        let mut removed = serde_json::Map::new();
        for table in [
            "audience_aliases",
            "subscriptions",
            "audience_volume_hourly",
        ] {
            let n = sqlx::query(&format!("DELETE FROM {table} WHERE audience_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            removed.insert(table.to_string(), n.into());
        }
        sqlx::query("DELETE FROM audiences WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new("audience.deleted", self.actor.to_string()).details(
            serde_json::json!({
                "audience_id": id,
                "before": list.definition(),
                "after": null,
                "removed": removed,
            }),
        );
        audit::append(&mut tx, self.backend, &[event], now_ms()).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(())
    }
}

/// The definition as it is stored: name trimmed, the official sender address in lower case.
fn normalised(a: &NewAudience) -> NewAudience {
    NewAudience {
        name: a.name.trim().to_string(),
        sender_address: a.sender_address.as_ref().map(|s| s.trim().to_lowercase()),
        ..a.clone()
    }
}

/// Reads list `id` inside `tx` (whose write lock is held on SQLite).
pub(crate) async fn locked_list(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    id: i64,
) -> Result<Audience, ListError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    // Every caller appends to the chain afterwards: its head before the row (see the function).
    crate::audit::log::lock_head_first(tx).await?;
    let row = sqlx::query(&format!("SELECT * FROM audiences WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ListError::UnknownList(format!("#{id}")))?;
    Ok(audience_from_row(&row)?)
}
