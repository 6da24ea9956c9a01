//! The web side of verteiler: member portal, staff pages and JSON API (axum + maud).
//!
//! Members sign in with a one-time link (or their own password), see which lists reach them,
//! choose channels, join and leave topic lists, keep their contact data and app passwords, and
//! download everything stored about them. The unsubscribe link of every list copy and the
//! health endpoints are here too. The router is built by a function so tests call it without
//! a socket; every state change goes through the store's operations.

mod access_log;
mod account;
mod admin;
pub mod api;
mod audiences;
mod client;
mod compose;
mod contact;
mod drafts;
mod health;
mod held;
mod i18n;
mod mail;
mod member;
mod message_view;
mod page;
mod public;
mod return_path;
mod security;
mod session;
mod sign_in;
mod sms_webhook;
mod submissions;
mod tokens;
mod unsubscribe;
mod uploads;

pub use admin::import::ImportSettings;
pub use api::ApiSettings;
pub use client::{client_key, BadProxyEntry, ClientKey, TrustedProxies};
pub use drafts::discard_drafts;
pub use i18n::Lang;
pub use mail::Mails;
pub use security::{quota, PasswordLimits, SignInLimits};
pub use sms_webhook::{
    MAX_SKEW_SECS as SMS_WEBHOOK_MAX_SKEW_SECS, MIN_SECRET_BYTES as SMS_WEBHOOK_MIN_SECRET_BYTES,
};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use verteiler_store::intake::Intake;
use verteiler_store::lists::ListRules;
use verteiler_store::{MailClientSetup, Store};

/// What the portal needs to know beyond the store.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// The public base URL (`https://portal.example.org`): links in mails start with it, and
    /// cookies are `Secure` and HSTS is sent when it is https.
    pub base_url: String,
    /// Region for phone numbers typed without a country code (`DE`).
    pub phone_region: String,
    /// What approving a held send on `/held/{id}` needs; without it those pages answer 404.
    pub approvals: Option<verteiler_store::ApprovalSettings>,
    /// The store's intake `/compose` hands messages to, shared with the other ways in; without
    /// it, one over [`PortalSettings::approvals`] is started with the portal.
    pub intake: Option<Intake>,
    /// How `/admin/import` judges an upload; without it that page answers 404.
    pub imports: Option<ImportSettings>,
    /// Where uploads wait for a second request: a member export for its confirmation,
    /// attachments between checking and sending a message.
    pub upload_dir: std::path::PathBuf,
    /// The HTTP SMS provider's signing secret; without it (or with one shorter than
    /// [`SMS_WEBHOOK_MIN_SECRET_BYTES`]) `/sms/webhook` answers 404.
    pub sms_webhook_secret: Option<String>,
    /// The list templates in effect (from the configuration), shown on `/admin/templates`.
    pub list_rules: ListRules,
    /// Where officers' mail clients send, for the invitation mail; without it the admin
    /// pages offer no invitation.
    pub mail_client: Option<MailClientSetup>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client (see [`client`]).
    pub trusted_proxies: TrustedProxies,
    /// Drafts with attachments one member may have waiting at once on `/compose`.
    pub drafts_per_member: u32,
    /// The JSON API's limits (`/api/v1`).
    pub api: ApiSettings,
}

impl PortalSettings {
    pub fn new(base_url: &str) -> PortalSettings {
        PortalSettings {
            base_url: base_url.trim_end_matches('/').to_string(),
            phone_region: "DE".into(),
            approvals: None,
            intake: None,
            imports: None,
            upload_dir: std::env::temp_dir().join("verteiler-uploads"),
            sms_webhook_secret: None,
            list_rules: ListRules::none(),
            mail_client: None,
            trusted_proxies: TrustedProxies::none(),
            drafts_per_member: 20,
            api: ApiSettings::default(),
        }
    }

    pub fn with_trusted_proxies(self, trusted_proxies: TrustedProxies) -> PortalSettings {
        PortalSettings {
            trusted_proxies,
            ..self
        }
    }

    pub fn with_drafts_per_member(self, drafts_per_member: u32) -> PortalSettings {
        PortalSettings {
            drafts_per_member,
            ..self
        }
    }

    pub fn with_api(self, api: ApiSettings) -> PortalSettings {
        PortalSettings { api, ..self }
    }

    pub fn with_list_rules(self, list_rules: ListRules) -> PortalSettings {
        PortalSettings { list_rules, ..self }
    }

    pub fn with_mail_client(self, setup: MailClientSetup) -> PortalSettings {
        PortalSettings {
            mail_client: Some(setup),
            ..self
        }
    }

    pub fn with_approvals(self, approvals: verteiler_store::ApprovalSettings) -> PortalSettings {
        PortalSettings {
            approvals: Some(approvals),
            ..self
        }
    }

    pub fn with_upload_dir(self, upload_dir: impl Into<std::path::PathBuf>) -> PortalSettings {
        PortalSettings {
            upload_dir: upload_dir.into(),
            ..self
        }
    }

    pub fn with_sms_webhook_secret(self, secret: Option<String>) -> PortalSettings {
        PortalSettings {
            sms_webhook_secret: secret,
            ..self
        }
    }

    /// The shared intake, and its approval settings as [`PortalSettings::approvals`].
    pub fn with_intake(self, intake: Intake) -> PortalSettings {
        PortalSettings {
            approvals: Some(intake.settings().clone()),
            intake: Some(intake),
            ..self
        }
    }

    pub fn with_imports(self, imports: ImportSettings) -> PortalSettings {
        PortalSettings {
            imports: Some(imports),
            ..self
        }
    }
}

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Where `/compose` hands a message in: the store's one intake operation.
    pub intake: Option<Intake>,
    pub mails: Mails,
    pub limits: Arc<SignInLimits>,
    /// Requests per API token within the rate (`api.requests_per_minute`).
    pub(crate) api_limits: Arc<api::TokenLimits>,
    /// The SMS webhook's calls taken lately: each counts once.
    pub(crate) webhook_replays: Arc<sms_webhook::Replays>,
}

/// The settings with what follows from them; the settings themselves are reached through
/// `Deref` (`state.settings.base_url`).
#[derive(Debug)]
pub struct Settings {
    pub given: PortalSettings,
    /// The base URL is https: cookies are `Secure` and HSTS is sent.
    pub secure_cookies: bool,
}

impl std::ops::Deref for Settings {
    type Target = PortalSettings;

    fn deref(&self) -> &PortalSettings {
        &self.given
    }
}

impl AppState {
    pub fn new(store: Store, settings: PortalSettings) -> AppState {
        AppState::with_limits(store, settings, SignInLimits::new())
    }

    /// Starts an intake over `settings.approvals` when none is given (on the current runtime).
    pub fn with_limits(store: Store, settings: PortalSettings, limits: SignInLimits) -> AppState {
        let intake = settings.intake.clone().or_else(|| {
            let approvals = settings.approvals.clone()?;
            Some(Intake::start(store.clone(), approvals))
        });
        AppState {
            intake,
            api_limits: Arc::new(api::TokenLimits::new(settings.api.requests_per_minute)),
            store,
            mails: Mails::new(&settings.base_url),
            settings: Arc::new(Settings {
                secure_cookies: settings.base_url.starts_with("https://"),
                given: settings,
            }),
            limits: Arc::new(limits),
            webhook_replays: Arc::default(),
        }
    }

    /// The store, with changes audited as made by this member through the portal.
    pub(crate) fn store_for(&self, member: &session::Member) -> Store {
        self.store
            .acting_as(format!("portal:member:{}", member.id()))
    }
}

async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    security::add_headers(&mut response, state.settings.secure_cookies);
    response
}

/// The whole HTTP surface of the portal.
pub fn router(state: AppState) -> Router {
    let upload_limit = state
        .settings
        .imports
        .as_ref()
        .map_or(0, |i| i.max_upload_bytes as usize + 64 * 1024);
    // Attachments are encoded on the way in (about a third larger) and come with the text.
    let compose_limit = (compose::max_attachment_bytes(&state) as usize)
        .saturating_mul(2)
        .max(1024 * 1024);
    Router::new()
        .route("/", get(member::root))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/portal.css", get(page::stylesheet))
        .route("/static/live.js", get(page::live_script))
        .route("/lang/{code}", get(public::switch_language))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::confirm_page).post(unsubscribe::unsubscribe),
        )
        .route("/signin", get(sign_in::page).post(sign_in::request_link))
        .route(
            "/sms/webhook",
            post(sms_webhook::webhook).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route("/signin/password", post(sign_in::with_password))
        .route(
            "/signin/link/{token}",
            get(sign_in::link_page).post(sign_in::use_link),
        )
        .route("/signout", post(sign_in::sign_out))
        .route("/signout/everywhere", post(sign_in::sign_out_everywhere))
        .route(
            "/lists/{slug}",
            get(public::list_page).post(public::subscribe),
        )
        .route(
            "/confirm/{token}",
            get(public::confirm_page).post(public::confirm),
        )
        .route("/me", get(member::overview))
        .route("/me/subscriptions", get(member::subscriptions))
        .route("/me/channels", post(member::set_channel))
        .route("/me/subscriptions/{id}/join", post(member::join))
        .route("/me/subscriptions/{id}/leave", post(member::leave))
        .route("/me/contact", get(contact::page))
        .route("/me/contact/email", post(contact::add_email))
        .route("/me/contact/phone", post(contact::add_phone))
        .route("/me/contact/postal", post(contact::set_postal))
        .route("/me/contact/{id}/verify", post(contact::verify_phone))
        .route("/me/contact/{id}/resend", post(contact::resend_code))
        .route("/me/contact/{id}/remove", post(contact::remove))
        .route(
            "/me/app-passwords",
            get(account::app_passwords).post(account::create_app_password),
        )
        .route(
            "/me/app-passwords/{id}/revoke",
            post(account::revoke_app_password),
        )
        .route("/me/tokens", get(tokens::page).post(tokens::create))
        .route("/me/tokens/{id}/revoke", post(tokens::revoke))
        .route("/me/account", get(account::account))
        .route("/me/password", post(account::set_password))
        .route("/me/export", get(account::export))
        .route("/me/delete", post(account::request_deletion))
        .route(
            "/compose",
            get(compose::page)
                .post(compose::submit)
                .layer(DefaultBodyLimit::max(compose_limit)),
        )
        .route("/compose/discard", post(drafts::discard))
        .merge(admin_routes(upload_limit))
        .merge(api::routes(&state))
        .route("/audiences", get(audiences::list))
        .route("/audiences/{slug}", get(audiences::page))
        .route("/submissions", get(submissions::list))
        .route("/submissions/{id}", get(submissions::page))
        .route(
            "/submissions/{id}/sends/{send}/cancel",
            post(submissions::cancel),
        )
        .route(
            "/submissions/{id}/sends/{send}/postal.csv",
            get(submissions::postal_list),
        )
        .route("/held", get(held::queue))
        .route("/held/{id}", get(held::page))
        .route("/held/{id}/content", get(held::content))
        .route("/held/{id}/approve", post(held::approve))
        .route("/held/{id}/reject", post(held::reject))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .route_layer(middleware::from_fn(access_log::log_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client::identify,
        ))
        .with_state(state)
}

/// The admin pages (`/admin/…`): every handler answers 404 to anybody but an admin
/// (`/admin/who` to anybody but an admin or a press officer).
fn admin_routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin::overview))
        .route("/admin/pause", post(admin::pause))
        .route("/admin/resume", post(admin::resume))
        .route("/admin/breaker/{id}/release", post(admin::breaker::release))
        .route(
            "/admin/breaker/release-all",
            post(admin::breaker::release_all),
        )
        .route("/admin/audit", get(admin::audit))
        .route("/admin/who", get(admin::who::page).post(admin::who::ask))
        .route(
            "/admin/import",
            get(admin::import::page)
                .post(admin::import::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/admin/import/confirm", post(admin::import::confirm))
        .route("/admin/import/jobs/{token}", get(admin::import::job))
        .route("/admin/units", get(admin::units::tree))
        .route("/admin/units/{code}", get(admin::units::unit))
        .route("/admin/units/{code}/grant", post(admin::units::grant))
        .route("/admin/units/{code}/revoke", post(admin::units::revoke))
        .route("/admin/units/{code}/active", post(admin::units::set_active))
        .route(
            "/admin/units/{code}/invite",
            post(admin::invite::invite_unit),
        )
        .route("/admin/invite", post(admin::invite::invite_all))
        .route("/admin/audiences", get(admin::lists::index))
        .route(
            "/admin/new-audience",
            get(admin::lists::new_list).post(admin::lists::create),
        )
        .route("/admin/templates", get(admin::lists::templates))
        .route(
            "/admin/audiences/{slug}",
            get(admin::lists::page).post(admin::lists::save),
        )
        .route(
            "/admin/audiences/{slug}/usual-size/reset",
            post(admin::usual_size::reset),
        )
        .route(
            "/admin/audiences/{slug}/active",
            post(admin::lists::set_active),
        )
        .route(
            "/admin/audiences/{slug}/aliases",
            post(admin::lists::add_alias),
        )
        .route(
            "/admin/audiences/{slug}/aliases/remove",
            post(admin::lists::remove_alias),
        )
        .route("/admin/audiences/{slug}/delete", post(admin::lists::delete))
}
