//! Pure domain types and the policy engine of verteiler.
//!
//! Nothing in this crate performs IO, reads a clock or touches a database: callers gather the
//! facts of a submission and receive a decision. That keeps every rule testable in isolation and
//! makes the three incidents of `DESIGN.md` regression tests rather than hopes.

pub mod domain;

pub use domain::*;
