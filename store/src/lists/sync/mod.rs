//! Keeping the lists in step with the unit tree: what the templates want, against what exists.
//!
//! Run inside the units import's transaction (and by `verteiler audience sync`), after the
//! units are written: a new unit gets its lists, a renamed unit's list takes its new address
//! and keeps the old one as an alias, a changed template gives its lists the new rules (not
//! those changed by hand), and the lists of a unit that left the export are deactivated —
//! never deleted and never pointed anywhere else, so no send can go wider than the list it was
//! meant for. An address two units would both get is a clash: the whole import is refused,
//! naming both.

mod rules;
mod switch;
mod wanted;

pub(crate) use rules::template_part;
pub use wanted::{ClashWith, ListClash};

use super::manage::{update_definition, write_active, ChangedBy};
use crate::audiences::definitions::{audience_from_row, insert_audience};
use crate::{Audience, StoreError};
use rules::{rules_step, RulesStep};
use serde::Serialize;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use wanted::{read_units, wanted_lists, Wanted};

/// One list the sync makes, renames, changes, switches off or on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListChange {
    pub slug: String,
    pub name: String,
    pub unit_code: String,
    /// The template behind the list (`None`: made by hand).
    pub template: Option<String>,
    /// For a rename: the address it had, now an alias.
    pub old_slug: Option<String>,
    /// For a change of rules: the fields the template changed.
    pub fields: Vec<String>,
}

/// What an import does to the lists; part of its report, shown by the dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListChanges {
    /// Lists before the import (the base of the sync-safety limit).
    pub lists_before: u64,
    pub created: Vec<ListChange>,
    pub renamed: Vec<ListChange>,
    /// Lists given their template's changed rules.
    pub updated: Vec<ListChange>,
    pub deactivated: Vec<ListChange>,
    pub reactivated: Vec<ListChange>,
    /// Lists made by hand earlier that a template now takes care of (same unit and address).
    pub adopted: Vec<ListChange>,
    /// Lists whose template changed but which were changed by hand: they keep their rules.
    pub customised: Vec<ListChange>,
    /// Addresses that cannot be had; any refuses the import.
    pub clashes: Vec<ListClash>,
}

impl ListChanges {
    /// Lists this sync changes, for the sync-safety limit (adopting changes nothing visible).
    pub fn total(&self) -> u64 {
        (self.created.len()
            + self.renamed.len()
            + self.updated.len()
            + self.deactivated.len()
            + self.reactivated.len()) as u64
    }
}

fn change(list: &Audience, unit_code: &str) -> ListChange {
    ListChange {
        slug: list.slug.to_string(),
        name: list.name.clone(),
        unit_code: unit_code.to_string(),
        template: list.template_id.clone(),
        old_slug: None,
        fields: Vec::new(),
    }
}

/// The stored lists and who owns which address, read once per sync.
struct Existing {
    lists: Vec<Audience>,
    /// The template's part as it last gave it, by list id.
    given: HashMap<i64, serde_json::Value>,
    /// Every address (own or alias) → index into `lists`.
    owners: HashMap<String, usize>,
    unit_codes: HashMap<i64, String>,
}

impl Existing {
    async fn read(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        units: &[wanted::UnitRow],
    ) -> Result<Existing, StoreError> {
        let rows = sqlx::query("SELECT * FROM audiences ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
        let mut lists = Vec::with_capacity(rows.len());
        let mut given = HashMap::new();
        for row in &rows {
            let list = audience_from_row(row)?;
            let part: Option<String> = row.try_get("template_definition")?;
            if let Some(value) = part.and_then(|p| serde_json::from_str(&p).ok()) {
                given.insert(list.id, value);
            }
            lists.push(list);
        }
        let index: HashMap<i64, usize> = lists.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
        let mut owners: HashMap<String, usize> =
            sqlx::query_as::<_, (String, i64)>("SELECT slug, audience_id FROM audience_aliases")
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .filter_map(|(slug, id)| Some((slug, *index.get(&id)?)))
                .collect();
        owners.extend(
            lists
                .iter()
                .enumerate()
                .map(|(i, l)| (l.slug.to_string(), i)),
        );
        Ok(Existing {
            lists,
            given,
            owners,
            unit_codes: units.iter().map(|u| (u.id, u.code.clone())).collect(),
        })
    }

    fn owner_of(&self, slug: &str) -> Option<&Audience> {
        self.owners.get(slug).map(|&i| &self.lists[i])
    }

    fn code_of(&self, unit_id: i64) -> String {
        self.unit_codes
            .get(&unit_id)
            .cloned()
            .unwrap_or_else(|| format!("#{unit_id}"))
    }
}

/// Plans and (in `tx`) carries out the sync; the caller commits or rolls back.
pub(crate) async fn sync_lists(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    rules: &super::ListRules,
    actor: &str,
    now: i64,
) -> Result<ListChanges, StoreError> {
    super::manage::lock_addresses(tx, backend).await?;
    let units = read_units(tx).await?;
    let existing = Existing::read(tx, &units).await?;
    let mut changes = ListChanges {
        lists_before: existing.lists.len() as u64,
        ..ListChanges::default()
    };
    let wanted = wanted_lists(rules, &units, &mut changes.clashes);
    let made: HashMap<(&str, i64), &Audience> = existing
        .lists
        .iter()
        .filter_map(|l| Some(((l.template_id.as_deref()?, l.unit_id), l)))
        .collect();
    let mut kept: HashSet<i64> = HashSet::new();
    for w in &wanted {
        match made.get(&(w.template.id.as_str(), w.unit.id)) {
            Some(list) => {
                kept.insert(list.id);
                keep_in_step(tx, &existing, list, w, actor, now, &mut changes).await?;
            }
            None => {
                if let Some(id) = make_or_adopt(tx, &existing, w, now, &mut changes).await? {
                    kept.insert(id);
                }
            }
        }
    }
    let gone: HashSet<i64> = units.iter().filter(|u| u.gone).map(|u| u.id).collect();
    let off = switch::Switching {
        kept: &kept,
        gone_units: &gone,
        unit_codes: &existing.unit_codes,
        actor,
        now,
    };
    off.switch_with_units(tx, &existing.lists, &mut changes)
        .await?;
    Ok(changes)
}

/// A template's existing list: its address and name follow the unit, its rules the template
/// (unless changed by hand), and it comes back if an import had switched it off.
async fn keep_in_step(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    existing: &Existing,
    list: &Audience,
    w: &Wanted<'_>,
    actor: &str,
    now: i64,
    changes: &mut ListChanges,
) -> Result<(), StoreError> {
    if let Some(owner) = existing.owner_of(w.list.slug.as_str()) {
        if owner.id != list.id {
            let with = wanted::ClashWith::List {
                slug: owner.slug.to_string(),
                unit_code: existing.code_of(owner.unit_id),
            };
            changes.clashes.push(w.clash(with));
            return Ok(());
        }
    }
    let mut after = list.definition();
    let given = existing
        .given
        .get(&list.id)
        .cloned()
        .unwrap_or_else(|| template_part(&w.list));
    let mut given_now = given.clone();
    let mut retarget = false;
    match rules_step(&after, &given, &w.list) {
        RulesStep::Unchanged => {}
        RulesStep::Update {
            after: updated,
            fields,
            retarget: r,
        } => {
            after = *updated;
            retarget = r;
            given_now = template_part(&w.list);
            changes.updated.push(ListChange {
                fields,
                ..change(list, &w.unit.code)
            });
        }
        RulesStep::Customised { fields } => {
            given_now = template_part(&w.list);
            changes.customised.push(ListChange {
                fields,
                ..change(list, &w.unit.code)
            });
        }
    }
    let renamed = list.slug != w.list.slug || list.name != w.list.name;
    if renamed {
        after.slug = w.list.slug.clone();
        after.name = w.list.name.clone();
        changes.renamed.push(ListChange {
            slug: after.slug.to_string(),
            name: after.name.clone(),
            old_slug: (list.slug != after.slug).then(|| list.slug.to_string()),
            ..change(list, &w.unit.code)
        });
        if list.slug != after.slug {
            super::aliases::move_address(tx, list.id, list.slug.as_str(), after.slug.as_str(), now)
                .await?;
        }
    }
    if renamed || after != list.definition() {
        update_definition(tx, list.id, &after, now).await?;
    }
    if given_now != given || !existing.given.contains_key(&list.id) {
        store_template_part(tx, list.id, &given_now).await?;
    }
    if retarget {
        super::manage::mark_redefined(tx, list.id, now).await?;
    }
    if !list.active
        && list.deactivation.as_ref().is_some_and(|d| d.by_import)
        && write_active(tx, list.id, true, ChangedBy::Import, actor, now).await?
    {
        changes.reactivated.push(change(list, &w.unit.code));
    }
    Ok(())
}

/// A list the template does not have yet: made, or adopted when a list of the same unit has
/// the address already. Returns the list kept, if any.
async fn make_or_adopt(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    existing: &Existing,
    w: &Wanted<'_>,
    now: i64,
    changes: &mut ListChanges,
) -> Result<Option<i64>, StoreError> {
    let part = template_part(&w.list);
    match existing.owner_of(w.list.slug.as_str()) {
        Some(owner)
            if owner.template_id.is_none()
                && owner.unit_id == w.unit.id
                && owner.slug == w.list.slug =>
        {
            sqlx::query("UPDATE audiences SET template_id = $1, updated_at = $2 WHERE id = $3")
                .bind(&w.template.id)
                .bind(now)
                .bind(owner.id)
                .execute(&mut **tx)
                .await?;
            store_template_part(tx, owner.id, &part).await?;
            changes.adopted.push(ListChange {
                template: Some(w.template.id.clone()),
                ..change(owner, &w.unit.code)
            });
            Ok(Some(owner.id))
        }
        Some(owner) => {
            let with = wanted::ClashWith::List {
                slug: owner.slug.to_string(),
                unit_code: existing.code_of(owner.unit_id),
            };
            changes.clashes.push(w.clash(with));
            Ok(None)
        }
        None => {
            let id = insert_audience(tx, &w.list, Some(&w.template.id)).await?;
            store_template_part(tx, id, &part).await?;
            changes.created.push(ListChange {
                slug: w.list.slug.to_string(),
                name: w.list.name.clone(),
                unit_code: w.unit.code.clone(),
                template: Some(w.template.id.clone()),
                old_slug: None,
                fields: Vec::new(),
            });
            Ok(Some(id))
        }
    }
}

async fn store_template_part(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    part: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audiences SET template_definition = $1 WHERE id = $2")
        .bind(part.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
