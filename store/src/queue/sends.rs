//! A send's way through the queue: due once its undo window has passed, its content read for
//! building copies, complete once every delivery has an outcome, or cancelled on the way.

use crate::{now_ms, Audience, Store, StoreError};
use sqlx::Row;

/// A send whose undo window has passed and whose expansion is not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSend {
    pub send_id: i64,
    pub submission_id: i64,
}

/// What a worker needs to build the copies of one send.
#[derive(Debug, Clone)]
pub struct SendContent {
    pub send_id: i64,
    pub submission_id: i64,
    pub audience: Audience,
    pub rewrite_to: bool,
    pub raw: Vec<u8>,
}

impl Store {
    /// Scheduled sends whose undo window has passed, oldest first.
    pub async fn due_sends(&self, now: i64, limit: usize) -> Result<Vec<DueSend>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, submission_id FROM sends WHERE state = 'scheduled' AND release_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM delivery_control WHERE paused) \
             ORDER BY release_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(send_id, submission_id)| DueSend {
                send_id,
                submission_id,
            })
            .collect())
    }

    /// Claims, for `lease_ms`, up to `limit` due sends to expand: one instance at a time
    /// queues a send's batches. A send whose expansion lease this instance already holds is
    /// claimed again (the lease renewed); another's only once its lease ran out. The batches
    /// themselves move the cursor only from where they read it
    /// ([`crate::queue::expand`]), so even two expanders could not queue a batch twice.
    pub async fn claim_due_sends(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueSend>, StoreError> {
        const DUE: &str = "state = 'scheduled' AND release_at <= $1 \
            AND NOT EXISTS (SELECT 1 FROM delivery_control WHERE paused) \
            AND (expansion_lease_until IS NULL OR expansion_lease_until < $1 \
                 OR expansion_holder = $2)";
        // Looked for first, as in `claim`: an idle poll must not take SQLite's write lock.
        let any: Option<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM sends WHERE {DUE} LIMIT 1"))
                .bind(now)
                .bind(self.instance.to_string())
                .fetch_optional(&self.pool)
                .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let _turn = self.queue_write_turn().await;
        let rows: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "UPDATE sends SET expansion_lease_until = $3, expansion_holder = $2 WHERE id IN (\
               SELECT id FROM sends WHERE {DUE} ORDER BY release_at, id LIMIT $4{lock}) \
             RETURNING id, submission_id"
        ))
        .bind(now)
        .bind(self.instance.to_string())
        .bind(now + lease_ms)
        .bind(limit as i64)
        .fetch_all(&self.lease_pool)
        .await?;
        let mut due: Vec<DueSend> = rows
            .into_iter()
            .map(|(send_id, submission_id)| DueSend {
                send_id,
                submission_id,
            })
            .collect();
        due.sort_by_key(|d| d.send_id);
        Ok(due)
    }

    /// Stops a send: it will not be expanded further, and copies not yet handed over are
    /// cancelled. Copies already sent cannot be called back. Returns the deliveries cancelled.
    /// `by` names who cancels, for the audit log.
    pub async fn cancel_send(&self, send_id: i64, by: &str) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let stopped = sqlx::query(
            "UPDATE sends SET state = 'cancelled', updated_at = $1 \
             WHERE id = $2 AND state IN ('scheduled', 'sending', 'held')",
        )
        .bind(now)
        .bind(send_id)
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, updated_at = $1 \
             WHERE send_id = $2 AND state = 'queued'",
        )
        .bind(now)
        .bind(send_id)
        .execute(&mut *tx)
        .await?;
        if stopped.rows_affected() > 0 || cancelled.rows_affected() > 0 {
            let submission_id: Option<i64> =
                sqlx::query_scalar("SELECT submission_id FROM sends WHERE id = $1")
                    .bind(send_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut event = crate::AuditEvent::new("send.cancelled", self.privacy.actor_text(by))
                .send(send_id)
                .details(serde_json::json!({ "copies_cancelled": cancelled.rows_affected() }));
            event.submission_id = submission_id;
            crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        Ok(cancelled.rows_affected())
    }

    /// The message and list of a send, for building its copies.
    pub async fn send_content(&self, send_id: i64) -> Result<Option<SendContent>, StoreError> {
        let row = sqlx::query(
            "SELECT s.submission_id, s.audience_id, s.rewrite_to, sub.raw FROM sends s \
             JOIN submissions sub ON sub.id = s.submission_id WHERE s.id = $1",
        )
        .bind(send_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let audience_id: Option<i64> = row.try_get("audience_id")?;
        let Some(audience) = self.send_audience(audience_id).await? else {
            return Ok(None);
        };
        Ok(Some(SendContent {
            send_id,
            submission_id: row.try_get("submission_id")?,
            audience,
            rewrite_to: crate::db::sql::get_bool(&row, "rewrite_to")?,
            raw: row.try_get("raw")?,
        }))
    }

    /// Marks sends whose every delivery has an outcome as complete, and learns the usual size
    /// of their lists from them ([`crate::audiences::usual_size`]); returns how many completed.
    pub async fn complete_finished_sends(&self) -> Result<u64, StoreError> {
        const FINISHED: &str = "state = 'sending' AND NOT EXISTS \
            (SELECT 1 FROM deliveries d WHERE d.send_id = sends.id AND d.state = 'queued')";
        // Looked for first, as in `claim`: the update would take SQLite's write lock even when
        // no send has finished, and this runs on every round of the expansion loop.
        let any: Option<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM sends WHERE {FINISHED} LIMIT 1"))
                .fetch_optional(&self.pool)
                .await?;
        if any.is_none() {
            return Ok(0);
        }
        let now = now_ms();
        let _turn = self.queue_write_turn().await;
        let mut tx = self.pool.begin().await?;
        // Learning a usual size locks the audience and appends to the chain.
        crate::audit::log::lock_head_first(&mut tx).await?;
        let done: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "UPDATE sends SET state = 'complete', updated_at = $1, completed_at = $1, \
             usual_size_epoch = (SELECT a.usual_size_epoch FROM audiences a \
               WHERE a.id = sends.audience_id) \
             WHERE {FINISHED} RETURNING id, audience_id"
        ))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let learned =
            crate::audiences::usual_size::learn(&mut tx, self.backend, &done, now).await?;
        tx.commit().await?;
        if learned {
            self.facts_changed();
        }
        Ok(done.len() as u64)
    }
}
