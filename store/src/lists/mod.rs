//! Lists (audiences) over their lifetime: made from the unit tree by templates and kept in step
//! with every units import, or made and changed by hand; switched off and on, given further
//! addresses, deleted while they never had a send. Every change is audited with before → after.
//!
//! Whatever happens to a list, it never reaches more people than its definition says: a unit
//! that leaves the export switches its lists off (never deletes or repoints them), and every
//! definition is checked against its scope and the organisation's caps before it is stored.

mod aliases;
mod definition;
mod manage;
mod overview;
mod standard;
mod sync;
mod templates;

pub use definition::{check_caps, check_shape, ListError, RESERVED_SLUGS};
pub use manage::FieldChange;
pub use overview::ListOverview;
pub use standard::NAME_PREFIXES;
pub use sync::{ClashWith, ListChange, ListChanges, ListClash};
pub use templates::{
    ListRules, ListTemplate, Pattern, UnitSelector, UnitWords, NAME_PLACEHOLDERS, SLUG_PLACEHOLDERS,
};

pub(crate) use sync::sync_lists;

use crate::directory::import::{ImportOptions, Refusal};
use crate::{now_ms, Store, StoreError};

/// What `verteiler audience sync` did (or, in a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    pub lists: ListChanges,
    pub refusal: Option<Refusal>,
    pub written: bool,
}

/// Whether the list changes are above the sync-safety limit (a first sync never is).
pub(crate) fn too_many_list_changes(changes: &ListChanges, options: &ImportOptions) -> bool {
    if changes.lists_before == 0 {
        return false;
    }
    let limit = ((changes.lists_before as f64) * options.max_change_percent / 100.0).floor() as u64;
    changes.total() > limit.max(options.change_slack)
}

impl Store {
    /// Applies the templates to the stored tree now (after the templates changed), with the
    /// same clash and sync-safety rules as a units import.
    pub async fn sync_lists_now(
        &self,
        rules: &ListRules,
        options: &ImportOptions,
    ) -> Result<SyncReport, StoreError> {
        let mut tx = self.begin_write().await?;
        crate::audit::log::lock_head_first(&mut tx).await?;
        let now = now_ms();
        let lists = sync_lists(&mut tx, self.backend, rules, &self.actor, now).await?;
        let refusal = if !lists.clashes.is_empty() {
            Some(Refusal::ListClash)
        } else if too_many_list_changes(&lists, options) && !options.allow_large_change {
            Some(Refusal::LargeChange)
        } else {
            None
        };
        if refusal.is_some() || options.dry_run {
            tx.rollback().await?;
            return Ok(SyncReport {
                lists,
                refusal,
                written: false,
            });
        }
        let event = crate::AuditEvent::new("lists.synced", self.actor.to_string())
            .details(serde_json::json!({ "lists": lists }));
        crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        self.facts_changed();
        Ok(SyncReport {
            lists,
            refusal: None,
            written: true,
        })
    }
}
