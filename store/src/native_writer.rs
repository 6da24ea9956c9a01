//! The submission writer's own SQLite connection, used on SQLite instead of the pool.
//!
//! sqlx runs every SQLite statement on a worker thread of its connection, so each statement is
//! a hand-off to that thread and back. A group commit is about ten statements, and on two busy
//! cores every hand-off waits to be scheduled: measured, the hand-offs cost more than the
//! commit's fsync. Here a whole group runs in one call on the writer's own thread, from the
//! same statements the sqlx path runs ([`crate::submissions::group_statements`]).

use crate::audit::LOCKED_HEAD_SQL;
use crate::submissions::{group_statements, SQLITE_LAST_SUBMISSION_ID};
use crate::{now_ms, Backend, StoreError, StoredSubmission, SubmissionRecord};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

pub(crate) struct NativeWriter {
    conn: Connection,
}

impl NativeWriter {
    /// Opens the database file the pool uses, with the same settings as the pool's connections.
    pub fn open(path: &Path) -> Result<NativeWriter, rusqlite::Error> {
        let conn = Connection::open(path)?;
        // The same durability as the pool: a commit is on disk before the 250.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, not WAL"
            )));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Multi-row inserts differ by row count: keep the common group sizes prepared.
        conn.set_prepared_statement_cache_capacity(256);
        Ok(NativeWriter { conn })
    }

    /// Stores a group in one transaction: all or none, exactly like
    /// [`crate::Store::record_submissions`].
    pub fn record(
        &mut self,
        records: &[&SubmissionRecord],
    ) -> Result<Vec<StoredSubmission>, StoreError> {
        let now = now_ms();
        // IMMEDIATE takes the write lock up front (waiting in the busy handler), so the ids
        // read next are not taken by another writer before this commits.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head: (i64, String) =
            tx.query_row(LOCKED_HEAD_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let last: i64 = tx.query_row(SQLITE_LAST_SUBMISSION_ID, [], |r| r.get(0))?;
        let ids: Vec<i64> = (1..=records.len() as i64).map(|k| last + k).collect();
        for statement in group_statements(Backend::Sqlite, records, &ids, head, now) {
            statement.execute_native(&tx)?;
        }
        tx.commit()?;
        Ok(ids.into_iter().map(|id| StoredSubmission { id }).collect())
    }
}
