//! `verteiler import units|members`: prints every bad row, the change summary and the outcome.

use super::open_store;
use crate::cli::ImportCommand;
use crate::config::Config;
use crate::progress::CliProgress;
use std::process::ExitCode;
use verteiler_store::directory::import::{ImportOptions, ImportReport, Refusal};

/// Exit codes besides 0 (all written) and 1 (could not run), as `import --help` documents.
const EXIT_REFUSED: u8 = 3;
const EXIT_SKIPPED_ROWS: u8 = 4;

pub async fn import(config: &Config, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let base = import_options(config);
    let what = match &cmd {
        ImportCommand::Units(_) => "units",
        ImportCommand::Members(_) => "members",
    };
    let shown = CliProgress::start(&format!("import {what}"));
    let (report, options) = match cmd {
        ImportCommand::Units(args) => {
            let options = ImportOptions {
                dry_run: args.dry_run,
                skip_invalid: args.skip_invalid,
                full: args.full,
                allow_large_change: args.allow_large_change,
                encoding: args.encoding,
                progress: shown.progress(),
                ..base
            };
            (store.import_units(&args.file, &options).await, options)
        }
        ImportCommand::Members(args) => {
            let options = ImportOptions {
                dry_run: args.dry_run,
                skip_invalid: args.skip_invalid,
                full: args.full,
                allow_large_change: args.allow_large_change,
                encoding: args.encoding,
                progress: shown.progress(),
                ..base
            };
            (store.import_members(&args.file, &options).await, options)
        }
    };
    shown.finish();
    let report = report?;
    print_report(what, &report, &options);
    Ok(exit_code(&report))
}

/// 3 when nothing was written because of the file (or would not be, on a dry run), 4 when
/// rows were left out, 0 when every row is in.
fn exit_code(report: &ImportReport) -> ExitCode {
    if report.refusal.is_some() {
        ExitCode::from(EXIT_REFUSED)
    } else if report.bad_rows() > 0 {
        ExitCode::from(EXIT_SKIPPED_ROWS)
    } else {
        ExitCode::SUCCESS
    }
}

/// The sync-safety limit and phone region of every import, from the CLI or the portal.
pub fn import_options(config: &Config) -> ImportOptions {
    ImportOptions {
        max_change_percent: config.limits.import_max_change_percent,
        change_slack: config.limits.import_change_slack,
        default_region: config.organisation.default_region.clone(),
        lists: config.list_rules(),
        ..ImportOptions::default()
    }
}

fn print_report(what: &str, report: &ImportReport, options: &ImportOptions) {
    for error in &report.errors {
        println!("bad row: {error}");
    }
    println!(
        "{} rows read: {} new, {} changed, {} unchanged, {} bad{}",
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        report.bad_rows(),
        if options.full {
            format!(", {} marked as left", report.marked_left)
        } else {
            String::new()
        }
    );
    if what == "members" && !report.changes.is_empty() {
        println!();
        println!(
            "change per unit (limit: {}% of a unit's members, at least {} members):",
            options.max_change_percent, options.change_slack
        );
        println!(
            "{:<16} {:>8} {:>7} {:>8} {:>8}",
            "UNIT", "MEMBERS", "ADDED", "CHANGED", "REMOVED"
        );
        let mut shown = 0;
        for c in &report.changes {
            // A first import of a large directory would print thousands of lines; show the
            // units above the limit always, the others up to a screenful.
            if !c.too_large && shown >= 40 {
                continue;
            }
            shown += 1;
            println!(
                "{:<16} {:>8} {:>7} {:>8} {:>8}{}",
                c.unit_code,
                c.members_before,
                c.added,
                c.changed,
                c.removed,
                if c.too_large {
                    "  <- above the limit"
                } else {
                    ""
                }
            );
        }
        if report.changes.len() > shown {
            println!(
                "… and {} more units within the limit",
                report.changes.len() - shown
            );
        }
        println!(
            "whole directory: {} members before, {} touched{}",
            report.directory_before,
            report.directory_changes,
            if report.first_import {
                " (first import: no limit applies)"
            } else {
                ""
            }
        );
    }
    if what == "units" {
        super::list_report::print_unit_changes(report, options);
    }
    println!();
    let bad = report.bad_rows();
    match (&report.refusal, report.written) {
        (Some(Refusal::InvalidRows), _) => println!(
            "nothing was written: {bad} bad row(s). Fix them, or pass --skip-invalid to import the good rows only."
        ),
        (Some(Refusal::LargeChange), _) => println!(
            "nothing was written: this import changes more than the sync-safety limit allows (see above). \
             If the export is right, run again with --allow-large-change."
        ),
        (Some(Refusal::TreeBroken), _) => println!(
            "nothing was written: the export lacks units the tree still needs (see above). \
             An export with --full must hold the whole tree."
        ),
        (Some(Refusal::ListClash), _) => println!(
            "nothing was written: list addresses clash (see above). Rename one of the units in \
             the membership database, or change the template's slug in the configuration."
        ),
        (None, true) if bad > 0 => println!(
            "{what} imported, but {bad} of {} rows were skipped as bad (listed above) and not written.",
            report.rows
        ),
        (None, true) => println!("{what} imported."),
        (None, false) if bad > 0 => println!(
            "dry run: nothing was written; {bad} of {} rows would be skipped as bad.",
            report.rows
        ),
        (None, false) => println!("dry run: nothing was written."),
    }
}
