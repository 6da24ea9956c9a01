//! `verteiler serve`: every listener of the process, stopped together on SIGTERM or Ctrl-C.

use super::open_store;
use super::reload::Reloadable;
use crate::config::{Config, LoadedConfig, RelayTls, SmsProvider};
use anyhow::Context;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use secrecy::ExposeSecret;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use verteiler_gateway::delivery::dkim::CurrentSigner;
use verteiler_gateway::delivery::{
    run_delivery, DeliverySettings, Mx, MxSettings, Outbox, PacingLimits, Relay, RelaySettings,
    RelayTlsMode, Transport,
};
use verteiler_gateway::ingress::{Ingress, IngressSettings};
use verteiler_gateway::sms::{
    run_texts, HttpProvider, HttpSettings, SmppProvider, SmppSettings, SmsOutbox, SmsSettings,
};
use verteiler_gateway::smtp::{serve_smtp, SmtpConfig, SmtpService};
use verteiler_portal::{router, AppState, ImportSettings, PortalSettings};
use verteiler_store::intake::Intake;
use verteiler_store::MailClientSetup;

pub async fn serve(loaded: &LoadedConfig, demo: bool) -> anyhow::Result<ExitCode> {
    let config = &loaded.config;
    // DKIM keys and the certificate first: a bad one stops the start before any listener
    // takes mail.
    let dkim = CurrentSigner::new(super::dkim::signer(loaded, demo)?);
    let tls = super::reload::smtp_tls(config, demo)?;
    let store = open_store(config).await?;
    if demo {
        let logins = crate::demo::ensure(&store, config).await?;
        crate::demo::print_logins(&logins, config);
    }
    // The name before any worker claims: a second live process under it stops here, and what
    // a killed predecessor under it had claimed is due again at once.
    let (store, instance) = super::instance::take(&store, config).await?;
    let mut name_held = tokio::spawn(super::instance::hold(store.clone(), instance));
    // One intake for every way in: the portal and SMTP store through the same writer.
    let intake = Intake::start(store.clone(), super::held::approval_settings(config));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = || until_stopped(&stop_rx);

    // HTTP: portal and health endpoints.
    let http = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening for HTTP on {} (http.listen)", config.http.listen))?;
    let http_addr = http.local_addr()?;
    let app = portal_app(&store, &intake, config)?;
    let http_task = tokio::spawn({
        let stopped = stopped();
        async move { axum::serve(http, app).with_graceful_shutdown(stopped).await }
    });

    // Metrics on a listener of their own (http.metrics_listen; the demo: loopback).
    let metrics = super::metrics::start(config, demo, &store, stopped()).await?;

    // SMTP submission.
    let (smtp_addr, smtp_task, implicit_task, inbound_task) =
        start_smtp(&intake, config, demo, tls.server_config.clone(), &stop_rx).await?;

    // Delivery: released sends become personal copies; notifications reach senders.
    let delivery_task = tokio::spawn(run_delivery(
        store.clone(),
        transport(config)?,
        delivery_settings(config, dkim.clone()),
        stop_rx.clone(),
    ));

    // Text messages: list texts from fan-out and the portal's phone codes go to the provider.
    let sms_task = spawn_texts(&store, config, stop_rx.clone())?;

    // Four eyes: ask approvers about new held sends, expire requests past their window.
    let approvals_task = tokio::spawn(run_approvals(
        store.clone(),
        super::held::approval_settings(config),
        stopped(),
    ));
    // Messages whose sends ended longer ago than the retention period are purged.
    let retention_task = tokio::spawn(run_retention(
        store.clone(),
        config.limits.retention_days,
        stopped(),
    ));
    // What the configuration says about limits is audited when it differs from the last run.
    super::audit::record_limits(&store, config).await?;

    let shutdown = shutdown_signal();
    // SIGHUP reads the certificate and the DKIM keys again (`systemctl reload`).
    let reload_task = Reloadable::new(loaded, demo, &tls, dkim).on_hangup(stopped())?;
    // Fixed lines on stdout tell people (and the end-to-end tests) where to connect, also
    // when port 0 let the system choose.
    println!("verteiler: smtp listening on {smtp_addr}");
    if let Some(metrics) = &metrics {
        println!(
            "verteiler: metrics listening on http://{}/metrics",
            metrics.addr
        );
    }
    println!("verteiler: portal listening on http://{http_addr}");
    tracing::info!(event = "server.ready", http = %http_addr, smtp = %smtp_addr);
    tell_service_manager(&[sd_notify::NotifyState::Ready]);

    let name_lost = tokio::select! {
        _ = shutdown => None,
        lost = &mut name_held => Some(lost.context("the instance name's task failed")?),
    };
    name_held.abort();
    tell_service_manager(&[sd_notify::NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let http_result = http_task.await.context("the HTTP task failed")?;
    http_result.context("serving HTTP")?;
    for (task, what) in [
        (Some(smtp_task), "SMTP"),
        (implicit_task, "SMTP over TLS"),
        (inbound_task, "inbound SMTP"),
    ] {
        if let Some(task) = task {
            task.await
                .with_context(|| format!("the {what} task failed"))?
                .with_context(|| format!("serving {what}"))?;
        }
    }
    if let Some(metrics) = metrics {
        let served = metrics.task.await.context("the metrics task failed")?;
        served.context("serving metrics")?;
    }
    delivery_task.await.context("the delivery task failed")?;
    sms_task.await.context("the SMS task failed")?;
    approvals_task.await.context("the approvals task failed")?;
    retention_task.await.context("the retention task failed")?;
    reload_task.await.context("the reload task failed")?;
    tracing::info!(
        event = "server.stopped",
        "all listeners and delivery stopped"
    );
    store.close().await;
    match name_lost {
        // Stopped everything first, so no copy is half-handled; then say why.
        Some(lost) => Err(lost.context("stopped: this process no longer holds its instance name")),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Tells systemd (`Type=notify`, see `ops/systemd/verteiler.service`) that the listeners are
/// up, that a reload runs, or that the process stops; without `NOTIFY_SOCKET` (not started by
/// systemd) nothing.
pub(super) fn tell_service_manager(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(event = "server.notify_failed", error = %e);
    }
}

/// Resolves once `stop` says the process stops.
fn until_stopped(stop: &watch::Receiver<bool>) -> impl std::future::Future<Output = ()> + Send {
    let mut rx = stop.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// The portal with the settings the configuration gives it.
fn portal_app(
    store: &verteiler_store::Store,
    intake: &Intake,
    config: &Config,
) -> anyhow::Result<IntoMakeServiceWithConnectInfo<axum::Router, std::net::SocketAddr>> {
    Ok(router(AppState::new(
        store
            .clone()
            .with_verification_limits(config.verification_limits()),
        PortalSettings::new(&config.organisation.portal_base_url)
            .with_trusted_proxies(config.trusted_proxies()?)
            .with_intake(intake.clone())
            .with_upload_dir(&config.http.upload_dir)
            .with_sms_webhook_secret(
                (config.sms.provider == SmsProvider::Http)
                    .then_some(config.sms.http.webhook_secret.as_ref())
                    .flatten()
                    .map(|s| s.expose_secret().to_string()),
            )
            .with_imports(ImportSettings::new(super::import::import_options(config)))
            .with_list_rules(config.list_rules())
            .with_drafts_per_member(config.limits.drafts_per_member)
            .with_api(config.api_settings())
            .with_mail_client(MailClientSetup {
                smtp_host: config.smtp.hostname.clone(),
                smtp_port: config.smtp.listen.port(),
            }),
    ))
    // The client's address keys the per-client limits (or, from http.trusted_proxies, the
    // address they forward for).
    .into_make_service_with_connect_info::<std::net::SocketAddr>())
}

/// A running SMTP listener's task.
type SmtpTask = JoinHandle<std::io::Result<()>>;

/// Binds the SMTP submission listener (and the implicit-TLS and inbound ones, if configured)
/// and starts serving: the submission listener's address and the tasks.
async fn start_smtp(
    intake: &Intake,
    config: &Config,
    demo: bool,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<(
    std::net::SocketAddr,
    SmtpTask,
    Option<SmtpTask>,
    Option<SmtpTask>,
)> {
    let smtp = TcpListener::bind(config.smtp.listen)
        .await
        .with_context(|| format!("listening for SMTP on {} (smtp.listen)", config.smtp.listen))?;
    let smtp_addr = smtp.local_addr()?;
    let service = SmtpService::new(
        Arc::new(smtp_config(config, demo)),
        tls,
        Arc::new(ingress(intake, config)),
    );
    let smtp_task = tokio::spawn(serve_smtp(
        smtp,
        Arc::clone(&service),
        false,
        until_stopped(stop),
    ));
    let implicit_task = match config.smtp.implicit_tls_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.with_context(|| {
                format!("listening for SMTP over TLS on {addr} (smtp.implicit_tls_listen)")
            })?;
            println!(
                "verteiler: smtp (implicit TLS) listening on {}",
                listener.local_addr()?
            );
            Some(tokio::spawn(serve_smtp(
                listener,
                Arc::clone(&service),
                true,
                until_stopped(stop),
            )))
        }
        None => None,
    };
    let inbound_task = super::inbound::start(config, &service, until_stopped(stop)).await?;
    Ok((smtp_addr, smtp_task, implicit_task, inbound_task))
}

/// Starts sending text messages through the configured provider.
fn spawn_texts(
    store: &verteiler_store::Store,
    config: &Config,
    stop_rx: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    Ok(match config.sms.provider {
        SmsProvider::Outbox => tokio::spawn(run_texts(
            store.clone(),
            SmsOutbox::new(&config.sms.outbox_dir),
            SmsSettings::default(),
            stop_rx,
        )),
        SmsProvider::Http => {
            let http = &config.sms.http;
            let provider = HttpProvider::new(HttpSettings {
                url: http.url.clone(),
                token: http.token.as_ref().map(|t| t.expose_secret().to_string()),
                to_field: http.to_field.clone(),
                text_field: http.text_field.clone(),
                reference_field: http.reference_field.clone(),
                id_field: http.id_field.clone(),
                timeout: std::time::Duration::from_secs(http.timeout_secs.into()),
            })
            .context("setting up the HTTP SMS provider (sms.http)")?;
            tokio::spawn(run_texts(
                store.clone(),
                provider,
                SmsSettings::default(),
                stop_rx,
            ))
        }
        SmsProvider::Smpp => {
            let (provider, session) = SmppProvider::start(
                smpp_settings(&config.sms.smpp),
                store.clone(),
                stop_rx.clone(),
            );
            let texts = run_texts(store.clone(), provider, SmsSettings::default(), stop_rx);
            tokio::spawn(async move {
                texts.await;
                let _ = session.await;
            })
        }
    })
}

/// How the delivery loops run, from `[delivery]` (and the approval window for sends held at
/// expansion, from `[limits]`).
fn delivery_settings(config: &Config, dkim: CurrentSigner) -> DeliverySettings {
    DeliverySettings {
        lease: std::time::Duration::from_secs(config.delivery.lease_secs.into()),
        retry_first: std::time::Duration::from_secs(config.delivery.retry_first_secs.into()),
        retry_max: std::time::Duration::from_secs(config.delivery.retry_max_secs.into()),
        max_age: std::time::Duration::from_secs(config.delivery.max_age_secs.into()),
        approval_window: std::time::Duration::from_secs(config.limits.approval_window_hours * 3600),
        pacing: PacingLimits {
            per_second: NonZeroU32::new(config.delivery.max_per_second),
            per_domain_per_second: NonZeroU32::new(config.delivery.per_domain_per_second),
            per_domain_in_flight: config.delivery.per_domain_in_flight as usize,
        },
        dkim,
        log_recipient_addresses: config.log.recipient_addresses,
        ..DeliverySettings::new(
            &config.organisation.list_domain,
            &config.organisation.portal_base_url,
            config.delivery.workers as usize,
        )
    }
}

fn smtp_config(config: &Config, demo: bool) -> SmtpConfig {
    SmtpConfig {
        hostname: config.smtp.hostname.clone(),
        max_message_bytes: config.smtp.max_message_bytes as usize,
        max_recipients: config.smtp.max_recipients as usize,
        // Only the demo may take passwords without TLS, and then only from loopback.
        allow_plain_auth_without_tls: demo,
        ..SmtpConfig::default()
    }
}

/// The configured transport, announced on stdout.
fn transport(config: &Config) -> anyhow::Result<Transport> {
    match config.delivery.transport {
        crate::config::Transport::Outbox => {
            println!(
                "verteiler: delivering into {} (delivery.transport = \"outbox\")",
                config.delivery.outbox_dir.display()
            );
            Ok(Transport::Outbox(Outbox::new(&config.delivery.outbox_dir)))
        }
        crate::config::Transport::Relay => {
            let relay = relay(config)?;
            println!(
                "verteiler: delivering through relay {} (delivery.transport = \"relay\")",
                relay.address()
            );
            Ok(Transport::Relay(relay))
        }
        crate::config::Transport::Mx => {
            let mx = mx(config)?;
            let settings = mx.settings();
            let dns = if settings.nameservers.is_empty() {
                "the system's name servers".to_string()
            } else {
                let servers: Vec<String> = settings
                    .nameservers
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                servers.join(", ")
            };
            println!(
                "verteiler: delivering directly to recipients' mail hosts on port {} as {} via {dns} (delivery.transport = \"mx\")",
                settings.port, settings.hello_name
            );
            Ok(Transport::Mx(mx))
        }
    }
}

fn mx(config: &Config) -> anyhow::Result<Mx> {
    let mx = &config.delivery.mx;
    let hello_name = mx
        .helo_name
        .clone()
        .unwrap_or_else(|| config.organisation.list_domain.clone());
    let settings = MxSettings {
        port: mx.port,
        nameservers: mx.nameservers.clone(),
        timeout: std::time::Duration::from_secs(mx.timeout_secs.into()),
        allow_private_addresses: mx.allow_private_addresses,
        // One idle connection per worker to a host: a fan-out to one big provider keeps every
        // worker's session open.
        connections_per_host: config.delivery.workers as usize,
        ..MxSettings::new(hello_name)
    };
    Mx::new(settings).context("setting up direct delivery (delivery.mx)")
}

/// Upper bound for one hand-over to the relay. Generous, because a send cut short after the
/// relay took the message is sent again; RFC 5321 4.5.3.2 allows 10 minutes for the final
/// reply alone, but a smarthost we are configured for answers far sooner.
const RELAY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

fn relay(config: &Config) -> anyhow::Result<Relay> {
    let relay = &config.delivery.relay;
    if relay.host.trim().is_empty() {
        anyhow::bail!("delivery.transport = \"relay\" needs delivery.relay.host (the smarthost)");
    }
    let credentials = relay.username.as_ref().map(|user| {
        let password = relay.password.as_ref().map(ExposeSecret::expose_secret);
        (user.clone(), password.unwrap_or_default().to_string())
    });
    let settings = RelaySettings {
        tls: match relay.tls {
            RelayTls::Starttls => RelayTlsMode::Starttls,
            RelayTls::Implicit => RelayTlsMode::Implicit,
            RelayTls::None => RelayTlsMode::None,
        },
        credentials,
        hello_name: config.smtp.hostname.clone(),
        timeout: RELAY_TIMEOUT,
        // One idle connection per worker: a busy send keeps every worker's connection open.
        pool_size: config.delivery.workers,
        accept_invalid_certs: false,
        ..RelaySettings::new(relay.host.trim(), relay.port)
    };
    Relay::new(settings).with_context(|| {
        format!(
            "setting up the relay {}:{} (delivery.relay)",
            relay.host.trim(),
            relay.port
        )
    })
}

fn ingress(intake: &Intake, config: &Config) -> Ingress {
    Ingress::new(
        intake.clone(),
        IngressSettings {
            list_domain: config.organisation.list_domain.clone(),
            bounce_prefix: "bounce".into(),
            undo_window_secs: config.delivery.undo_window_secs,
            approval_window_secs: config.limits.approval_window_hours * 3600,
            hard_bounce_limit: config.delivery.hard_bounce_limit,
            limits: config.org_limits(),
            portal_base_url: config.organisation.portal_base_url.clone(),
        },
    )
}

/// How often approvers of new held sends are asked, and how often old requests expire.
const APPROVAL_SWEEP: std::time::Duration = std::time::Duration::from_secs(2);
const EXPIRY_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);

async fn run_approvals(
    store: verteiler_store::Store,
    settings: verteiler_store::ApprovalSettings,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut ask = tokio::time::interval(APPROVAL_SWEEP);
    let mut expire = tokio::time::interval(EXPIRY_SWEEP);
    ask.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = ask.tick() => {
                if let Err(e) = store.request_approvals(&settings).await {
                    tracing::error!(event = "approval.request_failed", error = %e);
                }
            }
            _ = expire.tick() => {
                match store.expire_held(verteiler_store::now_ms(), &settings).await {
                    Ok(expired) if !expired.is_empty() => {
                        tracing::info!(event = "approval.expired", sends = ?expired);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(event = "approval.expiry_failed", error = %e),
                }
                // The portal's spent secrets go on the same minute's round.
                if let Err(e) = store.purge_portal_secrets(verteiler_store::now_ms()).await {
                    tracing::error!(event = "portal.purge_failed", error = %e);
                }
            }
        }
    }
}

/// How often messages past their retention period are looked for (the first look is at start).
const RETENTION_SWEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Purges, every [`RETENTION_SWEEP`], the messages whose sends all ended more than
/// `limits.retention_days` ago (0: never), batch by batch, each batch with its audit entry.
async fn run_retention(
    store: verteiler_store::Store,
    days: u32,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    if days == 0 {
        return;
    }
    let mut sweep = tokio::time::interval(RETENTION_SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = sweep.tick() => loop {
                match store.purge_expired_messages(days, verteiler_store::now_ms()).await {
                    Ok(purged) if purged.submissions > 0 => {
                        tracing::info!(event = "retention.purged", submissions = purged.submissions,
                            bytes = purged.bytes, retention_days = days);
                        if purged.submissions < verteiler_store::PURGE_BATCH as u64 {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(event = "retention.purge_failed", error = %e);
                        break;
                    }
                }
            },
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (what systemd and container runtimes send). The SIGTERM
/// handler is installed by the call, not when the future is first awaited: `serve` calls this
/// before it prints that it is ready, so a supervisor (or a test) that stops the server the
/// moment it is ready does not kill it before the handler is there.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!(event = "server.shutdown", signal = "SIGINT", "shutting down"),
            _ = terminate => tracing::info!(event = "server.shutdown", signal = "SIGTERM", "shutting down"),
        }
    }
}

/// The SMPP client's settings from `[sms.smpp]` (validated at start-up).
fn smpp_settings(smpp: &crate::config::SmsSmppConfig) -> SmppSettings {
    let secs = |s: u32| std::time::Duration::from_secs(s.into());
    let password = smpp
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_string());
    SmppSettings {
        system_type: smpp.system_type.clone(),
        source_addr: smpp.source_addr.clone(),
        window: smpp.window as usize,
        enquire_link: secs(smpp.enquire_link_secs),
        response_timeout: secs(smpp.response_timeout_secs),
        reconnect_max: secs(smpp.reconnect_max_secs),
        ..SmppSettings::new(
            &smpp.address,
            &smpp.system_id,
            &password.unwrap_or_default(),
        )
    }
}
