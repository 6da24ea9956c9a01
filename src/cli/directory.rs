//! `verteiler directory …`: the membership database's side without an API client.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// What members changed themselves in the portal since a cursor (postal address, phone
    /// numbers, email addresses, channel choices, deletion requests, erasures), as CSV for the
    /// membership database to take over: `;`-separated with the columns cursor, at (RFC 3339,
    /// UTC), external_id, change, value, verified, street, postcode, city; one line per
    /// current value of the changed field (the value as it is now, not as the change left
    /// it). An erased member's lines say only `erased`. The cursor to pass next time is
    /// printed on stderr. The same as `GET /api/v1/directory/changes`.
    ///
    ///   verteiler directory changes --since 0 --output changes.csv
    #[command(verbatim_doc_comment)]
    Changes(DirectoryChangesArgs),
}

#[derive(Debug, Args)]
pub struct DirectoryChangesArgs {
    /// The cursor the last run printed; 0 for every change from the start.
    #[arg(long, value_name = "CURSOR", default_value_t = 0)]
    pub since: i64,
    /// Write the CSV here instead of standard output (an existing file is replaced).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
