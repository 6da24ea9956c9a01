//! Runtime configuration: defaults in code → TOML file → `VERTEILER_` environment variables.
//!
//! Every section and every key has a default, so an empty file (or no file) is a valid
//! configuration. [`Config::load`] layers the sources, remembers where each value came from and
//! reports *every* problem at once in [`ConfigErrors`], each naming the dotted key and its source.
//! Secrets are [`SecretString`]s, so neither `Debug` nor [`Config::render_effective`] prints them.

mod api;
pub use api::ApiConfig;
mod instance;
mod log;
pub use instance::InstanceConfig;
pub use log::LogConfig;
mod check;
mod derived;
mod errors;
mod layers;
mod lines;
mod listeners;
mod lists;
mod load;
mod portal;
mod retention;
pub use retention::PrivacyConfig;
mod serde_helpers;
mod validate;
mod validate_sms;

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use errors::{ConfigError, ConfigErrors, Origin};
pub use listeners::{HttpConfig, SmtpConfig};
pub use lists::{ListsConfig, TemplateConfig};
pub use load::LoadedConfig;

/// File looked for in the current directory when no `--config` was given.
pub const DEFAULT_FILE_NAME: &str = "verteiler.toml";
/// Prefix of the environment variables that override file values.
pub const ENV_PREFIX: &str = "VERTEILER_";
/// Environment variable naming the config file; not a config key itself.
pub const ENV_CONFIG_FILE: &str = "VERTEILER_CONFIG";

const DOCUMENTED_DEFAULTS: &str = include_str!("../../ops/verteiler.example.toml");

/// The whole configuration, one struct per section of the TOML file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub smtp: SmtpConfig,
    pub delivery: DeliveryConfig,
    pub sms: SmsConfig,
    pub limits: LimitsConfig,
    pub organisation: OrganisationConfig,
    pub lists: ListsConfig,
    pub privacy: PrivacyConfig,
    pub api: ApiConfig,
    pub log: LogConfig,
    pub instance: InstanceConfig,
}

/// `[database]`: the backend is chosen from the URL scheme (SQLite or PostgreSQL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/verteiler.db".into(),
            max_connections: 8,
        }
    }
}

/// `[delivery]`: how released mail leaves the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryConfig {
    pub transport: Transport,
    pub outbox_dir: PathBuf,
    pub undo_window_secs: u64,
    pub workers: u32,
    /// Hard bounces after which an email address is no longer used.
    pub hard_bounce_limit: u32,
    /// Seconds a worker's claim on a batch of copies lasts; a crashed worker's copies come
    /// back after it.
    pub lease_secs: u32,
    /// Seconds before the first retry of a temporarily failed copy; doubled per attempt.
    pub retry_first_secs: u32,
    /// Longest wait between two retries, in seconds.
    pub retry_max_secs: u32,
    /// A copy still failing temporarily this many seconds after its send was expanded fails.
    pub max_age_secs: u32,
    /// Copies per second over all destinations; 0 is unlimited.
    pub max_per_second: u32,
    /// Copies per second to one destination domain; 0 is unlimited.
    pub per_domain_per_second: u32,
    /// Copies in flight to one destination domain at once.
    pub per_domain_in_flight: u32,
    pub relay: RelayConfig,
    pub mx: MxConfig,
    pub dkim: DkimConfig,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            transport: Transport::Outbox,
            outbox_dir: PathBuf::from("./data/outbox"),
            undo_window_secs: 120,
            workers: 32,
            hard_bounce_limit: 3,
            lease_secs: 300,
            retry_first_secs: 60,
            retry_max_secs: 14_400,
            max_age_secs: 259_200,
            max_per_second: 0,
            per_domain_per_second: 0,
            per_domain_in_flight: 8,
            relay: RelayConfig::default(),
            mx: MxConfig::default(),
            dkim: DkimConfig::default(),
        }
    }
}

/// `[delivery.dkim]`: keys that sign every outgoing copy. Off while no key file is set; an
/// RSA and an Ed25519 key together give each copy two signatures. Separate keys per algorithm
/// (rather than a list) keep every setting reachable as one environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DkimConfig {
    /// The signing domain (`d=`); unset: `organisation.list_domain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsa_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsa_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ed25519_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ed25519_key_file: Option<PathBuf>,
    /// `serve --demo` without key files signs with an Ed25519 key it makes once next to the
    /// outbox; `false` sends the demo's mail unsigned (for a benchmark's unsigned baseline).
    pub demo_key: bool,
}

impl Default for DkimConfig {
    fn default() -> Self {
        Self {
            domain: None,
            rsa_selector: None,
            rsa_key_file: None,
            ed25519_selector: None,
            ed25519_key_file: None,
            demo_key: true,
        }
    }
}

impl DkimConfig {
    /// Whether any key is configured, i.e. whether copies are signed.
    pub fn enabled(&self) -> bool {
        self.rsa_key_file.is_some() || self.ed25519_key_file.is_some()
    }
}

/// Where outgoing mail goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Write each message as a file into `delivery.outbox_dir` (development, tests).
    #[default]
    Outbox,
    /// Hand everything to one smarthost, `delivery.relay`.
    Relay,
    /// Deliver directly to each recipient domain's MX hosts.
    Mx,
}

/// `[delivery.relay]`: the smarthost used when `delivery.transport = "relay"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RelayConfig {
    pub host: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(
        serialize_with = "serde_helpers::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<SecretString>,
    pub tls: RelayTls,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            username: None,
            password: None,
            tls: RelayTls::Starttls,
        }
    }
}

/// Compares the password too (secrets have no `PartialEq` of their own).
impl PartialEq for RelayConfig {
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.username == other.username
            && exposed(&self.password) == exposed(&other.password)
            && self.tls == other.tls
    }
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Implicit,
    /// No encryption; only for a relay on the same host or a test server.
    None,
}

/// `[delivery.mx]`: direct delivery to each recipient domain's mail hosts, used when
/// `delivery.transport = "mx"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MxConfig {
    /// Our name in EHLO; unset means `organisation.list_domain`. Receivers check that it
    /// resolves (ideally back and forth with the sending address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo_name: Option<String>,
    /// Port of the recipients' mail hosts: 25, except in tests.
    pub port: u16,
    /// DNS servers (`ip:port`, or `ip` for port 53); empty means those of /etc/resolv.conf.
    #[serde(deserialize_with = "serde_helpers::nameservers")]
    pub nameservers: Vec<SocketAddr>,
    /// Seconds each step at one mail host may take (connect with greeting and EHLO, STARTTLS,
    /// the transaction).
    pub timeout_secs: u32,
    /// Whether mail hosts at loopback, private (RFC 1918), link-local, CGNAT, unique-local and
    /// other non-public addresses are delivered to. Off: a recipient domain whose MX points
    /// into our own network fails its copies, naming the host.
    pub allow_private_addresses: bool,
}

impl Default for MxConfig {
    fn default() -> Self {
        Self {
            helo_name: None,
            port: 25,
            nameservers: Vec::new(),
            timeout_secs: 120,
            allow_private_addresses: false,
        }
    }
}

/// `[sms]`: how text messages leave the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub outbox_dir: PathBuf,
    /// What one SMS part costs, in euro cents (0: costs are not counted).
    pub cost_per_segment_cents: u64,
    /// What the sends of one unit may spend on SMS per calendar month, in euro cents (0: none).
    pub monthly_budget_cents_per_unit: u64,
    /// SMS parts of one send (segments × SMS recipients) above which it is held for approval.
    pub parts_hold_above: u64,
    /// What the portal's own texts (phone codes) may cost per calendar month, in euro cents
    /// (0: no budget).
    pub portal_monthly_budget_cents: u64,
    pub http: SmsHttpConfig,
    pub smpp: SmsSmppConfig,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Outbox,
            outbox_dir: PathBuf::from("./data/sms-outbox"),
            cost_per_segment_cents: 0,
            monthly_budget_cents_per_unit: 0,
            parts_hold_above: verteiler_policies::OrgLimits::default().sms_parts_hold_above,
            portal_monthly_budget_cents: 0,
            http: SmsHttpConfig::default(),
            smpp: SmsSmppConfig::default(),
        }
    }
}

/// A secret as text, for the configs' equality (`SecretString` has no `PartialEq`).
fn exposed(secret: &Option<SecretString>) -> Option<&str> {
    secret.as_ref().map(|s| s.expose_secret())
}

/// `[sms.http]`: an SMS provider's JSON API, used when `sms.provider = "http"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsHttpConfig {
    pub url: String,
    #[serde(
        serialize_with = "serde_helpers::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<SecretString>,
    pub to_field: String,
    pub text_field: String,
    pub reference_field: String,
    /// The answer's field with the provider's id of the text (receipts may name it).
    pub id_field: String,
    pub timeout_secs: u32,
    /// Signs the provider's calls to the portal's `/sms/webhook` (HMAC-SHA256 of
    /// `TIMESTAMP.BODY`); at least 32 bytes.
    #[serde(
        serialize_with = "serde_helpers::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub webhook_secret: Option<SecretString>,
}

impl Default for SmsHttpConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            token: None,
            to_field: "to".into(),
            text_field: "text".into(),
            reference_field: "reference".into(),
            id_field: "id".into(),
            timeout_secs: 10,
            webhook_secret: None,
        }
    }
}

/// Compares the secrets too (they have no `PartialEq` of their own).
impl PartialEq for SmsHttpConfig {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
            && exposed(&self.token) == exposed(&other.token)
            && self.to_field == other.to_field
            && self.text_field == other.text_field
            && self.reference_field == other.reference_field
            && self.id_field == other.id_field
            && self.timeout_secs == other.timeout_secs
            && exposed(&self.webhook_secret) == exposed(&other.webhook_secret)
    }
}

/// `[sms.smpp]`: an SMSC spoken to over SMPP, used when `sms.provider = "smpp"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsSmppConfig {
    /// `host:port` of the SMSC.
    pub address: String,
    pub system_id: String,
    #[serde(
        serialize_with = "serde_helpers::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<SecretString>,
    pub system_type: String,
    pub source_addr: String,
    pub window: u32,
    pub enquire_link_secs: u32,
    pub response_timeout_secs: u32,
    pub reconnect_max_secs: u32,
}

impl Default for SmsSmppConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            system_id: String::new(),
            password: None,
            system_type: String::new(),
            source_addr: "verteiler".into(),
            window: 50,
            enquire_link_secs: 30,
            response_timeout_secs: 10,
            reconnect_max_secs: 60,
        }
    }
}

/// Compares the password too (it has no `PartialEq` of its own).
impl PartialEq for SmsSmppConfig {
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address
            && self.system_id == other.system_id
            && exposed(&self.password) == exposed(&other.password)
            && self.system_type == other.system_type
            && self.source_addr == other.source_addr
            && self.window == other.window
            && self.enquire_link_secs == other.enquire_link_secs
            && self.response_timeout_secs == other.response_timeout_secs
            && self.reconnect_max_secs == other.reconnect_max_secs
    }
}

/// Which SMS gateway is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Write each message as a file into `sms.outbox_dir` (development, tests).
    #[default]
    Outbox,
    /// An SMPP connection to an SMS centre.
    Smpp,
    /// An HTTP API of an SMS provider.
    Http,
}

/// `[limits]`: organisation-wide ceilings enforced by the policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    pub max_recipients_per_send: u64,
    pub max_message_bytes: u64,
    pub sends_per_sender_per_day: u32,
    pub sends_per_sender_per_hour: u32,
    pub recipients_per_sender_per_day: u64,
    pub sends_per_audience_per_day: u32,
    pub org_recipients_per_hour: u64,
    pub import_max_change_percent: f64,
    pub import_change_slack: u64,
    pub approval_window_hours: u64,
    /// Codes by SMS and links by mail for new contact data, per member and per destination.
    pub verification_per_member_per_hour: u32,
    pub verification_per_member_per_day: u32,
    pub verification_per_destination_per_hour: u32,
    pub verification_per_destination_per_day: u32,
    /// Days a message is kept after its last send ended; then `serve` purges it (0: for ever).
    pub retention_days: u32,
    /// Submissions of one sender every list refused per hour before the next is answered
    /// "try later" and not stored.
    pub refused_per_sender_per_hour: u64,
    /// Drafts with attachments one member may have waiting at once on /compose.
    pub drafts_per_member: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_recipients_per_send: 400_000,
            max_message_bytes: 26_214_400,
            sends_per_sender_per_day: 50,
            sends_per_sender_per_hour: 30,
            recipients_per_sender_per_day: 2_000_000,
            sends_per_audience_per_day: 50,
            org_recipients_per_hour: 1_000_000,
            import_max_change_percent: 10.0,
            import_change_slack: 5,
            approval_window_hours: 72,
            verification_per_member_per_hour: 5,
            verification_per_member_per_day: 10,
            verification_per_destination_per_hour: 3,
            verification_per_destination_per_day: 5,
            retention_days: 90,
            refused_per_sender_per_hour: 20,
            drafts_per_member: 20,
        }
    }
}

/// `[organisation]`: who runs this instance and how its addresses and links look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganisationConfig {
    pub name: String,
    pub list_domain: String,
    pub portal_base_url: String,
    pub default_region: String,
    pub default_language: Language,
}

impl Default for OrganisationConfig {
    fn default() -> Self {
        Self {
            name: "Demo-Partei".into(),
            list_domain: "lists.example.org".into(),
            portal_base_url: "http://127.0.0.1:8080".into(),
            default_region: "DE".into(),
            default_language: Language::De,
        }
    }
}

/// Language of portal pages and system mails when the member has not chosen one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    De,
    En,
}

impl Config {
    /// The example configuration: every key with its default and a one-line comment.
    /// A unit test keeps it equal to [`Config::default`].
    pub fn documented_defaults() -> &'static str {
        DOCUMENTED_DEFAULTS
    }

    /// `Some("verteiler.toml")` when that file exists in the current directory.
    pub fn default_path() -> Option<PathBuf> {
        let path = PathBuf::from(DEFAULT_FILE_NAME);
        path.is_file().then_some(path)
    }

    /// The configuration as TOML, secrets shown as `"<redacted>"` (for a `config show` command).
    pub fn render_effective(&self) -> String {
        // Serialising plain structs of strings, numbers and paths cannot fail.
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
