//! `serve`'s inbound listener (`smtp.inbound_listen`, port 25 in production): where the list
//! domain's MX points, for other mail servers. It shares the submission listeners' service
//! (limits, certificate, ingress) and differs only in its role: no AUTH, only addresses that
//! take mail from the world.

use crate::config::Config;
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use verteiler_gateway::ingress::Ingress;
use verteiler_gateway::smtp::{serve_inbound, SmtpService};

/// Binds and starts the inbound listener when it is configured, and prints its address (the
/// end-to-end tests read it, also when port 0 let the system choose).
pub(super) async fn start(
    config: &Config,
    service: &Arc<SmtpService<Ingress>>,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = config.smtp.inbound_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening for inbound SMTP on {addr} (smtp.inbound_listen)"))?;
    println!(
        "verteiler: smtp (inbound) listening on {}",
        listener.local_addr()?
    );
    let service = Arc::clone(service);
    Ok(Some(tokio::spawn(serve_inbound(
        listener, service, stopped,
    ))))
}
