//! What the admin pages change and ask: who is an admin, and an audience's policy, changed
//! with its before → after in the audit log.

use crate::audiences::audience_from_row;
use crate::{ApprovalSetting, AuditEvent, Store, StoreError};

/// The policy fields an admin edits on an audience. The organisation's caps still apply on
/// top of them (the engine folds both); the admin page refuses values above the caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudiencePolicyChange {
    pub approval: ApprovalSetting,
    pub approvals_needed: u32,
    pub max_recipients: Option<u64>,
    pub max_message_bytes: Option<u64>,
    pub sends_per_sender_per_day: Option<u32>,
    /// "Email and SMS": members with both get both.
    pub email_and_sms: bool,
}

fn policy_json(p: &AudiencePolicyChange) -> serde_json::Value {
    let (rule, threshold) = match p.approval {
        ApprovalSetting::Never => ("never", None),
        ApprovalSetting::AboveRecipients(n) => ("above", Some(n)),
        ApprovalSetting::Always => ("always", None),
    };
    serde_json::json!({
        "approval": rule,
        "approval_threshold": threshold,
        "approvals_needed": p.approvals_needed,
        "max_recipients": p.max_recipients,
        "max_message_bytes": p.max_message_bytes,
        "sends_per_sender_per_day": p.sends_per_sender_per_day,
        "email_and_sms": p.email_and_sms,
    })
}

impl Store {
    /// Whether the member is an admin of the whole organisation: the admin function held at a
    /// top unit (one without a parent). Fails closed: anything else is not an admin.
    pub async fn is_admin(&self, member_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM roles r \
             JOIN units u ON u.id = r.unit_id JOIN members m ON m.id = r.member_id \
             WHERE r.member_id = $1 AND r.function = 'admin' AND u.parent_id IS NULL \
               AND m.status = 'active'",
        )
        .bind(member_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Changes an audience's policy and records `audience.changed` with what was and what is,
    /// in the same transaction. Returns the policy before, or `None` for an unknown audience.
    pub async fn set_audience_policy(
        &self,
        audience_id: i64,
        change: &AudiencePolicyChange,
    ) -> Result<Option<AudiencePolicyChange>, StoreError> {
        let mut tx = self.begin_write().await?;
        crate::audit::lock_head_first(&mut tx).await?;
        let Some(row) = sqlx::query("SELECT * FROM audiences WHERE id = $1")
            .bind(audience_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let before = audience_from_row(&row)?;
        let before = AudiencePolicyChange {
            approval: before.approval,
            approvals_needed: before.approvals_needed,
            max_recipients: before.max_recipients,
            max_message_bytes: before.max_message_bytes,
            sends_per_sender_per_day: before.sends_per_sender_per_day,
            email_and_sms: before.email_and_sms,
        };
        let (rule, threshold) = match change.approval {
            ApprovalSetting::Never => ("never", None),
            ApprovalSetting::AboveRecipients(n) => ("above", Some(n as i64)),
            ApprovalSetting::Always => ("always", None),
        };
        let now = crate::now_ms();
        sqlx::query(
            "UPDATE audiences SET approval_rule = $1, approval_threshold = $2, \
             approvals_needed = $3, max_recipients = $4, max_message_bytes = $5, \
             sends_per_sender_per_day = $6, email_and_sms = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(rule)
        .bind(threshold)
        .bind(i64::from(change.approvals_needed.max(1)))
        .bind(change.max_recipients.map(|v| v as i64))
        .bind(change.max_message_bytes.map(|v| v as i64))
        .bind(change.sends_per_sender_per_day.map(i64::from))
        .bind(change.email_and_sms)
        .bind(now)
        .bind(audience_id)
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new("audience.changed", self.actor.to_string()).details(
            serde_json::json!({
                "audience_id": audience_id,
                "slug": row_slug(&row)?,
                "before": policy_json(&before),
                "after": policy_json(change),
            }),
        );
        crate::audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(Some(before))
    }
}

fn row_slug(row: &sqlx::any::AnyRow) -> Result<String, sqlx::Error> {
    use sqlx::Row;
    row.try_get("slug")
}

/// Somebody holding a function in a unit, for the admin's roles page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHolder {
    pub member_id: i64,
    pub name: String,
    /// The member's primary email address, if any.
    pub email: Option<String>,
    pub function: verteiler_policies::RoleFunction,
    pub covers_subtree: bool,
    /// `import` (the membership database's) or `admin` (granted here).
    pub source: String,
}

/// member id, first name, last name, email, function, covers subtree (0/1), source
type RoleRow = (i64, String, String, Option<String>, String, i64, String);

impl Store {
    /// Who holds which function in the unit, by function and name.
    pub async fn roles_at(&self, unit_id: i64) -> Result<Vec<RoleHolder>, StoreError> {
        let rows: Vec<RoleRow> = sqlx::query_as(
            "SELECT m.id, m.first_name, m.last_name, \
               (SELECT c.value FROM contact_points c WHERE c.member_id = m.id AND c.kind = 'email' \
                ORDER BY c.is_primary DESC, c.id LIMIT 1), \
               r.function, CAST(CASE WHEN r.covers_subtree THEN 1 ELSE 0 END AS BIGINT), r.source \
             FROM roles r JOIN members m ON m.id = r.member_id \
             WHERE r.unit_id = $1 AND m.status = 'active' \
             ORDER BY r.function, m.last_name, m.first_name, m.id",
        )
        .bind(unit_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(member_id, first, last, email, function, subtree, source)| {
                    Ok(RoleHolder {
                        member_id,
                        name: format!("{first} {last}"),
                        email,
                        function: function
                            .parse()
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                        covers_subtree: subtree != 0,
                        source,
                    })
                },
            )
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Takes a function away, audited as `role.revoked`. Returns whether the member held it.
    pub async fn revoke_role(
        &self,
        member_id: i64,
        unit_id: i64,
        function: verteiler_policies::RoleFunction,
    ) -> Result<bool, StoreError> {
        let now = crate::now_ms();
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query(
            "DELETE FROM roles WHERE member_id = $1 AND unit_id = $2 AND function = $3",
        )
        .bind(member_id)
        .bind(unit_id)
        .bind(function.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if removed {
            let event = AuditEvent::new("role.revoked", self.actor.to_string()).details(
                serde_json::json!({
                    "member_id": member_id,
                    "unit_id": unit_id,
                    "function": function.as_str(),
                }),
            );
            crate::audit::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        self.facts_changed();
        Ok(removed)
    }
}
