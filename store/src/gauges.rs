//! The figures a metrics scrape reads: where the queue, the approvals, the SMS spending, the
//! circuit breaker and the kill switch stand right now. Read at scrape time, so every query
//! here touches only what is waiting (indexed by state) or one row, never the whole history:
//! a scrape every few seconds must not cost what a report may.

use crate::clock::HOUR_MS;
use crate::{now_ms, Store, StoreError};
use sqlx::Row;

/// What the store holds now, for the gauges of `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Queued copies not claimed and not failed yet (a copy whose worker died counts here
    /// again once its lease ran out).
    pub copies_due: u64,
    /// Queued copies that failed temporarily, waiting for their next attempt (deferred: the
    /// same count as `send show`'s).
    pub copies_deferred: u64,
    /// Queued copies a worker has claimed (its lease runs).
    pub copies_in_flight: u64,
    /// Age of the oldest queued copy in milliseconds; 0 when none waits.
    pub oldest_copy_age_ms: i64,
    /// Sends released and waiting for their undo window (`scheduled`) and being expanded or
    /// delivered (`sending`).
    pub sends_scheduled: u64,
    pub sends_sending: u64,
    /// Held sends (waiting for approvals or an admin).
    pub sends_held: u64,
    /// Age of the oldest held send in milliseconds; 0 when none is held.
    pub oldest_held_age_ms: i64,
    /// Held sends with the circuit breaker among their reasons (an admin must release them).
    pub breaker_holds: u64,
    /// Recipients of the organisation's sends in the current and the previous hour: what the
    /// circuit breaker compares with its limit.
    pub recipients_last_hour: u64,
    /// SMS parts the units' sends produced this calendar month (UTC).
    pub sms_parts_this_month: u64,
    /// Texts in the SMS outbox not handed to the provider yet.
    pub texts_waiting: u64,
    /// The kill switch: all delivery paused.
    pub delivery_paused: bool,
    /// The connection pool: open connections and the idle ones among them.
    pub pool_size: u32,
    pub pool_idle: u32,
}

/// One statement for every count, so a scrape is one round trip. $1 now, $2 the first hour of
/// "the last hour" (as the breaker counts it), $3 the month.
const GAUGES: &str = "SELECT \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE state = 'queued' \
      AND last_error IS NULL AND (lease_until IS NULL OR lease_until <= $1)) AS copies_due, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE state = 'queued' \
      AND last_error IS NOT NULL AND (lease_until IS NULL OR lease_until <= $1)) \
      AS copies_deferred, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE state = 'queued' \
      AND lease_until > $1) AS copies_in_flight, \
   (SELECT MIN(created_at) FROM deliveries WHERE state = 'queued') AS oldest_copy, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM sends WHERE state = 'scheduled') AS scheduled, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM sends WHERE state = 'sending') AS sending, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM sends WHERE state = 'held') AS held, \
   (SELECT MIN(created_at) FROM sends WHERE state = 'held') AS oldest_held, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM sends WHERE state = 'held' \
      AND reasons LIKE '%org.circuit_breaker%') AS breaker_holds, \
   (SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) FROM org_volume_hourly \
      WHERE hour >= $2) AS recipients_last_hour, \
   (SELECT CAST(COALESCE(SUM(segments), 0) AS BIGINT) FROM unit_sms_monthly \
      WHERE month = $3) AS sms_parts, \
   (SELECT CAST(COUNT(*) AS BIGINT) FROM sms_outbox WHERE sent_at IS NULL \
      AND failed_at IS NULL) AS texts_waiting, \
   (SELECT paused FROM delivery_control WHERE id = 1) AS paused";

impl Store {
    /// The figures of [`Gauges`], read now.
    pub async fn gauges(&self) -> Result<Gauges, StoreError> {
        let now = now_ms();
        let row = sqlx::query(GAUGES)
            .bind(now)
            .bind(now / HOUR_MS - 1)
            .bind(crate::clock::month_of(now))
            .fetch_one(&self.pool)
            .await?;
        let count = |column: &str| -> Result<u64, sqlx::Error> {
            Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
        };
        let age = |column: &str| -> Result<i64, sqlx::Error> {
            Ok(row
                .try_get::<Option<i64>, _>(column)?
                .map_or(0, |since| (now - since).max(0)))
        };
        let paused = row
            .try_get::<Option<i64>, _>("paused")
            .map(|p| p.is_some_and(|p| p != 0))
            .or_else(|_| {
                row.try_get::<Option<bool>, _>("paused")
                    .map(|p| p == Some(true))
            })?;
        Ok(Gauges {
            copies_due: count("copies_due")?,
            copies_deferred: count("copies_deferred")?,
            copies_in_flight: count("copies_in_flight")?,
            oldest_copy_age_ms: age("oldest_copy")?,
            sends_scheduled: count("scheduled")?,
            sends_sending: count("sending")?,
            sends_held: count("held")?,
            oldest_held_age_ms: age("oldest_held")?,
            breaker_holds: count("breaker_holds")?,
            recipients_last_hour: count("recipients_last_hour")?,
            sms_parts_this_month: count("sms_parts")?,
            texts_waiting: count("texts_waiting")?,
            delivery_paused: paused,
            pool_size: self.pool.size(),
            pool_idle: self.pool.num_idle() as u32,
        })
    }
}
