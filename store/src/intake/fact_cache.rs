//! A short-lived cache of the facts every submission needs and few submissions change: an
//! audience's definition, scope path and recipient counts, and a sender's roles, addresses and
//! language.
//!
//! Why: counting a district's members for every message of a busy chair is the same query with
//! the same answer dozens of times a second. Why it is safe: an entry lives at most
//! [`FACT_CACHE_TTL`], and every operation of *this* store that changes units, members, roles,
//! contact points, audiences or subscriptions drops all entries at once (a generation bump), so
//! a change made through this process is seen by the next submission. A change made by another
//! instance on the same PostgreSQL database is seen within the TTL. Recipient counts only feed
//! the decision; the delivery issue's expansion resolves the audience anew.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached fact may be used.
pub const FACT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries beyond this are dropped wholesale: the cache is for hot lists, not the directory.
const MAX_ENTRIES: usize = 10_000;

struct Entry<V> {
    stored: Instant,
    generation: u64,
    value: Arc<V>,
}

/// One map of cached values, valid for the generation they were read in.
pub(crate) struct Cached<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V> Default for Cached<K, V> {
    fn default() -> Self {
        Cached {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V> Cached<K, V> {
    pub(crate) fn get(&self, key: &K, generation: u64, ttl: Duration) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.stored.elapsed() < ttl)
            .map(|e| Arc::clone(&e.value))
    }

    pub(crate) fn put(&self, key: K, generation: u64, value: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                stored: Instant::now(),
                generation,
                value,
            },
        );
    }
}

/// The generation counter shared by all maps of one store.
#[derive(Default)]
pub(crate) struct Generation(AtomicU64);

impl Generation {
    pub(crate) fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// The maps of one store and the generation that invalidates them together.
pub(crate) struct FactCache {
    pub(crate) ttl: Duration,
    pub(crate) generation: Generation,
    /// By lower-case slug; `None` remembers that no audience has the slug.
    pub(crate) audiences: Cached<String, Option<AudienceEntry>>,
    /// By audience id: the recipient counts (only successful resolutions are kept).
    pub(crate) counts: Cached<i64, verteiler_policies::ResolutionSummary>,
    pub(crate) senders: Cached<i64, crate::SenderProfile>,
}

/// An audience with its facts in the engine's terms (the scope path is a recursive query).
pub(crate) struct AudienceEntry {
    pub(crate) audience: crate::Audience,
    pub(crate) facts: verteiler_policies::AudienceFacts,
}

impl FactCache {
    pub(crate) fn new(ttl: Duration) -> FactCache {
        FactCache {
            ttl,
            generation: Generation::default(),
            audiences: Cached::default(),
            counts: Cached::default(),
            senders: Cached::default(),
        }
    }
}

impl std::fmt::Debug for FactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactCache")
            .field("ttl", &self.ttl)
            .field("generation", &self.generation.current())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_valid_only_in_its_generation_and_within_the_ttl() {
        let cache: Cached<&str, u32> = Cached::default();
        let generation = Generation::default();
        cache.put("a", generation.current(), Arc::new(1));
        assert_eq!(
            cache
                .get(&"a", generation.current(), FACT_CACHE_TTL)
                .as_deref(),
            Some(&1)
        );
        generation.bump();
        assert!(cache
            .get(&"a", generation.current(), FACT_CACHE_TTL)
            .is_none());
        cache.put("a", generation.current(), Arc::new(2));
        assert!(cache
            .get(&"a", generation.current(), Duration::ZERO)
            .is_none());
    }
}
