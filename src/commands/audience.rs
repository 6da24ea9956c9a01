//! `verteiler audience list|show`: definitions and counts, never addresses.

use super::open_store;
use crate::cli::AudienceCommand;
use crate::config::Config;
use anyhow::Context;
use std::process::ExitCode;
use verteiler_policies::AudienceSlug;

pub async fn audience(config: &Config, cmd: AudienceCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        AudienceCommand::List => {
            let audiences = store.list_audiences().await?;
            println!(
                "{:<32} {:<11} {:<13} {:<14} {}",
                "SLUG", "KIND", "CATEGORY", "UNIT", "STATE"
            );
            for a in &audiences {
                println!(
                    "{:<32} {:<11} {:<13} {:<14} {}",
                    a.slug,
                    a.kind.as_str(),
                    a.category.as_str(),
                    a.unit_code,
                    if a.active { "active" } else { "deactivated" }
                );
            }
            println!("{} audiences", audiences.len());
            Ok(ExitCode::SUCCESS)
        }
        AudienceCommand::Show { slug } => {
            let slug_text = slug.split('@').next().unwrap_or_default();
            let slug = AudienceSlug::parse(slug_text)?;
            let Some(a) = store.audience_by_slug(&slug).await? else {
                eprintln!(
                    "no audience {slug}@{} (see `verteiler audience list`)",
                    config.organisation.list_domain
                );
                return Ok(ExitCode::FAILURE);
            };
            let unit = store
                .unit_by_id(a.unit_id)
                .await?
                .context("the audience's unit is gone")?;
            let scope = store
                .unit_by_id(a.scope_unit_id)
                .await?
                .context("the audience's scope unit is gone")?;
            let count = store.count(&a).await?;
            let outside = store.count_outside_scope(&a).await?;
            let list = |v: Vec<&str>| {
                if v.is_empty() {
                    "-".to_string()
                } else {
                    v.join(", ")
                }
            };
            println!(
                "{}@{}  \"{}\"",
                a.slug, config.organisation.list_domain, a.name
            );
            println!(
                "  state:              {}",
                if a.active { "active" } else { "DEACTIVATED" }
            );
            println!("  kind:               {}", a.kind);
            println!(
                "  reaches:            {} of {} ({}){}",
                match a.role_function {
                    Some(f) => format!("holders of {f}"),
                    None => "members".into(),
                },
                unit.name,
                unit.code,
                if a.include_subunits {
                    " and all its sub-units"
                } else {
                    ""
                }
            );
            println!("  scope:              {} ({})", scope.name, scope.code);
            println!("  category:           {}", a.category);
            println!(
                "  senders:            {}",
                list(
                    a.allowed_sender_functions
                        .iter()
                        .map(|f| f.as_str())
                        .collect()
                )
            );
            println!(
                "  channels:           {}",
                list(a.channels.iter().map(|c| c.as_str()).collect())
            );
            println!(
                "  approval:           {}",
                match a.approval {
                    verteiler_store::ApprovalSetting::Never => "never".to_string(),
                    verteiler_store::ApprovalSetting::Always => format!(
                        "always, {} approval(s) by {}",
                        a.approvals_needed,
                        list(a.approver_functions.iter().map(|f| f.as_str()).collect())
                    ),
                    verteiler_store::ApprovalSetting::AboveRecipients(n) => format!(
                        "above {n} recipients, {} approval(s) by {}",
                        a.approvals_needed,
                        list(a.approver_functions.iter().map(|f| f.as_str()).collect())
                    ),
                }
            );
            let limit =
                |v: Option<u64>| v.map_or("organisation default".to_string(), |v| v.to_string());
            println!("  max recipients:     {}", limit(a.max_recipients));
            println!("  max message bytes:  {}", limit(a.max_message_bytes));
            println!("  reply mode:         {}", a.reply_mode);
            println!("  visible To/Cc:      {}", a.visible_recipients_mode);
            println!(
                "  usual size:         {}",
                a.usual_size
                    .map_or("not learned yet".into(), |v| v.to_string())
            );
            println!("  resolves to:        {count} recipients");
            if outside > 0 {
                println!("  OUTSIDE SCOPE:      {outside} recipients — sends will be refused until the definition is fixed");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
