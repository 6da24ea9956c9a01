//! An audience's policy as the admin edits it, changed with its before → after in the audit
//! log.

use crate::audiences::definitions::audience_from_row;
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
    /// Changes an audience's policy and records `audience.changed` with what was and what is,
    /// in the same transaction. Returns the policy before, or `None` for an unknown audience.
    pub async fn set_audience_policy(
        &self,
        audience_id: i64,
        change: &AudiencePolicyChange,
    ) -> Result<Option<AudiencePolicyChange>, StoreError> {
        let mut tx = self.begin_write().await?;
        crate::audit::log::lock_head_first(&mut tx).await?;
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
        crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(Some(before))
    }
}

fn row_slug(row: &sqlx::any::AnyRow) -> Result<String, sqlx::Error> {
    use sqlx::Row;
    row.try_get("slug")
}
