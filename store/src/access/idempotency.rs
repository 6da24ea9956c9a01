//! `Idempotency-Key` for API requests that store something: the first request with a key
//! claims it before any work is done, a retry gets the first answer, and the key can never
//! stand for two different requests or two stored submissions.

use crate::{now_ms, Store, StoreError};

/// Longest key taken (a UUID is 36 characters).
pub const IDEMPOTENCY_KEY_MAX: usize = 255;
/// How long a key is remembered: a retry a day later is a new request.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// What the claim of a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// The key is new and now claimed: do the work, then [`Store::finish_idempotent`].
    Claimed,
    /// A request with this key was answered: the status and body to answer again.
    Answered { status: u16, body: String },
    /// A request with this key is still being worked on.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for this token and request (`request_sha256`: a digest of what was sent),
    /// or says what an earlier request with the key became.
    pub async fn claim_idempotent(
        &self,
        token_id: i64,
        key: &str,
        request_sha256: &str,
    ) -> Result<IdempotencyStart, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1")
            .bind(now - IDEMPOTENCY_TTL_MS)
            .execute(&mut *tx)
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO api_idempotency (token_id, idem_key, request_sha256, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (token_id, idem_key) DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(request_sha256)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let start = if claimed {
            IdempotencyStart::Claimed
        } else {
            let (hash, status, body): (String, Option<i32>, Option<String>) = sqlx::query_as(
                "SELECT request_sha256, status, response FROM api_idempotency \
                 WHERE token_id = $1 AND idem_key = $2",
            )
            .bind(token_id)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            match (hash == request_sha256, status, body) {
                (false, _, _) => IdempotencyStart::Mismatch,
                (true, Some(status), Some(body)) => IdempotencyStart::Answered {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                },
                (true, _, _) => IdempotencyStart::InProgress,
            }
        };
        tx.commit().await?;
        Ok(start)
    }

    /// Keeps the answer to a claimed key for its retries.
    pub async fn finish_idempotent(
        &self,
        token_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_idempotency SET status = $1, response = $2 \
             WHERE token_id = $3 AND idem_key = $4",
        )
        .bind(i32::from(status))
        .bind(body)
        .bind(token_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up a claimed key whose request failed before anything was stored, so a retry
    /// may do the work.
    pub async fn release_idempotent(&self, token_id: i64, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM api_idempotency WHERE token_id = $1 AND idem_key = $2 AND status IS NULL",
        )
        .bind(token_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
