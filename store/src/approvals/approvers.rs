//! Who is asked to approve a held send: the holders of an approver function nearest the
//! list's scope, never the sender. The queue, the request sweep and the portal's check all ask
//! here, so they always agree on whom a send asks.

use crate::{Store, StoreError};
use std::collections::hash_map::{Entry, HashMap};
use verteiler_policies::{effective_limits, OrgLimits, RoleGrant};

/// Approvers by (audience, sender), for one pass over held sends.
pub(super) type ApproversKnown = HashMap<(i64, i64), Vec<Approver>>;

/// Somebody who may approve a held send, to be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub member_id: i64,
    pub name: String,
    pub email: String,
    pub language: String,
}

impl Store {
    /// The people to ask about a held send to `audience_id`: holders of an approver function
    /// covering the audience, nearest scope first (a district's press office before the
    /// state's): only the nearest level that has anybody is asked. Never the sender.
    pub async fn approvers_for(
        &self,
        audience_id: i64,
        sender_member_id: i64,
        limits: &OrgLimits,
    ) -> Result<Vec<Approver>, StoreError> {
        let Some(audience) = self.audience_by_id(audience_id).await? else {
            return Ok(Vec::new());
        };
        let facts = self.audience_facts(&audience).await?;
        let functions = effective_limits(Some(&facts), limits).approver_functions;
        // Only roles held on the path from the root to the audience's scope can cover it.
        let mut p = crate::db::sql::Placeholders::new(self.backend);
        let sender = p.one();
        let units = p.list(facts.scope_path.len().max(1));
        let sql = format!(
            "SELECT r.member_id, r.function, r.unit_id, \
             CAST(CASE WHEN r.covers_subtree THEN 1 ELSE 0 END AS BIGINT) \
             FROM roles r JOIN members m ON m.id = r.member_id \
             WHERE m.status = 'active' AND r.member_id <> {sender} AND r.unit_id IN ({units}) \
             ORDER BY r.member_id"
        );
        let mut query = sqlx::query_as(&sql).bind(sender_member_id);
        if facts.scope_path.is_empty() {
            query = query.bind(facts.scope_unit_id);
        }
        for unit in &facts.scope_path {
            query = query.bind(*unit);
        }
        let rows: Vec<(i64, String, i64, i64)> = query.fetch_all(&self.pool).await?;
        // Distance from the audience's scope up the tree: 0 at the scope unit itself.
        let distance = |unit: i64| {
            facts
                .scope_path
                .iter()
                .rev()
                .position(|u| *u == unit)
                .unwrap_or(usize::MAX)
        };
        let mut found: Vec<(usize, i64)> = Vec::new();
        for (member_id, function, unit_id, subtree) in rows {
            let Ok(function) = function.parse() else {
                continue;
            };
            let grant = RoleGrant {
                function,
                unit_id,
                covers_subtree: subtree != 0,
            };
            if functions.contains(&grant.function) && grant.covers(&facts) {
                found.push((distance(unit_id), member_id));
            }
        }
        let Some(nearest) = found.iter().map(|(d, _)| *d).min() else {
            return Ok(Vec::new());
        };
        let mut members: Vec<i64> = found
            .into_iter()
            .filter(|(d, _)| *d == nearest)
            .map(|(_, m)| m)
            .collect();
        members.dedup();
        let mut approvers = Vec::new();
        for member_id in members {
            if let Some((email, _)) = self.notice_address(member_id).await? {
                let name = self.member_label(member_id).await?;
                approvers.push(Approver {
                    member_id,
                    name,
                    email,
                    language: self.member_language(member_id).await?,
                });
            }
        }
        Ok(approvers)
    }

    /// [`Store::approvers_for`], remembered in `known` for one pass over many held sends:
    /// a busy sender's held sends to one list all ask the same people.
    pub(super) async fn approvers_known<'k>(
        &self,
        known: &'k mut ApproversKnown,
        audience_id: i64,
        sender_member_id: i64,
        limits: &OrgLimits,
    ) -> Result<&'k [Approver], StoreError> {
        Ok(match known.entry((audience_id, sender_member_id)) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                self.approvers_for(audience_id, sender_member_id, limits)
                    .await?,
            ),
        })
    }
}
