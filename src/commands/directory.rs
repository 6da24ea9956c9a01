//! `verteiler directory changes`: members' own changes as CSV (see `DirectoryCommand`).

use super::open_store;
use crate::cli::{DirectoryChangesArgs, DirectoryCommand};
use crate::config::Config;
use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use verteiler_store::directory::changes::CHANGES_MAX;

pub async fn directory(config: &Config, cmd: DirectoryCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DirectoryCommand::Changes(args) => changes(config, args).await,
    }
}

async fn changes(config: &Config, args: DirectoryChangesArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.since >= 0,
        "--since takes a cursor this command printed (0 or more)"
    );
    let store = open_store(config).await?;
    // Read whole before anything is written, and the file put in place by a rename: a run
    // that fails halfway must not leave a file the membership database takes as complete.
    let mut csv = Vec::new();
    let mut since = args.since;
    let mut count = 0;
    loop {
        let page = store.directory_changes(since, CHANGES_MAX).await?;
        csv.extend(page.to_csv(csv.is_empty())?);
        count += page.changes.len();
        since = page.next_cursor;
        if !page.more {
            break;
        }
    }
    match &args.output {
        Some(path) => {
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, &csv)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => std::io::stdout().write_all(&csv)?,
    }
    eprintln!("{count} change(s); next cursor: {since}");
    Ok(ExitCode::SUCCESS)
}
