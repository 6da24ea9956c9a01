//! Headers every answer carries, and the limits on sign-in and subscription requests.

use axum::http::header::{
    HeaderName, CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

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
/// limited per address, so nobody's inbox can be flooded, and per client address, so nobody
/// can probe many addresses quickly.
pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<String>,
}

impl SignInLimits {
    /// Per address: 3 at once, then one every 5 minutes. Per client: 20 at once, then one
    /// every 30 seconds.
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
        }
    }

    /// Whether one more request for `address` from `client` may go ahead (and counts it).
    pub fn sign_in_allowed(&self, address: &str, client: &str) -> bool {
        // Both are counted, so a client that is refused for one address still uses up its
        // own allowance.
        let client_ok = self.per_client.check_key(&client.to_string()).is_ok();
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
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits::new()
    }
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

    #[test]
    fn an_address_is_limited_whoever_asks_and_a_client_whatever_it_asks_for() {
        let limits = SignInLimits::with(
            quota(2, Duration::from_secs(3600)),
            quota(3, Duration::from_secs(3600)),
        );
        assert!(limits.sign_in_allowed("a@example.org", "10.0.0.1"));
        assert!(limits.sign_in_allowed("A@example.org", "10.0.0.2"));
        assert!(!limits.sign_in_allowed("a@example.org", "10.0.0.3"));
        assert!(limits.sign_in_allowed("b@example.org", "10.0.0.1"));
        assert!(limits.sign_in_allowed("c@example.org", "10.0.0.1"));
        assert!(!limits.sign_in_allowed("d@example.org", "10.0.0.1"));
        assert!(limits.sign_in_allowed("d@example.org", "10.0.0.4"));
    }
}
