//! Opening the database named by a URL, migrating it, and telling whether it is ready.

pub(crate) mod backup;
pub(crate) mod direct_sqlite_outcomes;
pub(crate) mod direct_sqlite_reads;
pub(crate) mod direct_sqlite_writer;
pub(crate) mod sql;
pub(crate) mod statement;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a URL selected. Queries differ per backend only where dialects do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Errors callers can act on; everything else is a database error with its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0}: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the submission writer has stopped (the server is shutting down)")]
    WriterStopped,
    #[error("recording delivery outcomes failed: {0}")]
    OutcomeWriter(String),
    #[error("a read on the SQLite file's own connection stopped: {0}")]
    DirectRead(String),
    #[error(transparent)]
    PrivacyKey(#[from] crate::PrivacyKeyError),
    #[error(
        "another verteiler process runs as instance {0:?} on this database: give each process \
         its own instance.name"
    )]
    InstanceTaken(String),
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Reachable, but these migrations are not applied (or unknown ones are).
    MigrationsPending(Vec<i64>),
    Unreachable(String),
}

/// A handle to the database; cheap to clone (it is a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// Where queue claims (leases) are written. On a SQLite file, its own two connections with
    /// `synchronous = NORMAL`: a claim's commit does not wait for fsync. A claim lost in a
    /// crash is a lease that never happened; the row is due as it was, and a restart releases
    /// its own claims anyway (`reclaim_own_claims`). Outcomes, which must survive (a copy
    /// recorded as sent is never sent again), go through `pool` with `synchronous = FULL`, and
    /// their fsync of the WAL makes every earlier claim durable with them. Measured with
    /// ops/bench/fanout.sh: a claim's fsync held SQLite's one write lock for about a
    /// millisecond, 230 times a second. Elsewhere the same pool as `pool`.
    pub(crate) lease_pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) facts: std::sync::Arc<crate::intake::fact_cache::FactCache>,
    /// Who the changes made through this handle are audited as (`system` unless
    /// [`Store::acting_as`] names somebody).
    pub(crate) actor: std::sync::Arc<str>,
    /// The SQLite database's file, for the submission writer's own connection (`None` on
    /// PostgreSQL and for in-memory databases).
    pub(crate) sqlite_file: Option<std::sync::Arc<std::path::Path>>,
    /// Connections for the reads every submission makes, beside the pool (SQLite files only;
    /// see [`crate::db::direct_sqlite_reads`]).
    pub(crate) direct_sqlite_reads:
        Option<std::sync::Arc<crate::db::direct_sqlite_reads::DirectSqliteReads>>,
    /// The delivery outcome recorder's own connection (SQLite files only; see
    /// [`crate::db::direct_sqlite_outcomes`]).
    pub(crate) direct_outcomes:
        Option<std::sync::Arc<crate::db::direct_sqlite_outcomes::DirectSqliteOutcomes>>,
    /// How many verification texts and mails members may have sent (see
    /// [`Store::with_verification_limits`]).
    pub(crate) verification_limits:
        std::sync::Arc<crate::access::verification_limits::VerificationLimits>,
    /// argon2 checks run for app-password logins, shared by every clone of this handle:
    /// what a login attempt costs, observable without timing it.
    pub(crate) password_checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The key of the audit log's hashes of contact values (see [`crate::privacy::key`]). A
    /// handle starts with a random one, so nothing readable is ever written without it;
    /// [`Store::with_privacy_key`] sets the installation's.
    pub(crate) privacy: crate::PrivacyKey,
    /// The name this process's claims carry (`instance.name`; see [`crate::queue::instance`]).
    pub(crate) instance: std::sync::Arc<str>,
    /// On SQLite, this process's queue writers (claims, outcomes, expansion) take turns here
    /// (see [`Store::queue_write_turn`]).
    pub(crate) queue_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens the database a URL names: `sqlite://PATH` (file and directory created if missing,
    /// WAL mode) or `postgres://…`. Does not migrate; see [`Store::migrate`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let (connect_url, sqlite_file) = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => (url.to_string(), None),
        };
        let options = AnyConnectOptions::from_str(&connect_url)
            .map_err(|source| StoreError::Connect {
                url: redact_url(url),
                source,
            })?
            // Streaming a whole audience takes seconds by design; warn only about statements
            // that are slow for anything.
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(30));
        let pool = open_pool(&options, max_connections, backend, "FULL")
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(url),
                source,
            })?;
        // Claims are committed without waiting for the disk (see `Store::lease_pool`).
        let lease_pool = match &sqlite_file {
            Some(_) => open_pool(&options, 2, backend, "NORMAL")
                .await
                .map_err(|source| StoreError::Connect {
                    url: redact_url(url),
                    source,
                })?,
            None => pool.clone(),
        };
        Ok(Store {
            pool,
            lease_pool,
            backend,
            facts: std::sync::Arc::new(crate::intake::fact_cache::FactCache::new(
                crate::intake::fact_cache::FACT_CACHE_TTL,
            )),
            actor: std::sync::Arc::from("system"),
            direct_outcomes: sqlite_file.clone().map(|path| {
                std::sync::Arc::new(
                    crate::db::direct_sqlite_outcomes::DirectSqliteOutcomes::new(path),
                )
            }),
            direct_sqlite_reads: sqlite_file.clone().map(|path| {
                std::sync::Arc::new(crate::db::direct_sqlite_reads::DirectSqliteReads::new(path))
            }),
            sqlite_file,
            verification_limits: std::sync::Arc::default(),
            password_checks: std::sync::Arc::default(),
            privacy: crate::PrivacyKey::random(),
            instance: std::sync::Arc::from(""),
            queue_gate: std::sync::Arc::default(),
        })
    }

    /// On SQLite, waits for this process's other queue writers to finish their statement or
    /// transaction, and holds them off until the guard is dropped; on PostgreSQL, nothing.
    ///
    /// SQLite has one writer. Without the turn, 64 delivery workers claiming, the outcome
    /// recorder, expansion and the SMS loop met at SQLite's write lock, and its busy handler
    /// sleeps 1, 2, 5, 10 … ms between tries: a claim of a few hundred microseconds took 16 ms
    /// on average and the cores idled (ops/bench/fanout.sh under perf). Waiting on a tokio
    /// mutex wakes the next writer the moment the lock is free. Other processes and the
    /// submission writer still meet at the busy handler, rarely.
    pub(crate) async fn queue_write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.queue_gate.lock().await),
            Backend::Postgres => None,
        }
    }

    /// The same database, hashing contact values for the audit log with `key` (the
    /// installation's, from its key file).
    pub fn with_privacy_key(&self, key: crate::PrivacyKey) -> Store {
        Store {
            privacy: key,
            ..self.clone()
        }
    }

    /// The audit log's hash of a contact value (an address, a number, a postal address; see
    /// [`crate::PrivacyKey::contact_hash`]): what to search the log for.
    pub fn contact_hash(&self, value: &str, region: &str) -> String {
        self.privacy.contact_hash(value, region)
    }

    /// The same database, with changes audited as made by `actor` (`cli:USER`,
    /// `portal:member:ID`): the audit log says who changed a unit, a role or an audience. An
    /// actor given as an address or a number is recorded as its keyed hash, never as is: set
    /// the installation's key ([`Store::with_privacy_key`]) first.
    pub fn acting_as(&self, actor: impl Into<String>) -> Store {
        Store {
            actor: std::sync::Arc::from(self.privacy.actor_text(&actor.into())),
            ..self.clone()
        }
    }

    /// Opens and migrates: what `serve` and every command do at start.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let store = Store::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Forgets every cached fact: called by each operation that changes what a decision reads.
    pub(crate) fn facts_changed(&self) {
        self.facts.generation.bump();
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.lease_pool.close().await;
    }

    /// Reachable and every migration this build knows applied: nothing less is "ready".
    pub async fn readiness(&self) -> Readiness {
        let applied: Result<Vec<i64>, sqlx::Error> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await;
        let applied: BTreeSet<i64> = match applied {
            Ok(v) => v.into_iter().collect(),
            Err(e) if is_missing_table(&e) => BTreeSet::new(),
            Err(e) => return Readiness::Unreachable(e.to_string()),
        };
        let known: BTreeSet<i64> = self.backend.migrator().iter().map(|m| m.version).collect();
        let mismatch: Vec<i64> = known.symmetric_difference(&applied).copied().collect();
        if mismatch.is_empty() {
            Readiness::Ready
        } else {
            Readiness::MigrationsPending(mismatch)
        }
    }
}

fn is_missing_table(e: &sqlx::Error) -> bool {
    let text = e.to_string();
    text.contains("no such table") || text.contains("does not exist")
}

/// Creates the directory of a SQLite file and asks sqlx to create the file itself; returns the
/// URL for sqlx and the file (unless the database lives in memory).
/// A pool on `options`; on SQLite each connection in WAL mode with the given `synchronous`.
async fn open_pool(
    options: &AnyConnectOptions,
    max_connections: u32,
    backend: Backend,
    synchronous: &'static str,
) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        // A SQLite connection is a file handle in this process: the ping sqlx sends before
        // handing one out is a round trip to its worker thread for nothing. A PostgreSQL
        // connection may have been closed by the server and is tested.
        .test_before_acquire(backend == Backend::Postgres)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers (audience resolution) run beside the writer; the busy
                    // timeout turns writer contention into waiting instead of an error;
                    // synchronous=FULL makes a commit durable before we answer 250.
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
                        )
                        .as_str(),
                    )
                    .await?;
                } else {
                    // Resolution's correlated look-ups have cost estimates in the millions,
                    // which switches on JIT compilation: ~90 ms per statement for a query that
                    // runs in 20 ms (EXPLAIN ANALYZE of an expansion batch). No statement here
                    // runs long enough to repay it.
                    conn.execute("SET jit = off").await?;
                }
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await
}

fn prepare_sqlite_url(url: &str) -> Result<(String, Option<std::sync::Arc<Path>>), StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        // sqlite without a file would be a separate empty in-memory database per connection.
        return Err(StoreError::UnsupportedUrl(format!(
            "{url} (it names no file)"
        )));
    }
    if path != ":memory:" && !path.is_empty() {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    let mut url = format!("sqlite://{path}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else if query.contains("mode=") {
        url = format!("{url}?{query}");
    } else {
        url = format!("{url}?{query}&mode=rwc");
    }
    let in_memory = path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    let file = (!in_memory).then(|| std::sync::Arc::from(Path::new(path)));
    Ok((url, file))
}

/// A URL fit for logs and error messages: any password is replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_selects_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite://./data/v.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/v"),
            "postgres://app:***@db:5432/v"
        );
        assert_eq!(redact_url("postgres://app@db/v"), "postgres://app@db/v");
    }

    #[test]
    fn sqlite_urls_create_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/v.db");
        let (url, file) = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"), "{url}");
        assert_eq!(file.as_deref(), Some(path.as_path()));
        assert_eq!(prepare_sqlite_url("sqlite://:memory:").unwrap().1, None);
        assert!(path.parent().unwrap().is_dir());
        assert!(
            prepare_sqlite_url("sqlite://").is_err(),
            "a URL without a file is refused"
        );
    }
}
