//! Open SMTP connections kept between copies, per mail host address, so that consecutive copies
//! to one domain reuse a session instead of paying TCP, greeting, EHLO and TLS each time.
//!
//! lettre's own pool (`AsyncSmtpTransport`) is one pool per server and hides whether a failure
//! came from the greeting or from RCPT, which direct delivery must know (a 5xx greeting means
//! "try the next MX", a 5xx to RCPT means "this recipient never"). So the transport opens
//! lettre connections itself, and this module only parks idle ones: bounded per host, bounded
//! in hosts, closed after a short idle time.

use lettre::transport::smtp::client::AsyncSmtpConnection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// A mail host address: its name (for TLS and texts) and the IP connected to.
pub(super) type HostKey = (String, IpAddr);

/// Bounds of the idle pool.
#[derive(Debug, Clone, Copy)]
pub(super) struct PoolLimits {
    /// Hosts with parked connections; the least recently used host is closed beyond this.
    pub max_hosts: usize,
    /// Idle connections parked per host address.
    pub per_host: usize,
    /// Idle time after which a parked connection is closed. Short, as Postfix's connection
    /// cache (2 s): receivers drop idle clients after a few minutes anyway and dislike many
    /// idle sessions, while a fan-out's next copy to the same domain follows within moments.
    pub idle: Duration,
}

struct Parked {
    connection: AsyncSmtpConnection,
    since: Instant,
}

#[derive(Default)]
struct Hosts {
    hosts: HashMap<HostKey, Vec<Parked>>,
    last_used: HashMap<HostKey, Instant>,
}

pub(super) struct IdlePool {
    limits: PoolLimits,
    hosts: Mutex<Hosts>,
}

impl IdlePool {
    /// Starts the sweeper that closes expired connections; it ends with the pool.
    pub fn start(limits: PoolLimits) -> Arc<IdlePool> {
        let pool = Arc::new(IdlePool {
            limits,
            hosts: Mutex::new(Hosts::default()),
        });
        tokio::spawn(sweep(Arc::downgrade(&pool)));
        pool
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, Hosts> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn has_idle(&self, key: &HostKey) -> bool {
        self.hosts().hosts.get(key).is_some_and(|p| !p.is_empty())
    }

    /// The most recently parked connection that has not expired; expired ones are closed.
    pub fn take(&self, key: &HostKey) -> Option<AsyncSmtpConnection> {
        let mut expired = Vec::new();
        let found = {
            let mut hosts = self.hosts();
            let parked = hosts.hosts.get_mut(key)?;
            let mut found = None;
            while let Some(p) = parked.pop() {
                if p.since.elapsed() < self.limits.idle {
                    found = Some(p.connection);
                    break;
                }
                expired.push(p.connection);
            }
            if parked.is_empty() {
                hosts.hosts.remove(key);
            }
            found
        };
        close_all(expired);
        found
    }

    /// Parks a connection after a completed transaction; one that broke is closed instead.
    pub fn give_back(&self, key: HostKey, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut closing = Vec::new();
        {
            let mut hosts = self.hosts();
            let now = Instant::now();
            if !hosts.hosts.contains_key(&key) && hosts.hosts.len() >= self.limits.max_hosts {
                let oldest = hosts
                    .hosts
                    .keys()
                    .min_by_key(|k| hosts.last_used.get(*k).copied().unwrap_or(now))
                    .cloned();
                if let Some(oldest) = oldest {
                    hosts.last_used.remove(&oldest);
                    if let Some(parked) = hosts.hosts.remove(&oldest) {
                        closing.extend(parked.into_iter().map(|p| p.connection));
                    }
                }
            }
            hosts.last_used.insert(key.clone(), now);
            let parked = hosts.hosts.entry(key).or_default();
            parked.push(Parked {
                connection,
                since: now,
            });
            if parked.len() > self.limits.per_host {
                closing.push(parked.remove(0).connection);
            }
        }
        close_all(closing);
    }

    /// Closes connections idle for longer than the limit and forgets hosts without any.
    fn expire(&self) {
        let mut closing = Vec::new();
        {
            let mut hosts = self.hosts();
            let idle = self.limits.idle;
            hosts.hosts.retain(|_, parked| {
                let (keep, old): (Vec<Parked>, Vec<Parked>) =
                    parked.drain(..).partition(|p| p.since.elapsed() < idle);
                closing.extend(old.into_iter().map(|p| p.connection));
                *parked = keep;
                !parked.is_empty()
            });
            let Hosts { hosts, last_used } = &mut *hosts;
            last_used.retain(|key, _| hosts.contains_key(key));
        }
        close_all(closing);
    }

    /// Connections parked over all hosts.
    #[cfg(test)]
    fn parked(&self) -> usize {
        self.hosts().hosts.values().map(Vec::len).sum()
    }
}

async fn sweep(pool: Weak<IdlePool>) {
    let period = match pool.upgrade() {
        Some(pool) => (pool.limits.idle / 2).max(Duration::from_millis(100)),
        None => return,
    };
    loop {
        tokio::time::sleep(period).await;
        match pool.upgrade() {
            Some(pool) => pool.expire(),
            None => return,
        }
    }
}

/// QUIT, politely but bounded, off the caller's path: a host that stopped answering must not
/// hold a worker.
fn close_all(connections: Vec<AsyncSmtpConnection>) {
    if connections.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for mut connection in connections {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::extension::ClientId;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A server that greets, answers EHLO and every later command with 250, for as many
    /// connections as asked.
    async fn server() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut tcp = BufReader::new(tcp);
                    tcp.write_all(b"220 ok\r\n").await.unwrap();
                    let mut line = String::new();
                    while tcp.read_line(&mut line).await.unwrap_or(0) > 0 {
                        let _ = tcp.write_all(b"250 ok\r\n").await;
                        line.clear();
                    }
                });
            }
        });
        address
    }

    async fn connect(address: std::net::SocketAddr) -> AsyncSmtpConnection {
        AsyncSmtpConnection::connect_tokio1(address, None, &ClientId::default(), None, None)
            .await
            .unwrap()
    }

    fn key(n: u8) -> HostKey {
        (format!("mx{n}.example.org"), IpAddr::from([127, 0, 0, n]))
    }

    #[tokio::test]
    async fn bounded_per_host_and_in_hosts_and_by_idle_time() {
        let address = server().await;
        let pool = IdlePool::start(PoolLimits {
            max_hosts: 2,
            per_host: 2,
            idle: Duration::from_millis(300),
        });
        for _ in 0..3 {
            pool.give_back(key(1), connect(address).await);
        }
        assert_eq!(pool.parked(), 2, "per host");
        pool.give_back(key(2), connect(address).await);
        pool.give_back(key(3), connect(address).await);
        assert!(!pool.has_idle(&key(1)), "the least recently used host went");
        assert!(pool.has_idle(&key(2)) && pool.has_idle(&key(3)));
        assert!(pool.take(&key(2)).is_some());
        assert!(pool.take(&key(2)).is_none());

        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(pool.parked(), 0, "the sweeper closed idle connections");
    }
}
