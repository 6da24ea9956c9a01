//! The delivery queue: released sends expanded into one delivery per recipient address (in
//! [`crate::queue::expand`]), claimed by workers with leases, and marked with their outcome.
//! Notifications to senders and the SMS outbox use the same lease discipline.
//!
//! Every step is one transaction and can be repeated: expansion resumes after its cursor and
//! skips addresses it already queued, a claim that is never finished runs out and the delivery
//! comes back, so a crash at any point neither loses nor duplicates a copy.
//!
//! One concern per file, so each can be read alone: `lease.rs` (the three queues and the one
//! claim they share), `claims.rs` (what a worker gets), `outcomes.rs` (what an attempt
//! recorded), `sends.rs` (a send's way from due to complete, or cancelled), `bounces.rs`,
//! `pause.rs` (the kill switch), `totals.rs` (counts for reports) and `tools.rs` (the
//! operator's inspect, requeue and purge).

mod bounces;
mod claims;
pub(crate) mod expand;
pub(crate) mod expansion_guard;
pub(crate) mod failures;
pub mod instance;
mod lease;
mod outcomes;
mod pause;
mod sends;
mod tools;
mod totals;

pub use bounces::BounceOutcome;
pub use claims::{ClaimedDelivery, ClaimedNotification, ClaimedText};
pub use instance::{InstanceLock, Reclaimed};
pub use outcomes::Attempt;
pub use pause::DeliveryPause;
pub use sends::{DueSend, SendContent};
pub use tools::{CopyBounce, CopyRecord, Purge, RequeueScope};
pub use totals::{DeliveryTotals, QueueOverview};

// The SMS receipts record a text's outcome inside their own transaction.
pub(crate) use lease::Queue;
pub(crate) use outcomes::finish;
