//! The submission writer's own SQLite connection, used on SQLite instead of the pool.
//!
//! sqlx runs every SQLite statement on a worker thread of its connection, so each statement is
//! a hand-off to that thread and back. A group commit is about ten statements, and on two busy
//! cores every hand-off waits to be scheduled: measured, the hand-offs cost more than the
//! commit's fsync. Here a whole group runs in one call on the writer's own thread, from the
//! same statements the sqlx path runs ([`crate::intake::submissions::group_statements`]).

use crate::audit::log::LOCKED_HEAD_SQL;
use crate::intake::submissions::{group_statements, SQLITE_LAST_SUBMISSION_ID};
use crate::{now_ms, Backend, StoreError, StoredSubmission, SubmissionRecord};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

/// Tries of [`wait_for_write_lock`] at the short pause (10 ms in all), then at the long one.
const SHORT_TRIES: i32 = 200;
/// Tries in all: about 10 s, as long as the pool's connections wait.
const ALL_TRIES: i32 = SHORT_TRIES + 5_000;

/// Waits for the write lock while another connection of the pool holds it (the notice and
/// delivery loops record their claims and outcomes through the pool). SQLite's own busy
/// handler sleeps 1, 2, 5, 10 … ms between tries; those loops hold the lock for well under a
/// millisecond, so every such meeting cost the group commit, and with it every waiting SMTP
/// session, a millisecond or more (measured with ops/bench/ingress.sh: a group's average wait
/// for the lock went from 80–120 µs to 30–65 µs). Returns false to give up (SQLITE_BUSY, a
/// temporary failure the client retries).
fn wait_for_write_lock(tries: i32) -> bool {
    let pause = if tries < SHORT_TRIES {
        Duration::from_micros(50)
    } else {
        Duration::from_millis(2)
    };
    if tries >= ALL_TRIES {
        return false;
    }
    std::thread::sleep(pause);
    true
}

pub(crate) struct DirectSqliteWriter {
    conn: Connection,
    /// Tells the checkpointer that a commit grew the WAL; None when it could not start (then
    /// the writer checkpoints itself, as SQLite does by default).
    checkpoints: Option<SyncSender<()>>,
    /// The key of the audit entries' hashes, as the store handle that started the writer.
    privacy: crate::PrivacyKey,
}

/// WAL pages after which the writer checkpoints itself all the same: the checkpointer keeps
/// the WAL far below this, so only a stalled one lets it grow to ~40 MB.
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 10_000;
/// How long the checkpointer lets commits gather before copying them into the database file:
/// a page changed by many commits is then written once.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(50);

/// Copies committed WAL frames into the database file on a thread of its own. With SQLite's
/// default, the commit that crosses 1,000 WAL pages does this itself, and every SMTP session
/// waiting for that group commit waits for the copy too (ops/bench/ingress.sh, 20,000
/// submissions: the writer was busy 8.2–9.4 s with it, 6.1–8.2 s without). A PASSIVE
/// checkpoint never blocks the writer; durability is unchanged, since each commit is synced
/// to the WAL before it is answered.
fn start_checkpointer(path: &Path) -> Option<SyncSender<()>> {
    let conn = match open_connection(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(event = "store.checkpointer_unavailable", error = %e);
            return None;
        }
    };
    let (commits, committed) = std::sync::mpsc::sync_channel::<()>(1);
    let spawned = std::thread::Builder::new()
        .name("wal-checkpointer".into())
        .spawn(move || {
            // Ends when the writer, and with it the sender, is gone.
            while committed.recv().is_ok() {
                std::thread::sleep(CHECKPOINT_PAUSE);
                while committed.try_recv().is_ok() {}
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(event = "store.checkpoint_failed", error = %e);
                }
            }
        });
    match spawned {
        Ok(_) => Some(commits),
        Err(e) => {
            tracing::warn!(event = "store.checkpointer_unavailable", error = %e);
            None
        }
    }
}

/// A connection to the pool's database file with the pool's settings.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    // The same durability as the pool: a commit is on disk before the 250.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, not WAL"
        )));
    }
    // A group's multi-row inserts keep a statement journal; past 64 KiB SQLite spills it into
    // a temporary file it creates and deletes again (seen with strace under
    // ops/bench/ingress.sh: a file every few groups). It never needs to survive a crash.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    conn.busy_handler(Some(wait_for_write_lock))?;
    Ok(conn)
}

impl DirectSqliteWriter {
    /// Opens the database file the pool uses, with the same settings as the pool's connections.
    pub fn open(
        path: &Path,
        privacy: crate::PrivacyKey,
    ) -> Result<DirectSqliteWriter, rusqlite::Error> {
        let conn = open_connection(path)?;
        // Multi-row inserts differ by row count: keep the common group sizes prepared.
        conn.set_prepared_statement_cache_capacity(256);
        let checkpoints = start_checkpointer(path);
        if checkpoints.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
        }
        Ok(DirectSqliteWriter {
            conn,
            checkpoints,
            privacy,
        })
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
        let started = std::time::Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let locked = started.elapsed();
        let head: (i64, String) =
            tx.query_row(LOCKED_HEAD_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let last: i64 = tx.query_row(SQLITE_LAST_SUBMISSION_ID, [], |r| r.get(0))?;
        let ids: Vec<i64> = (1..=records.len() as i64).map(|k| last + k).collect();
        let statements = group_statements(Backend::Sqlite, records, &ids, head, &self.privacy, now);
        for statement in statements {
            statement.execute_direct(&tx)?;
        }
        let written = started.elapsed();
        tx.commit()?;
        // Where a group's time goes: waiting for the write lock, the statements, the commit
        // (the WAL's sync). RUST_LOG=verteiler_store=debug; ops/bench/ingress.sh reads it.
        tracing::debug!(
            event = "store.group_phases",
            lock_micros = locked.as_micros() as u64,
            statements_micros = (written - locked).as_micros() as u64,
            commit_micros = (started.elapsed() - written).as_micros() as u64
        );
        if let Some(checkpoints) = &self.checkpoints {
            // Full means a checkpoint is already due; it will see this commit's frames too.
            let _ = checkpoints.try_send(());
        }
        Ok(ids.into_iter().map(|id| StoredSubmission { id }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Rows in the database file alone, as a copy without its WAL would show them.
    fn rows_in_file(dir: &Path, path: &Path, copy: &str) -> i64 {
        let copy = dir.join(copy);
        std::fs::copy(path, &copy).unwrap();
        Connection::open(&copy)
            .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap_or(0)
    }

    #[test]
    fn the_writer_keeps_its_statement_journals_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("t.db")).unwrap();
        let temp_store: i64 = conn
            .query_row("PRAGMA temp_store", [], |r| r.get(0))
            .unwrap();
        assert_eq!(temp_store, 2, "temp_store = MEMORY");
    }

    #[test]
    fn the_checkpointer_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = open_connection(&path).unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (v TEXT)").unwrap();
        let checkpoints = start_checkpointer(&path).expect("the checkpointer starts");
        for i in 0..50 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [i.to_string()])
                .unwrap();
        }
        // Committed, but only in the WAL until someone checkpoints.
        assert_eq!(rows_in_file(dir.path(), &path, "before.db"), 0);
        checkpoints.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut copies = 0;
        loop {
            copies += 1;
            if rows_in_file(dir.path(), &path, &format!("after{copies}.db")) == 50 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the commits never reached the database file"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The writer's connection still reads and writes as before.
        writer.execute("INSERT INTO t VALUES ('51')", []).unwrap();
        let n: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 51);
    }
}
