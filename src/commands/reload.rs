//! `serve` on SIGHUP (`systemctl reload verteiler`): the SMTP certificate and the DKIM keys
//! are read again from their files, after certbot renewed the certificate or an operator
//! rotated a key, without a restart and without dropping a session.
//!
//! Each part swaps whole or not at all: a file that is missing, not PEM, or a key that does not
//! belong to its certificate leaves the old material in place and logs an error naming the
//! file, and the server goes on. New TLS handshakes present the new certificate, sessions
//! already encrypted keep theirs; the next copy is signed with the new keys, a copy being
//! signed finishes with the old ones. The configuration file itself is not read again.

use crate::config::{Config, LoadedConfig};
use anyhow::Context;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;
use verteiler_gateway::delivery::dkim::CurrentSigner;
use verteiler_gateway::smtp::{generate_self_signed, tls_config_from_pem, CertificateFiles};

/// The SMTP listeners' TLS: the configuration they share and, when it comes from files, the
/// handle that reads them again.
pub struct SmtpTls {
    pub server_config: Option<Arc<ServerConfig>>,
    files: Option<Arc<CertificateFiles>>,
}

/// The STARTTLS and implicit-TLS certificate: from config, or a fresh self-signed one for the
/// demo (which a reload leaves alone: there is no file to read again).
pub fn smtp_tls(config: &Config, demo: bool) -> anyhow::Result<SmtpTls> {
    match (&config.smtp.tls_cert_path, &config.smtp.tls_key_path) {
        (Some(cert), Some(key)) => {
            let files = CertificateFiles::load(cert, key).with_context(|| {
                format!(
                    "loading the SMTP certificate {} and key {}",
                    cert.display(),
                    key.display()
                )
            })?;
            Ok(SmtpTls {
                server_config: Some(files.server_config()?),
                files: Some(files),
            })
        }
        _ if demo => {
            let (cert, key) =
                generate_self_signed(&["localhost".to_string(), config.smtp.hostname.clone()])
                    .context("generating the demo certificate")?;
            Ok(SmtpTls {
                server_config: Some(tls_config_from_pem(cert.as_bytes(), key.as_bytes())?),
                files: None,
            })
        }
        _ => {
            tracing::warn!(
                event = "smtp.no_tls",
                "no TLS certificate configured: STARTTLS and AUTH are not offered"
            );
            Ok(SmtpTls {
                server_config: None,
                files: None,
            })
        }
    }
}

/// What SIGHUP reads again.
pub struct Reloadable {
    loaded: LoadedConfig,
    demo: bool,
    certificate: Option<Arc<CertificateFiles>>,
    /// Empty when `serve` started without keys: then there is nothing to read again.
    dkim: CurrentSigner,
}

impl Reloadable {
    pub fn new(loaded: &LoadedConfig, demo: bool, tls: &SmtpTls, dkim: CurrentSigner) -> Self {
        Reloadable {
            loaded: loaded.clone(),
            demo,
            certificate: tls.files.clone(),
            dkim,
        }
    }

    /// Reloads on every SIGHUP until `stopped` resolves. The handler is installed by this call,
    /// not when the task first runs: SIGHUP's default action ends the process, so it must be
    /// in place before `serve` says it is ready.
    pub fn on_hangup(
        self,
        stopped: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<JoinHandle<()>> {
        let mut hangups = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        Ok(tokio::spawn(async move {
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    received = hangups.recv() => match received {
                        Some(()) => self.reload(),
                        None => return,
                    },
                }
            }
        }))
    }

    /// One reload, framed for systemd by `RELOADING=1` and `READY=1`. The files are small and
    /// read in a few milliseconds, so this runs on the runtime rather than a blocking thread.
    fn reload(&self) {
        tracing::info!(
            event = "server.reload",
            signal = "SIGHUP",
            "reading certificate and keys again"
        );
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        // systemd 253 and later (Type=notify-reload) want the time the reload began.
        if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
            reloading.push(now);
        }
        super::serve::tell_service_manager(&reloading);
        self.reload_certificate();
        self.reload_dkim();
        super::serve::tell_service_manager(&[sd_notify::NotifyState::Ready]);
    }

    fn reload_certificate(&self) {
        let Some(files) = &self.certificate else {
            if self.demo {
                tracing::info!(
                    event = "reload.tls_unchanged",
                    "the demo's self-signed certificate stays"
                );
            }
            return;
        };
        match files.reload() {
            Ok(()) => tracing::info!(
                event = "reload.tls",
                cert_file = %files.cert_path().display(),
                key_file = %files.key_path().display(),
                "SMTP certificate read again: new TLS sessions present it"
            ),
            Err(e) => {
                let file = files.culprit(&e).display().to_string();
                tracing::error!(
                    event = "reload.tls_failed",
                    file,
                    error = %format!("{:#}", anyhow::Error::from(e)),
                    "SMTP certificate not reloaded: the one in use stays"
                );
            }
        }
    }

    fn reload_dkim(&self) {
        if self.dkim.current().is_none() {
            return;
        }
        match super::dkim::load_signer(&self.loaded, self.demo) {
            Ok(Some(signer)) => {
                let selectors: Vec<&str> = signer.records().iter().map(|(_, s, _)| *s).collect();
                tracing::info!(
                    event = "reload.dkim",
                    domain = signer.domain(),
                    selectors = %selectors.join(","),
                    "DKIM keys read again: the next copies are signed with them"
                );
                self.dkim.replace(Arc::new(signer));
            }
            // Keys at start and none now cannot come from the same configuration; copies
            // never go out unsigned because of a reload.
            Ok(None) => {}
            Err(e) => tracing::error!(
                event = "reload.dkim_failed",
                error = %format!("{e:#}"),
                "DKIM keys not reloaded: the ones in use stay"
            ),
        }
    }
}
