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
        if !self.anything_due(table, pending, now).await? {
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
        let claim = sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit as i64)
            .bind(self.instance.to_string());
        if self.backend == Backend::Postgres {
            // The due index is in the claim's order, but a queue's statistics are always
            // stale: they were taken when few copies were queued, so during a fan-out the
            // planner expects a few dozen due rows, reads every due row (tens of thousands)
            // and sorts them for each claim of 16: 130–390 ms per claim under
            // ops/bench/fanout.sh (EXPLAIN ANALYZE). Without a sort to choose, it walks the
            // index in order and stops after `limit` rows, whatever the statistics say.
            let mut tx = self.lease_pool.begin().await?;
            sqlx::query("SET LOCAL enable_sort = off")
                .execute(&mut *tx)
                .await?;
            let rows = claim.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            return Ok(rows);
        }
        let _turn = self.queue_write_turn().await;
        Ok(claim.fetch_all(&self.lease_pool).await?)
    }

    /// Whether any row of the queue is claimable now (a read; takes no lock).
    async fn anything_due(&self, table: &str, pending: &str, now: i64) -> Result<bool, StoreError> {
        let due = format!(
            "SELECT id FROM {table} WHERE {pending} AND next_attempt_at <= $1 \
               AND (lease_until IS NULL OR lease_until < $1) LIMIT 1"
        );
        Ok(sqlx::query(&due)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }
}
