//! Who holds which function where, as the admin pages ask and change it: whether somebody is
//! an admin of the whole organisation, the holders of a unit's functions, revoking a role.

use crate::{AuditEvent, Store, StoreError};

/// Somebody holding a function in a unit, for the admin's roles page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHolder {
    pub member_id: i64,
    pub name: String,
    /// The member's primary email address, if any.
    pub email: Option<String>,
    pub function: verteiler_policies::RoleFunction,
    pub covers_subtree: bool,
    /// `import` (the membership database's) or `admin` (granted here).
    pub source: String,
}

/// member id, first name, last name, email, function, covers subtree (0/1), source
type RoleRow = (i64, String, String, Option<String>, String, i64, String);

impl Store {
    /// Whether the member is an admin of the whole organisation: the admin function held at a
    /// top unit (one without a parent). Fails closed: anything else is not an admin.
    pub async fn is_admin(&self, member_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM roles r \
             JOIN units u ON u.id = r.unit_id JOIN members m ON m.id = r.member_id \
             WHERE r.member_id = $1 AND r.function = 'admin' AND u.parent_id IS NULL \
               AND m.status = 'active'",
        )
        .bind(member_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Who holds which function in the unit, by function and name.
    pub async fn roles_at(&self, unit_id: i64) -> Result<Vec<RoleHolder>, StoreError> {
        let rows: Vec<RoleRow> = sqlx::query_as(
            "SELECT m.id, m.first_name, m.last_name, \
               (SELECT c.value FROM contact_points c WHERE c.member_id = m.id AND c.kind = 'email' \
                ORDER BY c.is_primary DESC, c.id LIMIT 1), \
               r.function, CAST(CASE WHEN r.covers_subtree THEN 1 ELSE 0 END AS BIGINT), r.source \
             FROM roles r JOIN members m ON m.id = r.member_id \
             WHERE r.unit_id = $1 AND m.status = 'active' \
             ORDER BY r.function, m.last_name, m.first_name, m.id",
        )
        .bind(unit_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(member_id, first, last, email, function, subtree, source)| {
                    Ok(RoleHolder {
                        member_id,
                        name: format!("{first} {last}"),
                        email,
                        function: function
                            .parse()
                            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                        covers_subtree: subtree != 0,
                        source,
                    })
                },
            )
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Takes a function away, audited as `role.revoked`. Returns whether the member held it.
    pub async fn revoke_role(
        &self,
        member_id: i64,
        unit_id: i64,
        function: verteiler_policies::RoleFunction,
    ) -> Result<bool, StoreError> {
        let now = crate::now_ms();
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query(
            "DELETE FROM roles WHERE member_id = $1 AND unit_id = $2 AND function = $3",
        )
        .bind(member_id)
        .bind(unit_id)
        .bind(function.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if removed {
            let event = AuditEvent::new("role.revoked", self.actor.to_string()).details(
                serde_json::json!({
                    "member_id": member_id,
                    "unit_id": unit_id,
                    "function": function.as_str(),
                }),
            );
            crate::audit::log::append(&mut tx, self.backend, &[event], now).await?;
        }
        tx.commit().await?;
        self.facts_changed();
        Ok(removed)
    }
}
