//! The `verteiler` program: command-line wiring of the library crates.
//!
//! `main.rs` only parses arguments and calls [`run`]; everything else lives here so the
//! end-to-end tests and the benchmarks reuse the same code.

pub mod cli;
mod commands;
pub mod config;
pub mod demo;
pub mod progress;
mod telemetry;

pub use commands::run;
pub use telemetry::init_tracing;
