//! Bounces: a VERP token names the delivery, a hard bounce counts against the address once per
//! delivery, and at the limit the address is no longer used.

use crate::{now_ms, DeliveryState, Store, StoreError};
use sqlx::Row;

/// What a recorded bounce changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceOutcome {
    pub delivery_id: i64,
    /// The address reached the hard-bounce limit with this bounce and is no longer used.
    pub address_given_up: bool,
}

impl Store {
    /// Whether a VERP token names a delivery (the bounce address is checked at RCPT).
    pub async fn delivery_token_known(&self, token: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE token = $1")
            .bind(token)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Records a bounce for the delivery a VERP token names, in one transaction. A hard bounce
    /// marks the delivery bounced and, once per delivery, counts against the address; at
    /// `hard_limit` the address is marked undeliverable. `None` when no delivery has the token.
    pub async fn record_bounce(
        &self,
        token: &str,
        hard: bool,
        status: Option<&str>,
        diagnostic: &str,
        hard_limit: u32,
    ) -> Result<Option<BounceOutcome>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("SELECT id, member_id, address, state FROM deliveries WHERE token = $1")
                .bind(token)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let delivery_id: i64 = row.try_get("id")?;
        let member_id: Option<i64> = row.try_get("member_id")?;
        let address: String = row.try_get("address")?;
        let state: DeliveryState = crate::states::parse(&row, "state")?;
        let first_hard = hard && state != DeliveryState::Bounced;
        sqlx::query(
            "INSERT INTO bounces (delivery_id, hard, status, diagnostic, received_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(delivery_id)
        .bind(hard)
        .bind(status)
        .bind(diagnostic)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut address_given_up = false;
        if first_hard {
            sqlx::query(
                "UPDATE deliveries SET state = 'bounced', lease_until = NULL, last_error = $1, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(diagnostic)
            .bind(now)
            .bind(delivery_id)
            .execute(&mut *tx)
            .await?;
            if let Some(member_id) = member_id {
                let counted: Option<i64> = sqlx::query_scalar(
                    "UPDATE contact_points SET hard_bounces = hard_bounces + 1, updated_at = $1 \
                     WHERE member_id = $2 AND kind = 'email' AND value_key = $3 RETURNING hard_bounces",
                )
                .bind(now)
                .bind(member_id)
                .bind(address.to_lowercase())
                .fetch_optional(&mut *tx)
                .await?;
                if counted.is_some_and(|n| n >= i64::from(hard_limit)) {
                    address_given_up = sqlx::query(
                        "UPDATE contact_points SET undeliverable = TRUE, updated_at = $1 \
                         WHERE member_id = $2 AND kind = 'email' AND value_key = $3 AND NOT undeliverable",
                    )
                    .bind(now)
                    .bind(member_id)
                    .bind(address.to_lowercase())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                }
            }
        } else if !hard {
            sqlx::query("UPDATE deliveries SET last_error = $1, updated_at = $2 WHERE id = $3")
                .bind(format!("soft bounce: {diagnostic}"))
                .bind(now)
                .bind(delivery_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if address_given_up {
            self.facts_changed();
            tracing::warn!(event = "delivery.address_undeliverable", member = ?member_id, delivery = delivery_id);
        }
        Ok(Some(BounceOutcome {
            delivery_id,
            address_given_up,
        }))
    }
}
