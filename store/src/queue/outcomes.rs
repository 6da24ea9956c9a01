//! What an attempt recorded: sent, try again later, or failed for good. Outcomes are written
//! in groups, one transaction for many, because with many workers one commit per copy would
//! have them queue for SQLite's single writer.

use super::lease::Queue;
use crate::db::sql::Placeholders;
use crate::db::statement::Statement;
use crate::{now_ms, Backend, Store, StoreError};

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

/// The statement recording one attempt's outcome (with `now` as the time of recording).
fn outcome_statement(queue: Queue, id: i64, outcome: &Attempt, now: i64) -> Statement {
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
    // `$1` twice, then `$2`, `$3`: numbered by first use, so the values bind in this order
    // through sqlx and on a direct SQLite connection alike.
    Statement::new(sql.replace("{table}", queue.table()))
        .bind(at)
        .bind(error.map(str::to_string))
        .bind(id)
}

pub(crate) async fn finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    queue: Queue,
    id: i64,
    outcome: &Attempt,
) -> Result<(), StoreError> {
    outcome_statement(queue, id, outcome, now_ms())
        .execute(tx)
        .await
}

/// Every statement recording a group of outcomes. Nearly every outcome is a success: those
/// share one statement per 500, so a busy queue holds the write lock for one statement per
/// group instead of one per item (on SQLite the submissions' group commits wait for it). As in
/// `outcome_statement`, a copy that went out while its send was being cancelled counts as sent.
fn group_statements(backend: Backend, queue: Queue, outcomes: &[(i64, Attempt)]) -> Vec<Statement> {
    let now = now_ms();
    let sent: Vec<i64> = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome == Attempt::Sent)
        .map(|(id, _)| *id)
        .collect();
    let mut statements = Vec::new();
    for ids in sent.chunks(500) {
        let mut p = Placeholders::new(backend);
        let mut statement = match queue {
            Queue::Deliveries => {
                // Two placeholders for one value: on SQLite they are positional.
                let (sent_at, updated_at, list) = (p.one(), p.one(), p.list(ids.len()));
                // On SQLite, `+state` keeps the planner on the primary key: with a long id
                // list it chose the `(state, next_attempt_at)` index and read every queued
                // copy, 5 ms per group at 60,000 queued instead of 0.2 ms. PostgreSQL has
                // no unary plus for text and picks the key by itself.
                let state = match backend {
                    Backend::Sqlite => "+state",
                    Backend::Postgres => "state",
                };
                Statement::new(format!(
                    "UPDATE deliveries SET state = 'sent', sent_at = {sent_at}, \
                     lease_until = NULL, last_error = NULL, updated_at = {updated_at} \
                     WHERE {state} IN ('queued', 'cancelled') AND id IN ({list})"
                ))
                .bind(now)
                .bind(now)
            }
            Queue::Notifications | Queue::Texts => {
                let (sent_at, list) = (p.one(), p.list(ids.len()));
                Statement::new(format!(
                    "UPDATE {} SET sent_at = {sent_at}, lease_until = NULL, \
                     last_error = NULL WHERE id IN ({list})",
                    queue.table()
                ))
                .bind(now)
            }
        };
        for id in ids {
            statement.push(*id);
        }
        statements.push(statement);
    }
    statements.extend(
        outcomes
            .iter()
            .filter(|(_, outcome)| *outcome != Attempt::Sent)
            .map(|(id, outcome)| outcome_statement(queue, *id, outcome, now)),
    );
    statements
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
        let statements = group_statements(self.backend, queue, outcomes);
        let _turn = self.queue_write_turn().await;
        if let (Queue::Deliveries, Some(direct)) = (queue, &self.direct_outcomes) {
            return crate::db::direct_sqlite_outcomes::run_off_runtime(direct, statements).await;
        }
        let mut tx = self.pool.begin().await?;
        for statement in statements {
            statement.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
