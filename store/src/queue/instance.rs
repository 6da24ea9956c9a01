//! Each `serve` process has a name (`instance.name`, by default the host's), and every claim it
//! takes carries that name. Two things follow:
//!
//! - A process that starts again under its name takes back at once what its dead predecessor
//!   had claimed and not finished (copies, notifications and texts whose outcome was not
//!   recorded, and the expansion of a send), instead of leaving it until the lease runs out.
//!   With the default five-minute lease a `kill -9` and restart otherwise stalls the rest of a
//!   send for those minutes.
//! - Two live processes must never share a name, or one would take back the other's claims
//!   while it still works on them and copies would go out twice. On PostgreSQL the name is a
//!   session advisory lock held on a connection of its own for the life of the process: the
//!   database releases it when that connection ends, which happens when the process dies.
//!   SQLite serves one process per database file, so there is nothing to share.

use crate::{Backend, Store, StoreError};
use sha2::{Digest, Sha256};
use sqlx::Connection;

/// What a process took back from its predecessor under the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reclaimed {
    pub copies: u64,
    pub notifications: u64,
    pub texts: u64,
    pub expansions: u64,
}

impl Reclaimed {
    pub fn any(&self) -> bool {
        self.copies + self.notifications + self.texts + self.expansions > 0
    }
}

/// The name of this process, held for as long as this lives (PostgreSQL); dropping it ends the
/// connection and with it the lock.
pub struct InstanceLock {
    name: String,
    key: i64,
    connection: Option<sqlx::AnyConnection>,
}

impl std::fmt::Debug for InstanceLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceLock")
            .field("name", &self.name)
            .field("held", &self.connection.is_some())
            .finish()
    }
}

/// The advisory lock key of a name: the first eight bytes of its SHA-256, so every process
/// derives the same key without a table of names.
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("verteiler instance {name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("eight bytes"))
}

impl Store {
    /// This handle, its claims carrying `name`.
    pub fn as_instance(&self, name: &str) -> Store {
        Store {
            instance: std::sync::Arc::from(name),
            ..self.clone()
        }
    }

    /// The name this handle's claims carry (empty when none was given).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Takes this handle's instance name for the process: on PostgreSQL refuses
    /// ([`StoreError::InstanceTaken`]) while another live process holds it.
    pub async fn take_instance(&self) -> Result<InstanceLock, StoreError> {
        let mut lock = InstanceLock {
            name: self.instance.to_string(),
            key: lock_key(&self.instance),
            connection: None,
        };
        if self.backend == Backend::Postgres {
            lock.connection = Some(self.locked_connection(lock.key, &lock.name).await?);
        }
        Ok(lock)
    }

    /// A connection of its own (not returned to the pool) holding the advisory lock `key`.
    async fn locked_connection(
        &self,
        key: i64,
        name: &str,
    ) -> Result<sqlx::AnyConnection, StoreError> {
        let mut connection = self.pool.acquire().await?.detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut connection)
            .await?;
        if !taken {
            let _ = connection.close().await;
            return Err(StoreError::InstanceTaken(name.to_string()));
        }
        Ok(connection)
    }

    /// Releases at once every claim this instance's name holds whose outcome is not recorded:
    /// what a process killed under this name left. Call it after [`Store::take_instance`],
    /// before any worker claims, so only a dead predecessor's claims are touched.
    pub async fn reclaim_own_claims(&self) -> Result<Reclaimed, StoreError> {
        let name = self.instance.to_string();
        let mut tx = self.pool.begin().await?;
        let mut released = [0u64; 4];
        // A claim moved the row's next attempt to its lease's end (`lease.rs`); released, the
        // row is due at once again, in its place by age.
        for (n, sql) in [
            "UPDATE deliveries SET lease_until = NULL, next_attempt_at = created_at \
             WHERE state = 'queued' AND lease_until IS NOT NULL AND lease_holder = $1",
            "UPDATE notifications SET lease_until = NULL, next_attempt_at = created_at \
             WHERE sent_at IS NULL AND failed_at IS NULL AND lease_until IS NOT NULL \
             AND lease_holder = $1",
            "UPDATE sms_outbox SET lease_until = NULL, next_attempt_at = created_at \
             WHERE sent_at IS NULL AND failed_at IS NULL AND lease_until IS NOT NULL \
             AND lease_holder = $1",
            "UPDATE sends SET expansion_lease_until = NULL \
             WHERE expansion_lease_until IS NOT NULL AND expansion_holder = $1",
        ]
        .into_iter()
        .enumerate()
        {
            released[n] = sqlx::query(sql)
                .bind(&name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(Reclaimed {
            copies: released[0],
            notifications: released[1],
            texts: released[2],
            expansions: released[3],
        })
    }
}

impl InstanceLock {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that the lock is still held, and takes it again on a new connection when its
    /// connection was lost (the database restarted, say). `Err(InstanceTaken)` when another
    /// process took the name meanwhile: this process must stop claiming.
    pub async fn keep(&mut self, store: &Store) -> Result<(), StoreError> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(());
        };
        if connection.ping().await.is_ok() {
            return Ok(());
        }
        self.connection = None;
        self.connection = Some(store.locked_connection(self.key, &self.name).await?);
        Ok(())
    }
}
