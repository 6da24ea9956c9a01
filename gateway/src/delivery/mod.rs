//! From a released send to messages on the wire: one personal copy per recipient.

pub mod copy;
pub mod dkim;
mod engine;
mod pacing;
mod relay;
mod transport;

pub use engine::{run_delivery, DeliverySettings};
pub use pacing::PacingLimits;
pub use relay::{Relay, RelayError, RelaySettings, RelayTlsMode};
pub use transport::{Outbox, Outcome, Transport};
