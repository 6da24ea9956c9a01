//! The instance name of a `serve` process (`instance.name`): taken before any listener or
//! worker starts, the claims a killed predecessor under the same name left taken back at once,
//! and held for the life of the process (see `verteiler_store::queue::instance`).

use crate::config::Config;
use anyhow::Context;
use std::time::Duration;
use verteiler_store::{InstanceLock, Store, StoreError};

/// How often the hold on the name is checked (and taken again after a lost connection).
const KEEP_EVERY: Duration = Duration::from_secs(5);
/// How long a start waits for a name another process holds.
const TAKE_WAIT: Duration = Duration::from_secs(10);

/// The store acting under this process's instance name, and the hold on the name. Refuses to
/// start while another live process holds the name (PostgreSQL).
pub(super) async fn take(store: &Store, config: &Config) -> anyhow::Result<(Store, InstanceLock)> {
    let name = config.instance.name();
    let store = store.as_instance(&name);
    let lock = take_waiting(&store)
        .await
        .with_context(|| format!("taking the instance name {name:?} (instance.name)"))?;
    let reclaimed = store
        .reclaim_own_claims()
        .await
        .context("taking back what this instance's predecessor had claimed")?;
    if reclaimed.any() {
        tracing::warn!(
            event = "instance.reclaimed",
            instance = %name,
            copies = reclaimed.copies,
            notifications = reclaimed.notifications,
            texts = reclaimed.texts,
            expansions = reclaimed.expansions,
            "claims left by an earlier process under this name are due again"
        );
    }
    tracing::info!(event = "instance.started", instance = %name);
    Ok((store, lock))
}

/// The name, waiting up to [`TAKE_WAIT`] while another process holds it: a predecessor
/// killed a moment ago may not have lost its database connection yet.
async fn take_waiting(store: &Store) -> Result<InstanceLock, StoreError> {
    let deadline = tokio::time::Instant::now() + TAKE_WAIT;
    loop {
        match store.take_instance().await {
            Err(StoreError::InstanceTaken(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            taken => return taken,
        }
    }
}

/// Holds the name until another process takes it, which can only happen after this process
/// lost its connection to the database for long enough: then this process must stop, or two
/// processes would take back each other's claims. A database that is merely unreachable is
/// waited out (nothing can be claimed meanwhile anyway).
pub(super) async fn hold(store: Store, mut lock: InstanceLock) -> anyhow::Error {
    let mut every = tokio::time::interval(KEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match lock.keep(&store).await {
            Ok(()) => {}
            Err(StoreError::InstanceTaken(name)) => {
                return anyhow::anyhow!(StoreError::InstanceTaken(name));
            }
            Err(e) => {
                tracing::warn!(event = "instance.unreachable", instance = %lock.name(), error = %e)
            }
        }
    }
}
