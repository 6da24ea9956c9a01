//! [`SmtpService`], the state every session shares. Its own module because sessions
//! (`session`) hold it and the server (`server`) runs sessions with it: with it here both
//! depend on it, not on each other. Running a connection is in `server`.

use super::throttle::SmtpLimits;
use super::{SessionHandler, SmtpConfig};
use std::sync::Arc;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Everything sessions share: config, limits, TLS, the handler, the shutdown signal.
/// Build one per process and pass it to [`serve_smtp`](super::serve_smtp) for each listener
/// (587 and 465 then share one set of limits), or call [`SmtpService::handle_connection`]
/// directly with any stream, as the transcript tests do.
pub struct SmtpService<H> {
    pub(crate) config: Arc<SmtpConfig>,
    pub(crate) limits: Arc<SmtpLimits>,
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) handler: Arc<H>,
    shutdown: watch::Sender<bool>,
}

impl<H: SessionHandler> SmtpService<H> {
    /// `tls`: the certificate for STARTTLS and implicit TLS; without it STARTTLS is not
    /// offered and AUTH only works on loopback with `allow_plain_auth_without_tls`.
    pub fn new(
        config: Arc<SmtpConfig>,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Arc<H>,
    ) -> Arc<Self> {
        let limits = SmtpLimits::new(&config);
        Arc::new(SmtpService {
            config,
            limits,
            tls: tls.map(TlsAcceptor::from),
            handler,
            shutdown: watch::Sender::new(false),
        })
    }

    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    pub fn limits(&self) -> &Arc<SmtpLimits> {
        &self.limits
    }

    /// Sessions waiting for a command get 421 4.3.2 and close; those inside a message finish
    /// it first. Called by [`serve_smtp`](super::serve_smtp) when its shutdown future
    /// resolves.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn subscribe_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
