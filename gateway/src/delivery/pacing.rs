//! How fast copies leave: an organisation-wide rate, and per destination domain a rate and a
//! number of copies in flight at once. Large providers throttle or block senders that open
//! many connections or send in bursts; a limit here costs minutes, a block costs days.

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits; `None` rates are unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingLimits {
    pub per_second: Option<NonZeroU32>,
    pub per_domain_per_second: Option<NonZeroU32>,
    pub per_domain_in_flight: usize,
}

pub(crate) struct Pacing {
    global: Option<DefaultDirectRateLimiter>,
    per_domain: Option<DefaultKeyedRateLimiter<String>>,
    in_flight: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Pacing {
    pub(crate) fn new(limits: PacingLimits) -> Pacing {
        Pacing {
            global: limits
                .per_second
                .map(|n| RateLimiter::direct(Quota::per_second(n))),
            per_domain: limits
                .per_domain_per_second
                .map(|n| RateLimiter::keyed(Quota::per_second(n))),
            in_flight: limits.per_domain_in_flight.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more copy may go to `domain`; the permit is the copy's place in the
    /// domain's in-flight limit until it is dropped.
    pub(crate) async fn admit(&self, domain: &str) -> OwnedSemaphorePermit {
        let domain = domain.to_ascii_lowercase();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                slots
                    .entry(domain.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.in_flight))),
            )
        };
        let permit = slot
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        if let Some(limiter) = &self.per_domain {
            limiter.until_key_ready(&domain).await;
        }
        if let Some(limiter) = &self.global {
            limiter.until_ready().await;
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_domain_never_has_more_copies_in_flight_than_allowed() {
        let pacing = Arc::new(Pacing::new(PacingLimits {
            per_second: None,
            per_domain_per_second: None,
            per_domain_in_flight: 2,
        }));
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..12 {
            let (pacing, now, peak) = (pacing.clone(), now.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let domain = if n % 2 == 0 {
                    "example.net"
                } else {
                    "EXAMPLE.net"
                };
                let _permit = pacing.admit(domain).await;
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "domains compare case-insensitively"
        );
    }

    #[tokio::test]
    async fn the_rate_spreads_copies_over_time() {
        let pacing = Pacing::new(PacingLimits {
            per_second: NonZeroU32::new(50),
            per_domain_per_second: None,
            per_domain_in_flight: 100,
        });
        let start = Instant::now();
        for _ in 0..75 {
            drop(pacing.admit("example.net").await);
        }
        // A burst of 50 is allowed at once, the other 25 need half a second at 50/s.
        assert!(
            start.elapsed() >= Duration::from_millis(450),
            "{:?}",
            start.elapsed()
        );
    }
}
