//! What an attempt recorded: sent, try again later, or failed for good. Outcomes are written
//! in groups, one transaction for many, because with many workers one commit per copy would
//! have them queue for SQLite's single writer.

use super::lease::Queue;
use crate::db::sql::Placeholders;
use crate::{now_ms, Store, StoreError};

/// The outcome of one attempt, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Try again at this time (unix ms).
    Retry {
        at: i64,
        error: String,
    },
    Failed {
        error: String,
    },
}

pub(crate) async fn finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    queue: Queue,
    id: i64,
    outcome: &Attempt,
) -> Result<(), StoreError> {
    let now = now_ms();
    let (sql, error, at) = match (queue, outcome) {
        (Queue::Deliveries, Attempt::Sent) => (
            // A copy that went out while its send was being cancelled still went out: the
            // totals must count it, so "sent" also replaces "cancelled".
            "UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, \
                 last_error = $2, updated_at = $1 WHERE id = $3 AND state IN ('queued', 'cancelled')",
            None,
            now,
        ),
        (Queue::Deliveries, Attempt::Retry { at, error }) => (
            "UPDATE deliveries SET next_attempt_at = $1, lease_until = NULL, last_error = $2, \
                 updated_at = $1 WHERE id = $3 AND state = 'queued'",
            Some(error.as_str()),
            *at,
        ),
        (Queue::Deliveries, Attempt::Failed { error }) => (
            "UPDATE deliveries SET state = 'failed', lease_until = NULL, last_error = $2, \
                 updated_at = $1 WHERE id = $3 AND state = 'queued'",
            Some(error.as_str()),
            now,
        ),
        (Queue::Notifications | Queue::Texts, Attempt::Sent) => (
            "UPDATE {table} SET sent_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3",
            None,
            now,
        ),
        (Queue::Notifications | Queue::Texts, Attempt::Retry { at, error }) => (
            "UPDATE {table} SET next_attempt_at = $1, lease_until = NULL, last_error = $2 \
                 WHERE id = $3",
            Some(error.as_str()),
            *at,
        ),
        (Queue::Notifications | Queue::Texts, Attempt::Failed { error }) => (
            "UPDATE {table} SET failed_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3",
            Some(error.as_str()),
            now,
        ),
    };
    let sql = sql.replace("{table}", queue.table());
    sqlx::query(&sql)
        .bind(at)
        .bind(error)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Records the outcome of a claimed delivery or notification attempt.
    pub async fn finish_delivery(&self, id: i64, outcome: &Attempt) -> Result<(), StoreError> {
        self.finish_deliveries(&[(id, outcome.clone())]).await
    }

    /// Records the outcomes of several deliveries in one transaction: with many workers, one
    /// commit per copy would have them queue for SQLite's single writer.
    pub async fn finish_deliveries(&self, outcomes: &[(i64, Attempt)]) -> Result<(), StoreError> {
        self.finish_all(Queue::Deliveries, outcomes).await
    }

    pub async fn finish_notifications(
        &self,
        outcomes: &[(i64, Attempt)],
    ) -> Result<(), StoreError> {
        self.finish_all(Queue::Notifications, outcomes).await
    }

    async fn finish_all(
        &self,
        queue: Queue,
        outcomes: &[(i64, Attempt)],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // Nearly every outcome is a success: those share one statement, so a busy queue holds
        // the write lock for one statement per group instead of one per item (on SQLite the
        // submissions' group commits wait for it). As in `finish`, a copy that went out while
        // its send was being cancelled counts as sent.
        let sent: Vec<i64> = outcomes
            .iter()
            .filter(|(_, outcome)| *outcome == Attempt::Sent)
            .map(|(id, _)| *id)
            .collect();
        for ids in sent.chunks(500) {
            let mut p = Placeholders::new(self.backend);
            let sql = match queue {
                Queue::Deliveries => {
                    // Two placeholders for one value: on SQLite they are positional.
                    let (sent_at, updated_at, list) = (p.one(), p.one(), p.list(ids.len()));
                    format!(
                        "UPDATE deliveries SET state = 'sent', sent_at = {sent_at}, \
                         lease_until = NULL, last_error = NULL, updated_at = {updated_at} \
                         WHERE state IN ('queued', 'cancelled') AND id IN ({list})"
                    )
                }
                Queue::Notifications | Queue::Texts => {
                    let (sent_at, list) = (p.one(), p.list(ids.len()));
                    format!(
                        "UPDATE {} SET sent_at = {sent_at}, lease_until = NULL, \
                         last_error = NULL WHERE id IN ({list})",
                        queue.table()
                    )
                }
            };
            let now = now_ms();
            let mut query = sqlx::query(&sql).bind(now);
            if matches!(queue, Queue::Deliveries) {
                query = query.bind(now);
            }
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        for (id, outcome) in outcomes {
            if *outcome != Attempt::Sent {
                finish(&mut tx, queue, *id, outcome).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
