//! Lists that go and come with their units: a template list no template wants any more, and a
//! hand-made list of a unit that left the export, is switched off (never deleted); a list an
//! import switched off comes back when its unit does. A person's deactivation stays.

use super::{change, ListChanges};
use crate::lists::manage::{write_active, ChangedBy};
use crate::{Audience, StoreError};
use std::collections::{HashMap, HashSet};

pub(super) struct Switching<'a> {
    /// Lists a template wants (handled by the caller).
    pub kept: &'a HashSet<i64>,
    /// Units an import switched off.
    pub gone_units: &'a HashSet<i64>,
    pub unit_codes: &'a HashMap<i64, String>,
    pub actor: &'a str,
    pub now: i64,
}

impl Switching<'_> {
    pub async fn switch_with_units(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        lists: &[Audience],
        changes: &mut ListChanges,
    ) -> Result<(), StoreError> {
        for list in lists.iter().filter(|l| !self.kept.contains(&l.id)) {
            let unwanted = list.template_id.is_some() || self.gone_units.contains(&list.unit_id);
            let by_import = list.deactivation.as_ref().is_some_and(|d| d.by_import);
            let on = match (list.active, unwanted) {
                (true, true) => false,
                (false, false) if by_import => true,
                _ => continue,
            };
            if write_active(tx, list.id, on, ChangedBy::Import, self.actor, self.now).await? {
                let code = self
                    .unit_codes
                    .get(&list.unit_id)
                    .map_or("?", String::as_str);
                let c = change(list, code);
                if on {
                    changes.reactivated.push(c);
                } else {
                    changes.deactivated.push(c);
                }
            }
        }
        Ok(())
    }
}
