//! Resolution on a SQLite file, read on a direct connection of its own instead of through the
//! pool.
//!
//! sqlx hands every row from its connection's worker thread to the runtime one at a time and
//! converts it to an `AnyRow` on the way: for the 400,000 members of `alle-mitglieder`, perf
//! showed locks, thread wake-ups and allocations ahead of SQLite itself, and the statement that
//! SQLite ran in 1.9 s took 4.5 s to reach the caller (ops/bench/directory.sh). Here the
//! statement runs on tokio's blocking pool and whole batches cross to the runtime.
//!
//! It is the query the pool would run, with the same values: the SQL is built once
//! (`resolve::build_query`), and a WAL reader sees the last committed state as the pool does.

use super::resolve::{BatchSender, Recipient, RESOLVE_BATCH};
use crate::db::direct_sqlite_reads::DirectSqliteReads;
use crate::db::statement::Statement;
use crate::StoreError;
use std::sync::Arc;

/// A streamed resolution that failed, and whether the caller had already received batches
/// (then it must see the error; before that, the pool can still answer in full).
pub(super) struct StreamFailure {
    pub sent_any: bool,
    pub error: StoreError,
}

/// One recipient from a row of the resolution query, whose columns are, in this order:
/// cursor, member_id, name, email, phone, preference.
fn recipient(row: &rusqlite::Row<'_>) -> rusqlite::Result<Recipient> {
    let preference: Option<String> = row.get(5)?;
    Ok(Recipient {
        cursor: row.get(0)?,
        member_id: row.get(1)?,
        name: row.get(2)?,
        email: row.get(3)?,
        phone: row.get(4)?,
        preference: preference
            .map(|p| {
                p.parse().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })
            .transpose()?,
    })
}

fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::DirectRead(e.to_string()))
}

/// Every row of a batch query (one with its own `LIMIT`), off the runtime.
pub(super) async fn batch(
    reads: &Arc<DirectSqliteReads>,
    statement: Statement,
    limit: usize,
) -> Result<Vec<Recipient>, StoreError> {
    let reads = Arc::clone(reads);
    let read = tokio::task::spawn_blocking(move || {
        reads.with(|conn| {
            let mut batch = Vec::with_capacity(limit.min(RESOLVE_BATCH));
            statement.query_direct(conn, |row| {
                batch.push(recipient(row)?);
                Ok(true)
            })?;
            Ok(batch)
        })
    });
    Ok(joined(read.await)??)
}

/// Streams every row of the query into `tx` in batches of [`RESOLVE_BATCH`], off the runtime;
/// stops early when the caller drops the stream.
pub(super) async fn stream(
    reads: &Arc<DirectSqliteReads>,
    statement: Statement,
    tx: &BatchSender,
) -> Result<(), StreamFailure> {
    let (reads, tx) = (Arc::clone(reads), tx.clone());
    let read = tokio::task::spawn_blocking(move || {
        let mut sent_any = false;
        let result = reads.with(|conn| {
            let mut batch = Vec::with_capacity(RESOLVE_BATCH);
            let mut open = true;
            statement.query_direct(conn, |row| {
                batch.push(recipient(row)?);
                if batch.len() == RESOLVE_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(RESOLVE_BATCH));
                    sent_any = true;
                    // A closed channel means the caller dropped the stream: stop reading.
                    open = tx.blocking_send(Ok(full)).is_ok();
                }
                Ok(open)
            })?;
            if open && !batch.is_empty() {
                sent_any = true;
                let _ = tx.blocking_send(Ok(batch));
            }
            Ok(())
        });
        result.map_err(|e| StreamFailure {
            sent_any,
            error: e.into(),
        })
    });
    joined(read.await).map_err(|error| StreamFailure {
        // A panic may have happened after a batch went out: the caller must hear of it.
        sent_any: true,
        error,
    })?
}
