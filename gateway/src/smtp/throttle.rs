//! Limits shared by every session of a server (ARCHITECTURE.md, habit 14): each says what it keys on.
//!
//! - open connections, keyed on client IP: a counter with an RAII guard;
//! - new connections per minute, keyed on client IP: a `governor` rate limiter;
//! - AUTH failures, keyed on login (failures in a sliding window) and on client network (the
//!   distinct logins that failed from it: an IPv4 address, or an IPv6 /64, since one IPv6
//!   client holds a whole /64), each with a fixed lockout. A client is locked for spraying
//!   many accounts, never for one account failing again and again: that locks the account,
//!   and a colleague behind the same office address still gets in with a correct password.
//!   These are not `governor` quotas on purpose: GCRA cannot be asked "is this key
//!   exhausted?" without spending a cell, and it would unlock one attempt every
//!   window/N instead of keeping the account closed for the whole lockout.
//!
//! Everything here is in-process; limits that must hold across gateway instances belong in
//! the database (ARCHITECTURE.md).

use super::config::SmtpConfig;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Entries kept before stale ones are swept, so an address scan cannot grow the maps.
const SWEEP_ABOVE: usize = 4096;

/// Why a new connection is turned away with 421 4.7.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    TooManyConnections,
    TooManyNewConnections,
}

/// A key that AUTH failures lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AuthKey {
    /// A client network: see [`client_network`].
    Client(IpAddr),
    /// Lower-cased login, so `Chair@X` and `chair@x` share one budget.
    Login(String),
}

/// The network one client controls, as the AUTH lockout counts it: an IPv4 address as it is
/// (an IPv4-mapped IPv6 address as that IPv4 address), an IPv6 address as its /64, which a
/// single host usually gets whole, so rotating addresses inside it evades nothing.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

#[derive(Default)]
struct AuthFailures {
    /// Failure times per login within the window.
    by_login: HashMap<String, VecDeque<Instant>>,
    /// Per client network: the logins that failed from it, each with its latest failure.
    by_client: HashMap<IpAddr, HashMap<String, Instant>>,
    locked_until: HashMap<AuthKey, Instant>,
}

/// Created once per server (or shared by the 587 and 465 listeners) and handed to every
/// session.
pub struct SmtpLimits {
    max_connections_per_ip: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    /// `None` when `connections_per_ip_per_minute` is 0 (benchmarks from one address).
    new_connections: Option<DefaultKeyedRateLimiter<IpAddr>>,
    failed_logins_per_client: u32,
    failures_per_login: u32,
    window: Duration,
    lockout: Duration,
    auth: Mutex<AuthFailures>,
}

/// Holds one connection slot of an IP; dropping it frees the slot.
pub struct ConnectionGuard {
    limits: Arc<SmtpLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = lock(&self.limits.open);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A poisoned lock only means another session panicked while counting; the counts are
/// still usable, and refusing every later client would be worse.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SmtpLimits {
    pub fn new(config: &SmtpConfig) -> Arc<SmtpLimits> {
        Arc::new(SmtpLimits {
            max_connections_per_ip: config.max_connections_per_ip,
            open: Mutex::new(HashMap::new()),
            new_connections: NonZeroU32::new(config.connections_per_ip_per_minute)
                .map(|per_minute| RateLimiter::keyed(Quota::per_minute(per_minute))),
            failed_logins_per_client: config.auth_failed_logins_per_client.max(1),
            failures_per_login: config.auth_failures_per_account.max(1),
            window: config.auth_failure_window,
            lockout: config.auth_lockout,
            auth: Mutex::new(AuthFailures::default()),
        })
    }

    /// Takes a connection slot for `ip`, or says why not.
    pub fn open_connection(
        self: &Arc<Self>,
        ip: IpAddr,
    ) -> Result<ConnectionGuard, ConnectionRefusal> {
        let mut open = lock(&self.open);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max_connections_per_ip {
            return Err(ConnectionRefusal::TooManyConnections);
        }
        let rate = self.new_connections.as_ref();
        if rate.is_some_and(|limiter| limiter.check_key(&ip).is_err()) {
            if *count == 0 {
                open.remove(&ip);
            }
            return Err(ConnectionRefusal::TooManyNewConnections);
        }
        *count += 1;
        drop(open);
        if let Some(limiter) = rate.filter(|limiter| limiter.len() > SWEEP_ABOVE) {
            limiter.retain_recent();
        }
        Ok(ConnectionGuard {
            limits: Arc::clone(self),
            ip,
        })
    }

    /// How many connections `ip` holds now.
    pub fn open_connections(&self, ip: IpAddr) -> usize {
        lock(&self.open).get(&ip).copied().unwrap_or(0)
    }

    /// Whether AUTH from `ip`'s client network is refused right now (checked before reading
    /// credentials).
    pub fn client_locked(&self, ip: IpAddr) -> bool {
        self.is_locked(&AuthKey::Client(client_network(ip)))
    }

    /// Whether `login` is refused right now, whatever the password.
    pub fn login_locked(&self, login: &str) -> bool {
        self.is_locked(&AuthKey::Login(login.to_lowercase()))
    }

    fn is_locked(&self, key: &AuthKey) -> bool {
        let now = Instant::now();
        let mut auth = lock(&self.auth);
        match auth.locked_until.get(key) {
            Some(&until) if until > now => true,
            Some(_) => {
                auth.locked_until.remove(key);
                false
            }
            None => false,
        }
    }

    /// Counts one failed AUTH. Returns true when this failure locked the client network or
    /// the login.
    pub fn record_auth_failure(&self, ip: IpAddr, login: &str) -> bool {
        let now = Instant::now();
        let window = self.window;
        let fresh = |at: Instant| now.duration_since(at) < window;
        let mut auth = lock(&self.auth);
        if auth.by_login.len() + auth.by_client.len() > SWEEP_ABOVE {
            auth.by_login
                .retain(|_, times| times.back().is_some_and(|&last| fresh(last)));
            auth.by_client.retain(|_, logins| {
                logins.retain(|_, &mut last| fresh(last));
                !logins.is_empty()
            });
            auth.locked_until.retain(|_, &mut until| until > now);
        }
        let login = login.to_lowercase();
        let client = client_network(ip);
        let mut locked = false;

        let times = auth.by_login.entry(login.clone()).or_default();
        while times.front().is_some_and(|&first| !fresh(first)) {
            times.pop_front();
        }
        times.push_back(now);
        if times.len() >= self.failures_per_login as usize {
            times.clear();
            let key = AuthKey::Login(login.clone());
            auth.locked_until.insert(key, now + self.lockout);
            locked = true;
        }

        let logins = auth.by_client.entry(client).or_default();
        logins.retain(|_, &mut last| fresh(last));
        logins.insert(login, now);
        if logins.len() >= self.failed_logins_per_client as usize {
            logins.clear();
            let key = AuthKey::Client(client);
            auth.locked_until.insert(key, now + self.lockout);
            locked = true;
        }
        locked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_of(config: SmtpConfig) -> Arc<SmtpLimits> {
        SmtpLimits::new(&config)
    }

    #[test]
    fn connection_slots_are_counted_per_ip_and_freed_on_drop() {
        let limits = limits_of(SmtpConfig {
            max_connections_per_ip: 2,
            ..SmtpConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let first = limits.open_connection(ip).unwrap();
        let _second = limits.open_connection(ip).unwrap();
        assert_eq!(
            limits.open_connection(ip).err(),
            Some(ConnectionRefusal::TooManyConnections)
        );
        assert!(limits.open_connection(other).is_ok());
        drop(first);
        assert_eq!(limits.open_connections(ip), 1);
        assert!(limits.open_connection(ip).is_ok());
    }

    #[test]
    fn connection_rate_is_limited_per_ip() {
        let limits = limits_of(SmtpConfig {
            connections_per_ip_per_minute: 3,
            ..SmtpConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            drop(limits.open_connection(ip).unwrap());
        }
        assert_eq!(
            limits.open_connection(ip).err(),
            Some(ConnectionRefusal::TooManyNewConnections)
        );
        assert_eq!(limits.open_connections(ip), 0);

        let unlimited = limits_of(SmtpConfig {
            connections_per_ip_per_minute: 0,
            ..SmtpConfig::default()
        });
        for _ in 0..1000 {
            drop(unlimited.open_connection(ip).unwrap());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn auth_failures_lock_the_client_and_the_login_for_the_lockout() {
        let limits = limits_of(SmtpConfig {
            auth_failed_logins_per_client: 3,
            auth_failures_per_account: 2,
            ..SmtpConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(!limits.record_auth_failure(ip, "a@x"));
        assert!(!limits.record_auth_failure(ip, "b@x"));
        assert!(!limits.client_locked(ip));
        assert!(
            limits.record_auth_failure(other, "A@X"),
            "second failure for a@x locks it"
        );
        assert!(limits.login_locked("a@x"));
        assert!(!limits.client_locked(other));
        assert!(
            limits.record_auth_failure(ip, "c@x"),
            "a third login failing from ip locks it"
        );
        assert!(limits.client_locked(ip));
        tokio::time::advance(Duration::from_secs(15 * 60 + 1)).await;
        assert!(!limits.client_locked(ip));
        assert!(!limits.login_locked("a@x"));
    }

    #[tokio::test(start_paused = true)]
    async fn old_failures_fall_out_of_the_window() {
        let limits = limits_of(SmtpConfig {
            auth_failed_logins_per_client: 2,
            auth_failures_per_account: 100,
            ..SmtpConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!limits.record_auth_failure(ip, "a@x"));
        tokio::time::advance(Duration::from_secs(16 * 60)).await;
        assert!(!limits.record_auth_failure(ip, "b@x"));
        assert!(!limits.client_locked(ip));
    }

    #[tokio::test(start_paused = true)]
    async fn one_login_failing_again_and_again_locks_the_login_not_its_client() {
        let limits = limits_of(SmtpConfig {
            auth_failed_logins_per_client: 3,
            auth_failures_per_account: 1000,
            ..SmtpConfig::default()
        });
        let office: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..50 {
            assert!(!limits.record_auth_failure(office, "stale@x"));
        }
        assert!(!limits.client_locked(office));
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_a_mapped_ipv4_address_is_that_address() {
        let net = |ip: &str| client_network(ip.parse().unwrap()).to_string();
        assert_eq!(net("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::7"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(net("192.0.2.7"), "192.0.2.7");
    }

    #[tokio::test(start_paused = true)]
    async fn logins_sprayed_from_addresses_of_one_slash_64_lock_all_of_it() {
        let limits = limits_of(SmtpConfig {
            auth_failed_logins_per_client: 3,
            ..SmtpConfig::default()
        });
        for (n, ip) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:9::3"]
            .iter()
            .enumerate()
        {
            limits.record_auth_failure(ip.parse().unwrap(), &format!("user{n}@x"));
        }
        assert!(limits.client_locked("2001:db8:1:2:ffff::1".parse().unwrap()));
        assert!(!limits.client_locked("2001:db8:1:3::1".parse().unwrap()));
    }
}
