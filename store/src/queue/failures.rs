//! Why copies of a send failed, grouped by reason: what `verteiler send show` prints, so an
//! operator sees at a glance that, say, a domain's MX points into a private network, without
//! reading the log.

use crate::{Store, StoreError};

/// Reasons shown per send; the rest are counted under the last ones shown.
const REASONS_SHOWN: i64 = 20;

impl Store {
    /// The recorded reasons of the send's failed copies with how many copies each, the most
    /// frequent first.
    pub async fn failure_reasons(&self, send_id: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT last_error, CAST(COUNT(*) AS BIGINT) AS copies FROM deliveries \
             WHERE send_id = $1 AND state = 'failed' GROUP BY last_error \
             ORDER BY copies DESC, last_error LIMIT $2",
        )
        .bind(send_id)
        .bind(REASONS_SHOWN)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(reason, copies)| {
                (
                    reason.unwrap_or_else(|| "no reason recorded".into()),
                    copies.max(0) as u64,
                )
            })
            .collect())
    }
}
