//! `verteiler unit list|deactivate|activate`: the stored tree, and switching a unit off or on
//! (audited as `cli:USER`).

use super::open_store;
use crate::cli::UnitCommand;
use crate::config::Config;
use std::collections::HashMap;
use std::process::ExitCode;
use verteiler_store::UnitError;

pub async fn unit(config: &Config, cmd: UnitCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let (code, active) = match cmd {
        UnitCommand::List => {
            let units = store.list_units().await?;
            let codes: HashMap<i64, &str> = units.iter().map(|u| (u.id, u.code.as_str())).collect();
            println!(
                "{:<16} {:<14} {:<16} {:<11} NAME",
                "CODE", "KIND", "PARENT", "STATE"
            );
            for u in &units {
                let parent = u.parent_id.and_then(|p| codes.get(&p).copied());
                let state = match &u.deactivation {
                    None if u.active => "active",
                    Some(d) if d.by_import => "left export",
                    _ => "deactivated",
                };
                println!(
                    "{:<16} {:<14} {:<16} {:<11} {}",
                    u.code,
                    u.kind.as_str(),
                    parent.unwrap_or("-"),
                    state,
                    u.name
                );
            }
            println!("{} units", units.len());
            return Ok(ExitCode::SUCCESS);
        }
        UnitCommand::Deactivate { code } => (code, false),
        UnitCommand::Activate { code } => (code, true),
    };
    let Some(unit) = store.unit_by_code(code.trim()).await? else {
        eprintln!("no unit {code} (see `verteiler unit list`)");
        return Ok(ExitCode::FAILURE);
    };
    match store.set_unit_active(unit.id, active).await {
        Ok(true) if active => println!("{} ({}) is active again (audited)", unit.code, unit.name),
        Ok(true) => println!(
            "{} ({}) is switched off (audited): its lists and those of every unit below it are refused",
            unit.code, unit.name
        ),
        Ok(false) => println!(
            "{} was {} already",
            unit.code,
            if active { "active" } else { "switched off" }
        ),
        Err(UnitError::Store(e)) => return Err(e.into()),
        Err(e) => {
            eprintln!("{code}: refused: {e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
