//! `verteiler token …`: personal API tokens.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal API token for a member and print it once, alone on standard output
    /// (so a script can capture it); a note goes to standard error. Only its SHA-256 is
    /// stored. A token acts as its member and never for more: `directory:sync` and `admin`
    /// need an organisation admin, and every call asks the member's current roles again, e.g.
    ///   verteiler token create --member ole.brandt@example.org --name newsletter \
    ///       --scopes "send:oldenfelde sends:read" --expires 2027-06-30
    #[command(verbatim_doc_comment)]
    Create {
        /// The owner: a verified email address or a member id.
        #[arg(long, value_name = "EMAIL_OR_ID")]
        member: String,
        /// What the token is for (shown in lists and in the audit log), e.g. "newsroom tool".
        #[arg(long)]
        name: String,
        /// Scopes, separated by spaces or commas: send (every list the member may use),
        /// send:LIST (only that list; repeatable), sends:read, approve, directory:sync, admin.
        #[arg(long)]
        scopes: String,
        /// Last day of validity (YYYY-MM-DD, valid through that day, UTC) or an RFC 3339
        /// instant. Without it the token is valid until revoked.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
    },
    /// List tokens (never their secrets): id, owner, name, scopes, created, expiry, last use,
    /// revocation.
    List {
        /// Only this member's tokens (a verified email address or a member id).
        #[arg(long, value_name = "EMAIL_OR_ID")]
        member: Option<String>,
    },
    /// Revoke a token: every later request with it answers 401.
    Revoke {
        /// The id `verteiler token list` shows (the number in vt_<id>_…).
        id: i64,
    },
}
