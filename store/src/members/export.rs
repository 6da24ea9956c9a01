//! Everything stored about one member, as JSON (the right of access), and its audit entry:
//! every export of a person's data is recorded with who made it.

use crate::audit::log::{self as audit, AuditEvent};
use crate::{Store, StoreError};
use sqlx::{Column, Row};

/// One row as a JSON object, column by column (the Any driver tells no types, so each value
/// is read as the first of integer, text, real that decodes; NULL stays null).
fn row_json(row: &sqlx::any::AnyRow) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            serde_json::json!(v)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            serde_json::json!(v)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            serde_json::json!(v)
        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        };
        object.insert(column.name().to_string(), value);
    }
    serde_json::Value::Object(object)
}

/// What is exported, table by table. Secrets (password hashes) and message bodies stay out:
/// the listing names each app password and each submission, which is what the member can act on.
const SECTIONS: &[(&str, &str)] = &[
    (
        "member",
        "SELECT id, external_id, first_name, last_name, status, language, left_at, created_at, \
         updated_at FROM members WHERE id = $1",
    ),
    (
        "memberships",
        "SELECT u.code AS unit_code, u.name AS unit_name, m.source, m.created_at FROM memberships m \
         JOIN units u ON u.id = m.unit_id WHERE m.member_id = $1 ORDER BY u.code",
    ),
    (
        "contact_points",
        "SELECT kind, value, street, postcode, city, is_primary, verified, verified_at, \
         undeliverable, source, created_at, updated_at FROM contact_points WHERE member_id = $1 ORDER BY id",
    ),
    (
        "channel_preferences",
        "SELECT category, channel, updated_at FROM channel_preferences WHERE member_id = $1 \
         ORDER BY category",
    ),
    (
        "roles",
        "SELECT r.function, u.code AS unit_code, r.covers_subtree, r.source, r.created_at FROM roles r \
         JOIN units u ON u.id = r.unit_id WHERE r.member_id = $1 ORDER BY r.id",
    ),
    (
        "subscriptions",
        "SELECT a.slug AS audience, s.state, s.created_at, s.confirmed_at, s.unsubscribed_at \
         FROM subscriptions s JOIN audiences a ON a.id = s.audience_id WHERE s.member_id = $1 ORDER BY s.id",
    ),
    (
        "app_passwords",
        "SELECT id, name, created_at, last_used_at, revoked_at FROM app_passwords \
         WHERE member_id = $1 ORDER BY id",
    ),
    (
        "api_tokens",
        "SELECT id, name, scopes, send_lists, created_at, expires_at, last_used_at, revoked_at \
         FROM api_tokens WHERE member_id = $1 ORDER BY id",
    ),
    (
        "submissions",
        "SELECT id, message_id, ingress, client_ip, client_name, header_from, subject, size_bytes, \
         created_at FROM submissions WHERE sender_member_id = $1 ORDER BY id",
    ),
    (
        "portal_sessions",
        "SELECT created_at, last_seen_at, expires_at FROM portal_sessions WHERE member_id = $1 \
         ORDER BY created_at",
    ),
    (
        "portal_password",
        "SELECT updated_at FROM member_passwords WHERE member_id = $1",
    ),
    (
        "text_messages",
        "SELECT to_number, kind, created_at, sent_at FROM sms_outbox WHERE member_id = $1 ORDER BY id",
    ),
    (
        "deletion_requests",
        "SELECT requested_at, completed_at FROM deletion_requests WHERE member_id = $1 ORDER BY id",
    ),
    (
        "deliveries",
        "SELECT send_id, address, state, attempts, created_at, updated_at FROM deliveries \
         WHERE member_id = $1 ORDER BY id",
    ),
];

impl Store {
    /// Everything stored about `member_id`, read in one transaction that also records the
    /// export in the audit log (made by this handle's actor, see [`Store::acting_as`]).
    /// `None` when there is no such member.
    pub async fn export_member_data(
        &self,
        member_id: i64,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut export = serde_json::Map::new();
        for (name, sql) in SECTIONS {
            let rows = sqlx::query(sql).bind(member_id).fetch_all(&mut *tx).await?;
            let values: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
            if *name == "member" {
                let Some(member) = values.into_iter().next() else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                export.insert((*name).to_string(), member);
            } else {
                export.insert((*name).to_string(), serde_json::Value::Array(values));
            }
        }
        let sections: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
        audit::append(
            &mut tx,
            self.backend,
            &[AuditEvent::new("member.exported", self.actor.to_string())
                .details(serde_json::json!({ "member_id": member_id, "sections": sections }))],
            crate::now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(serde_json::Value::Object(export)))
    }
}
