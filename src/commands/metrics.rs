//! The metrics listener of `verteiler serve`: `/metrics` in Prometheus text format on a
//! listener of its own (`http.metrics_listen`), never on the portal's, so what it tells about
//! the queue is exposed only where the operator put it.
//!
//! Events (sessions, refusals, decisions, delivery attempts, texts, receipts) are counters the
//! library crates increment through the `metrics` facade where they happen; this module
//! installs the recorder they report to. Where things stand (the queue, approvals, the breaker,
//! the kill switch, the pool) is read from the store at scrape time and set as gauges just
//! before the text is rendered, so a gauge is never older than the scrape.

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use verteiler_store::{Gauges, Store};

use crate::config::Config;

/// What a scrape needs besides the recorder: the store, and the figures from the configuration
/// the gauges are compared with.
#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Store,
    breaker_limit: u64,
    cost_per_part_cents: u64,
    max_connections: u32,
}

/// The running listener: its address and task.
pub struct MetricsListener {
    pub addr: SocketAddr,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Where the metrics listener listens: `http.metrics_listen`, or in the demo (which must not
/// take a fixed port, several may run at once) a free port on loopback; otherwise none.
pub fn address(config: &Config, demo: bool) -> Option<SocketAddr> {
    config
        .http
        .metrics_listen
        .or_else(|| demo.then(|| SocketAddr::from(([127, 0, 0, 1], 0))))
}

/// Installs the recorder and starts the listener, when one is configured (see [`address`]).
/// Without it no recorder is installed and every counter in the libraries costs nothing.
pub async fn start(
    config: &Config,
    demo: bool,
    store: &Store,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<MetricsListener>> {
    let Some(addr) = address(config, demo) else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening for metrics on {addr} (http.metrics_listen)"))?;
    let addr = listener.local_addr()?;
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    super::metrics_names::describe();
    super::metrics_names::start_at_zero();
    let scrape = Scrape {
        handle,
        store: store.clone(),
        breaker_limit: config.limits.org_recipients_per_hour,
        cost_per_part_cents: config.sms.cost_per_segment_cents,
        max_connections: config.database.max_connections.max(1),
    };
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .with_state(scrape);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
    });
    Ok(Some(MetricsListener { addr, task }))
}

/// `GET /metrics`: the gauges read now, then every family as Prometheus text. When the store
/// cannot be read the scrape fails (503), so Prometheus marks the target down rather than
/// showing stale figures as current.
async fn metrics(State(scrape): State<Scrape>) -> Response {
    match scrape.store.gauges().await {
        Ok(gauges) => set_gauges(&scrape, &gauges),
        Err(e) => {
            tracing::error!(event = "metrics.gauges_failed", error = %e);
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    scrape.handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
        .into_response()
}

fn set_gauges(scrape: &Scrape, g: &Gauges) {
    use metrics::gauge;
    let seconds = |ms: i64| ms as f64 / 1000.0;
    gauge!("verteiler_copies_queued", "stage" => "due").set(g.copies_due as f64);
    gauge!("verteiler_copies_queued", "stage" => "deferred").set(g.copies_deferred as f64);
    gauge!("verteiler_copies_queued", "stage" => "in_flight").set(g.copies_in_flight as f64);
    gauge!("verteiler_queue_oldest_copy_age_seconds").set(seconds(g.oldest_copy_age_ms));
    gauge!("verteiler_sends", "state" => "scheduled").set(g.sends_scheduled as f64);
    gauge!("verteiler_sends", "state" => "sending").set(g.sends_sending as f64);
    gauge!("verteiler_sends", "state" => "held").set(g.sends_held as f64);
    gauge!("verteiler_approvals_waiting").set(g.sends_held as f64);
    gauge!("verteiler_approvals_oldest_age_seconds").set(seconds(g.oldest_held_age_ms));
    gauge!("verteiler_breaker_holds").set(g.breaker_holds as f64);
    gauge!("verteiler_breaker_recipients_last_hour").set(g.recipients_last_hour as f64);
    gauge!("verteiler_breaker_limit_recipients_per_hour").set(scrape.breaker_limit as f64);
    // The share of the breaker's limit the last hour used: at 1 new sends are held.
    let level = if scrape.breaker_limit == 0 {
        0.0
    } else {
        g.recipients_last_hour as f64 / scrape.breaker_limit as f64
    };
    gauge!("verteiler_breaker_level_ratio").set(level);
    gauge!("verteiler_sms_parts_this_month").set(g.sms_parts_this_month as f64);
    let spent = g
        .sms_parts_this_month
        .saturating_mul(scrape.cost_per_part_cents);
    gauge!("verteiler_sms_spent_this_month_cents").set(spent as f64);
    gauge!("verteiler_sms_texts_waiting").set(g.texts_waiting as f64);
    gauge!("verteiler_delivery_paused").set(if g.delivery_paused { 1.0 } else { 0.0 });
    let in_use = g.pool_size.saturating_sub(g.pool_idle);
    gauge!("verteiler_db_pool_connections", "state" => "idle").set(f64::from(g.pool_idle));
    gauge!("verteiler_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    gauge!("verteiler_db_pool_max_connections").set(f64::from(scrape.max_connections));
}
