//! The lease every queue shares: which table a claim reads, which rows are due, and the one
//! claim statement, so deliveries, notifications and texts cannot drift apart in how a worker
//! takes a row and how a crashed worker's row comes back.

use crate::{Backend, Store, StoreError};

/// Which table a lease-based claim reads.
#[derive(Clone, Copy)]
pub(crate) enum Queue {
    Deliveries,
    Notifications,
    Texts,
}

impl Queue {
    pub(super) fn table(self) -> &'static str {
        match self {
            Queue::Deliveries => "deliveries",
            Queue::Notifications => "notifications",
            Queue::Texts => "sms_outbox",
        }
    }

    /// The condition a row must meet to be claimable, besides its lease. A delivery of a send
    /// that is held or cancelled is left alone; one of a send still expanding ('scheduled')
    /// goes out while the later batches are being queued.
    pub(super) fn pending(self) -> &'static str {
        match self {
            Queue::Deliveries => {
                "state = 'queued' AND EXISTS (SELECT 1 FROM sends s \
                 WHERE s.id = deliveries.send_id AND s.state IN ('scheduled', 'sending'))"
            }
            Queue::Notifications | Queue::Texts => "sent_at IS NULL AND failed_at IS NULL",
        }
    }
}

impl Store {
    /// Claims up to `limit` due rows of a queue for `lease_ms`. On PostgreSQL concurrent
    /// claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, so
    /// the update itself is the lock.
    pub(super) async fn claim(
        &self,
        queue: Queue,
        columns: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let (table, pending) = (queue.table(), queue.pending());
        // Look before claiming: on SQLite the claim takes the database's one write lock, and
        // dozens of idle workers polling would make every submission's commit wait for them.
        // A read takes no lock; a row that turns due right after is claimed by the next poll.
        let due = format!(
            "SELECT id FROM {table} WHERE {pending} AND next_attempt_at <= $1 \
               AND (lease_until IS NULL OR lease_until < $1) LIMIT 1"
        );
        if sqlx::query(&due)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .is_none()
        {
            return Ok(Vec::new());
        }
        // The claim also moves the row's next attempt to the lease's end: that is when the row
        // is due again if its worker dies, and it keeps every leased row out of the due range
        // of the `(…, next_attempt_at)` index. Without it each claim stepped over every row the
        // other workers held (64 workers × 16) before finding a free one.
        let sql = format!(
            "UPDATE {table} SET lease_until = $1, next_attempt_at = $1, lease_holder = $4, \
             attempts = attempts + 1 \
             WHERE id IN (\
               SELECT id FROM {table} WHERE {pending} AND next_attempt_at <= $2 \
               AND NOT EXISTS (SELECT 1 FROM delivery_control WHERE paused) \
               AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at, id LIMIT $3{lock}) \
             RETURNING {columns}"
        );
        let _turn = self.queue_write_turn().await;
        Ok(sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit as i64)
            .bind(self.instance.to_string())
            .fetch_all(&self.lease_pool)
            .await?)
    }
}
