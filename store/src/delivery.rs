//! The delivery queue: released sends expanded into one delivery per recipient address (in
//! [`crate::expansion`]), claimed by workers with leases, and marked with their outcome.
//! Notifications to senders use the same lease discipline.
//!
//! Every step is one transaction and can be repeated: expansion resumes after its cursor and
//! skips addresses it already queued, a claim that is never finished runs out and the delivery
//! comes back, so a crash at any point neither loses nor duplicates a copy.

use crate::sql::Placeholders;
use crate::{now_ms, Audience, Backend, Store, StoreError};
use sqlx::Row;

/// A send whose undo window has passed and whose expansion is not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSend {
    pub send_id: i64,
    pub submission_id: i64,
}

/// A delivery claimed by a worker; nobody else takes it until the lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub send_id: i64,
    pub address: String,
    pub token: String,
    /// Attempts including this one.
    pub attempts: u32,
    pub created_at: i64,
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

/// A claimed notification to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedNotification {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    pub created_at: i64,
}

/// A text of the SMS outbox, claimed for one attempt.
#[derive(Debug, Clone)]
pub struct ClaimedText {
    pub id: i64,
    /// E.164.
    pub to_number: String,
    /// `list` for a list send's text, `phone_code` and the like for the portal's own.
    pub kind: String,
    pub body: String,
    pub send_id: Option<i64>,
    pub attempts: u32,
    pub created_at: i64,
}

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

/// Which table a lease-based claim reads.
#[derive(Clone, Copy)]
pub(crate) enum Queue {
    Deliveries,
    Notifications,
    Texts,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Deliveries => "deliveries",
            Queue::Notifications => "notifications",
            Queue::Texts => "sms_outbox",
        }
    }

    /// The condition a row must meet to be claimable, besides its lease. A delivery of a send
    /// that is held or cancelled is left alone; one of a send still expanding ('scheduled')
    /// goes out while the later batches are being queued.
    fn pending(self) -> &'static str {
        match self {
            Queue::Deliveries => {
                "state = 'queued' AND EXISTS (SELECT 1 FROM sends s \
                 WHERE s.id = deliveries.send_id AND s.state IN ('scheduled', 'sending'))"
            }
            Queue::Notifications | Queue::Texts => "sent_at IS NULL AND failed_at IS NULL",
        }
    }
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
            crate::audit::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        Ok(cancelled.rows_affected())
    }

    /// Claims up to `limit` due rows of a queue for `lease_ms`. On PostgreSQL concurrent
    /// claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, so
    /// the update itself is the lock.
    async fn claim(
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
        let sql = format!(
            "UPDATE {table} SET lease_until = $1, attempts = attempts + 1 WHERE id IN (\
               SELECT id FROM {table} WHERE {pending} AND next_attempt_at <= $2 \
               AND NOT EXISTS (SELECT 1 FROM delivery_control WHERE paused) \
               AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at, id LIMIT $3{lock}) \
             RETURNING {columns}"
        );
        Ok(sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn claim_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let rows = self
            .claim(
                Queue::Deliveries,
                "id, send_id, address, token, attempts, created_at",
                now,
                lease_ms,
                limit,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedDelivery {
                    id: r.try_get("id")?,
                    send_id: r.try_get("send_id")?,
                    address: r.try_get("address")?,
                    token: r.try_get("token")?,
                    attempts: r.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn claim_notifications(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let rows = self
            .claim(
                Queue::Notifications,
                "id, to_address, subject, body, attempts, created_at",
                now,
                lease_ms,
                limit,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedNotification {
                    id: r.try_get("id")?,
                    to_address: r.try_get("to_address")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
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
        let Some(audience) = (match audience_id {
            Some(id) => self.audience_by_id(id).await?,
            None => None,
        }) else {
            return Ok(None);
        };
        Ok(Some(SendContent {
            send_id,
            submission_id: row.try_get("submission_id")?,
            audience,
            rewrite_to: crate::sql::get_bool(&row, "rewrite_to")?,
            raw: row.try_get("raw")?,
        }))
    }

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

    /// Claims up to `limit` due texts of the SMS outbox for `lease_ms`.
    pub async fn claim_texts(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedText>, StoreError> {
        let rows = self
            .claim(
                Queue::Texts,
                "id, to_number, kind, body, send_id, attempts, created_at",
                now,
                lease_ms,
                limit,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedText {
                    id: r.try_get("id")?,
                    to_number: r.try_get("to_number")?,
                    kind: r.try_get("kind")?,
                    body: r.try_get("body")?,
                    send_id: r.try_get("send_id")?,
                    attempts: r.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Marks sends whose every delivery has an outcome as complete, and learns the usual size
    /// of their lists from them ([`crate::usual_size`]); returns how many completed.
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
        let mut tx = self.pool.begin().await?;
        // Learning a usual size locks the audience and appends to the chain.
        crate::audit::lock_head_first(&mut tx).await?;
        let done: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "UPDATE sends SET state = 'complete', updated_at = $1, completed_at = $1, \
             usual_size_epoch = (SELECT a.usual_size_epoch FROM audiences a \
               WHERE a.id = sends.audience_id) \
             WHERE {FINISHED} RETURNING id, audience_id"
        ))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let learned = crate::usual_size::learn(&mut tx, self.backend, &done, now).await?;
        tx.commit().await?;
        if learned {
            self.facts_changed();
        }
        Ok(done.len() as u64)
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
            ..totals_from(rows, unreachable)
        })
    }
}

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
        let first_hard = hard && row.try_get::<String, _>("state")? != "bounced";
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

/// The kill switch's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPause {
    pub reason: String,
    pub by: String,
    pub at: i64,
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
        crate::audit::append(
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
        if !crate::sql::get_bool(&row, "paused")? {
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
            match state.as_str() {
                "scheduled" => overview.sends_scheduled = n,
                "sending" => overview.sends_sending = n,
                _ => overview.sends_held = n,
            }
        }
        overview.deliveries = totals_from(deliveries, 0);
        Ok(overview)
    }
}

fn totals_from(rows: Vec<(String, i64)>, unreachable: i64) -> DeliveryTotals {
    let mut totals = DeliveryTotals {
        unreachable: unreachable.max(0) as u64,
        ..DeliveryTotals::default()
    };
    for (state, n) in rows {
        let n = n.max(0) as u64;
        match state.as_str() {
            "queued" => totals.queued = n,
            "sent" => totals.sent = n,
            "failed" => totals.failed = n,
            "bounced" => totals.bounced = n,
            _ => totals.cancelled = n,
        }
    }
    totals
}
