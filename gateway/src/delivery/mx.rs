//! `delivery.transport = "mx"`: every copy goes straight to a mail host of the recipient's
//! domain, found in DNS (`dns`), over a session kept open for the next copy to that host
//! (`pool`). What a failure means for the delivery is decided in `smtp_failure`, as for the
//! relay; this file decides only whether to try the next host.
//!
//! Encryption is opportunistic, as Postfix's `smtp_tls_security_level = may`: STARTTLS when the
//! host offers it, without checking its certificate. Public MX hosts mostly present
//! certificates that match no name we could check against (DNS gives no authenticated name
//! without DNSSEC/DANE or MTA-STS), so verifying would push most mail to plain text or defer it
//! for ever; an unverified TLS session still keeps passive listeners out. A host that offers
//! STARTTLS but fails the handshake is tried once more in plain text, as Postfix does: the
//! message would have gone in plain text to a host not offering STARTTLS at all, and a broken
//! TLS stack at a receiver must not hold mail back for days.
//!
//! Only public addresses are connected to (`private`): a recipient domain whose MX points into
//! our own network fails the copy at once, naming the host, unless the operator allows it.

mod dns;
mod pool;
mod private;

use super::outcome::Outcome;
use super::smtp_failure::{classify, envelope, without_final_crlf, Peer, SmtpFailure};
use dns::Dns;
use lettre::address::Envelope;
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use pool::{HostKey, IdlePool, PoolLimits};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Addresses tried for one copy over all mail hosts of the domain (Postfix's
/// `smtp_mx_address_limit`): a domain with twenty dead MX hosts must not hold a worker for
/// twenty connect timeouts.
const MAX_ADDRESSES: usize = 5;

/// TCP connect limit within [`MxSettings::timeout`] (Postfix's `smtp_connect_timeout`): an
/// address that does not answer SYN at all is given up soon, for the next one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A parked connection is checked with NOOP before reuse, within this time.
const NOOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How direct delivery reaches recipients' mail hosts.
#[derive(Debug, Clone)]
pub struct MxSettings {
    /// Our name in EHLO. Receivers check that it resolves; it should be this host's name in DNS.
    pub hello_name: String,
    /// Port of every mail host: 25 on the Internet; tests use their own.
    pub port: u16,
    /// DNS servers asked; empty means the system's (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// Budget for each step at one mail host address: connecting with greeting and EHLO,
    /// STARTTLS, and the transaction from MAIL FROM to the reply after the data.
    pub timeout: Duration,
    /// Budget for one DNS query (hickory asks twice per server before giving up).
    pub dns_timeout: Duration,
    /// Idle connections kept open per mail host address.
    pub connections_per_host: usize,
    /// Mail host addresses with idle connections; the least recently used is closed beyond.
    pub max_hosts: usize,
    /// Idle connections are closed after this.
    pub idle: Duration,
    /// Whether mail hosts at loopback, private, link-local and other non-public addresses are
    /// connected to (tests, or an organisation's own internal mail hosts). Off by default.
    pub allow_private_addresses: bool,
}

impl MxSettings {
    /// Port 25, the system's DNS, two minutes per step, four idle connections per host for up
    /// to 1,000 hosts, each kept ten seconds.
    pub fn new(hello_name: impl Into<String>) -> MxSettings {
        MxSettings {
            hello_name: hello_name.into(),
            port: 25,
            nameservers: Vec::new(),
            timeout: Duration::from_secs(120),
            dns_timeout: Duration::from_secs(5),
            connections_per_host: 4,
            max_hosts: 1000,
            idle: Duration::from_secs(10),
            allow_private_addresses: false,
        }
    }
}

/// Why an [`Mx`] transport cannot be built; nothing has been sent yet.
#[derive(Debug, thiserror::Error)]
pub enum MxError {
    #[error("the EHLO name is empty")]
    NoHelloName,
    #[error("the DNS resolver cannot be set up: {0}")]
    Resolver(String),
    /// The pool's sweeper is a task, so the transport can only be built inside a Tokio runtime.
    #[error("the mx transport must be built inside a Tokio runtime")]
    NoRuntime,
}

/// Direct delivery. Cheap to clone: clones share the DNS cache and the idle connections.
#[derive(Clone)]
pub struct Mx {
    inner: Arc<Inner>,
}

struct Inner {
    settings: MxSettings,
    dns: Dns,
    pool: Arc<IdlePool>,
}

impl fmt::Debug for Mx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mx")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Where one attempt at one address stopped: before the transaction the next host may do
/// better; from MAIL FROM on, the answer is about this message.
enum Stop {
    Session(SmtpFailure),
    Transaction(SmtpFailure),
}

impl Mx {
    /// Sets up the resolver and the pool; no DNS query or connection is made before the first
    /// copy.
    pub fn new(settings: MxSettings) -> Result<Mx, MxError> {
        if settings.hello_name.trim().is_empty() {
            return Err(MxError::NoHelloName);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MxError::NoRuntime);
        }
        let dns = Dns::new(&settings.nameservers, settings.dns_timeout)
            .map_err(|e| MxError::Resolver(e.to_string()))?;
        let pool = IdlePool::start(PoolLimits {
            max_hosts: settings.max_hosts.max(1),
            per_host: settings.connections_per_host.max(1),
            idle: settings.idle,
        });
        Ok(Mx {
            inner: Arc::new(Inner {
                settings,
                dns,
                pool,
            }),
        })
    }

    pub fn settings(&self) -> &MxSettings {
        &self.inner.settings
    }

    /// Hands one message to the first mail host of the recipient's domain that takes it.
    pub(super) async fn send(&self, return_path: &str, recipient: &str, message: &[u8]) -> Outcome {
        let domain = recipient.rsplit_once('@').map_or("", |(_, domain)| domain);
        let envelope = match envelope(return_path, recipient) {
            Ok(envelope) => envelope,
            Err(failure) => return classify(failure, &Peer::Domain(domain)),
        };
        let hosts = match self.inner.dns.mail_hosts(domain).await {
            Ok(hosts) => hosts,
            Err(failure) => return classify(failure, &Peer::Domain(domain)),
        };
        let mut tried: Vec<String> = Vec::new();
        let mut refused: Vec<(String, IpAddr)> = Vec::new();
        let mut addresses_left = MAX_ADDRESSES;
        'hosts: for host in &hosts {
            let addresses = match self.inner.dns.addresses(&host.name, host.implicit).await {
                Ok(addresses) => addresses,
                Err(failure @ SmtpFailure::NoMailHost(_)) => {
                    return classify(failure, &Peer::Domain(domain))
                }
                Err(failure) => {
                    tried.push(reason(classify(failure, &Peer::Domain(domain))));
                    continue;
                }
            };
            for ip in addresses {
                if let Some(kind) = self.refuses(ip) {
                    tracing::warn!(event = "delivery.mx_private_refused", %domain,
                        host = %host.name, %ip, kind, "not connecting to a non-public address");
                    let private = vec![(host.name.clone(), ip)];
                    tried.push(reason(classify(
                        SmtpFailure::PrivateAddresses(private.clone()),
                        &Peer::Domain(domain),
                    )));
                    refused.extend(private);
                    continue;
                }
                if addresses_left == 0 {
                    break 'hosts;
                }
                addresses_left -= 1;
                let key: HostKey = (host.name.clone(), ip);
                let peer = Peer::MailHost {
                    host: &host.name,
                    ip,
                };
                match self.deliver_to(&key, &envelope, message).await {
                    Ok(()) => return Outcome::Sent,
                    Err(Stop::Transaction(failure)) => return classify(failure, &peer),
                    Err(Stop::Session(failure)) => {
                        let why = reason(classify(failure, &peer));
                        tracing::info!(event = "delivery.mx_host_skipped", %domain, reason = %why);
                        tried.push(why);
                    }
                }
            }
        }
        // Nothing but non-public addresses: no later attempt can do better, so the copy fails
        // now with the reason, instead of lingering as deferred until it expires.
        if !refused.is_empty() && refused.len() == tried.len() {
            return classify(
                SmtpFailure::PrivateAddresses(refused),
                &Peer::Domain(domain),
            );
        }
        classify(SmtpFailure::NoHostAccepted(tried), &Peer::Domain(domain))
    }

    /// Why `ip` is not connected to, when it is not.
    fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        if self.inner.settings.allow_private_addresses {
            None
        } else {
            private::non_public(ip)
        }
    }

    async fn deliver_to(
        &self,
        key: &HostKey,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), Stop> {
        let mut connection = match self.reuse(key).await {
            Some(connection) => connection,
            None => self.open(key).await.map_err(Stop::Session)?,
        };
        let budget = self.inner.settings.timeout;
        let sent = tokio::time::timeout(
            budget,
            connection.send(envelope, without_final_crlf(message)),
        )
        .await;
        match sent {
            Ok(Ok(_reply)) => {
                self.inner.pool.give_back(key.clone(), connection);
                Ok(())
            }
            Ok(Err(e)) => match SmtpFailure::from_smtp(&e) {
                // lettre refused before MAIL FROM (8-bit data to a host without 8BITMIME, an
                // address needing SMTPUTF8): this host cannot take it, another one may, and
                // the session is untouched.
                failure @ SmtpFailure::Refused(_) => {
                    self.inner.pool.give_back(key.clone(), connection);
                    Err(Stop::Session(failure))
                }
                // lettre has already closed the connection after the refusal.
                failure => Err(Stop::Transaction(failure)),
            },
            // Dropped here: stopped at an unknown point, it must carry no other message.
            Err(_elapsed) => Err(Stop::Transaction(SmtpFailure::Stalled(budget))),
        }
    }

    /// A parked connection that still answers NOOP; receivers close idle sessions on their own.
    async fn reuse(&self, key: &HostKey) -> Option<AsyncSmtpConnection> {
        while let Some(mut connection) = self.inner.pool.take(key) {
            let alive = tokio::time::timeout(NOOP_TIMEOUT, connection.test_connected()).await;
            if matches!(alive, Ok(true)) {
                return Some(connection);
            }
        }
        None
    }

    /// Connects, reads the greeting, says EHLO and upgrades with STARTTLS when offered.
    async fn open(&self, key: &HostKey) -> Result<AsyncSmtpConnection, SmtpFailure> {
        let (host, _) = key;
        let mut connection = self.connect(key).await?;
        if !connection.can_starttls() {
            return Ok(connection);
        }
        let tls = match tls_parameters(host) {
            Ok(tls) => tls,
            // A name rustls cannot send as SNI (e.g. with `_`): no TLS, as if not offered.
            Err(why) => {
                tracing::info!(event = "delivery.mx_tls_skipped", %host, reason = %why);
                return Ok(connection);
            }
        };
        let hello = self.hello();
        let budget = self.inner.settings.timeout;
        let upgraded = tokio::time::timeout(budget, connection.starttls(tls, &hello)).await;
        let why = match upgraded {
            Ok(Ok(())) => return Ok(connection),
            Ok(Err(e)) => reason(classify(
                SmtpFailure::from_smtp(&e),
                &Peer::MailHost { host, ip: key.1 },
            )),
            Err(_elapsed) => format!("no answer within {budget:?}"),
        };
        // See the module comment: once more without TLS, on a fresh connection (the old one
        // stopped somewhere inside the handshake).
        tracing::warn!(event = "delivery.mx_tls_fallback", %host, ip = %key.1, reason = %why,
            "STARTTLS failed; delivering in plain text");
        drop(connection);
        self.connect(key).await
    }

    async fn connect(&self, (_, ip): &HostKey) -> Result<AsyncSmtpConnection, SmtpFailure> {
        let settings = &self.inner.settings;
        let address = SocketAddr::new(*ip, settings.port);
        let hello = self.hello();
        let connect = async {
            let tcp = tokio::time::timeout(
                CONNECT_TIMEOUT.min(settings.timeout),
                tokio::net::TcpStream::connect(address),
            )
            .await
            .map_err(|_| {
                SmtpFailure::ConnectTimeout(format!("no connection to {address} in time"))
            })?
            .map_err(|e| SmtpFailure::Io(e.kind(), e.to_string()))?;
            // Our socket, not lettre's: without TCP_NODELAY each message waits for the
            // server's delayed ACK (see `smtp_pool`).
            tcp.set_nodelay(true)
                .map_err(|e| SmtpFailure::Io(e.kind(), e.to_string()))?;
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                .await
                .map_err(|e| SmtpFailure::from_smtp(&e))
        };
        match tokio::time::timeout(settings.timeout, connect).await {
            Ok(connected) => connected,
            Err(_elapsed) => Err(SmtpFailure::Stalled(settings.timeout)),
        }
    }

    fn hello(&self) -> ClientId {
        ClientId::Domain(self.inner.settings.hello_name.trim().to_string())
    }
}

/// TLS towards `host` that accepts any certificate: see the module comment for why.
fn tls_parameters(host: &str) -> Result<TlsParameters, String> {
    TlsParameters::builder(host.to_string())
        .dangerous_accept_invalid_certs(true)
        .dangerous_accept_invalid_hostnames(true)
        .build_rustls()
        .map_err(|e| e.to_string())
}

/// The text of an outcome, for the list of hosts tried.
fn reason(outcome: Outcome) -> String {
    match outcome {
        Outcome::Sent => "sent".into(),
        Outcome::Temporary(text) | Outcome::Permanent(text) => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mx_transport_needs_a_name_and_a_runtime() {
        assert!(matches!(
            Mx::new(MxSettings::new(" ")),
            Err(MxError::NoHelloName)
        ));
        assert!(matches!(
            Mx::new(MxSettings::new("lists.example.org")),
            Err(MxError::NoRuntime)
        ));
    }

    #[test]
    fn any_certificate_is_accepted_under_any_name() {
        assert!(tls_parameters("mx.example.org").is_ok());
    }
}
