//! SMTP submission: chairs send through their normal email client.
//!
//! The protocol lives here; every decision (who may log in, which recipients exist, what
//! happens to a message) is asked of a [`SessionHandler`]. Entry points: [`SmtpService`]
//! (shared state, [`SmtpService::handle_connection`] for any stream) and [`serve_smtp`]
//! (a TCP listener with drain on shutdown) and [`serve_inbound`] (the same for port 25: no
//! AUTH, only recipients that take mail from the world); [`CertificateFiles`] (read again on
//! reload), [`load_tls_config`] and [`generate_self_signed`] for STARTTLS certificates.

mod address;
mod auth;
mod certificate;
mod config;
mod data;
mod ehlo;
mod envelope;
mod handler;
mod io;
mod message;
mod reply;
mod server;
mod service;
mod session;
mod throttle;
mod tls;

pub use certificate::CertificateFiles;
pub use config::SmtpConfig;
pub use handler::{
    AuthOutcome, Envelope, Identity, ListenerRole, RcptOutcome, Reply, SessionHandler, SessionInfo,
};
pub use server::{serve_inbound, serve_smtp};
pub use service::SmtpService;
pub use throttle::{ConnectionGuard, ConnectionRefusal, SmtpLimits};
pub use tls::{generate_self_signed, load_tls_config, tls_config_from_pem, TlsSetupError};
