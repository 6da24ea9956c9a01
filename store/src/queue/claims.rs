//! What a worker gets when it claims work: a delivery, a notification or a text, each with its
//! attempt count, read from the row the lease was taken on (`Store::claim` in `lease.rs`).

use super::lease::Queue;
use crate::{Store, StoreError};
use sqlx::Row;

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

impl Store {
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
        each(&rows, |r| {
            Ok(ClaimedDelivery {
                id: r.try_get("id")?,
                send_id: r.try_get("send_id")?,
                address: r.try_get("address")?,
                token: r.try_get("token")?,
                attempts: attempts(r)?,
                created_at: r.try_get("created_at")?,
            })
        })
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
        each(&rows, |r| {
            Ok(ClaimedNotification {
                id: r.try_get("id")?,
                to_address: r.try_get("to_address")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                attempts: attempts(r)?,
                created_at: r.try_get("created_at")?,
            })
        })
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
        each(&rows, |r| {
            Ok(ClaimedText {
                id: r.try_get("id")?,
                to_number: r.try_get("to_number")?,
                kind: r.try_get("kind")?,
                body: r.try_get("body")?,
                send_id: r.try_get("send_id")?,
                attempts: attempts(r)?,
                created_at: r.try_get("created_at")?,
            })
        })
    }
}

/// Every claimed row as `T`; one row that does not read fails the claim (its lease runs out).
fn each<T>(
    rows: &[sqlx::any::AnyRow],
    read: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(read)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// The attempts so far, as stored (an integer column; never negative).
fn attempts(row: &sqlx::any::AnyRow) -> Result<u32, sqlx::Error> {
    Ok(row.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32)
}
