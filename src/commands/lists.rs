//! `verteiler audience create|edit|deactivate|activate|delete|alias|sync|templates`: lists by
//! hand and by template, through the store's list operations (each audited as `cli:USER`).

use super::import::import_options;
use crate::cli::{AliasCommand, ListFields};
use crate::config::Config;
use anyhow::{bail, Context};
use std::process::ExitCode;
use verteiler_policies::{AudienceSlug, Channel, RoleFunction};
use verteiler_store::directory::import::ImportOptions;
use verteiler_store::lists::{FieldChange, ListError};
use verteiler_store::{ApprovalSetting, Audience, NewAudience, Store};

/// The slug of a list address or a bare slug.
pub fn slug_of(given: &str) -> anyhow::Result<AudienceSlug> {
    Ok(AudienceSlug::parse(
        given.split('@').next().unwrap_or_default(),
    )?)
}

/// The list a slug or address names (its own address or an alias), or an error saying so.
pub async fn list_named(store: &Store, config: &Config, given: &str) -> anyhow::Result<Audience> {
    let slug = slug_of(given)?;
    store.audience_by_slug(&slug).await?.with_context(|| {
        format!(
            "no list {slug}@{} (see `verteiler audience list`)",
            config.organisation.list_domain
        )
    })
}

/// What `create` and `edit` print when the store refuses; the exit code says no.
fn refused(what: &str, e: ListError) -> anyhow::Result<ExitCode> {
    match e {
        ListError::Store(e) => Err(e.into()),
        other => {
            eprintln!("{what}: refused: {other}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn split<T: std::str::FromStr>(flag: &str, text: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<T>().with_context(|| format!("--{flag}")))
        .collect()
}

/// `N` or `none`.
fn optional_number(flag: &str, text: &str) -> anyhow::Result<Option<u64>> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => bail!("--{flag}: {text:?} is neither a number from 1 nor none"),
    }
}

fn approval(text: &str) -> anyhow::Result<ApprovalSetting> {
    let text = text.trim();
    match text {
        "never" => Ok(ApprovalSetting::Never),
        "always" => Ok(ApprovalSetting::Always),
        _ => match text.strip_prefix("above:").map(|n| n.trim().parse::<u64>()) {
            Some(Ok(n)) if n > 0 => Ok(ApprovalSetting::AboveRecipients(n)),
            _ => bail!("--approval: {text:?} is none of never, always, above:N (N from 1)"),
        },
    }
}

async fn unit_id(store: &Store, flag: &str, code: &str) -> anyhow::Result<i64> {
    Ok(store
        .unit_by_code(code.trim())
        .await?
        .with_context(|| format!("--{flag}: no unit {code} (see `verteiler unit list`)"))?
        .id)
}

/// Puts every option given into `a`; options not given leave their field alone.
async fn apply(store: &Store, f: &ListFields, a: &mut NewAudience) -> anyhow::Result<()> {
    if let Some(name) = &f.name {
        a.name = name.clone();
    }
    if let Some(kind) = &f.kind {
        a.kind = kind.parse().context("--kind")?;
    }
    if let Some(code) = &f.unit {
        let id = unit_id(store, "unit", code).await?;
        // A list moved to another unit keeps its scope only if it was wider than the unit.
        if a.scope_unit_id == a.unit_id && f.scope.is_none() {
            a.scope_unit_id = id;
        }
        a.unit_id = id;
    }
    if let Some(code) = &f.scope {
        a.scope_unit_id = unit_id(store, "scope", code).await?;
    }
    if let Some(subunits) = f.subunits {
        a.include_subunits = subunits;
    }
    if let Some(role) = &f.role {
        a.role_function = match role.trim() {
            "none" => None,
            r => Some(r.parse::<RoleFunction>().context("--role")?),
        };
    }
    if let Some(category) = &f.category {
        a.category = category.parse().context("--category")?;
    }
    if let Some(senders) = &f.senders {
        a.allowed_sender_functions = split("senders", senders)?;
    }
    if let Some(channels) = &f.channels {
        a.channels = split::<Channel>("channels", channels)?;
    }
    if let Some(rule) = &f.approval {
        a.approval = approval(rule)?;
    }
    if let Some(n) = f.approvals_needed {
        a.approvals_needed = n;
    }
    if let Some(approvers) = &f.approvers {
        a.approver_functions = split("approvers", approvers)?;
    }
    if let Some(n) = &f.max_recipients {
        a.max_recipients = optional_number("max-recipients", n)?;
    }
    if let Some(kb) = &f.max_message_kb {
        a.max_message_bytes = optional_number("max-message-kb", kb)?.map(|kb| kb * 1000);
    }
    if let Some(n) = &f.sends_per_day {
        a.sends_per_sender_per_day =
            optional_number("sends-per-day", n)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(address) = &f.sender_address {
        a.sender_address = match address.trim() {
            "none" | "" => None,
            address => Some(address.to_lowercase()),
        };
    }
    if let Some(v) = f.email_and_sms {
        a.email_and_sms = v;
    }
    if let Some(v) = f.open_to_public {
        a.open_to_public = v;
    }
    if let Some(v) = f.subscribers_may_post {
        a.subscribers_may_post = v;
    }
    if let Some(mode) = &f.reply_mode {
        a.reply_mode = mode.parse().context("--reply-mode")?;
    }
    Ok(())
}

pub async fn create(
    store: &Store,
    config: &Config,
    slug: &str,
    f: &ListFields,
) -> anyhow::Result<ExitCode> {
    let (Some(_), Some(unit)) = (&f.name, &f.unit) else {
        bail!("a new list needs --name and --unit");
    };
    let unit = unit_id(store, "unit", unit).await?;
    let mut a = NewAudience::structural(slug_of(slug)?, "", unit, false);
    apply(store, f, &mut a).await?;
    match store.create_list(&a, &config.org_limits()).await {
        Ok(id) => {
            println!(
                "list {}@{} created (id {id}); `verteiler audience show {}` shows it",
                a.slug, config.organisation.list_domain, a.slug
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(slug, e),
    }
}

pub async fn edit(
    store: &Store,
    config: &Config,
    given: &str,
    new_slug: Option<&str>,
    f: &ListFields,
) -> anyhow::Result<ExitCode> {
    let list = list_named(store, config, given).await?;
    let mut after = list.definition();
    if let Some(new) = new_slug {
        after.slug = slug_of(new)?;
    }
    apply(store, f, &mut after).await?;
    let seen = list.definition_tag();
    match store
        .edit_list_seen(list.id, Some(&seen), &after, &config.org_limits())
        .await
    {
        Ok(changes) if changes.is_empty() => {
            println!("{}: nothing changed", list.slug);
            Ok(ExitCode::SUCCESS)
        }
        Ok(changes) => {
            println!("{}: changed (audited)", after.slug);
            print_changes(&changes);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(given, e),
    }
}

fn print_changes(changes: &[FieldChange]) {
    for c in changes {
        println!("  {}: {} → {}", c.field, c.before, c.after);
    }
}

pub async fn set_active(
    store: &Store,
    config: &Config,
    given: &str,
    active: bool,
) -> anyhow::Result<ExitCode> {
    let list = list_named(store, config, given).await?;
    let changed = match store.set_list_active(list.id, active).await {
        Ok(changed) => changed,
        Err(e) => return refused(given, e),
    };
    let state = if active { "active" } else { "deactivated" };
    if changed {
        println!(
            "{}@{} is {state} now (audited){}",
            list.slug,
            config.organisation.list_domain,
            if active {
                ""
            } else {
                "; every send to it is refused"
            }
        );
    } else {
        println!("{} was {state} already", list.slug);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(store: &Store, config: &Config, given: &str) -> anyhow::Result<ExitCode> {
    let list = list_named(store, config, given).await?;
    match store.delete_list(list.id).await {
        Ok(()) => {
            println!("list {} deleted (audited)", list.slug);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(given, e),
    }
}

pub async fn alias(store: &Store, config: &Config, cmd: AliasCommand) -> anyhow::Result<ExitCode> {
    let domain = &config.organisation.list_domain;
    match cmd {
        AliasCommand::List { slug } => {
            let list = list_named(store, config, &slug).await?;
            println!("{}@{domain} (its own address)", list.slug);
            for alias in store.aliases_of(list.id).await? {
                println!("{alias}@{domain} (alias)");
            }
            Ok(ExitCode::SUCCESS)
        }
        AliasCommand::Add { slug, alias } => {
            let list = list_named(store, config, &slug).await?;
            match store.add_alias(list.id, &slug_of(&alias)?).await {
                Ok(()) => {
                    println!("{alias}@{domain} now reaches the list {}", list.slug);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(&alias, e),
            }
        }
        AliasCommand::Remove { alias } => match store.remove_alias(&slug_of(&alias)?).await {
            Ok(()) => {
                println!("{alias}@{domain} reaches no list any more");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => refused(&alias, e),
        },
    }
}

pub async fn sync(
    store: &Store,
    config: &Config,
    dry_run: bool,
    allow_large_change: bool,
) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        dry_run,
        allow_large_change,
        ..import_options(config)
    };
    let report = store.sync_lists_now(&options.lists, &options).await?;
    super::list_report::print_list_changes(&report.lists, &options);
    println!();
    Ok(match (&report.refusal, report.written) {
        (Some(verteiler_store::directory::import::Refusal::ListClash), _) => {
            println!("nothing was changed: list addresses clash (see above).");
            ExitCode::FAILURE
        }
        (Some(_), _) => {
            println!(
                "nothing was changed: more lists change than the sync-safety limit allows. \
                 If that is meant, run again with --allow-large-change."
            );
            ExitCode::FAILURE
        }
        (None, true) => {
            println!("lists are in step with the templates.");
            ExitCode::SUCCESS
        }
        (None, false) => {
            println!("dry run: nothing was changed.");
            ExitCode::SUCCESS
        }
    })
}

pub fn templates(config: &Config) -> ExitCode {
    let rules = config.list_rules();
    println!(
        "name prefixes dropped for {{unit}}: {}",
        rules.name_prefixes.join(", ")
    );
    if rules.templates.is_empty() {
        println!("no templates: no lists are made from the unit tree");
    }
    for t in &rules.templates {
        println!();
        println!(
            "{}: every {} unit gets {}@{}",
            t.id, t.units, t.slug, config.organisation.list_domain
        );
        println!("  name:      {}", t.name);
        let reaches = match t.role_function {
            Some(role) => format!("holders of {role}"),
            None => "members".into(),
        };
        let below = if t.include_subunits { " and below" } else { "" };
        println!(
            "  reaches:   {reaches} of the unit{below} ({}, {})",
            t.kind, t.category
        );
        let functions =
            |v: &[RoleFunction]| v.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ");
        println!("  senders:   {}", functions(&t.senders));
        let approval = match t.approval {
            ApprovalSetting::Never => "never".to_string(),
            ApprovalSetting::Always => format!(
                "always, {} by {}",
                t.approvals_needed,
                functions(&t.approvers)
            ),
            ApprovalSetting::AboveRecipients(n) => {
                format!(
                    "above {n} recipients, {} by {}",
                    t.approvals_needed,
                    functions(&t.approvers)
                )
            }
        };
        println!("  approval:  {approval}");
    }
    ExitCode::SUCCESS
}
