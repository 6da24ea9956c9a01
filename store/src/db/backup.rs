//! `verteiler backup FILE`: a consistent copy of a SQLite database while `serve` runs.
//!
//! `VACUUM INTO` reads the database in one read transaction, so the copy is the state at one
//! instant — every submission committed before it began, none half-written — and writers go
//! on meanwhile (WAL). The copy is written beside the target under a temporary name, checked,
//! synced and only then put in place, so a crash or a full disk never leaves a file that looks
//! like a backup and is not one. PostgreSQL has its own tools for this (`pg_dump`).

use crate::{Backend, Store, StoreError};
use std::path::{Path, PathBuf};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    /// Submissions in the copy: what a restore finds.
    pub submissions: u64,
}

/// Why no backup was written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "this database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom \
         --file=FILE URL) and restore with pg_restore; see the README's section on backups"
    )]
    Postgres,
    #[error("this SQLite database lives in memory; there is no file to copy")]
    InMemory,
    #[error("{0} exists already; choose a new file name (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error("cannot write the backup {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the copy failed its integrity check ({0}); nothing was kept")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(e.into())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Copies the SQLite database to `target` (a new file).
    pub async fn backup_to(&self, target: &Path) -> Result<Backup, BackupError> {
        if self.backend == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if self.sqlite_file.is_none() {
            return Err(BackupError::InMemory);
        }
        if target.exists() {
            return Err(BackupError::Exists(target.to_path_buf()));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backup".into());
        let partial = target.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let _ = std::fs::remove_file(&partial);
        let result = self.copy_checked(&partial).await;
        let outcome = match result {
            Ok(submissions) => finish(&partial, target).map(|bytes| Backup {
                path: target.to_path_buf(),
                bytes,
                submissions,
            }),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        outcome
    }

    /// Writes the copy and checks it; the submissions it holds.
    async fn copy_checked(&self, partial: &Path) -> Result<u64, BackupError> {
        let text = partial.to_str().ok_or_else(|| BackupError::Io {
            path: partial.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(text)
            .execute(&self.pool)
            .await?;
        let partial = partial.to_path_buf();
        tokio::task::spawn_blocking(move || check_copy(&partial))
            .await
            .map_err(|e| BackupError::Damaged(e.to_string()))?
    }
}

/// Opens the copy on its own: integrity, and what it holds.
fn check_copy(path: &Path) -> Result<u64, BackupError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let copy = rusqlite::Connection::open_with_flags(path, flags).map_err(StoreError::from)?;
    let verdict: String = copy
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(StoreError::from)?;
    if verdict != "ok" {
        return Err(BackupError::Damaged(verdict));
    }
    let submissions: i64 = copy
        .query_row("SELECT COUNT(*) FROM submissions", [], |row| row.get(0))
        .map_err(StoreError::from)?;
    Ok(submissions.max(0) as u64)
}

/// Syncs the copy, puts it in place, syncs the directory; its size.
fn finish(partial: &Path, target: &Path) -> Result<u64, BackupError> {
    let file = std::fs::File::open(partial).map_err(io(partial))?;
    file.sync_all().map_err(io(partial))?;
    let bytes = file.metadata().map_err(io(partial))?.len();
    // A link, not a rename: it fails rather than replace a file that appeared meanwhile.
    std::fs::hard_link(partial, target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(target.to_path_buf()),
        _ => io(target)(e),
    })?;
    std::fs::remove_file(partial).map_err(io(partial))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(bytes)
}
