//! `[log]`: what the logs may name. Delivery lines name a recipient by a keyed hash unless an
//! operator who needs the addresses (and may keep them) says otherwise.

use serde::{Deserialize, Serialize};

/// `[log]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// Delivery lines show the recipient's address instead of `h:` and its keyed hash.
    pub recipient_addresses: bool,
}
