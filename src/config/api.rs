//! `[api]`: the limits of the JSON API (`/api/v1`): how fast one token may call it and how
//! large a request body may be. What the portal is given of them.

use super::Config;
use serde::{Deserialize, Serialize};
use verteiler_portal::ApiSettings;

/// Above this a per-token rate limits nothing a script could reach.
const MOST_REQUESTS_PER_MINUTE: u32 = 1_000_000;
/// Smallest body limit: a submission's JSON alone needs some room.
const LEAST_BODY_BYTES: u64 = 1024;
/// Largest body limit (1 GiB): the body is held in memory while it is read.
const MOST_BODY_BYTES: u64 = 1024 * 1024 * 1024;

/// `[api]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// Requests one token may make per minute (after a burst of as many); more get 429.
    pub requests_per_minute: u32,
    /// Largest request body taken, in bytes; a larger one gets 413.
    pub max_body_bytes: u64,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        let portal = ApiSettings::default();
        ApiConfig {
            requests_per_minute: portal.requests_per_minute,
            max_body_bytes: portal.max_body_bytes as u64,
        }
    }
}

impl Config {
    /// The API's limits, as the portal takes them.
    pub fn api_settings(&self) -> ApiSettings {
        ApiSettings {
            requests_per_minute: self.api.requests_per_minute,
            // Checked against MOST_BODY_BYTES, which fits a usize on every supported target.
            max_body_bytes: usize::try_from(self.api.max_body_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// Every broken rule as (dotted key, message).
pub(super) fn problems(c: &Config) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let rate = c.api.requests_per_minute;
    if !(1..=MOST_REQUESTS_PER_MINUTE).contains(&rate) {
        problems.push((
            "api.requests_per_minute",
            format!("{rate} must be from 1 to {MOST_REQUESTS_PER_MINUTE}"),
        ));
    }
    let body = c.api.max_body_bytes;
    if !(LEAST_BODY_BYTES..=MOST_BODY_BYTES).contains(&body) {
        problems.push((
            "api.max_body_bytes",
            format!("{body} must be from {LEAST_BODY_BYTES} (1 KiB) to {MOST_BODY_BYTES} (1 GiB)"),
        ));
    }
    problems
}
