//! `verteiler audience list|show|resolve`: definitions and counts, never addresses; the
//! commands that change lists are in [`super::lists`].

use super::{lists, open_store};
use crate::cli::AudienceCommand;
use crate::config::Config;
use crate::progress::{CliProgress, RESOLVE};
use anyhow::Context;
use futures::TryStreamExt;
use std::process::ExitCode;
use verteiler_policies::{AudienceSlug, Category, ChannelPreference};
use verteiler_store::{Audience, Recipient, Store};

pub async fn audience(config: &Config, cmd: AudienceCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        AudienceCommand::List => {
            print_list(&store).await?;
            Ok(ExitCode::SUCCESS)
        }
        AudienceCommand::Resolve { slug } => resolve(&store, config, &slug).await,
        AudienceCommand::Show { slug } => show(&store, config, &slug).await,
        AudienceCommand::UsualSize { slug, reset, admin } => {
            usual_size(&store, config, &slug, reset.then_some(admin).flatten()).await
        }
        AudienceCommand::Create(args) => {
            lists::create(&store, config, &args.slug, &args.fields).await
        }
        AudienceCommand::Edit(args) => {
            let new_slug = args.new_slug.as_deref();
            lists::edit(&store, config, &args.slug, new_slug, &args.fields).await
        }
        AudienceCommand::Deactivate { slug } => {
            lists::set_active(&store, config, &slug, false).await
        }
        AudienceCommand::Activate { slug } => lists::set_active(&store, config, &slug, true).await,
        AudienceCommand::Delete { slug } => lists::delete(&store, config, &slug).await,
        AudienceCommand::Alias(cmd) => lists::alias(&store, config, cmd).await,
        AudienceCommand::Sync {
            dry_run,
            allow_large_change,
        } => lists::sync(&store, config, dry_run, allow_large_change).await,
        AudienceCommand::Templates => Ok(lists::templates(config)),
    }
}

/// One audience: definition, policy and how many it reaches now.
async fn show(store: &Store, config: &Config, slug: &str) -> anyhow::Result<ExitCode> {
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
    match &a.deactivation {
        None => println!("  state:              active"),
        Some(d) => println!(
            "  state:              DEACTIVATED{} by {} at {}",
            if d.by_import {
                " (its unit left the export)"
            } else {
                ""
            },
            d.by,
            super::audit::utc(d.at)
        ),
    }
    println!(
        "  made by:            {}",
        a.template_id
            .as_deref()
            .map_or("hand".to_string(), |t| format!("template {t}"))
    );
    let aliases = store.aliases_of(a.id).await?;
    if !aliases.is_empty() {
        println!("  also reached at:    {}", aliases.join(", "));
    }
    if let Some(address) = &a.sender_address {
        println!("  official sender:    {address} (its senders may write From: it)");
    }
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
    let limit = |v: Option<u64>| v.map_or("organisation default".to_string(), |v| v.to_string());
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

/// Resolves the whole audience as a send would and prints the totals per channel.
async fn resolve(store: &Store, config: &Config, slug: &str) -> anyhow::Result<ExitCode> {
    let Some(a) = find(store, config, slug).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let shown = CliProgress::start("audience resolve");
    let started = std::time::Instant::now();
    let mut totals = ChannelTotals::default();
    // Without a total: counting first would be a second pass over the whole audience, and
    // resolving it is what this command measures.
    let mut counter = shown.progress().counter(RESOLVE, None);
    let mut batches = std::pin::pin!(store.resolve(&a));
    while let Some(batch) = batches.try_next().await? {
        for r in &batch {
            totals.count(r, a.category);
        }
        counter.add(batch.len() as u64);
    }
    counter.finish();
    let elapsed = started.elapsed();
    shown.finish();
    println!(
        "{}@{}: {} recipients ({} by email, {} by SMS, {} by post) resolved in {:.3} s",
        a.slug,
        config.organisation.list_domain,
        totals.all,
        totals.email,
        totals.sms,
        totals.post,
        elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The audience a slug or list address names; prints why when there is none.
async fn find(store: &Store, config: &Config, given: &str) -> anyhow::Result<Option<Audience>> {
    let slug = AudienceSlug::parse(given.split('@').next().unwrap_or_default())?;
    let found = store.audience_by_slug(&slug).await?;
    if found.is_none() {
        eprintln!(
            "no audience {slug}@{} (see `verteiler audience list`)",
            config.organisation.list_domain
        );
    }
    Ok(found)
}

/// How recipients would be reached: their own choice where the contact point exists, else
/// email, else SMS, else post. (Delivery decides per send; this is the admin's overview.)
#[derive(Default)]
struct ChannelTotals {
    all: u64,
    email: u64,
    sms: u64,
    post: u64,
}

impl ChannelTotals {
    fn count(&mut self, r: &Recipient, category: Category) {
        self.all += 1;
        let choice = r.preference.filter(|p| p.allowed_for(category));
        match (choice, r.email.is_some(), r.phone.is_some()) {
            (Some(ChannelPreference::Sms), _, true) => self.sms += 1,
            (Some(ChannelPreference::Post), _, _) => self.post += 1,
            (Some(ChannelPreference::None), _, _) => {}
            (_, true, _) => self.email += 1,
            (_, false, true) => self.sms += 1,
            (_, false, false) => self.post += 1,
        }
    }
}

/// `audience usual-size`: shows it, or resets it as the admin `reset_as`.
async fn usual_size(
    store: &Store,
    config: &Config,
    slug: &str,
    reset_as: Option<String>,
) -> anyhow::Result<ExitCode> {
    let Some(a) = find(store, config, slug).await? else {
        return Ok(ExitCode::FAILURE);
    };
    match reset_as {
        Some(admin) => reset_usual_size(store, &a, &admin).await,
        None => print_usual_size(store, config, &a).await,
    }
}

/// The usual size of `a` and the sends counted, newest first.
async fn print_usual_size(
    store: &Store,
    config: &Config,
    a: &Audience,
) -> anyhow::Result<ExitCode> {
    let usual = store
        .usual_size(a.id)
        .await?
        .context("the audience is gone")?;
    println!(
        "{}@{}  \"{}\"",
        a.slug, config.organisation.list_domain, a.name
    );
    match usual.value {
        Some(v) => println!(
            "usual size: {v} (the median of the last {} of at most {} completed sends)",
            usual.counted.len(),
            verteiler_store::USUAL_SIZE_SENDS
        ),
        None => println!(
            "usual size: not learned yet (no send completed since it was created or reset)"
        ),
    }
    if let Some(at) = usual.reset_at {
        println!("reset:      {}", super::audit::utc(at));
    }
    for c in &usual.counted {
        println!(
            "  send {:>6}  completed {}  {} recipients",
            c.send_id,
            super::audit::utc(c.completed_at),
            c.recipients
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Resets the usual size of `a` as the organisation admin `admin`, audited under their address.
async fn reset_usual_size(store: &Store, a: &Audience, admin: &str) -> anyhow::Result<ExitCode> {
    let actor = match super::held::actor(store, admin).await? {
        Ok(actor) => actor,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if !store.is_admin(actor.member_id).await? {
        eprintln!("{admin} is not an admin of the organisation: only they reset a usual size");
        return Ok(ExitCode::FAILURE);
    }
    let before = store
        .acting_as(actor.ingress.actor(actor.member_id))
        .reset_usual_size(a.id)
        .await?
        .context("the audience is gone")?;
    println!(
        "usual size of {} reset: was {}, now unknown until the next send to it completes",
        a.slug,
        before.map_or_else(|| "unknown".to_string(), |v| v.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// `audience list`: every audience with its unit, kind and state.
async fn print_list(store: &Store) -> anyhow::Result<()> {
    let audiences = store.list_audiences().await?;
    println!(
        "{:<32} {:<11} {:<13} {:<14} STATE",
        "SLUG", "KIND", "CATEGORY", "UNIT"
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
    Ok(())
}
