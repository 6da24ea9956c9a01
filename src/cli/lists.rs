//! The commands that look at and change lists and units: `verteiler audience …` and
//! `verteiler unit …`.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AudienceCommand {
    /// List every audience with its unit, kind and state.
    List,
    /// Show one audience: definition, policy and how many it reaches now.
    Show {
        /// The audience's slug (the part before @ of its list address).
        slug: String,
    },
    /// Resolve an audience completely, streamed in batches as a send would, and print how many
    /// recipients are reachable by email, SMS or post only, and how long it took. Never prints
    /// addresses.
    Resolve {
        /// The audience's slug (the part before @ of its list address).
        slug: String,
    },
    /// Make a list by hand (lists of the unit tree come from the templates, see `templates`),
    /// e.g.
    ///   verteiler audience create mv-oldenfelde --name "MV Oldenfelde" --unit HH-WA-OLD
    ///   verteiler audience create klima --name "Themenliste Klima" --kind topic \
    ///       --unit HH-IG-KLIMA --scope HH --category discussion --subscribers-may-post
    ///   verteiler audience create vorstaende-wa --name "Vorstände Wandsbek" --kind functional \
    ///       --role board --unit HH-WA --subunits
    /// The list may never reach outside its scope (default: its unit; a scope must be the unit
    /// or a unit above it), and its limits may not exceed the organisation's caps. Audited.
    #[command(verbatim_doc_comment)]
    Create(Box<CreateListArgs>),
    /// Change a list's name, address, whom it reaches or its rules; only the options given
    /// change, each audited with before → after, e.g.
    ///   verteiler audience edit oldenfelde --approval above:500 --senders chair,vice-chair
    ///   verteiler audience edit pressemitteilungen --sender-address presse@example.org
    ///   verteiler audience edit oldenfelde --max-recipients none
    /// A new --slug keeps the old address as an alias. A list made by a template takes its
    /// address and name from its unit: change those in the membership database instead.
    #[command(verbatim_doc_comment)]
    Edit(Box<EditListArgs>),
    /// Switch a list off: every send to it is refused (`audience.inactive`) from now on
    /// (within a few seconds in a running server), and no other list is used in its place.
    Deactivate {
        /// The list's slug or address.
        slug: String,
    },
    /// Switch a list on again.
    Activate {
        /// The list's slug or address.
        slug: String,
    },
    /// Delete a list that never had a send (a list with sends is kept for the record:
    /// deactivate it instead). Its aliases and subscriptions go with it.
    Delete {
        /// The list's slug or address.
        slug: String,
    },
    /// Further addresses of a list: list, add or remove them.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Apply the templates to the stored unit tree now (after changing `[lists]` in the
    /// configuration), with the same clash and sync-safety rules as a units import.
    Sync {
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accept a change above the sync-safety limit (check --dry-run first).
        #[arg(long)]
        allow_large_change: bool,
    },
    /// Show the list templates in effect (from `[lists]` in the configuration, else the
    /// built-in ones) and the name prefixes.
    Templates,
    /// A list's usual size — the median recipients of its last ten completed sends, which the
    /// blast-radius rule compares every send with — and the sends it was learned from.
    ///
    /// With --reset an organisation admin makes it unknown again (audited, before → after):
    /// only sends completed from then on count, e.g. after a list was redefined on purpose.
    ///   verteiler audience usual-size oldenfelde
    ///   verteiler audience usual-size oldenfelde --reset --as aylin.kaya@example.org
    #[command(verbatim_doc_comment)]
    UsualSize {
        /// The audience's slug (the part before @ of its list address).
        slug: String,
        /// Forget the usual size (needs --as).
        #[arg(long, requires = "admin")]
        reset: bool,
        /// Who resets it: the email address of an organisation admin.
        #[arg(long = "as", value_name = "EMAIL", requires = "reset")]
        admin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// The list's own address and its aliases.
    List {
        /// The list's slug or address.
        slug: String,
    },
    /// Give the list the further address ALIAS.
    Add {
        /// The list's slug or address.
        slug: String,
        /// The further address (the part before @).
        alias: String,
    },
    /// Take the further address ALIAS away; mail to it is then refused as addressed to no list.
    Remove {
        /// The alias (the part before @).
        alias: String,
    },
}

/// What a list is; every field is optional on `edit` (unchanged when not given).
#[derive(Debug, Args, Default)]
pub struct ListFields {
    /// The name people read ("Distrikt Oldenfelde").
    #[arg(long)]
    pub name: Option<String>,
    /// structural (the unit's members), functional (holders of --role), topic (subscribers).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// The unit whose members (or role holders) it reaches, by code.
    #[arg(long, value_name = "CODE")]
    pub unit: Option<String>,
    /// Reach the units below too (`--subunits`, or `--subunits false` to stop).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub subunits: Option<bool>,
    /// Functional lists: the role function whose holders it reaches (chair, board, …).
    #[arg(long, value_name = "FUNCTION")]
    pub role: Option<String>,
    /// The unit it may never reach outside of (the list's unit or one above it).
    #[arg(long, value_name = "CODE")]
    pub scope: Option<String>,
    /// statutory, announcement or discussion.
    #[arg(long)]
    pub category: Option<String>,
    /// Role functions that may send, comma-separated (chair,vice-chair,board).
    #[arg(long, value_name = "FUNCTIONS")]
    pub senders: Option<String>,
    /// Channels, comma-separated (email,sms,post).
    #[arg(long)]
    pub channels: Option<String>,
    /// never, always, or above:N (N recipients).
    #[arg(long, value_name = "RULE")]
    pub approval: Option<String>,
    /// Distinct approvers needed, 1 to 5.
    #[arg(long, value_name = "N")]
    pub approvals_needed: Option<u32>,
    /// Role functions that approve, comma-separated.
    #[arg(long, value_name = "FUNCTIONS")]
    pub approvers: Option<String>,
    /// Most recipients of one send (below the organisation's cap), or none.
    #[arg(long, value_name = "N|none")]
    pub max_recipients: Option<String>,
    /// Largest message in kB (below the organisation's cap), or none.
    #[arg(long, value_name = "KB|none")]
    pub max_message_kb: Option<String>,
    /// Sends one sender may make to it per day, or none.
    #[arg(long, value_name = "N|none")]
    pub sends_per_day: Option<String>,
    /// An official From: address its senders by role may use, on this list only
    /// (presse@example.org), or none. A member's own address never becomes one.
    #[arg(long, value_name = "ADDRESS|none")]
    pub sender_address: Option<String>,
    /// Members with an email address and a mobile number get both.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub email_and_sms: Option<bool>,
    /// Topic lists: anybody may subscribe on its public page.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub open_to_public: Option<bool>,
    /// Topic lists: confirmed subscribers may write to it.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub subscribers_may_post: Option<bool>,
    /// Where replies go: sender, list or no-reply.
    #[arg(long, value_name = "MODE")]
    pub reply_mode: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateListArgs {
    /// The address before @ (2 to 64 lower-case letters, digits and single hyphens).
    pub slug: String,
    #[command(flatten)]
    pub fields: ListFields,
}

#[derive(Debug, Args)]
pub struct EditListArgs {
    /// The list's slug or address.
    pub slug: String,
    /// A new address; the old one stays as an alias.
    #[arg(long = "slug", value_name = "NEW")]
    pub new_slug: Option<String>,
    #[command(flatten)]
    pub fields: ListFields,
}

/// `verteiler unit …`: the unit tree as stored.
#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Every unit with its parent, kind and state.
    List,
    /// Switch a unit off: its lists and those of every unit below it reach nobody and are
    /// refused (the organisation's top unit cannot be switched off). Audited with who and when;
    /// an import does not switch it back on.
    Deactivate {
        /// The unit's code, as in the units export (e.g. HH-WA-OLD).
        code: String,
    },
    /// Switch a unit on again.
    Activate {
        /// The unit's code.
        code: String,
    },
}
