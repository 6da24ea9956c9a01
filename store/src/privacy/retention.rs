//! How long a sent message is kept: `limits.retention_days` after its last send ended.
//!
//! A submission's message (raw content, preview, SMS text) is needed while a send of it may
//! still be delivered or decided: held, scheduled, sending. Once every send has ended
//! (complete, cancelled, withdrawn, expired, rejected) it is kept for the retention period —
//! for questions, complaints and "who sent this?" with the content at hand — and then purged:
//! `raw` emptied and marked `purged`, and with it the copies of its text elsewhere: the
//! notices about it (an approval request quotes the beginning of the text) and its list texts
//! (SMS), once they were handed over or gave up. What the audit log needs stays: the
//! submission's row with its Message-ID, sender, subject, size and content hash, and its sends
//! and deliveries.

use crate::audit::log::{self as audit, AuditEvent};
use crate::db::sql::Placeholders;
use crate::{Store, StoreError};

/// Submissions purged in one transaction (one run, one audit entry): a first run after years
/// without retention works through the backlog run by run instead of in one long write.
pub const PURGE_BATCH: usize = 500;

const DAY_MS: i64 = 24 * 3_600 * 1000;

/// Submissions still holding their message whose every send ended before $1 ($2: limit).
const EXPIRED: &str = "SELECT sub.id, CAST(LENGTH(sub.raw) AS BIGINT) FROM submissions sub \
     WHERE sub.raw_state IN ('whole','headers') AND sub.created_at < $1 \
       AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.submission_id = sub.id \
         AND (s.state IN ('held','scheduled','sending') \
              OR COALESCE(s.completed_at, s.updated_at) >= $1)) \
     ORDER BY sub.created_at LIMIT $2";

/// What one purge run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub submissions: u64,
    /// Bytes of message content removed.
    pub bytes: u64,
}

impl Store {
    /// Purges the messages of up to [`PURGE_BATCH`] submissions whose sends all ended more
    /// than `days` days before `now`, with one `messages.purged` audit entry (none when there
    /// was nothing to purge). `days = 0` keeps messages for ever: nothing is purged. Call again
    /// while a run purges a full batch.
    pub async fn purge_expired_messages(&self, days: u32, now: i64) -> Result<Purged, StoreError> {
        if days == 0 {
            return Ok(Purged::default());
        }
        let before = now - i64::from(days) * DAY_MS;
        let mut tx = self.begin_write().await?;
        audit::lock_head_first(&mut tx).await?;
        let expired: Vec<(i64, i64)> = sqlx::query_as(EXPIRED)
            .bind(before)
            .bind(PURGE_BATCH as i64)
            .fetch_all(&mut *tx)
            .await?;
        if expired.is_empty() {
            tx.rollback().await?;
            return Ok(Purged::default());
        }
        let mut p = Placeholders::new(self.backend);
        let (empty, at) = (p.one(), p.one());
        let sql = format!(
            "UPDATE submissions SET raw = {empty}, raw_state = 'purged', raw_removed_at = {at}, \
             preview = NULL, sms_text = NULL WHERE id IN ({})",
            p.list(expired.len())
        );
        let mut query = sqlx::query(&sql).bind(Vec::<u8>::new()).bind(now);
        for (id, _) in &expired {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
        purge_copies(&mut tx, self.backend, &expired).await?;
        let purged = Purged {
            submissions: expired.len() as u64,
            bytes: expired.iter().map(|(_, n)| (*n).max(0) as u64).sum(),
        };
        let event = AuditEvent::new("messages.purged", "system").details(serde_json::json!({
            "retention_days": days,
            "ended_before": before,
            "submissions": purged.submissions,
            "bytes": purged.bytes,
            "first_submission_id": expired.iter().map(|(id, _)| *id).min(),
            "last_submission_id": expired.iter().map(|(id, _)| *id).max(),
        }));
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        Ok(purged)
    }
}

/// The notices about the purged submissions and their list texts lose their text, once they
/// left or gave up (one still waiting is left alone: it is on its way).
async fn purge_copies(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    expired: &[(i64, i64)],
) -> Result<(), StoreError> {
    let done = "(sent_at IS NOT NULL OR failed_at IS NOT NULL)";
    let ids = Placeholders::new(backend).list(expired.len());
    for sql in [
        format!("UPDATE notifications SET subject = '', body = '' WHERE {done} AND submission_id IN ({ids})"),
        format!(
            "UPDATE sms_outbox SET body = '' WHERE {done} AND send_id IN \
             (SELECT id FROM sends WHERE submission_id IN ({ids}))"
        ),
    ] {
        let mut query = sqlx::query(&sql);
        for (id, _) in expired {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
