//! `verteiler backup FILE`: a consistent copy of the SQLite database while `serve` runs.

use super::open_store;
use crate::cli::BackupArgs;
use crate::config::Config;
use std::process::ExitCode;
use verteiler_policies::{format_bytes, format_count, Lang, Rounding};

pub async fn backup(config: &Config, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match store.backup_to(&args.file).await {
        Ok(backup) => {
            println!(
                "backup written: {} ({}, {} submissions); restore by stopping verteiler and \
                 putting it in place of the database file",
                backup.path.display(),
                format_bytes(backup.bytes, Rounding::Up, Lang::En),
                format_count(backup.submissions, Lang::En),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("verteiler backup: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
