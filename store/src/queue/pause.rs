//! The kill switch: all delivery stopped at once, and resumed, each change audited. Claims and
//! due sends check it in their own statements (`lease.rs`, `sends.rs`).

use crate::{now_ms, Store, StoreError};
use sqlx::Row;

/// The kill switch's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPause {
    pub reason: String,
    pub by: String,
    pub at: i64,
}

impl Store {
    /// Stops all delivery at once (the kill switch). Copies already handed to the transport
    /// cannot be called back; nothing else leaves until [`Store::resume_delivery`].
    pub async fn pause_delivery(&self, reason: &str, by: &str) -> Result<(), StoreError> {
        self.set_paused(true, Some(reason), by).await
    }

    /// Resumes sending after [`Store::pause_delivery`]. Sends the circuit breaker holds stay
    /// held — resuming is no release — and the answer says how many wait for an admin
    /// ([`Store::release_breaker_hold`]).
    pub async fn resume_delivery(&self, by: &str) -> Result<crate::Resumed, StoreError> {
        self.set_paused(false, None, by).await?;
        Ok(crate::Resumed {
            breaker_holds_waiting: self.breaker_holds_waiting().await?,
        })
    }

    async fn set_paused(
        &self,
        paused: bool,
        reason: Option<&str>,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE delivery_control SET paused = $1, reason = $2, changed_by = $3, changed_at = $4 WHERE id = 1",
        )
        .bind(paused)
        .bind(reason)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let action = if paused {
            "delivery.paused"
        } else {
            "delivery.resumed"
        };
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[crate::AuditEvent::new(action, self.privacy.actor_text(by))
                .details(serde_json::json!({ "reason": reason }))],
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(
            event = if paused {
                "delivery.paused"
            } else {
                "delivery.resumed"
            },
            by,
            reason
        );
        Ok(())
    }

    pub async fn delivery_pause(&self) -> Result<Option<DeliveryPause>, StoreError> {
        let row = sqlx::query(
            "SELECT paused, reason, changed_by, changed_at FROM delivery_control WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        if !crate::db::sql::get_bool(&row, "paused")? {
            return Ok(None);
        }
        Ok(Some(DeliveryPause {
            reason: row
                .try_get::<Option<String>, _>("reason")?
                .unwrap_or_default(),
            by: row
                .try_get::<Option<String>, _>("changed_by")?
                .unwrap_or_default(),
            at: row.try_get("changed_at")?,
        }))
    }
}
