//! `[http]` and `[smtp]`: where the process listens — the portal, its metrics, and the SMTP
//! listeners for senders (submission, implicit TLS) and for other mail servers (inbound).

use super::serde_helpers;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `[http]`: the member portal and admin web interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    #[serde(deserialize_with = "serde_helpers::socket_addr")]
    pub listen: SocketAddr,
    /// Where a member export uploaded on `/admin/import` waits for the admin's confirmation.
    pub upload_dir: PathBuf,
    /// Reverse proxies (addresses, networks) whose `X-Forwarded-For` / `Forwarded` name the
    /// client for the portal's per-client limits; from anybody else those headers are ignored.
    #[serde(deserialize_with = "serde_helpers::string_list")]
    pub trusted_proxies: Vec<String>,
    /// Where `/metrics` (Prometheus text) is served, on a listener of its own so it never
    /// shares the portal's exposure; unset: no metrics listener (`serve --demo`: loopback).
    #[serde(
        deserialize_with = "serde_helpers::opt_socket_addr",
        skip_serializing_if = "Option::is_none"
    )]
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upload_dir: PathBuf::from("./data/uploads"),
            trusted_proxies: Vec::new(),
            metrics_listen: None,
        }
    }
}

/// `[smtp]`: the submission listeners senders talk to, and the inbound one for other servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    #[serde(deserialize_with = "serde_helpers::socket_addr")]
    pub listen: SocketAddr,
    #[serde(
        deserialize_with = "serde_helpers::opt_socket_addr",
        skip_serializing_if = "Option::is_none"
    )]
    pub implicit_tls_listen: Option<SocketAddr>,
    /// The listener other mail servers reach (port 25): no AUTH, only addresses that take
    /// mail from the world (the bounce address). Off while unset.
    #[serde(
        deserialize_with = "serde_helpers::opt_socket_addr",
        skip_serializing_if = "Option::is_none"
    )]
    pub inbound_listen: Option<SocketAddr>,
    pub hostname: String,
    pub max_message_bytes: u64,
    pub max_recipients: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_path: Option<PathBuf>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            implicit_tls_listen: None,
            inbound_listen: None,
            hostname: "localhost".into(),
            max_message_bytes: 26_214_400,
            max_recipients: 100,
            tls_cert_path: None,
            tls_key_path: None,
        }
    }
}
