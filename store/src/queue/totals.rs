//! Counts for reports and `verteiler delivery status`: one send's delivery totals and the whole
//! queue at a glance.

use super::pause::DeliveryPause;
use crate::states::text_as;
use crate::{DeliveryState, SendState, Store, StoreError};

/// Delivery totals of one send, for reports and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryTotals {
    pub queued: u64,
    /// Of the queued: those waiting for a retry after a temporary failure.
    pub deferred: u64,
    pub sent: u64,
    pub failed: u64,
    pub bounced: u64,
    pub cancelled: u64,
    /// Recipients reached by SMS instead of email (their texts are in the SMS outbox).
    pub sms: u64,
    pub unreachable: u64,
}

/// The whole queue at a glance, for `verteiler delivery status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueOverview {
    pub paused: Option<DeliveryPause>,
    /// Sends waiting for their undo window or being expanded.
    pub sends_scheduled: u64,
    pub sends_sending: u64,
    pub sends_held: u64,
    pub deliveries: DeliveryTotals,
    pub notifications_pending: u64,
}

impl Store {
    /// How many copies of a send each instance recorded an outcome for (`instance.name`; an
    /// empty name for copies handled before instances had names), by name.
    pub async fn copies_by_instance(&self, send_id: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(lease_holder, ''), CAST(COUNT(*) AS BIGINT) FROM deliveries \
             WHERE send_id = $1 AND state IN ('sent', 'bounced', 'failed') \
             GROUP BY COALESCE(lease_holder, '') ORDER BY 1",
        )
        .bind(send_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, n)| (name, n.max(0) as u64))
            .collect())
    }

    /// Delivery totals of one send.
    pub async fn delivery_totals(&self, send_id: i64) -> Result<DeliveryTotals, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE send_id = $1 GROUP BY state",
        )
        .bind(send_id)
        .fetch_all(&self.pool)
        .await?;
        let unreachable: i64 = sqlx::query_scalar("SELECT unreachable FROM sends WHERE id = $1")
            .bind(send_id)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0);
        // A queued copy with an error recorded has been tried and failed temporarily.
        let deferred: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries \
             WHERE send_id = $1 AND state = 'queued' AND last_error IS NOT NULL",
        )
        .bind(send_id)
        .fetch_one(&self.pool)
        .await?;
        let sms: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM sms_outbox WHERE send_id = $1",
        )
        .bind(send_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(DeliveryTotals {
            deferred: deferred.max(0) as u64,
            sms: sms.max(0) as u64,
            ..totals_from(rows, unreachable)?
        })
    }

    pub async fn queue_overview(&self) -> Result<QueueOverview, StoreError> {
        let sends: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, CAST(COUNT(*) AS BIGINT) FROM sends \
             WHERE state IN ('scheduled', 'sending', 'held') GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let deliveries: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, CAST(COUNT(*) AS BIGINT) FROM deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let notifications: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut overview = QueueOverview {
            paused: self.delivery_pause().await?,
            notifications_pending: notifications.max(0) as u64,
            ..QueueOverview::default()
        };
        for (state, n) in sends {
            let n = n.max(0) as u64;
            match text_as(&state, "state")? {
                SendState::Scheduled => overview.sends_scheduled = n,
                SendState::Sending => overview.sends_sending = n,
                _ => overview.sends_held = n,
            }
        }
        overview.deliveries = totals_from(deliveries, 0)?;
        Ok(overview)
    }
}

fn totals_from(rows: Vec<(String, i64)>, unreachable: i64) -> Result<DeliveryTotals, sqlx::Error> {
    let mut totals = DeliveryTotals {
        unreachable: unreachable.max(0) as u64,
        ..DeliveryTotals::default()
    };
    for (state, n) in rows {
        let n = n.max(0) as u64;
        match text_as(&state, "state")? {
            DeliveryState::Queued => totals.queued = n,
            DeliveryState::Sent => totals.sent = n,
            DeliveryState::Failed => totals.failed = n,
            DeliveryState::Bounced => totals.bounced = n,
            DeliveryState::Cancelled => totals.cancelled = n,
        }
    }
    Ok(totals)
}
