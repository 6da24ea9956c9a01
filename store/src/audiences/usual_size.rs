//! A list's usual size: what the blast-radius rule compares a send with
//! (`blast_radius.above_usual`). It is learned from the list's own completed sends, read from
//! the `sends` table, and an admin can reset it.
//!
//! **Which sends count.** Only sends that completed (every copy had its outcome) and reached
//! somebody: at least one email copy, one text or one member on the postal list. A send that
//! was refused, withdrawn, expired or cancelled never went out as decided and says nothing
//! about the list; nor does one that reached nobody — its decided count describes a list that
//! was no longer there when it was expanded (expansion refuses such a send, `audience.emptied`,
//! but a member leaving between that check and the batch can still leave one behind). A send
//! whose every member lacked an address or a chosen channel reached nobody either and does not
//! count, although those members are part of the measure below: no copy, text or letter
//! confirms that the list was what was decided. After a reset only sends completed since count
//! (a new *epoch*), and the usual size is unknown again until the next completion.
//!
//! **What is counted.** A send's decided recipients (`sends.recipients`: the members the list
//! resolved to when the send was decided, or the number the approvers confirmed). That is the
//! figure the rule compares with — the members a list resolves to, whatever their channel —
//! so both sides are the same measure. Copies delivered would be smaller by the members
//! reached by SMS or post, those without an address, and every bounce, and would make an
//! ordinary send look like growth.
//!
//! **Which statistic.** The median of the last [`USUAL_SIZE_SENDS`] completed sends (for an
//! even number, the lower of the two middle values). One outlier — an admin's test send to
//! a handful, or one large send somebody approved — moves a median only to its neighbour,
//! where a mean would jump; the lower middle is the cautious side, as a smaller usual size
//! holds more. Real growth takes over once most of the recent sends show it: after a few
//! sends for a young list, after at most six of ten for an established one.

use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// Completed sends the usual size is the median of.
pub const USUAL_SIZE_SENDS: usize = 10;

/// A list's usual size and the sends it was learned from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsualSize {
    pub audience_id: i64,
    /// `None` until a send completes (after creation or a reset).
    pub value: Option<u64>,
    /// The sends counted, newest first.
    pub counted: Vec<CountedSend>,
    /// When an admin last reset it.
    pub reset_at: Option<i64>,
}

/// One completed send that reached somebody, and so counts towards the usual size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountedSend {
    pub send_id: i64,
    pub completed_at: i64,
    /// The decided recipients.
    pub recipients: u64,
}

/// The lower median of `counts`; `None` for none.
pub fn lower_median(counts: &[u64]) -> Option<u64> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len().checked_sub(1)? / 2).copied()
}

/// The sends of an audience that count now (completed in `epoch`, reached somebody), newest
/// first.
async fn counted(
    executor: impl sqlx::Executor<'_, Database = sqlx::Any>,
    audience_id: i64,
    epoch: i64,
) -> Result<Vec<CountedSend>, StoreError> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, completed_at, recipients FROM sends \
         WHERE audience_id = $1 AND state = 'complete' AND usual_size_epoch = $2 \
         AND (by_post > 0 \
           OR EXISTS (SELECT 1 FROM deliveries d WHERE d.send_id = sends.id) \
           OR EXISTS (SELECT 1 FROM sms_outbox t WHERE t.send_id = sends.id)) \
         ORDER BY completed_at DESC, id DESC LIMIT $3",
    )
    .bind(audience_id)
    .bind(epoch)
    .bind(USUAL_SIZE_SENDS as i64)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(send_id, completed_at, recipients)| CountedSend {
            send_id,
            completed_at,
            recipients: recipients.max(0) as u64,
        })
        .collect())
}

/// Learns the usual size of each audience in `completed` ((send, audience) of the sends just
/// marked complete in `tx`), audited where it changed. Returns whether any changed.
pub(crate) async fn learn(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    completed: &[(i64, Option<i64>)],
    now: i64,
) -> Result<bool, StoreError> {
    let mut audiences: Vec<i64> = completed.iter().filter_map(|(_, a)| *a).collect();
    audiences.sort_unstable();
    audiences.dedup();
    let mut events = Vec::new();
    for audience_id in audiences {
        // On PostgreSQL the row is locked: a reset or another instance's completion waits.
        let lock = match backend {
            crate::Backend::Postgres => " FOR UPDATE",
            crate::Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "SELECT slug, usual_size, usual_size_epoch FROM audiences WHERE id = $1{lock}"
        ))
        .bind(audience_id)
        .fetch_one(&mut **tx)
        .await?;
        let before: Option<i64> = row.try_get("usual_size")?;
        let epoch: i64 = row.try_get("usual_size_epoch")?;
        let sends = counted(&mut **tx, audience_id, epoch).await?;
        let recipients: Vec<u64> = sends.iter().map(|s| s.recipients).collect();
        let after = lower_median(&recipients).map(|v| v as i64);
        if after == before {
            continue;
        }
        sqlx::query("UPDATE audiences SET usual_size = $1 WHERE id = $2")
            .bind(after)
            .bind(audience_id)
            .execute(&mut **tx)
            .await?;
        let because: Vec<i64> = completed
            .iter()
            .filter(|(_, a)| *a == Some(audience_id))
            .map(|(send, _)| *send)
            .collect();
        events.push(
            AuditEvent::new("audience.usual_size_learned", "system").details(serde_json::json!({
                "audience_id": audience_id,
                "slug": row.try_get::<String, _>("slug")?,
                "before": before,
                "after": after,
                "completed_sends": because,
                "counted": recipients,
            })),
        );
    }
    if events.is_empty() {
        return Ok(false);
    }
    audit::append(tx, backend, &events, now).await?;
    Ok(true)
}

impl Store {
    /// An audience's usual size with the sends counted; `None` for an unknown audience.
    pub async fn usual_size(&self, audience_id: i64) -> Result<Option<UsualSize>, StoreError> {
        let row = sqlx::query(
            "SELECT usual_size, usual_size_epoch, usual_size_reset_at FROM audiences WHERE id = $1",
        )
        .bind(audience_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let epoch: i64 = row.try_get("usual_size_epoch")?;
        Ok(Some(UsualSize {
            audience_id,
            value: row
                .try_get::<Option<i64>, _>("usual_size")?
                .map(|v| v.max(0) as u64),
            counted: counted(&self.pool, audience_id, epoch).await?,
            reset_at: row.try_get("usual_size_reset_at")?,
        }))
    }

    /// Forgets an audience's usual size: it is unknown until the next send completes, and only
    /// sends completed from now on count. Audited (before → after) as made by this handle's
    /// actor ([`Store::acting_as`]). Returns the value before, `None` for an unknown audience.
    pub async fn reset_usual_size(
        &self,
        audience_id: i64,
    ) -> Result<Option<Option<u64>>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        crate::audit::log::lock_head_first(&mut tx).await?;
        let Some(row) = sqlx::query("SELECT slug, usual_size FROM audiences WHERE id = $1")
            .bind(audience_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let before: Option<i64> = row.try_get("usual_size")?;
        let counted_before = {
            let epoch: i64 =
                sqlx::query_scalar("SELECT usual_size_epoch FROM audiences WHERE id = $1")
                    .bind(audience_id)
                    .fetch_one(&mut *tx)
                    .await?;
            counted(&mut *tx, audience_id, epoch).await?
        };
        sqlx::query(
            "UPDATE audiences SET usual_size = NULL, usual_size_epoch = usual_size_epoch + 1, \
             usual_size_reset_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(audience_id)
        .execute(&mut *tx)
        .await?;
        let sends: Vec<i64> = counted_before.iter().map(|s| s.send_id).collect();
        let event = AuditEvent::new("audience.usual_size_reset", self.actor.to_string()).details(
            serde_json::json!({
                "audience_id": audience_id,
                "slug": row.try_get::<String, _>("slug")?,
                "before": before,
                "after": null,
                "sends_no_longer_counted": sends,
            }),
        );
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(Some(before.map(|v| v.max(0) as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::lower_median;

    #[test]
    fn one_outlier_moves_the_median_only_to_its_neighbour() {
        assert_eq!(lower_median(&[]), None);
        assert_eq!(lower_median(&[212]), Some(212));
        assert_eq!(
            lower_median(&[212, 5_000]),
            Some(212),
            "the cautious middle"
        );
        assert_eq!(lower_median(&[210, 212, 214, 3, 211]), Some(211));
        let mut ten = vec![212; 9];
        ten.push(365_000);
        assert_eq!(lower_median(&ten), Some(212));
        // Six of ten sends after the list doubled: the usual size follows.
        let grown = [200, 200, 200, 200, 400, 400, 400, 400, 400, 400];
        assert_eq!(lower_median(&grown), Some(400));
    }
}
