//! Reads that every submission makes, on SQLite run on the calling thread with connections of
//! their own instead of through the pool.
//!
//! sqlx runs each SQLite statement on its connection's worker thread: a hand-off there and
//! back for every statement. The one read each submission makes (the sender's standing) takes
//! ~16 µs in SQLite itself (median, measured with `RUST_LOG=sqlx::query=debug` under
//! ops/bench/ingress.sh), while the hand-offs kept a third core's worth of threads waking on
//! two cores: the pool's worker threads were a fifth of the server's CPU samples. A WAL reader
//! never waits for the writer, so the statement is shorter than the hand-off it replaces.
//!
//! The connections see exactly what the pool's connections see: the last committed state of
//! the same file. Any error falls back to the pool (see the callers), so this path can never
//! answer with less than the pool would.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connections kept for reuse: as many as threads read at once (tokio's workers).
const MAX_IDLE: usize = 8;
/// A reader only waits while SQLite rebuilds the WAL index after a crash; longer than this,
/// the caller falls back to the pool rather than hold a tokio worker.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Distinct statements a connection keeps prepared.
const PREPARED: usize = 16;

#[derive(Debug)]
pub(crate) struct DirectSqliteReads {
    path: Arc<Path>,
    idle: Mutex<Vec<Connection>>,
}

impl DirectSqliteReads {
    pub(crate) fn new(path: Arc<Path>) -> DirectSqliteReads {
        DirectSqliteReads {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = read(&conn);
        // A connection whose read failed is dropped: whatever went wrong stays with it.
        if result.is_ok() {
            if let Ok(mut idle) = self.idle.lock() {
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
            }
        }
        result
    }
}

/// A connection that can only read, to a database file that must already exist.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(PREPARED);
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_committed_rows_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path: Arc<Path> = Arc::from(dir.path().join("r.db").as_path());
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER);")
            .unwrap();
        let reads = DirectSqliteReads::new(path.clone());
        let count = |reads: &DirectSqliteReads| {
            reads.with(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)))
        };
        assert_eq!(count(&reads).unwrap(), 0);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        // The same (reused) connection sees the new commit.
        assert_eq!(count(&reads).unwrap(), 1);
        assert_eq!(reads.idle.lock().unwrap().len(), 1);
        let write = reads.with(|c| c.execute("INSERT INTO t VALUES (2)", []));
        assert!(write.is_err(), "a reader must not write");
        assert_eq!(count(&reads).unwrap(), 1);
    }

    #[test]
    fn a_missing_database_file_is_an_error_not_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path: Arc<Path> = Arc::from(dir.path().join("missing.db").as_path());
        let reads = DirectSqliteReads::new(path.clone());
        assert!(reads
            .with(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .is_err());
        assert!(!path.exists());
    }
}
