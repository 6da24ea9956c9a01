//! `verteiler send …`: watching and controlling sending, and the queue tools.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SendCommand {
    /// The queue at a glance: sends waiting or being delivered, copies by state, the kill
    /// switch.
    Status,
    /// One send: its list, state, decision, and its copies per state and channel.
    Show {
        /// The send's id.
        send_id: i64,
    },
    /// Stop one send: it is not expanded further and its copies not yet handed over are
    /// cancelled within a second. Within the undo window nothing at all has gone out.
    Cancel {
        /// The send's id (`verteiler send status`, the submission's portal page).
        send_id: i64,
        /// Who cancels, for the audit log (default: cli:$USER).
        #[arg(long = "as", value_name = "WHO")]
        by: Option<String>,
    },
    /// The kill switch: stop all sending at once (expansion, copies and notifications) in
    /// every running instance. Copies already handed over cannot be called back.
    PauseAll {
        /// Why, for the log and the other admins (e.g. "stolen password, phishing").
        #[arg(long)]
        reason: String,
        /// Who pulls the switch (an admin's email address).
        #[arg(long = "as")]
        by: String,
    },
    /// Resume sending after `pause-all`. Sends held by the circuit breaker stay held: resuming
    /// releases none of them; it says how many wait (see `verteiler held release`).
    ResumeAll {
        #[arg(long = "as")]
        by: String,
    },
    /// The send's postal list for the unit's secretary, as CSV (name, postal address, subject,
    /// list): members who chose post, and for statutory mail everybody reached neither by
    /// email nor by SMS, as the send's expansion recorded them (so only for a released send
    /// once expanded). A member without a postal address is listed with an empty one. Audited.
    PostalList {
        /// The send's id.
        send_id: i64,
        /// Write the CSV here instead of to standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// One copy (one recipient's delivery) in full: its send, recipient, channel, state,
    /// attempts, last error, bounce reports (DSNs), next attempt, whether a worker holds it,
    /// and the audit entries about it. Like Postfix's `postcat -q`.
    Inspect {
        /// The copy's id (the `d<ID>.` in a copy's Message-ID, or a worker's log line).
        copy_id: i64,
    },
    /// Retry deferred copies now: copies waiting for their next attempt after a temporary
    /// failure get it set to now. Copies with an outcome (sent, bounced, failed, cancelled) and
    /// copies a worker holds are left alone. Prints how many were moved.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["send", "copy_ids"])))]
    Requeue {
        /// Every deferred copy of this send.
        #[arg(long, value_name = "SEND-ID", conflicts_with = "copy_ids")]
        send: Option<i64>,
        /// These copies (where they are deferred).
        #[arg(value_name = "COPY-ID")]
        copy_ids: Vec<i64>,
        /// Who asks, for the audit log (default: cli:$USER).
        #[arg(long = "as", value_name = "WHO")]
        by: Option<String>,
    },
    /// Retry every deferred copy of the organisation now (like `postqueue -f`); same rules as
    /// `requeue`. Prints how many were moved.
    Flush {
        /// Who asks, for the audit log (default: cli:$USER).
        #[arg(long = "as", value_name = "WHO")]
        by: Option<String>,
    },
    /// Drop stuck copies (like `postsuper -d`): each is cancelled, so it is never delivered,
    /// and audited as `delivery.purged` with the reason. A copy that already has its outcome or
    /// that a worker holds right now is refused (exit code 1); the others are still purged.
    Purge {
        /// The copies' ids (`verteiler send inspect`).
        #[arg(value_name = "COPY-ID", required = true)]
        copy_ids: Vec<i64>,
        /// Why, for the audit log (e.g. "mailbox gone, retried for days").
        #[arg(long)]
        reason: String,
        /// Who purges, for the audit log (default: cli:$USER).
        #[arg(long = "as", value_name = "WHO")]
        by: Option<String>,
    },
}
