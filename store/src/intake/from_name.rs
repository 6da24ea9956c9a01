//! The display name a submission's `From:` shows on every copy, taken from the directory and
//! never from the sender (see `intake::from_header` for why it is replaced, not checked):
//!
//! - the sender's own address: the member's name and the unit of the role they send by,
//!   "Ole Brandt (Distrikt Oldenfelde)"; just the name when no role makes them a sender there
//!   (a subscriber writing to a discussion list);
//! - a list's official sender address: the name of the list that carries it.

use crate::{Store, StoreError};
use verteiler_policies::{AudienceFacts, RoleGrant};

impl Store {
    /// The name `From:` shows for a message from `from` by `member_id` to `addresses` (list
    /// addresses; ones that name no list are passed over).
    pub async fn from_display_name(
        &self,
        member_id: i64,
        from: &str,
        addresses: &[String],
        list_domain: &str,
    ) -> Result<String, StoreError> {
        let profile = self.sender_profile(member_id).await?;
        let mut audiences = Vec::new();
        for address in addresses {
            if let Some(audience) = self.audience_for_address(address, list_domain).await? {
                audiences.push(audience);
            }
        }
        if !profile.owns_verified(from) {
            let carrying = |a: &&crate::Audience| {
                a.sender_address
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(from.trim()))
            };
            if let Some(list) = audiences.iter().find(carrying) {
                return Ok(list.name.clone());
            }
            if let Some(list) = self
                .audiences_with_sender_address(from.trim())
                .await?
                .first()
            {
                return Ok(list.name.clone());
            }
        }
        let mut units: Vec<i64> = Vec::new();
        for audience in &audiences {
            let facts = self.audience_facts(audience).await?;
            if let Some(unit) = sending_unit(&profile.roles, &facts) {
                if !units.contains(&unit) {
                    units.push(unit);
                }
            }
        }
        let mut unit_names = Vec::with_capacity(units.len());
        for unit in units {
            let name: Option<String> = sqlx::query_scalar("SELECT name FROM units WHERE id = $1")
                .bind(unit)
                .fetch_optional(&self.pool)
                .await?;
            unit_names.extend(name);
        }
        let (first, last): (String, String) =
            sqlx::query_as("SELECT first_name, last_name FROM members WHERE id = $1")
                .bind(member_id)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_default();
        Ok(directory_name(&first, &last, &unit_names))
    }
}

/// The unit of the role by which `roles` may send to `audience`: the one nearest the
/// audience's scope when several qualify (a branch chair who is also on the state board
/// writes to the branch as its chair).
pub fn sending_unit(roles: &[RoleGrant], audience: &AudienceFacts) -> Option<i64> {
    let depth = |unit: i64| {
        audience
            .scope_path
            .iter()
            .position(|&u| u == unit)
            .unwrap_or(0)
    };
    roles
        .iter()
        .filter(|g| audience.policy.sender_functions.contains(&g.function) && g.covers(audience))
        .max_by_key(|g| (g.unit_id == audience.scope_unit_id, depth(g.unit_id)))
        .map(|g| g.unit_id)
}

/// "Ole Brandt (Distrikt Oldenfelde)": the name, and the units in brackets when there are any.
pub fn directory_name(first: &str, last: &str, units: &[String]) -> String {
    let name = crate::intake::normalise_name(&format!("{first} {last}"));
    let units: Vec<String> = units
        .iter()
        .map(|u| crate::intake::normalise_name(u))
        .filter(|u| !u.is_empty())
        .collect();
    if units.is_empty() {
        name
    } else {
        format!("{name} ({})", units.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verteiler_policies::{AudiencePolicy, AudienceSlug, RoleFunction};

    fn audience(scope: i64, path: Vec<i64>) -> AudienceFacts {
        AudienceFacts {
            id: 1,
            slug: AudienceSlug::parse("oldenfelde").unwrap(),
            display_name: "Distrikt Oldenfelde".into(),
            kind: verteiler_policies::AudienceKind::Structural,
            active: true,
            scope_unit_id: scope,
            scope_path: path,
            category: verteiler_policies::Category::Announcement,
            policy: AudiencePolicy {
                sender_functions: vec![RoleFunction::Chair],
                ..AudiencePolicy::default()
            },
            usual_size: None,
        }
    }

    fn grant(function: RoleFunction, unit_id: i64, covers_subtree: bool) -> RoleGrant {
        RoleGrant {
            function,
            unit_id,
            covers_subtree,
        }
    }

    #[test]
    fn the_name_carries_the_unit_of_the_sending_role() {
        assert_eq!(
            directory_name("Ole", "Brandt", &["Distrikt Oldenfelde".into()]),
            "Ole Brandt (Distrikt Oldenfelde)"
        );
        assert_eq!(directory_name(" Zoë ", "Nguyen", &[]), "Zoë Nguyen");
        assert_eq!(
            directory_name("A", "B", &["Eins".into(), "Zwei".into()]),
            "A B (Eins, Zwei)"
        );
        assert_eq!(
            directory_name("Ole\r\nBcc: x", "Brandt", &[]),
            "Ole Bcc: x Brandt"
        );
    }

    #[test]
    fn the_role_nearest_the_scope_names_the_unit() {
        let branch = audience(30, vec![10, 20, 30]);
        let roles = vec![
            grant(RoleFunction::Chair, 10, true),
            grant(RoleFunction::Treasurer, 30, false),
            grant(RoleFunction::Chair, 30, false),
        ];
        assert_eq!(sending_unit(&roles, &branch), Some(30));
        let from_above = vec![
            grant(RoleFunction::Chair, 10, true),
            grant(RoleFunction::Chair, 20, true),
        ];
        assert_eq!(sending_unit(&from_above, &branch), Some(20));
        let none = vec![grant(RoleFunction::Treasurer, 30, false)];
        assert_eq!(sending_unit(&none, &branch), None);
    }
}
