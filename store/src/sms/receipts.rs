//! Delivery receipts of texts. A receipt names a text either by our outbox id (the reference an
//! HTTP provider echoes) or by the id the provider gave one of its parts (an SMSC's
//! `receipted_message_id`). A text counts as delivered once every part is, and as failed as
//! soon as one part is: a member who got half a message did not get the message.

use crate::queue::{finish, Attempt, Queue};
use crate::states::{parse_optional, text_as};
use crate::{now_ms, Store, StoreError, TextReceipt};
use sqlx::Row;

/// Where a text of the SMS outbox stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextState {
    pub id: i64,
    pub kind: String,
    /// Handed to the provider.
    pub sent: bool,
    /// Given up on.
    pub failed: bool,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Once the provider's receipt came.
    pub receipt: Option<TextReceipt>,
}

/// A receipt's verdict on a part (or on a whole text).
fn verdict(delivered: bool) -> &'static str {
    // Every receipt passes here once: the place to count them for `/metrics`.
    metrics::counter!("verteiler_sms_receipts_total", "status" => if delivered { "delivered" } else { "failed" })
        .increment(1);
    if delivered {
        TextReceipt::Delivered.as_str()
    } else {
        TextReceipt::Failed.as_str()
    }
}

impl Store {
    /// Records a provider's delivery receipt for the text with outbox id `id`; `false` when no
    /// text has that id.
    pub async fn record_text_receipt(&self, id: i64, delivered: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sms_outbox SET receipt = $1, receipt_at = $2 WHERE id = $3")
            .bind(verdict(delivered))
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the receipt of the part the provider calls `provider_id`. A receipt for an id
    /// not (yet) recorded is kept and applied when the SMS loop records the ids of its batch.
    pub async fn record_part_receipt(
        &self,
        provider_id: &str,
        delivered: bool,
    ) -> Result<(), StoreError> {
        self.record_part_receipts(&[(provider_id.to_string(), delivered)])
            .await
    }

    /// Records many parts' receipts in one transaction: an SMSC sends one per part, as fast as
    /// we send the parts.
    pub async fn record_part_receipts(
        &self,
        receipts: &[(String, bool)],
    ) -> Result<(), StoreError> {
        if receipts.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        // Parts first, then texts, each in order: the same order `finish_texts` takes its
        // locks in, so the two never wait on each other in a circle (PostgreSQL).
        let mut receipts = receipts.to_vec();
        receipts.sort();
        let mut tx = self.pool.begin().await?;
        let mut texts = Vec::new();
        for (provider_id, delivered) in &receipts {
            let outbox_id: Option<Option<i64>> = sqlx::query_scalar(
                "INSERT INTO sms_parts (provider_id, receipt, receipt_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (provider_id) DO UPDATE SET receipt = excluded.receipt, \
                 receipt_at = excluded.receipt_at RETURNING outbox_id",
            )
            .bind(provider_id)
            .bind(verdict(*delivered))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            texts.extend(outbox_id.flatten());
        }
        texts.sort_unstable();
        texts.dedup();
        for outbox_id in texts {
            settle(&mut tx, outbox_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records the SMS loop's outcomes with the ids the provider gave each text's parts.
    pub async fn finish_texts(
        &self,
        outcomes: &[(i64, Attempt)],
        provider_ids: &[(i64, String)],
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() && provider_ids.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        // Parts before texts, each sorted: the lock order of `record_part_receipts`.
        let mut provider_ids: Vec<&(i64, String)> = provider_ids.iter().collect();
        provider_ids.sort_by(|a, b| a.1.cmp(&b.1));
        let mut outcomes: Vec<&(i64, Attempt)> = outcomes.iter().collect();
        outcomes.sort_by_key(|(id, _)| *id);
        let _turn = self.queue_write_turn().await;
        let mut tx = self.pool.begin().await?;
        let mut with_early_receipts = Vec::new();
        for (outbox_id, provider_id) in provider_ids {
            let early: Option<Option<String>> = sqlx::query_scalar(
                "INSERT INTO sms_parts (provider_id, outbox_id) VALUES ($1, $2) \
                 ON CONFLICT (provider_id) DO UPDATE SET outbox_id = excluded.outbox_id \
                 RETURNING receipt",
            )
            .bind(provider_id)
            .bind(outbox_id)
            .fetch_optional(&mut *tx)
            .await?;
            if matches!(early, Some(Some(_))) {
                with_early_receipts.push(*outbox_id);
            }
        }
        for (id, outcome) in outcomes {
            finish(&mut tx, Queue::Texts, *id, outcome).await?;
        }
        with_early_receipts.sort_unstable();
        with_early_receipts.dedup();
        for outbox_id in with_early_receipts {
            settle(&mut tx, outbox_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes receipts of parts no text claimed since `before` (unix ms): parts of attempts
    /// that failed and were sent again, ids nobody recorded. Returns how many.
    pub async fn prune_unmatched_receipts(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sms_parts WHERE outbox_id IS NULL AND receipt_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// The receipt recorded for a text, if any.
    pub async fn text_receipt(&self, id: i64) -> Result<Option<TextReceipt>, StoreError> {
        let receipt: Option<Option<String>> =
            sqlx::query_scalar("SELECT receipt FROM sms_outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(receipt
            .flatten()
            .map(|r| text_as(&r, "receipt"))
            .transpose()?)
    }

    /// The texts to `number` (E.164), oldest first, with where each stands.
    pub async fn texts_to(&self, number: &str) -> Result<Vec<TextState>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, sent_at, failed_at, attempts, last_error, receipt \
             FROM sms_outbox WHERE to_number = $1 ORDER BY id",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TextState {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    sent: r.try_get::<Option<i64>, _>("sent_at")?.is_some(),
                    failed: r.try_get::<Option<i64>, _>("failed_at")?.is_some(),
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    receipt: parse_optional(r, "receipt")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The provider's ids of a text's parts, in the order they were recorded.
    pub async fn text_provider_ids(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT provider_id FROM sms_parts WHERE outbox_id = $1 ORDER BY provider_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Sets a text's receipt from its parts' receipts: failed when one part failed, delivered when
/// all did, unchanged while some are still out.
async fn settle(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    outbox_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    let receipts: Vec<Option<String>> =
        sqlx::query_scalar("SELECT receipt FROM sms_parts WHERE outbox_id = $1")
            .bind(outbox_id)
            .fetch_all(&mut **tx)
            .await?;
    let receipts = receipts
        .iter()
        .map(|r| r.as_deref().map(|r| text_as(r, "receipt")).transpose())
        .collect::<Result<Vec<Option<TextReceipt>>, _>>()?;
    let verdict = if receipts.contains(&Some(TextReceipt::Failed)) {
        TextReceipt::Failed
    } else if receipts.iter().all(|r| *r == Some(TextReceipt::Delivered)) {
        TextReceipt::Delivered
    } else {
        return Ok(());
    };
    sqlx::query("UPDATE sms_outbox SET receipt = $1, receipt_at = $2 WHERE id = $3")
        .bind(verdict.as_str())
        .bind(now)
        .bind(outbox_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
