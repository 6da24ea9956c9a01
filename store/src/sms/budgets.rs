//! What each unit's sends spend on SMS: parts counted per calendar month at fan-out
//! (`unit_sms_monthly`), and a unit's own monthly budget where the organisation's default
//! does not fit it (`unit_sms_budgets`). The policy engine holds a send that would go beyond.

use crate::{now_ms, AuditEvent, Store, StoreError};

/// A unit's SMS spending this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSpending {
    /// `YYYYMM` (UTC).
    pub month: i64,
    /// Parts its sends produced this month.
    pub segments: u64,
    /// Its own monthly budget in cents, if one is set.
    pub own_budget_cents: Option<u64>,
}

impl Store {
    /// The unit's SMS parts this month and its own budget.
    pub async fn unit_sms_spending(&self, unit_id: i64) -> Result<SmsSpending, StoreError> {
        let month = crate::clock::month_of(now_ms());
        let segments: Option<i64> = sqlx::query_scalar(
            "SELECT segments FROM unit_sms_monthly WHERE unit_id = $1 AND month = $2",
        )
        .bind(unit_id)
        .bind(month)
        .fetch_optional(&self.pool)
        .await?;
        let budget: Option<i64> =
            sqlx::query_scalar("SELECT monthly_cents FROM unit_sms_budgets WHERE unit_id = $1")
                .bind(unit_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(SmsSpending {
            month,
            segments: segments.unwrap_or(0).max(0) as u64,
            own_budget_cents: budget.map(|b| b.max(0) as u64),
        })
    }

    /// Sets the unit's own monthly SMS budget (`None`: back to the organisation's), audited as
    /// `unit.sms_budget` with what it was and what it is.
    pub async fn set_unit_sms_budget(
        &self,
        unit_id: i64,
        cents: Option<u64>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let before: Option<i64> =
            sqlx::query_scalar("SELECT monthly_cents FROM unit_sms_budgets WHERE unit_id = $1")
                .bind(unit_id)
                .fetch_optional(&mut *tx)
                .await?;
        match cents {
            Some(cents) => {
                sqlx::query(
                    "INSERT INTO unit_sms_budgets (unit_id, monthly_cents, set_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (unit_id) DO UPDATE \
                     SET monthly_cents = excluded.monthly_cents, set_at = excluded.set_at",
                )
                .bind(unit_id)
                .bind(i64::try_from(cents).unwrap_or(i64::MAX))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM unit_sms_budgets WHERE unit_id = $1")
                    .bind(unit_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let event = AuditEvent::new("unit.sms_budget", self.actor.to_string()).details(
            serde_json::json!({ "unit_id": unit_id, "before_cents": before, "after_cents": cents }),
        );
        crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        // Decisions read the budget with the sender's standing; nothing cached to drop.
        Ok(())
    }
}
