//! One function per command; each loads what it needs and prints for a person.

mod audience;
mod audit;
mod backup;
mod directory;
mod dkim;
mod held;
mod held_release;
mod import;
mod inbound;
mod instance;
mod list_report;
mod lists;
mod member;
mod metrics;
mod metrics_names;
pub(crate) mod policy;
mod queue_tools;
mod reload;
mod send;
mod serve;
mod token;
mod units;

use crate::cli::{Cli, Command, ConfigCommand, DkimCommand, PolicyCommand};
use crate::config::{Config, LoadedConfig};
use anyhow::Context;
use std::process::ExitCode;
use verteiler_store::Store;

/// Runs one command line. `Ok(ExitCode::FAILURE)` means the command ran and said no (a refused
/// import, say); `Err` means it could not run.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = load_config(&cli)?;
    match cli.command {
        Command::Serve(args) => serve::serve(&loaded, args.demo).await,
        Command::Migrate => {
            let store = open_store(&loaded.config).await?;
            println!("database is up to date: {:?}", store.readiness().await);
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup(args) => backup::backup(&loaded.config, &args).await,
        Command::Import(cmd) => import::import(&loaded.config, cmd).await,
        Command::Demo(args) if args.write_csv.is_some() => {
            let dir = args
                .write_csv
                .as_deref()
                .unwrap_or(std::path::Path::new("."));
            crate::demo::write_csv(dir, args.members, args.seed)?;
            println!("wrote {0}/units.csv and {0}/members.csv", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let store = open_store(&loaded.config).await?;
            let shown = crate::progress::CliProgress::start("demo");
            let logins = crate::demo::create(
                &store,
                &loaded.config,
                args.members,
                args.seed,
                &shown.progress(),
            )
            .await?;
            shown.finish();
            crate::demo::print_logins(&logins, &loaded.config);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audience(cmd) => audience::audience(&loaded.config, cmd).await,
        Command::Unit(cmd) => units::unit(&loaded.config, cmd).await,
        Command::Directory(cmd) => directory::directory(&loaded.config, cmd).await,
        Command::Member(cmd) => member::member(&loaded.config, cmd).await,
        Command::Token(cmd) => token::token(&loaded.config, cmd).await,
        Command::Send(cmd) => send::send(&loaded.config, cmd).await,
        Command::Sms(cmd) => send::sms(&loaded.config, cmd).await,
        Command::Held(cmd) => held::held(&loaded.config, cmd).await,
        Command::Audit(cmd) => audit::audit(&loaded.config, cmd).await,
        Command::Policy(PolicyCommand::Simulate(args)) => {
            policy::simulate(&loaded.config, args).await
        }
        Command::Config(ConfigCommand::Defaults) => {
            print!("{}", Config::documented_defaults());
            Ok(ExitCode::SUCCESS)
        }
        Command::Dkim(DkimCommand::Generate(args)) => dkim::generate(&loaded.config, &args),
        Command::Config(ConfigCommand::Show) => {
            print!("{}", loaded.config.render_effective());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<LoadedConfig> {
    Config::load_from_environment(cli.config.as_deref())
        .map_err(|errors| anyhow::anyhow!("the configuration has errors:\n{errors}"))
}

/// Who runs a command, for the audit log when no member is named: `cli:USER`.
pub(crate) fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Opens the configured database and brings its schema up to date.
///
/// Changes made through it are audited as `cli:USER`.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.database.url, config.database.max_connections)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                verteiler_store::redact_url(&config.database.url)
            )
        })?;
    // A database in memory ends with the process: its hashes need no key to outlive it.
    let in_memory = config.database.url.contains(":memory:");
    let store = if in_memory {
        store
    } else {
        store
            .with_privacy_key_file(&config.privacy.hash_key_file)
            .await
            .context("privacy.hash_key_file")?
    };
    // The key first: an actor given as an address is recorded as its hash under it.
    Ok(store.acting_as(cli_actor()))
}
