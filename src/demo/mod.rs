//! The demo organisation: a state organisation with districts, sub-districts, branches (one of
//! them Oldenfelde), committees, an interest group, members with every kind of contact data,
//! chairs for every branch, a press office at state level, topic lists and fixed logins.
//!
//! It is generated as CSV exports and imported through the real importer, so the demo also
//! exercises the path real data takes. The same seed always gives the same organisation.

mod names;
mod tree;

use crate::config::Config;
use anyhow::{bail, Context};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use verteiler_policies::{AudienceKind, AudienceSlug, Category, EmailAddress};
use verteiler_store::directory::import::ImportOptions;
use verteiler_store::progress::Progress;
use verteiler_store::{NewAudience, Store};

use tree::FIXED;

/// Members of the demo organisation `serve --demo` creates.
pub const DEFAULT_MEMBERS: u32 = 5_000;
pub const DEFAULT_SEED: u64 = 1;
/// The press office's official From: address; press officers may send as it.
pub const PRESS_ADDRESS: &str = "presse@example.org";

/// A login printed for newcomers: who, where, and the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub role: &'static str,
    pub unit: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

fn logins() -> Vec<Login> {
    FIXED
        .iter()
        .map(|p| Login {
            role: p.role_label,
            // Where the person acts: the unit of their role, else their home unit.
            unit: p.roles.split_once('@').map_or(p.unit, |(_, unit)| unit),
            email: p.email,
            password: p.password,
        })
        .collect()
}

/// Creates the demo organisation on first start; later starts only return the logins.
pub async fn ensure(store: &Store, config: &Config) -> anyhow::Result<Vec<Login>> {
    if store.directory_counts().await?.units == 0 {
        println!("verteiler: creating the demo organisation ({DEFAULT_MEMBERS} members) …");
        create(
            store,
            config,
            DEFAULT_MEMBERS,
            DEFAULT_SEED,
            &Progress::none(),
        )
        .await
    } else {
        Ok(logins())
    }
}

/// Generates and imports the demo organisation into an empty database; the imports report
/// to `progress`.
pub async fn create(
    store: &Store,
    config: &Config,
    members: u32,
    seed: u64,
    progress: &Progress,
) -> anyhow::Result<Vec<Login>> {
    let counts = store.directory_counts().await?;
    if counts.members_active + counts.members_left > 0 || counts.units > 0 {
        bail!(
            "the database already holds {} units and {} members; the demo is only created in an empty \
             database (set VERTEILER_DATABASE__URL to a new one)",
            counts.units,
            counts.members_active + counts.members_left
        );
    }
    let dir = tempfile::tempdir().context("creating a temporary directory for the demo exports")?;
    let (units_csv, members_csv) = write_csv(dir.path(), members, seed)?;
    let options = ImportOptions {
        allow_large_change: true,
        default_region: config.organisation.default_region.clone(),
        lists: config.list_rules(),
        progress: progress.clone(),
        ..ImportOptions::default()
    };
    let report = store.import_units(&units_csv, &options).await?;
    ensure_clean("units", &report)?;
    let report = store.import_members(&members_csv, &options).await?;
    ensure_clean("members", &report)?;

    create_audiences(store, config).await?;
    for p in FIXED {
        let email = EmailAddress::parse(p.email)?;
        let member = store
            .member_id_by_email(&email)
            .await?
            .with_context(|| format!("demo login {} was not imported", p.email))?;
        store.add_app_password(member, "demo", p.password).await?;
    }
    Ok(logins())
}

/// Writes the demo organisation as the two exports a membership database would produce.
pub fn write_csv(dir: &Path, members: u32, seed: u64) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let plan = tree::plan(members);
    let units_csv = dir.join("units.csv");
    let members_csv = dir.join("members.csv");
    let mut out = BufWriter::new(std::fs::File::create(&units_csv)?);
    tree::write_units(&plan, &mut out)?;
    out.flush()?;
    let mut out = BufWriter::new(std::fs::File::create(&members_csv)?);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    tree::write_members(&plan, members, &mut rng, &mut out)?;
    out.flush()?;
    Ok((units_csv, members_csv))
}

fn ensure_clean(
    what: &str,
    report: &verteiler_store::directory::import::ImportReport,
) -> anyhow::Result<()> {
    if let Some(first) = report.errors.first() {
        bail!(
            "the generated demo {what} have {} bad rows, first: {first}",
            report.errors.len()
        );
    }
    if !report.written {
        bail!("the demo {what} were not written: {:?}", report.refusal);
    }
    Ok(())
}

fn slug(text: &str) -> AudienceSlug {
    AudienceSlug::parse(text).expect("a valid demo slug")
}

/// The lists beyond the templates' (made by the units import), made as an admin would:
/// the press office's official sender address, and topic lists with some subscribers.
async fn create_audiences(store: &Store, config: &Config) -> anyhow::Result<()> {
    let caps = config.org_limits();
    let units = store.list_units().await?;
    let id_of = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map(|u| u.id)
            .context("demo unit missing")
    };
    let state = id_of(tree::STATE)?;
    let press = store
        .audience_by_slug(&slug("pressemitteilungen"))
        .await?
        .context("the press template made no list")?;
    let mut official = press.definition();
    official.sender_address = Some(PRESS_ADDRESS.to_string());
    store.edit_list(press.id, &official, &caps).await?;
    // Topic lists: opt-in, discussion lists let their subscribers post.
    let mut topic_ids = Vec::new();
    for (s, name, unit, public) in [
        ("klima", "Themenliste Klima", "HH-IG-KLIMA", true),
        ("ag60-plus", "AG 60 plus", "HH-AG60", false),
        ("newsletter", "Newsletter Hamburg", tree::STATE, false),
    ] {
        let mut t = NewAudience::structural(slug(s), name, id_of(unit)?, false);
        t.kind = AudienceKind::Topic;
        t.scope_unit_id = state;
        t.open_to_public = public;
        if s != "newsletter" {
            t.category = Category::Discussion;
            t.subscribers_may_post = true;
            t.reply_mode = verteiler_policies::ReplyMode::List;
        }
        topic_ids.push(store.create_list(&t, &caps).await?);
    }
    // Subscribe every 20th member of the state (at most 2,000) to the topic lists.
    let all = store
        .audience_by_slug(&slug("alle-mitglieder"))
        .await?
        .context("the all-members template made no list")?;
    let members = store.resolve_batch(&all, 0, 40_000).await?;
    for (n, r) in members
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 20 == 0)
        .take(2_000)
    {
        let Some(member) = r.member_id else { continue };
        let list = topic_ids[n / 20 % topic_ids.len()];
        store
            .subscribe_confirmed(list, member, &format!("demo-{list}-{member}"))
            .await?;
    }
    Ok(())
}

/// Prints the demo logins as a table, with where to use them.
pub fn print_logins(logins: &[Login], config: &Config) {
    println!();
    println!(
        "Demo logins (SMTP: {} with STARTTLS off on loopback; portal: {}):",
        config.smtp.listen, config.organisation.portal_base_url
    );
    println!("{:<22} {:<11} {:<32} PASSWORD", "ROLE", "UNIT", "EMAIL");
    for l in logins {
        println!(
            "{:<22} {:<11} {:<32} {}",
            l.role, l.unit, l.email, l.password
        );
    }
    println!(
        "Lists: oldenfelde@{d}, pressemitteilungen@{d}, alle-mitglieder@{d} (see `verteiler audience list`)",
        d = config.organisation.list_domain
    );
    println!();
}
