//! The audit log: append-only and hash-chained, so it can answer "who sent this?" and prove
//! that nobody changed the answer since.
//!
//! Each entry stores the SHA-256 of the entry before it and the SHA-256 of its own canonical
//! content (which includes that previous hash). Editing a field breaks the entry's own hash;
//! removing or reordering entries breaks the links. Entries are only ever written inside the
//! transaction of the operation they describe, so an entry exists exactly when the change does.
//! There is no code path that updates or deletes an entry, and the database refuses it too
//! (triggers, and on PostgreSQL revoked privileges).

use crate::db::sql::Placeholders;
use crate::db::statement::Statement;
use crate::{Backend, Store, StoreError};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something that happened, to be appended in the transaction that makes it happen.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// What happened, as a stable dotted code (`submission.decided`, `approval.given`, …).
    pub action: &'static str,
    /// The member acting, when the actor is a member.
    pub actor_member_id: Option<i64>,
    /// The actor in words: an email address, `cli:USER`, `system`.
    pub actor: String,
    pub submission_id: Option<i64>,
    pub send_id: Option<i64>,
    /// Everything else worth keeping (reasons, figures, before → after).
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: &'static str, actor: impl Into<String>) -> AuditEvent {
        AuditEvent {
            action,
            actor_member_id: None,
            actor: actor.into(),
            submission_id: None,
            send_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn by_member(mut self, member_id: i64) -> Self {
        self.actor_member_id = Some(member_id);
        self
    }

    pub fn submission(mut self, submission_id: i64) -> Self {
        self.submission_id = Some(submission_id);
        self
    }

    pub fn send(mut self, send_id: i64) -> Self {
        self.send_id = Some(send_id);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// One stored entry, exactly as in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub actor_member_id: Option<i64>,
    pub actor: String,
    pub submission_id: Option<i64>,
    pub send_id: Option<i64>,
    /// JSON text, hashed as stored.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry's content and link ought to have.
    pub fn computed_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.at,
            &self.action,
            self.actor_member_id,
            &self.actor,
            self.submission_id,
            self.send_id,
            &self.details,
        )
    }

    /// The details as JSON (an entry whose details do not parse reads as `null`).
    pub fn details_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null)
    }
}

/// SHA-256 over a JSON array of the fields: an array of scalars has exactly one serialisation,
/// so the canonical form needs no rules about key order or whitespace. The sequence number is
/// left out on purpose: an entry's place in the chain is its link to the previous hash, which
/// is what lets verification tell a reordering from an edit.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev_hash: &str,
    at: i64,
    action: &str,
    actor_member_id: Option<i64>,
    actor: &str,
    submission_id: Option<i64>,
    send_id: Option<i64>,
    details: &str,
) -> String {
    let canonical = serde_json::json!([
        "verteiler-audit-v1",
        prev_hash,
        at,
        action,
        actor_member_id,
        actor,
        submission_id,
        send_id,
        details
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Rows per multi-row insert (10 columns each).
const ROWS_PER_INSERT: usize = 500;

/// Appends `events` at the end of the chain inside `tx`. Locks the chain's head first, so
/// concurrent writers (several instances on PostgreSQL) chain one after the other.
pub(crate) async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    events: &[AuditEvent],
    now: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head = locked_head(tx).await?;
    for statement in append_statements(backend, head, events, now) {
        statement.execute(tx).await?;
    }
    Ok(())
}

/// Reads the chain's head through a write, so it cannot be stale by the time entries are
/// written (one statement instead of a lock and a read).
pub(crate) const LOCKED_HEAD_SQL: &str =
    "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash";

/// Takes the chain's head before anything else in `tx`. The submission writer locks the head
/// first and then, through the sends' foreign key, the audience rows it refers to; a
/// transaction that locks an audience row and appends to the chain afterwards must take the
/// two in the same order, or the two deadlock on PostgreSQL (one of them is aborted: a 451
/// to a sender, or a failed admin action).
pub(crate) async fn lock_head_first(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<(), StoreError> {
    locked_head(tx).await.map(|_| ())
}

/// The chain's head (last sequence number and hash), locked for the rest of `tx`.
pub(crate) async fn locked_head(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<(i64, String), StoreError> {
    Ok(sqlx::query_as(LOCKED_HEAD_SQL).fetch_one(&mut **tx).await?)
}

/// The statements that append `events` after `head` (as read by [`locked_head`]) and move the
/// head: the entries' inserts, then the head's update.
pub(crate) fn append_statements(
    backend: Backend,
    head: (i64, String),
    events: &[AuditEvent],
    now: i64,
) -> Vec<Statement> {
    let (mut seq, mut prev) = head;
    if events.is_empty() {
        return Vec::new();
    }
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let details = event.details.to_string();
        let hash = entry_hash(
            &prev,
            now,
            event.action,
            event.actor_member_id,
            &event.actor,
            event.submission_id,
            event.send_id,
            &details,
        );
        entries.push(AuditEntry {
            seq,
            at: now,
            action: event.action.to_string(),
            actor_member_id: event.actor_member_id,
            actor: event.actor.clone(),
            submission_id: event.submission_id,
            send_id: event.send_id,
            details,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    let mut statements = Vec::new();
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let mut statement = Statement::new(format!(
            "INSERT INTO audit_log (seq, at, action, actor_member_id, actor, submission_id, send_id, \
             details, prev_hash, hash) VALUES {}",
            Placeholders::new(backend).values(chunk.len(), 10)
        ));
        for e in chunk {
            statement.push(e.seq);
            statement.push(e.at);
            statement.push(e.action.as_str());
            statement.push(e.actor_member_id);
            statement.push(&e.actor);
            statement.push(e.submission_id);
            statement.push(e.send_id);
            statement.push(&e.details);
            statement.push(&e.prev_hash);
            statement.push(&e.hash);
        }
        statements.push(statement);
    }
    statements.push(
        Statement::new("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(prev),
    );
    statements
}

/// How the chain is broken at the first entry where it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditBreak {
    /// The entry's content no longer matches its hash: a field was changed.
    Edited { seq: i64 },
    /// Entries are missing: numbers `from..=to` are gone (from the middle or the end).
    Removed { from: i64, to: i64 },
    /// The entry is linked to another entry than the one before it: entries were moved.
    Reordered { seq: i64, follows: i64 },
    /// The entry's link matches no entry at all: the entry before it was rewritten with a new
    /// hash, or entries between them were removed and the rest renumbered.
    Unlinked { seq: i64 },
}

impl std::fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditBreak::Edited { seq } => write!(
                f,
                "entry {seq} was edited: its content does not match its hash"
            ),
            AuditBreak::Removed { from, to } if from == to => {
                write!(f, "entry {from} was removed")
            }
            AuditBreak::Removed { from, to } => write!(f, "entries {from} to {to} were removed"),
            AuditBreak::Reordered { seq, follows } => write!(
                f,
                "entries were reordered: entry {seq} belongs after entry {follows}, not after entry {}",
                seq - 1
            ),
            AuditBreak::Unlinked { seq } => write!(
                f,
                "entry {seq} does not follow entry {}: that entry was rewritten, or entries between them were removed",
                seq - 1
            ),
        }
    }
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Entries read.
    pub entries: u64,
    /// The newest entry's hash: write it down elsewhere to anchor the chain.
    pub head_hash: String,
    pub broken: Option<AuditBreak>,
}

/// The entry columns as a literal, so `concat!` can build `'static` statements (a stream of
/// rows borrows its statement text).
macro_rules! select_entries {
    ($tail:literal) => {
        concat!(
            "SELECT seq, at, action, actor_member_id, actor, submission_id, send_id, details, \
             prev_hash, hash FROM audit_log",
            $tail
        )
    };
}

pub(crate) fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        action: r.try_get("action")?,
        actor_member_id: r.try_get("actor_member_id")?,
        actor: r.try_get("actor")?,
        submission_id: r.try_get("submission_id")?,
        send_id: r.try_get("send_id")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Store {
    /// Appends events in a transaction of their own: for facts that change nothing else
    /// (a refused approval attempt, a changed configuration).
    pub async fn audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        append(&mut tx, self.backend, events, crate::now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries from `since` (ms since the epoch) on, oldest first, streamed.
    pub fn audit_entries_since(&self, since: i64) -> BoxStream<'_, Result<AuditEntry, StoreError>> {
        sqlx::query(select_entries!(" WHERE at >= $1 ORDER BY seq"))
            .bind(since)
            .fetch(&self.pool)
            .map(|row| Ok(entry_from_row(&row?)?))
            .boxed()
    }

    /// Every entry about one submission, oldest first.
    pub async fn audit_of_submission(
        &self,
        submission_id: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(select_entries!(" WHERE submission_id = $1 ORDER BY seq"))
            .bind(submission_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The details of the newest entry with this action.
    pub async fn last_audit_details(
        &self,
        action: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let details: Option<String> = sqlx::query_scalar(
            "SELECT details FROM audit_log WHERE action = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(action)
        .fetch_optional(&self.pool)
        .await?;
        Ok(details.and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// Walks the whole chain and reports the first place where it breaks.
    pub async fn audit_verify(&self) -> Result<AuditVerification, StoreError> {
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        let mut rows = sqlx::query(select_entries!(" ORDER BY seq")).fetch(&self.pool);
        let mut entries = 0u64;
        let mut expected_seq = 1i64;
        let mut expected_prev = GENESIS_HASH.to_string();
        let mut broken = None;
        while let Some(row) = rows.try_next().await? {
            let entry = entry_from_row(&row)?;
            entries += 1;
            if entry.seq != expected_seq {
                broken = Some(AuditBreak::Removed {
                    from: expected_seq,
                    to: entry.seq - 1,
                });
                break;
            }
            if entry.prev_hash != expected_prev {
                broken = Some(match self.audit_seq_with_hash(&entry.prev_hash).await? {
                    Some(follows) => AuditBreak::Reordered {
                        seq: entry.seq,
                        follows,
                    },
                    None => AuditBreak::Unlinked { seq: entry.seq },
                });
                break;
            }
            if entry.computed_hash() != entry.hash {
                broken = Some(AuditBreak::Edited { seq: entry.seq });
                break;
            }
            expected_prev = entry.hash;
            expected_seq += 1;
        }
        drop(rows);
        // Entries cut off the end leave a chain that verifies on its own; the head remembers
        // how long it was.
        if broken.is_none() && head_seq >= expected_seq {
            broken = Some(AuditBreak::Removed {
                from: expected_seq,
                to: head_seq,
            });
        } else if broken.is_none() && head_hash != expected_prev {
            broken = Some(AuditBreak::Edited { seq: head_seq });
        }
        Ok(AuditVerification {
            entries,
            head_hash,
            broken,
        })
    }

    async fn audit_seq_with_hash(&self, hash: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM audit_log WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(prev: &str, details: &str) -> AuditEntry {
        let mut e = AuditEntry {
            seq: 1,
            at: 1_700_000_000_000,
            action: "submission.decided".into(),
            actor_member_id: Some(7),
            actor: "renee.hoffmann@example.org".into(),
            submission_id: Some(3),
            send_id: None,
            details: details.into(),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        e.hash = e.computed_hash();
        e
    }

    #[test]
    fn the_hash_covers_every_field_and_the_link() {
        let base = entry(GENESIS_HASH, r#"{"recipients":212}"#);
        assert_eq!(base.hash.len(), 64);
        let mut variants = Vec::new();
        let mut e = base.clone();
        e.at += 1;
        variants.push(e);
        let mut e = base.clone();
        e.action = "approval.given".into();
        variants.push(e);
        let mut e = base.clone();
        e.actor_member_id = Some(8);
        variants.push(e);
        let mut e = base.clone();
        e.actor = "jonas.petersen@example.org".into();
        variants.push(e);
        let mut e = base.clone();
        e.submission_id = None;
        variants.push(e);
        let mut e = base.clone();
        e.send_id = Some(3);
        variants.push(e);
        let mut e = base.clone();
        e.details = r#"{"recipients":213}"#.into();
        variants.push(e);
        variants.push(entry(&base.hash, &base.details));
        for v in variants {
            assert_ne!(v.computed_hash(), base.hash, "{v:?}");
        }
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        // With plain concatenation "ab" + "c" and "a" + "bc" would hash alike.
        let mut a = entry(GENESIS_HASH, "{}");
        a.actor = "a@example.org".into();
        a.action = "x.y".into();
        let mut b = a.clone();
        b.actor = "y@example.org".into();
        b.action = "x.".into();
        assert_ne!(a.computed_hash(), b.computed_hash());
    }

    #[test]
    fn breaks_read_as_sentences() {
        assert_eq!(
            AuditBreak::Removed { from: 4, to: 4 }.to_string(),
            "entry 4 was removed"
        );
        assert!(AuditBreak::Reordered { seq: 5, follows: 7 }
            .to_string()
            .contains("entry 5 belongs after entry 7, not after entry 4"));
    }
}
