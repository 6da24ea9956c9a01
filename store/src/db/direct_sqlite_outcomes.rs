//! The delivery outcome recorder's own SQLite connection, used on SQLite files instead of the
//! pool.
//!
//! Through sqlx a group of outcomes is three hand-offs to a connection's worker thread (BEGIN,
//! the update, COMMIT), and on two busy cores each waits to be scheduled. Measured with
//! ops/bench/fanout.sh, a delivery worker spent 14 ms of its 20 ms per copy waiting for its
//! outcome to be recorded. Here a group runs in one call on the blocking pool, as the
//! submission writer's groups do (`direct_sqlite_writer`).

use super::direct_sqlite_writer::open_connection;
use super::statement::Statement;
use crate::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// A connection opened on first use, kept for the next group.
#[derive(Debug)]
pub(crate) struct DirectSqliteOutcomes {
    path: Arc<Path>,
    conn: Mutex<Option<Connection>>,
}

impl DirectSqliteOutcomes {
    pub fn new(path: Arc<Path>) -> DirectSqliteOutcomes {
        DirectSqliteOutcomes {
            path,
            conn: Mutex::new(None),
        }
    }

    /// Runs `statements` in one transaction: all or none. Blocks; call it off the runtime.
    pub fn run(&self, statements: &[Statement]) -> Result<(), StoreError> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => slot.insert(open_connection(&self.path)?),
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for statement in statements {
            statement.execute_direct(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Runs `statements` on `direct` from async code, on tokio's blocking pool.
pub(crate) async fn run_off_runtime(
    direct: &Arc<DirectSqliteOutcomes>,
    statements: Vec<Statement>,
) -> Result<(), StoreError> {
    let direct = Arc::clone(direct);
    tokio::task::spawn_blocking(move || direct.run(&statements))
        .await
        .map_err(|e| StoreError::OutcomeWriter(e.to_string()))?
}
