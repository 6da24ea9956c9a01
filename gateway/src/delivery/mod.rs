//! From a released send to messages on the wire: one personal copy per recipient.

pub mod copy;
mod engine;
mod transport;

pub use engine::{run_delivery, DeliverySettings};
pub use transport::{Outbox, Outcome, Transport};
