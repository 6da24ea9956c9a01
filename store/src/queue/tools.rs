//! The operator's queue tools, after Postfix's postqueue and postsuper: look at one copy's
//! history, retry deferred copies now, drop a stuck copy.
//!
//! They only ever touch copies still waiting (`queued`) that no worker holds: a copy a worker
//! has leased may be on the wire this second, and changing it under the worker would either
//! send it twice or record an outcome that did not happen.

use crate::states::{self, DeliveryState};
use crate::{now_ms, AuditEntry, AuditEvent, Store, StoreError};
use sqlx::Row;

/// A deferred copy: still queued, with a temporary failure recorded (as `verteiler send show`
/// counts "deferred"), whose next attempt lies ahead, and which no worker holds.
const DEFERRED: &str = "state = 'queued' AND last_error IS NOT NULL AND next_attempt_at > $1 \
                        AND (lease_until IS NULL OR lease_until < $1)";

/// Which deferred copies to retry now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequeueScope {
    /// Every deferred copy of the organisation (`postqueue -f`).
    All,
    /// The deferred copies of one send.
    Send(i64),
    /// These copies, where they are deferred.
    Copies(Vec<i64>),
}

/// One copy (a row of `deliveries`) with everything an operator asks about it.
#[derive(Debug, Clone)]
pub struct CopyRecord {
    pub id: i64,
    pub send_id: i64,
    pub submission_id: i64,
    /// The list address the send went to.
    pub list_address: String,
    /// The recipient's member id; `None` for a non-member subscriber of a public list.
    pub member_id: Option<i64>,
    pub address: String,
    /// Copies in `deliveries` are email; texts live in the SMS outbox.
    pub channel: &'static str,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    /// Until when a worker holds it; the table keeps no holder's name.
    pub lease_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bounce reports (DSNs) received for it, oldest first.
    pub bounces: Vec<CopyBounce>,
    /// Audit entries that name this copy (`details.copy_id`), oldest first.
    pub audit: Vec<AuditEntry>,
}

impl CopyRecord {
    /// Whether a worker holds it at `now`.
    pub fn leased_at(&self, now: i64) -> bool {
        self.lease_until.is_some_and(|until| until >= now)
    }
}

/// One bounce report for a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyBounce {
    pub hard: bool,
    /// The DSN status code (`5.1.1`), when the report had one.
    pub status: Option<String>,
    pub diagnostic: String,
    pub received_at: i64,
}

/// What a purge did with one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// Cancelled: it is never handed out again.
    Purged,
    NotFound,
    /// Already has its outcome; nothing changed.
    Final(DeliveryState),
    /// A worker holds it until this time (unix ms); nothing changed.
    Leased {
        until: i64,
    },
}

impl Store {
    /// One copy by its id, with its bounces and the audit entries about it.
    pub async fn inspect_copy(&self, copy_id: i64) -> Result<Option<CopyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT d.id, d.send_id, s.submission_id, s.address AS list_address, d.member_id, \
                    d.address, d.state, d.attempts, d.last_error, d.next_attempt_at, \
                    d.lease_until, d.sent_at, d.created_at, d.updated_at \
             FROM deliveries d JOIN sends s ON s.id = d.send_id WHERE d.id = $1",
        )
        .bind(copy_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let send_id: i64 = r.try_get("send_id")?;
        Ok(Some(CopyRecord {
            id: copy_id,
            send_id,
            submission_id: r.try_get("submission_id")?,
            list_address: r.try_get("list_address")?,
            member_id: r.try_get("member_id")?,
            address: r.try_get("address")?,
            channel: "email",
            state: states::parse(&r, "state")?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            lease_until: r.try_get("lease_until")?,
            sent_at: r.try_get("sent_at")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            bounces: self.copy_bounces(copy_id).await?,
            audit: self.copy_audit(send_id, copy_id).await?,
        }))
    }

    async fn copy_bounces(&self, copy_id: i64) -> Result<Vec<CopyBounce>, StoreError> {
        let rows = sqlx::query(
            "SELECT hard, status, diagnostic, received_at FROM bounces \
             WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(copy_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CopyBounce {
                    hard: crate::db::sql::get_bool(r, "hard")?,
                    status: r.try_get("status")?,
                    diagnostic: r.try_get("diagnostic")?,
                    received_at: r.try_get("received_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The send's entries whose details name the copy: few per send, so filtering the
    /// parsed details here beats matching JSON text in two SQL dialects.
    async fn copy_audit(&self, send_id: i64, copy_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, action, actor_member_id, actor, submission_id, send_id, details, \
                    prev_hash, hash FROM audit_log WHERE send_id = $1 ORDER BY seq",
        )
        .bind(send_id)
        .fetch_all(&self.pool)
        .await?;
        let mut entries = Vec::new();
        for row in &rows {
            let entry = crate::audit::log::entry_from_row(row)?;
            if entry.details_json()["copy_id"] == serde_json::json!(copy_id) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Sets the next attempt of the deferred copies in `scope` to now and returns how many;
    /// copies with an outcome, copies not yet tried and copies a worker holds stay as they are.
    /// Audited as one `delivery.requeued` entry when any moved.
    pub async fn requeue_copies(&self, scope: &RequeueScope, by: &str) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let update =
            format!("UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 WHERE {DEFERRED}");
        let moved = match scope {
            RequeueScope::All => sqlx::query(&update)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            RequeueScope::Send(send_id) => sqlx::query(&format!("{update} AND send_id = $2"))
                .bind(now)
                .bind(*send_id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            RequeueScope::Copies(ids) => {
                let mut moved = 0;
                for id in ids {
                    moved += sqlx::query(&format!("{update} AND id = $2"))
                        .bind(now)
                        .bind(*id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                moved
            }
        };
        if moved > 0 {
            let (send_id, copies) = match scope {
                RequeueScope::All => (None, serde_json::Value::Null),
                RequeueScope::Send(id) => (Some(*id), serde_json::Value::Null),
                RequeueScope::Copies(ids) => (None, serde_json::json!(ids)),
            };
            let mut event = AuditEvent::new("delivery.requeued", self.privacy.actor_text(by))
                .details(serde_json::json!({ "copies_requeued": moved, "copy_ids": copies }));
            event.send_id = send_id;
            crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Cancels each waiting copy that no worker holds, so it is never delivered, with a
    /// `delivery.purged` entry per copy in the same transaction; says per copy what happened.
    pub async fn purge_copies(
        &self,
        copy_ids: &[i64],
        reason: &str,
        by: &str,
    ) -> Result<Vec<(i64, Purge)>, StoreError> {
        let now = now_ms();
        let actor = self.privacy.actor_text(by);
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(copy_ids.len());
        for &id in copy_ids {
            // The condition sits in the update itself: a worker's claim between a look and the
            // change cannot slip through (on PostgreSQL the update waits for the claim's lock
            // and then checks the lease again).
            let purged = sqlx::query(
                "UPDATE deliveries SET state = 'cancelled', updated_at = $1 WHERE id = $2 \
                 AND state = 'queued' AND (lease_until IS NULL OR lease_until < $1) \
                 RETURNING send_id",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match purged {
                Some(row) => {
                    let send_id: i64 = row.try_get("send_id")?;
                    let submission_id: i64 =
                        sqlx::query_scalar("SELECT submission_id FROM sends WHERE id = $1")
                            .bind(send_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    // Filed under the submission too, so `verteiler audit who` tells it.
                    let event = AuditEvent::new("delivery.purged", actor.clone())
                        .submission(submission_id)
                        .send(send_id)
                        .details(serde_json::json!({
                            "copy_id": id, "send_id": send_id, "reason": reason,
                        }));
                    crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
                    Purge::Purged
                }
                None => why_not_purged(&mut tx, id).await?,
            };
            outcomes.push((id, outcome));
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

async fn why_not_purged(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
) -> Result<Purge, StoreError> {
    let row = sqlx::query("SELECT state, lease_until FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(Purge::NotFound);
    };
    let state: DeliveryState = states::parse(&row, "state")?;
    if state != DeliveryState::Queued {
        return Ok(Purge::Final(state));
    }
    let until: Option<i64> = row.try_get("lease_until")?;
    Ok(Purge::Leased {
        until: until.unwrap_or_default(),
    })
}
