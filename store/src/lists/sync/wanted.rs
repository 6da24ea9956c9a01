//! What the templates want: for every unit still in the tree, the list each matching template
//! makes, with its address checked — no address twice, none of verteiler's own.

use super::super::definition::RESERVED_SLUGS;
use super::super::templates::{ListRules, ListTemplate, UnitWords};
use crate::StoreError;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A unit as the sync sees it.
#[derive(Debug, Clone)]
pub(super) struct UnitRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: verteiler_policies::UnitKind,
    /// Inactive because an import found it missing (its lists go with it).
    pub gone: bool,
    /// The organisation's top: no parent, units below it.
    pub top: bool,
}

/// Why a template's list cannot have its address; refuses the whole import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListClash {
    /// The address wanted.
    pub slug: String,
    pub template: String,
    pub unit_code: String,
    pub unit_name: String,
    pub with: ClashWith,
}

/// What the address clashes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClashWith {
    /// Another unit wants it too (by this or another template).
    Unit {
        template: String,
        unit_code: String,
        unit_name: String,
    },
    /// An existing list of another unit has it (as its address or an alias).
    List { slug: String, unit_code: String },
    /// verteiler answers it itself (approvals, bounces, postmaster).
    Reserved,
    /// The unit's name gives no valid address.
    Invalid { reason: String },
}

impl fmt::Display for ListClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (slug, t, code, name) = (&self.slug, &self.template, &self.unit_code, &self.unit_name);
        match &self.with {
            ClashWith::Unit {
                template,
                unit_code,
                unit_name,
            } => write!(
                f,
                "the address {slug} is wanted by template {template} for unit {unit_code} \
                 ({unit_name}) and by template {t} for unit {code} ({name})"
            ),
            ClashWith::List {
                slug: list,
                unit_code,
            } => write!(
                f,
                "the address {slug} of template {t} for unit {code} ({name}) is taken by the \
                 list {list} of unit {unit_code}"
            ),
            ClashWith::Reserved => write!(
                f,
                "the address {slug} of template {t} for unit {code} ({name}) is reserved for \
                 verteiler's own mail"
            ),
            ClashWith::Invalid { reason } => {
                write!(f, "template {t} for unit {code} ({name}): {reason}")
            }
        }
    }
}

/// What a template wants for one unit.
pub(super) struct Wanted<'a> {
    pub template: &'a ListTemplate,
    pub unit: &'a UnitRow,
    pub list: crate::NewAudience,
}

impl Wanted<'_> {
    pub fn clash(&self, with: ClashWith) -> ListClash {
        ListClash {
            slug: self.list.slug.to_string(),
            template: self.template.id.clone(),
            unit_code: self.unit.code.clone(),
            unit_name: self.unit.name.clone(),
            with,
        }
    }
}

pub(super) async fn read_units(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<Vec<UnitRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, code, name, kind, parent_id, active, deactivation_source FROM units ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let parents: HashSet<i64> = rows
        .iter()
        .filter_map(|r| r.try_get::<Option<i64>, _>("parent_id").ok().flatten())
        .collect();
    rows.iter()
        .map(|r| {
            let source: Option<String> = r.try_get("deactivation_source")?;
            let kind: String = r.try_get("kind")?;
            let id: i64 = r.try_get("id")?;
            let parent_id: Option<i64> = r.try_get("parent_id")?;
            Ok(UnitRow {
                id,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: kind.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                gone: !crate::db::sql::get_bool(r, "active")?
                    && source.as_deref() == Some("import"),
                top: parent_id.is_none() && parents.contains(&id),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Every list the templates want, with every address that cannot be had named.
pub(super) fn wanted_lists<'a>(
    rules: &'a ListRules,
    units: &'a [UnitRow],
    clashes: &mut Vec<ListClash>,
) -> Vec<Wanted<'a>> {
    let mut wanted: Vec<Wanted<'a>> = Vec::new();
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for template in &rules.templates {
        for unit in units.iter().filter(|u| !u.gone) {
            if !template.units.matches(unit.kind, unit.top) {
                continue;
            }
            let words = UnitWords::new(&unit.code, &unit.name, &rules.name_prefixes);
            let slug = match template.slug.slug_for(&words) {
                Ok(slug) => slug,
                Err(reason) => {
                    clashes.push(ListClash {
                        slug: template.slug.to_string(),
                        template: template.id.clone(),
                        unit_code: unit.code.clone(),
                        unit_name: unit.name.clone(),
                        with: ClashWith::Invalid { reason },
                    });
                    continue;
                }
            };
            let w = Wanted {
                template,
                unit,
                list: template.list_for(slug, &words, unit.id),
            };
            if RESERVED_SLUGS.contains(&w.list.slug.as_str()) {
                clashes.push(w.clash(ClashWith::Reserved));
                continue;
            }
            if let Some(&i) = first.get(w.list.slug.as_str()) {
                let other = &wanted[i];
                clashes.push(w.clash(ClashWith::Unit {
                    template: other.template.id.clone(),
                    unit_code: other.unit.code.clone(),
                    unit_name: other.unit.name.clone(),
                }));
                continue;
            }
            first.insert(w.list.slug.to_string(), wanted.len());
            wanted.push(w);
        }
    }
    wanted
}
