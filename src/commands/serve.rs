//! `verteiler serve`: every listener of the process, stopped together on SIGTERM or Ctrl-C.

use super::open_store;
use crate::config::LoadedConfig;
use anyhow::Context;
use std::process::ExitCode;
use tokio::net::TcpListener;
use verteiler_portal::{router, AppState};

pub async fn serve(loaded: &LoadedConfig, demo: bool) -> anyhow::Result<ExitCode> {
    let config = &loaded.config;
    let store = open_store(config).await?;
    if demo {
        let logins = crate::demo::ensure(&store, config).await?;
        crate::demo::print_logins(&logins, config);
    }

    let http = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening for HTTP on {} (http.listen)", config.http.listen))?;
    let http_addr = http.local_addr()?;
    tracing::info!(event = "http.listening", address = %http_addr, "portal listening");
    // A fixed line on stdout tells people (and the end-to-end tests) where to connect, also
    // when port 0 let the system choose.
    println!("verteiler: portal listening on http://{http_addr}");

    let app = router(AppState {
        store: store.clone(),
    });
    axum::serve(http, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!(event = "server.stopped", "all listeners stopped");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!(event = "server.shutdown", signal = "SIGINT", "shutting down"),
        _ = terminate => tracing::info!(event = "server.shutdown", signal = "SIGTERM", "shutting down"),
    }
}
