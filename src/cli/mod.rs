//! The command line. Every command explains itself with `--help`.

mod directory;
mod lists;
mod send;
mod token;

pub use directory::{DirectoryChangesArgs, DirectoryCommand};
pub use lists::{
    AliasCommand, AudienceCommand, CreateListArgs, EditListArgs, ListFields, UnitCommand,
};
pub use send::SendCommand;
pub use token::TokenCommand;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use verteiler_store::directory::import::Encoding;

#[derive(Debug, Parser)]
#[command(
    name = "verteiler",
    version,
    about = "Policy-enforcing email and SMS gateway with a member self-service portal",
    long_about = "verteiler lets chairs send to their members from their normal email client while \
refusing to widen an audience, delivering Bcc-only and holding large or official sends for a second \
person's approval.\n\nStart here: `verteiler serve --demo` runs everything with embedded defaults and \
a demo organisation.",
    after_help = "Configuration: --config FILE (default ./verteiler.toml if present); every key can be \
overridden with an environment variable VERTEILER_SECTION__KEY, e.g. VERTEILER_DATABASE__URL. \
`verteiler config defaults` prints every key with its default."
)]
pub struct Cli {
    /// Configuration file (TOML). Without it, ./verteiler.toml is read if it exists.
    #[arg(long, global = true, env = "VERTEILER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Write logs as JSON lines (for log collectors) instead of text. RUST_LOG sets the level.
    #[arg(long, global = true)]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes: a new file (never overwritten), e.g. backups/verteiler-2026-12-07.db.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process: the SMTP submission listener, delivery (mail and SMS) and
    /// the HTTP portal.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (serve does this too at start).
    Migrate,
    /// Copy the SQLite database to a new FILE while `serve` runs: a consistent snapshot (every
    /// submission accepted before the copy began), checked before it is kept. For PostgreSQL,
    /// use pg_dump (see the README).
    Backup(BackupArgs),
    /// Import the unit tree or the member directory from CSV exports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Create a demo organisation (units, members, chairs, press office, audiences) in the
    /// configured database. Refuses to touch a database that already holds members.
    Demo(DemoArgs),
    /// Lists (audiences): inspect them (definition, policy and resolved count, never
    /// addresses), make and change them by hand, switch them off and on, keep them in step
    /// with the templates.
    #[command(subcommand)]
    Audience(AudienceCommand),
    /// Units of the organisation tree: list them, switch one off or on.
    #[command(subcommand)]
    Unit(UnitCommand),
    /// The membership database's side: what members changed themselves, to take over.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Manage a member's app passwords (the per-person credentials for email clients).
    #[command(subcommand)]
    Member(MemberCommand),
    /// Personal API tokens for /api/v1: create one for a member (shown once), list them,
    /// revoke one.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Watch and control sending: queue status, one send's totals, cancelling a send, the
    /// organisation-wide kill switch, and the queue tools (inspect, requeue, flush, purge).
    #[command(subcommand)]
    Send(SendCommand),
    /// Text messages received: record what a provider's inbox forwarded (STOP and the like).
    #[command(subcommand)]
    Sms(SmsCommand),
    /// Four eyes: list held sends, look at one, approve, reject or withdraw it, expire old
    /// requests.
    #[command(subcommand)]
    Held(HeldCommand),
    /// The tamper-evident audit log: verify the chain, answer "who sent this?", export it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Test audience policies without sending anything.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// DKIM keys: make a key and the DNS record that publishes it.
    #[command(subcommand)]
    Dkim(DkimCommand),
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Write a new private key (PKCS#8 PEM, readable by its owner only; an existing file is
    /// never overwritten) and print its DNS TXT record and the configuration lines to add.
    ///
    /// Publish the record first, then configure the key, e.g.
    ///   verteiler dkim generate --selector verteiler-2026
    ///   verteiler dkim generate --selector verteiler-ed-2026 --algorithm ed25519
    #[command(verbatim_doc_comment)]
    Generate(DkimGenerateArgs),
}

#[derive(Debug, Args)]
pub struct DkimGenerateArgs {
    /// The selector: the key's name in DNS (SELECTOR._domainkey.DOMAIN), e.g. verteiler-2026.
    #[arg(long)]
    pub selector: String,
    /// rsa (2048 bits, checked by every receiver) or ed25519 (RFC 8463).
    #[arg(long, value_enum, default_value_t = DkimAlgorithmArg::Rsa)]
    pub algorithm: DkimAlgorithmArg,
    /// The signing domain (d=); default: delivery.dkim.domain, else organisation.list_domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Where to write the private key; default: ./dkim-SELECTOR.pem.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DkimAlgorithmArg {
    Rsa,
    Ed25519,
}

#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// Handle a text received from a number: "STOP", "STOPP" or "ABMELDEN" ends texts to it
    /// (statutory notice excepted) and is confirmed once; anything else is ignored.
    Inbound {
        /// The sender's number (E.164, or the network's digits with country code).
        #[arg(long)]
        from: String,
        /// The text as received.
        text: String,
    },
    /// A unit's SMS spending this month against its monthly budget; with --set or --clear,
    /// changes the unit's own budget (audited). Without one of its own, a unit has the
    /// organisation's `sms.monthly_budget_cents_per_unit`.
    Budget {
        /// The unit's code, as in the member export (e.g. HH-WA-OLD).
        unit: String,
        /// The unit's own monthly budget, in euro cents (e.g. 5000 for 50 €).
        #[arg(long, value_name = "CENTS", conflicts_with = "clear")]
        set: Option<u64>,
        /// Remove the unit's own budget: the organisation's applies again.
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HeldCommand {
    /// Every send waiting for approval: id, list, sender, recipients, approvals missing, expiry.
    List,
    /// One held send: sender, list, recipients against the usual size, subject, every reason,
    /// the content hash an approval is bound to, and the approvals so far.
    Show {
        /// The send's id (`verteiler held list`, the approval request email).
        send_id: i64,
    },
    /// Approve a held send. Counts only for a member holding an approver role over the list
    /// who is not the sender; the send is released (after the undo window) once enough
    /// distinct people approved, e.g.
    ///   verteiler held approve 17 --as jonas.petersen@example.org
    #[command(verbatim_doc_comment)]
    Approve {
        send_id: i64,
        /// The approver: an email address of an active member.
        #[arg(long = "as", value_name = "EMAIL")]
        approver: String,
        /// A note kept with the approval.
        #[arg(long)]
        comment: Option<String>,
        /// The content hash you reviewed (`held show`); the approval is refused if the stored
        /// message differs. Default: the stored message's hash.
        #[arg(long, value_name = "SHA256")]
        hash: Option<String>,
    },
    /// Refuse a held send; the comment is sent to the sender. Approvers of the list may, and an
    /// organisation admin may refuse a send the circuit breaker holds, e.g.
    ///   verteiler held reject 17 --as jonas.petersen@example.org --comment "Bitte Zitat prüfen"
    #[command(verbatim_doc_comment)]
    Reject {
        send_id: i64,
        #[arg(long = "as", value_name = "EMAIL")]
        approver: String,
        /// Why, in words the sender understands (required).
        #[arg(long)]
        comment: String,
    },
    /// Release sends held by the circuit breaker (org.circuit_breaker: the organisation would
    /// have reached more than limits.org_recipients_per_hour recipients within an hour). Only
    /// an organisation admin may; approvals never lift the breaker, nor does `send resume-all`.
    ///
    /// Each send is decided again with the breaker lifted for it alone: it goes out through the
    /// undo window, or stays held for its other reasons (its approvers are then asked), or is
    /// refused if the engine refuses it now. The sender is told. See them with `held list`;
    /// refuse one with `held reject ID --as ADMIN-EMAIL --comment "…"`. E.g.
    ///   verteiler held release 17 --as aylin.kaya@example.org
    ///   verteiler held release --breaker-all --as aylin.kaya@example.org
    #[command(verbatim_doc_comment)]
    Release {
        /// The send's id (`verteiler held list` marks circuit-breaker holds).
        #[arg(
            required_unless_present = "breaker_all",
            conflicts_with = "breaker_all"
        )]
        send_id: Option<i64>,
        /// Release every send the circuit breaker holds, oldest first.
        #[arg(long)]
        breaker_all: bool,
        /// The admin releasing: the email address of an organisation admin.
        #[arg(long = "as", value_name = "ADMIN-EMAIL")]
        admin: String,
    },
    /// The sender takes back their own held send.
    Withdraw {
        send_id: i64,
        /// The sender: an email address of the member who submitted it.
        #[arg(long = "as", value_name = "EMAIL")]
        sender: String,
    },
    /// Expire every request older than limits.approval_window_hours now and tell the senders
    /// (`serve` does this every minute by itself).
    Expire,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain: prints OK with the entry count and the newest hash, or the first
    /// entry where the chain breaks and how (edited, removed, reordered). Exit code 1 when
    /// broken.
    Verify,
    /// Who sent a message: person, credential, client IP and name, when, to which list and
    /// how many recipients, who approved it and when, and the delivery totals. Asked from
    /// what the person asking holds: the sender's Message-ID, a copy's Message-ID or its
    /// X-Verteiler-Send header, or a whole copy, e.g.
    ///   verteiler audit who '<d4711.Xk3fPq9a@lists.example.org>'
    ///   verteiler audit who --file copy.eml
    #[command(verbatim_doc_comment)]
    Who {
        /// A Message-ID (the submission's or a copy's) or an X-Verteiler-Send id, with or
        /// without angle brackets.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        reference: Option<String>,
        /// A copy as received (an .eml file, or just its headers): answered from its
        /// Message-ID, X-Verteiler-Send and References.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Write entries as JSON lines (one object per entry, with its hashes) for an external
    /// archive.
    Export {
        /// First day to include (YYYY-MM-DD, UTC) or a full RFC 3339 time.
        #[arg(long, value_name = "DATE")]
        since: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the real audience resolution and the real policy engine for a send that is not
    /// made, and print the decision with every reason and figure. Nothing is stored.
    ///
    /// Use it to check a policy change before a chair meets it, e.g.
    ///   verteiler policy simulate --as ole.brandt@example.org --to oldenfelde
    ///   verteiler policy simulate --as ole.brandt@example.org --to oldenfelde --visible-recipients 1493
    ///   verteiler policy simulate --as renee.hoffmann@example.org --to newsletter --from presse@example.org
    #[command(verbatim_doc_comment)]
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The sender: an email address of an active member.
    #[arg(long = "as", value_name = "EMAIL")]
    pub sender: String,
    /// The audience: its list address or slug.
    #[arg(long = "to", value_name = "AUDIENCE")]
    pub audience: String,
    /// The message's From: address (default: the --as address). An official sender address
    /// (presse@example.org) is good only on the lists that carry it.
    #[arg(long, value_name = "EMAIL")]
    pub from: Option<String>,
    /// Addresses visible in To/Cc that are not list addresses.
    #[arg(long, default_value_t = 0)]
    pub visible_recipients: u32,
    /// Size of the message in bytes.
    #[arg(long, default_value_t = 20_000)]
    pub size: u64,
    /// Number of attachments and their total size in bytes.
    #[arg(long, default_value_t = 0)]
    pub attachments: u32,
    #[arg(long, default_value_t = 0)]
    pub attachment_bytes: u64,
    /// Channel of the send: email or sms.
    #[arg(long, default_value = "email")]
    pub channel: String,
    /// SMS segments of the text (with --channel sms).
    #[arg(long, default_value_t = 1)]
    pub sms_segments: u32,
    /// Language of the explanation: de or en (default: organisation.default_language).
    #[arg(long)]
    pub lang: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Use the embedded defaults with a demo organisation: SQLite under ./data, portal on
    /// 127.0.0.1:8080. The demo data is created on first start; the demo logins are printed.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of members to generate (up to 400000 for benchmarks).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(50..=400_000))]
    pub members: u32,
    /// Seed of the generator: the same seed gives the same organisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only write the generated exports (units.csv, members.csv) into this directory, for
    /// trying `verteiler import` or for benchmarks; the database is not touched.
    #[arg(long, value_name = "DIR")]
    pub write_csv: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import units from CSV with the columns code;name;kind;parent_code.
    ///
    /// kind is one of federal, state, district, sub-district, branch, committee, working-group,
    /// interest-group. A parent may be defined later in the file or already be stored. Units are
    /// created or updated by code, never deleted. Import units before members.
    ///
    /// The lists are kept in step in the same step, by the templates of `[lists]` in the
    /// configuration (`verteiler audience templates` shows them): a new unit gets its lists, a
    /// renamed unit's list gets the new address and keeps the old one as an alias, and with
    /// --full the lists of units the export no longer has are switched off. Two units that
    /// would get the same list address refuse the import, naming both; more than
    /// limits.import_max_change_percent of the lists (or units) changing is refused without
    /// --allow-large-change.
    #[command(after_help = IMPORT_AFTER_HELP)]
    Units(ImportUnitsArgs),
    /// Import members from a CSV export of the membership database.
    ///
    /// Columns (header names, any order; `;` or `,` separated; UTF-8 with or without BOM, or
    /// Windows-1252 with --encoding windows-1252):
    ///   external_id        id in the membership database (required, unique)
    ///   first_name         last_name  (at least one required)
    ///   unit_code          code of the member's unit (required; import units first)
    ///   email              optional; must be a valid address
    ///   phone              optional; any local notation, stored as E.164
    ///   street  postcode  city    optional postal address
    ///   roles              optional; function@unit_code joined by |, e.g. chair@HH-WA-OLD|board@HH-WA
    ///                      functions: chair, vice-chair, board, secretary, treasurer, press-office, admin
    ///   preferred_channel  optional; email, sms or post: the channel the membership database
    ///                      records, for every kind of mail the member has not chosen in the portal
    ///
    /// Line breaks and tabs inside a field become single spaces.
    /// Re-importing the same file changes nothing. A changed row updates its member. Every bad
    /// row is reported with its line number; by default nothing is written when any row is bad.
    /// An import that would change more than 10% of a unit's members (or of the directory) is
    /// refused with a per-unit summary, because a broken export must not silently empty or flood
    /// the audiences.
    #[command(verbatim_doc_comment, after_help = IMPORT_AFTER_HELP)]
    Members(ImportMembersArgs),
}

/// The exit codes of `verteiler import`, for scripts and cron jobs (and the README).
const IMPORT_AFTER_HELP: &str = "\
Exit codes:
  0  every row was written (--dry-run: would be)
  1  error: the file could not be read (missing, not in the chosen encoding, columns missing)
     or the database failed; nothing was written
  2  wrong arguments; nothing was done
  3  refused: bad rows without --skip-invalid, or a change above the sync-safety limit
     without --allow-large-change; nothing was written
  4  written, but bad rows were skipped (--skip-invalid); the last line says how many

Progress goes to standard error: a bar on a terminal, otherwise a line at every tenth and at
least every 5 seconds. The report goes to standard output.";

/// The encodings an export may be in; also cp1252, latin1 and utf8 are understood.
fn encoding_arg(text: &str) -> Result<Encoding, String> {
    text.parse()
}

#[derive(Debug, Args)]
pub struct ImportUnitsArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Check the file and report what would change (units and lists), write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows even if some rows are bad (bad rows are still listed; exit code 4).
    #[arg(long)]
    pub skip_invalid: bool,
    /// The file is the complete tree: units missing from it are switched off, and so are
    /// their lists (never deleted; they come back when a later export has the unit again).
    #[arg(long)]
    pub full: bool,
    /// Accept a change above the sync-safety limit (check the --dry-run summary first).
    #[arg(long)]
    pub allow_large_change: bool,
    /// The file's character encoding: utf-8 or windows-1252 (German Excel's "CSV
    /// (Trennzeichen-getrennt)"; cp1252 and latin1 mean the same).
    #[arg(long, value_name = "ENCODING", default_value = "utf-8", value_parser = encoding_arg)]
    pub encoding: Encoding,
}

#[derive(Debug, Args)]
pub struct ImportMembersArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Check the file and print the change summary per unit, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows even if some rows are bad (bad rows are still listed; exit code 4).
    #[arg(long)]
    pub skip_invalid: bool,
    /// The file's character encoding: utf-8 or windows-1252 (German Excel's "CSV
    /// (Trennzeichen-getrennt)"; cp1252 and latin1 mean the same).
    #[arg(long, value_name = "ENCODING", default_value = "utf-8", value_parser = encoding_arg)]
    pub encoding: Encoding,
    /// The file is the complete directory: members missing from it are marked as having left.
    #[arg(long)]
    pub full: bool,
    /// Accept a change above the sync-safety limit (check the --dry-run summary first).
    #[arg(long)]
    pub allow_large_change: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every configuration key with its default and an explanation.
    Defaults,
    /// Print the configuration in effect (file and environment applied; secrets redacted).
    Show,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Everything stored about a member, as JSON (the right of access): the member, units,
    /// contact data, channel choices, roles, subscriptions, app passwords (names, never
    /// hashes), submissions and deliveries. Every export is recorded in the audit log.
    Export {
        /// The member's email address.
        email: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Create a new app password for a member and print it once. A member may have several
    /// (one per device); each can be revoked alone. Passwords are stored only as argon2id hashes.
    SetPassword {
        /// The member's email address (also the login name in the email client).
        email: String,
        /// A name that tells the member which device it is for.
        #[arg(long, default_value = "email client")]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a member's app passwords (names and dates, never the passwords).
    Passwords { email: String },
    /// Bring officers on board: mail each holder of a function (in a unit and the units below
    /// it, or everywhere) a sign-in link (valid 7 days) with how to make an app password and
    /// set up their mail client, e.g.
    ///   verteiler member invite --function chair
    ///   verteiler member invite --function board --unit HH-WA
    /// Officers who already have an app password, or an unused invitation that is still
    /// valid, are skipped, so it can run after every import. Officers without an email
    /// address are listed: add the address in the membership database, and the next import
    /// brings it.
    #[command(verbatim_doc_comment)]
    Invite {
        /// The function: chair, vice-chair, board, secretary, treasurer, press-office, admin.
        #[arg(long)]
        function: String,
        /// Only officers of this unit and the units below it (its code, e.g. HH-WA).
        #[arg(long, value_name = "CODE")]
        unit: Option<String>,
    },
    /// List the deletion requests members made in the portal and that wait for an admin.
    Deletions,
    /// Complete a member's deletion request: contact data, units, offices, subscriptions,
    /// choices, sessions and passwords are deleted; the audit trail keeps an anonymous record
    /// (the member without a name, their submissions). Refused without an open request.
    /// The membership database must delete the member too, or its next import brings the
    /// data back.
    Erase {
        /// The member id `verteiler member deletions` shows.
        member_id: i64,
    },
    /// Revoke one app password of a member; clients using it can no longer send.
    RevokePassword {
        email: String,
        /// The id shown by `verteiler member passwords`.
        id: i64,
    },
}
