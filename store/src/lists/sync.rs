//! Keeping the lists in step with the unit tree: what the templates want, against what exists.
//!
//! Run inside the units import's transaction (and by `verteiler audience sync`), after the
//! units are written: a new unit gets its lists, a renamed unit's list takes its new address
//! and keeps the old one as an alias, and the lists of a unit that left the export are
//! deactivated — never deleted and never pointed anywhere else, so no send can go wider than
//! the list it was meant for. An address two units would both get is a clash: the whole import
//! is refused, naming both.

use super::manage::{update_definition, write_active, ChangedBy};
use super::templates::{ListRules, ListTemplate, UnitWords};
use crate::audiences::{audience_from_row, insert_audience};
use crate::{Audience, StoreError};
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// One list the sync makes, renames, switches off or on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListChange {
    pub slug: String,
    pub name: String,
    pub unit_code: String,
    /// The template behind the list (`None`: made by hand).
    pub template: Option<String>,
    /// For a rename: the address it had, now an alias.
    pub old_slug: Option<String>,
}

/// What an import does to the lists; part of its report, shown by the dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListChanges {
    /// Lists before the import (the base of the sync-safety limit).
    pub lists_before: u64,
    pub created: Vec<ListChange>,
    pub renamed: Vec<ListChange>,
    pub deactivated: Vec<ListChange>,
    pub reactivated: Vec<ListChange>,
    /// Lists made by hand earlier that a template now takes care of (same unit and address).
    pub adopted: Vec<ListChange>,
    /// Addresses two units (or a unit and an existing list) would both get; refuses the import.
    pub clashes: Vec<String>,
}

impl ListChanges {
    /// Lists this sync changes, for the sync-safety limit (adopting changes nothing visible).
    pub fn total(&self) -> u64 {
        (self.created.len() + self.renamed.len() + self.deactivated.len() + self.reactivated.len())
            as u64
    }
}

/// A unit as the sync sees it.
#[derive(Debug, Clone)]
struct UnitRow {
    id: i64,
    code: String,
    name: String,
    kind: verteiler_policies::UnitKind,
    parent_id: Option<i64>,
    /// Inactive because an import found it missing (its lists go with it).
    gone: bool,
}

/// What a template wants for one unit.
struct Wanted<'a> {
    template: &'a ListTemplate,
    unit: &'a UnitRow,
    list: crate::NewAudience,
}

async fn read_units(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<Vec<UnitRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, code, name, kind, parent_id, active, deactivation_source FROM units ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let source: Option<String> = r.try_get("deactivation_source")?;
            let kind: String = r.try_get("kind")?;
            Ok(UnitRow {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: kind.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                parent_id: r.try_get("parent_id")?,
                gone: !crate::sql::get_bool(r, "active")? && source.as_deref() == Some("import"),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

fn change(list: &Audience, unit_code: &str) -> ListChange {
    ListChange {
        slug: list.slug.to_string(),
        name: list.name.clone(),
        unit_code: unit_code.to_string(),
        template: list.template_id.clone(),
        old_slug: None,
    }
}

/// Plans and (in `tx`) carries out the sync; the caller commits or rolls back.
pub(crate) async fn sync_lists(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rules: &ListRules,
    actor: &str,
    now: i64,
) -> Result<ListChanges, StoreError> {
    let units = read_units(tx).await?;
    let lists: Vec<Audience> = sqlx::query("SELECT * FROM audiences ORDER BY id")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(audience_from_row)
        .collect::<Result<_, _>>()?;
    let aliases: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT slug, audience_id FROM audience_aliases")
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let unit_by_id: HashMap<i64, &UnitRow> = units.iter().map(|u| (u.id, u)).collect();
    let code_of = |id: i64| unit_by_id.get(&id).map_or("?", |u| u.code.as_str());
    let mut changes = ListChanges {
        lists_before: lists.len() as u64,
        ..ListChanges::default()
    };

    let wanted = wanted_lists(rules, &units, &mut changes.clashes);
    let by_id: HashMap<i64, &Audience> = lists.iter().map(|l| (l.id, l)).collect();
    let by_slug: HashMap<&str, &Audience> = lists.iter().map(|l| (l.slug.as_str(), l)).collect();
    let owner_of = |slug: &str| -> Option<&Audience> {
        by_slug
            .get(slug)
            .copied()
            .or_else(|| aliases.get(slug).and_then(|id| by_id.get(id).copied()))
    };
    let made: HashMap<(&str, i64), &Audience> = lists
        .iter()
        .filter_map(|l| Some(((l.template_id.as_deref()?, l.unit_id), l)))
        .collect();

    let mut kept: Vec<i64> = Vec::new();
    for w in &wanted {
        let slug = w.list.slug.as_str();
        let clash = |owner: &Audience| {
            format!(
                "the address {slug} of template {} for unit {} ({}) is taken by the list {} of unit {}",
                w.template.id,
                w.unit.code,
                w.unit.name,
                owner.slug,
                code_of(owner.unit_id)
            )
        };
        match made.get(&(w.template.id.as_str(), w.unit.id)) {
            Some(list) => {
                kept.push(list.id);
                match owner_of(slug) {
                    Some(owner) if owner.id != list.id => {
                        changes.clashes.push(clash(owner));
                        continue;
                    }
                    _ => {}
                }
                if list.slug != w.list.slug || list.name != w.list.name {
                    let mut after = list.definition();
                    after.slug = w.list.slug.clone();
                    after.name = w.list.name.clone();
                    rename(tx, list, &after, now).await?;
                    changes.renamed.push(ListChange {
                        slug: after.slug.to_string(),
                        name: after.name,
                        unit_code: w.unit.code.clone(),
                        template: list.template_id.clone(),
                        old_slug: (list.slug != after.slug).then(|| list.slug.to_string()),
                    });
                }
                if !list.active && list.deactivation.as_ref().is_some_and(|d| d.by_import) {
                    write_active(tx, list.id, true, ChangedBy::Import, actor, now).await?;
                    changes.reactivated.push(change(list, &w.unit.code));
                }
            }
            None => match owner_of(slug) {
                Some(owner)
                    if owner.template_id.is_none()
                        && owner.unit_id == w.unit.id
                        && owner.slug == w.list.slug =>
                {
                    kept.push(owner.id);
                    sqlx::query(
                        "UPDATE audiences SET template_id = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(&w.template.id)
                    .bind(now)
                    .bind(owner.id)
                    .execute(&mut **tx)
                    .await?;
                    changes.adopted.push(ListChange {
                        template: Some(w.template.id.clone()),
                        ..change(owner, &w.unit.code)
                    });
                }
                Some(owner) => changes.clashes.push(clash(owner)),
                None => {
                    insert_audience(tx, &w.list, Some(&w.template.id)).await?;
                    changes.created.push(ListChange {
                        slug: w.list.slug.to_string(),
                        name: w.list.name.clone(),
                        unit_code: w.unit.code.clone(),
                        template: Some(w.template.id.clone()),
                        old_slug: None,
                    });
                }
            },
        }
    }
    switch_with_units(tx, &lists, &kept, &unit_by_id, actor, now, &mut changes).await?;
    Ok(changes)
}

/// Every list the templates want, with clashes between them named (both units).
fn wanted_lists<'a>(
    rules: &'a ListRules,
    units: &'a [UnitRow],
    clashes: &mut Vec<String>,
) -> Vec<Wanted<'a>> {
    let mut wanted: Vec<Wanted<'a>> = Vec::new();
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for template in &rules.templates {
        for unit in units.iter().filter(|u| !u.gone) {
            if !template.units.matches(unit.kind, unit.parent_id) {
                continue;
            }
            let words = UnitWords::new(&unit.code, &unit.name, &rules.name_prefixes);
            let slug = match template.slug.slug_for(&words) {
                Ok(slug) => slug,
                Err(reason) => {
                    clashes.push(format!(
                        "template {} for unit {} ({}): {reason}",
                        template.id, unit.code, unit.name
                    ));
                    continue;
                }
            };
            if let Some(&i) = first.get(slug.as_str()) {
                let other = &wanted[i];
                clashes.push(format!(
                    "the address {slug} is wanted by template {} for unit {} ({}) and by template {} for unit {} ({})",
                    other.template.id, other.unit.code, other.unit.name, template.id, unit.code, unit.name
                ));
                continue;
            }
            first.insert(slug.to_string(), wanted.len());
            wanted.push(Wanted {
                template,
                unit,
                list: template.list_for(slug, &words, unit.id),
            });
        }
    }
    wanted
}

/// A template's list follows its unit's new name: new address (the old one an alias), new name.
async fn rename(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    list: &Audience,
    after: &crate::NewAudience,
    now: i64,
) -> Result<(), StoreError> {
    if list.slug != after.slug {
        sqlx::query("DELETE FROM audience_aliases WHERE slug = $1")
            .bind(after.slug.as_str())
            .execute(&mut **tx)
            .await?;
        super::aliases::insert_alias(tx, list.id, list.slug.as_str(), now).await?;
    }
    update_definition(tx, list.id, after, now).await?;
    Ok(())
}

/// Template lists no template wants any more, and hand-made lists of units that left the
/// export, are switched off; lists an import switched off come back with their unit.
async fn switch_with_units(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lists: &[Audience],
    kept: &[i64],
    units: &HashMap<i64, &UnitRow>,
    actor: &str,
    now: i64,
    changes: &mut ListChanges,
) -> Result<(), StoreError> {
    for list in lists.iter().filter(|l| !kept.contains(&l.id)) {
        let unit = units.get(&list.unit_id);
        let unit_gone = unit.is_none_or(|u| u.gone);
        let code = unit.map_or("?", |u| u.code.as_str());
        let unwanted = list.template_id.is_some() || unit_gone;
        if list.active && unwanted {
            write_active(tx, list.id, false, ChangedBy::Import, actor, now).await?;
            changes.deactivated.push(change(list, code));
        } else if !list.active
            && !unwanted
            && list.deactivation.as_ref().is_some_and(|d| d.by_import)
        {
            write_active(tx, list.id, true, ChangedBy::Import, actor, now).await?;
            changes.reactivated.push(change(list, code));
        }
    }
    Ok(())
}
