//! From a released send to messages on the wire: one personal copy per recipient.

mod attempt_log;
pub mod copy;
pub mod dkim;
pub(crate) mod engine;
mod mx;
mod outcome;
mod pacing;
mod pipelining;
mod relay;
mod smtp_failure;
mod smtp_pool;
mod threading;
pub(crate) mod transport;

pub use engine::{run_delivery, DeliverySettings};
pub use mx::{Mx, MxError, MxSettings};
pub use outcome::Outcome;
pub use pacing::PacingLimits;
pub use relay::{Relay, RelayError, RelaySettings, RelayTlsMode};
pub use transport::{Outbox, Transport};
