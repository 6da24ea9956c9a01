//! Searching the audit log: by a message's reference, by person, by time.

use crate::audit::log::{entry_from_row, AuditEntry};
use crate::db::sql::Placeholders;
use crate::{Store, StoreError};

/// What to look for in the audit log; every criterion given must match.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A reference to a message (with or without angle brackets): its submission's own
    /// Message-ID, a copy's Message-ID or its `X-Verteiler-Send` id. The entries of the
    /// submissions it names.
    pub message_id: Option<String>,
    /// A person: an address or number (the member it identifies, and every entry holding its
    /// keyed hash), or a part of the actor's name (`cli:`, `portal:member:12`).
    pub person: Option<String>,
    /// From this time on (unix ms), inclusive.
    pub from: Option<i64>,
    /// Before this time (unix ms).
    pub to: Option<i64>,
}

impl Store {
    /// Entries matching every given criterion, newest first, at most `max`.
    pub async fn audit_search(
        &self,
        query: &AuditQuery,
        max: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conditions = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        let mut p = Placeholders::new(self.backend);
        if let Some(message_id) = &query.message_id {
            ids = self.submissions_named_by(message_id).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            conditions.push(format!("submission_id IN ({})", p.list(ids.len())));
        }
        let person = query
            .person
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if person.is_some() {
            // The actor in words (`portal:member:ID`, `cli:USER`), the member an address
            // identifies, or the keyed hash of the value in the actor or the details: the log
            // holds contact values only so (see `crate::privacy::key`).
            let (a, b, c, d) = (p.one(), p.one(), p.one(), p.one());
            conditions.push(format!(
                "(LOWER(actor) LIKE {a} OR actor_member_id = {b} OR actor = {c} OR details LIKE {d})"
            ));
        }
        let from_at = query.from.map(|_| p.one());
        let to_at = query.to.map(|_| p.one());
        if let Some(ph) = &from_at {
            conditions.push(format!("at >= {ph}"));
        }
        if let Some(ph) = &to_at {
            conditions.push(format!("at < {ph}"));
        }
        let limit = p.one();
        let sql = format!(
            "SELECT seq, at, action, actor_member_id, actor, submission_id, send_id, details, \
             prev_hash, hash FROM audit_log{} ORDER BY seq DESC LIMIT {limit}",
            if conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conditions.join(" AND "))
            }
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        if let Some(person) = person {
            let member = match verteiler_policies::EmailAddress::parse(person) {
                Ok(address) => self.member_id_by_email(&address).await?,
                Err(_) => None,
            };
            let hash = self.contact_hash(person, crate::privacy::key::DEFAULT_REGION);
            q = q
                .bind(format!("%{}%", person.to_lowercase()))
                .bind(member.unwrap_or(-1))
                .bind(format!("hmac:{hash}"))
                .bind(format!("%{hash}%"));
        }
        if let Some(from) = query.from {
            q = q.bind(from);
        }
        if let Some(to) = query.to {
            q = q.bind(to);
        }
        let rows = q.bind(max as i64).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
