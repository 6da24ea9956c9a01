//! Headers every answer carries, and the limits on sign-in and subscription requests.

use crate::client::ClientKey;
use axum::http::header::{
    HeaderName, CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Scripts and styles only from our own files (no inline script), forms only to us, frames
/// only of our own pages (the sandboxed message on the approval page), and nobody frames us.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

/// Adds the security headers to an answer (HSTS only when the portal is served over https).
pub fn add_headers(response: &mut Response, https: bool) {
    let headers = response.headers_mut();
    // An answer with a policy of its own (the sandboxed message frame) keeps it.
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(X_FRAME_OPTIONS) {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    if !headers.contains_key(axum::http::header::REFERRER_POLICY) {
        headers.insert(
            axum::http::header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    if https {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Requests that send mail to an address someone types in (sign-in links, confirmations):
/// limited per address, so nobody's inbox can be flooded, and per client, so nobody can probe
/// many addresses quickly. Password sign-in has limits of its own (see [`PasswordLimits`]):
/// the per-address bucket is one a stranger can empty, so it must not stand between a member
/// and their password.
pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<String>,
    password: PasswordLimits,
}

impl SignInLimits {
    /// Per address: 3 at once, then one every 5 minutes. Per client: 20 at once, then one
    /// every 30 seconds. Passwords: see [`PasswordLimits::new`].
    pub fn new() -> SignInLimits {
        SignInLimits::with(
            quota(3, Duration::from_secs(300)),
            quota(20, Duration::from_secs(30)),
        )
    }

    pub fn with(per_address: Quota, per_client: Quota) -> SignInLimits {
        SignInLimits {
            per_address: RateLimiter::keyed(per_address),
            per_client: RateLimiter::keyed(per_client),
            password: PasswordLimits::new(),
        }
    }

    /// The same, with other password limits.
    pub fn with_password_limits(self, password: PasswordLimits) -> SignInLimits {
        SignInLimits { password, ..self }
    }

    /// Whether one more request for `address` from `client` may go ahead (and counts it).
    pub fn sign_in_allowed(&self, address: &str, client: &ClientKey) -> bool {
        // Both are counted, so a client that is refused for one address still uses up its
        // own allowance.
        let client_ok = self
            .per_client
            .check_key(&client.as_str().to_string())
            .is_ok();
        let address_ok = self
            .per_address
            .check_key(&address.trim().to_lowercase())
            .is_ok();
        if self.per_address.len() > 100_000 {
            self.per_address.retain_recent();
            self.per_client.retain_recent();
        }
        client_ok && address_ok
    }

    pub fn password(&self) -> &PasswordLimits {
        &self.password
    }
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits::new()
    }
}

/// Password sign-in: every attempt counts against the client (whatever account it tries), and
/// wrong passwords count against the pair of account and client. A client that got an
/// account's password wrong too often may not try that account for a while; every other
/// client still may, so a stranger failing on purpose locks out only themselves.
///
/// Chosen over a lock per account (which is exactly the lock-out a stranger could use) and
/// over device cookies (which leave a member on a new device locked out while somebody
/// fails on purpose). Guessing from many clients at once is slowed by each client's own
/// limits, IPv6 counted per /64, and argon2; the one-time link by mail is not affected by
/// any of this and stays limited as before.
pub struct PasswordLimits {
    per_client: DefaultKeyedRateLimiter<String>,
    failures: Mutex<HashMap<(String, String), Failures>>,
    max_failures: u32,
    lockout: Duration,
}

/// Wrong passwords of one client for one account since `first`.
struct Failures {
    count: u32,
    first: Instant,
}

impl PasswordLimits {
    /// Per client: 20 attempts at once, then one every 30 seconds. Per account and client: 5
    /// wrong passwords, then none for 15 minutes from the first.
    pub fn new() -> PasswordLimits {
        PasswordLimits::with(
            quota(20, Duration::from_secs(30)),
            5,
            Duration::from_secs(900),
        )
    }

    pub fn with(per_client: Quota, max_failures: u32, lockout: Duration) -> PasswordLimits {
        PasswordLimits {
            per_client: RateLimiter::keyed(per_client),
            failures: Mutex::new(HashMap::new()),
            max_failures: max_failures.max(1),
            lockout,
        }
    }

    /// Whether `client` may try a password for `account` now (and counts the attempt).
    pub fn attempt_allowed(&self, account: &str, client: &ClientKey) -> bool {
        let client_ok = self
            .per_client
            .check_key(&client.as_str().to_string())
            .is_ok();
        if self.per_client.len() > 100_000 {
            self.per_client.retain_recent();
        }
        let failures = self.lock();
        let locked = failures
            .get(&pair(account, client))
            .is_some_and(|f| f.count >= self.max_failures && f.first.elapsed() < self.lockout);
        client_ok && !locked
    }

    /// A wrong password from `client` for `account`.
    pub fn failed(&self, account: &str, client: &ClientKey) {
        let mut failures = self.lock();
        if failures.len() > 100_000 {
            failures.retain(|_, f| f.first.elapsed() < self.lockout);
        }
        let entry = failures.entry(pair(account, client)).or_insert(Failures {
            count: 0,
            first: Instant::now(),
        });
        if entry.first.elapsed() >= self.lockout {
            *entry = Failures {
                count: 0,
                first: Instant::now(),
            };
        }
        entry.count = entry.count.saturating_add(1);
    }

    /// The right password: what this client got wrong before is forgotten.
    pub fn succeeded(&self, account: &str, client: &ClientKey) {
        self.lock().remove(&pair(account, client));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Failures>> {
        // A panic elsewhere while holding the lock leaves counters, not broken invariants.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for PasswordLimits {
    fn default() -> Self {
        PasswordLimits::new()
    }
}

fn pair(account: &str, client: &ClientKey) -> (String, String) {
    (account.trim().to_lowercase(), client.as_str().to_string())
}

/// `burst` requests at once, then one per `every`.
pub fn quota(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn client(ip: &str) -> ClientKey {
        let ip: IpAddr = ip.parse().unwrap();
        crate::client::client_key(
            Some(ip),
            &Default::default(),
            &crate::client::TrustedProxies::none(),
        )
    }

    #[test]
    fn an_address_is_limited_whoever_asks_and_a_client_whatever_it_asks_for() {
        let limits = SignInLimits::with(
            quota(2, Duration::from_secs(3600)),
            quota(3, Duration::from_secs(3600)),
        );
        let (one, two, three, four) = (
            client("10.0.0.1"),
            client("10.0.0.2"),
            client("10.0.0.3"),
            client("10.0.0.4"),
        );
        assert!(limits.sign_in_allowed("a@example.org", &one));
        assert!(limits.sign_in_allowed("A@example.org", &two));
        assert!(!limits.sign_in_allowed("a@example.org", &three));
        assert!(limits.sign_in_allowed("b@example.org", &one));
        assert!(limits.sign_in_allowed("c@example.org", &one));
        assert!(!limits.sign_in_allowed("d@example.org", &one));
        assert!(limits.sign_in_allowed("d@example.org", &four));
    }

    #[test]
    fn wrong_passwords_lock_out_only_the_client_that_got_them_wrong() {
        let limits = PasswordLimits::with(
            quota(100, Duration::from_secs(3600)),
            2,
            Duration::from_secs(3600),
        );
        let (stranger, member) = (client("192.0.2.66"), client("198.51.100.7"));
        for _ in 0..2 {
            assert!(limits.attempt_allowed("anna@example.org", &stranger));
            limits.failed("anna@example.org", &stranger);
        }
        assert!(!limits.attempt_allowed("Anna@example.org", &stranger));
        assert!(limits.attempt_allowed("ben@example.org", &stranger));
        assert!(limits.attempt_allowed("anna@example.org", &member));
        limits.failed("anna@example.org", &member);
        limits.succeeded("anna@example.org", &member);
        limits.failed("anna@example.org", &member);
        assert!(limits.attempt_allowed("anna@example.org", &member));
    }

    #[test]
    fn every_password_attempt_counts_against_the_client() {
        let limits = PasswordLimits::with(
            quota(2, Duration::from_secs(3600)),
            100,
            Duration::from_secs(3600),
        );
        let one = client("2001:db8:1:2::1");
        assert!(limits.attempt_allowed("a@example.org", &one));
        assert!(limits.attempt_allowed("b@example.org", &client("2001:db8:1:2::2")));
        assert!(!limits.attempt_allowed("c@example.org", &one));
        assert!(limits.attempt_allowed("c@example.org", &client("2001:db8:1:3::1")));
    }
}
