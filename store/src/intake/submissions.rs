//! Submissions and their sends: written in one transaction before the gateway answers 250, so
//! a crash after the reply loses nothing and a crash before it leaves nothing half-stored.

use crate::audit::log::AuditEvent;
use crate::db::sql::Placeholders;
use crate::db::statement::Statement;
use crate::{now_ms, SendState, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;
use verteiler_policies::Decision;

/// What brought a submission in (the way it entered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    Smtp,
    Portal,
    Api,
    Cli,
}

impl Origin {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Origin::Smtp => "smtp",
            Origin::Portal => "portal",
            Origin::Api => "api",
            Origin::Cli => "cli",
        }
    }

    /// How the audit log names a member acting through this way in (`smtp:member:12`): by
    /// their id, never by a name or an address, which an erasure could not take back.
    pub fn actor(self, member_id: i64) -> String {
        format!("{}:member:{member_id}", self.as_str())
    }
}

/// One message as handed to the gateway, with who handed it in and how.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub message_id: Option<String>,
    pub sender_member_id: i64,
    /// The login the person authenticated with: how the audit log names them.
    pub login: String,
    pub credential_id: Option<i64>,
    pub ingress: Origin,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    pub tls: bool,
    pub envelope_from: String,
    pub header_from: String,
    pub subject: String,
    pub content_hash: String,
    pub raw: Vec<u8>,
    /// The figures the engine decided on; a held send is decided again with them. `None`
    /// (a submission made outside the engine) can never be released by approvals.
    pub message_facts: Option<verteiler_policies::MessageFacts>,
    /// The beginning of the text body, shown to approvers.
    pub preview: Option<String>,
    /// The text for members reached by SMS, when the sender wrote one.
    pub sms_text: Option<String>,
}

/// The engine's decision for one addressed audience of a submission.
#[derive(Debug, Clone)]
pub struct NewSend {
    pub address: String,
    pub audience_id: Option<i64>,
    pub decision: Decision,
    pub recipients: u64,
    /// Released sends wait for the undo window: delivery may start at this time.
    pub release_at: Option<i64>,
    /// Held sends wait for approvals until this time, then expire.
    pub expires_at: Option<i64>,
}

/// A message to a person about their submission (held, rejected, released, …).
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub member_id: Option<i64>,
    pub to_address: String,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

/// A submission with everything decided about it: what one transaction stores.
#[derive(Debug, Clone)]
pub struct SubmissionRecord {
    pub submission: NewSubmission,
    pub sends: Vec<NewSend>,
    pub notifications: Vec<NewNotification>,
}

/// What was stored: the submission's id ([`Store::sends_of`] lists its sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubmission {
    pub id: i64,
}

/// A send as stored, for look-ups and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendRecord {
    pub id: i64,
    pub submission_id: i64,
    pub address: String,
    pub state: SendState,
    pub decision: String,
    pub reasons: String,
    pub recipients: u64,
    pub release_at: Option<i64>,
}

use crate::clock::HOUR_MS;

/// Adds released recipients to the organisation's hourly volume (the circuit breaker's input).
pub(crate) async fn add_org_volume(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: i64,
    recipients: u64,
) -> Result<(), StoreError> {
    org_volume_statement(now, recipients).execute(tx).await
}

fn org_volume_statement(now: i64, recipients: u64) -> Statement {
    Statement::new(
        "INSERT INTO org_volume_hourly (hour, recipients, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (hour) DO UPDATE SET recipients = org_volume_hourly.recipients + excluded.recipients, \
         updated_at = excluded.updated_at",
    )
    .bind(now / HOUR_MS)
    .bind(recipients as i64)
    .bind(now)
}

fn verdict(decision: &Decision) -> (&'static str, &'static str, u64) {
    match decision {
        Decision::Release { .. } => ("release", "scheduled", 0),
        Decision::Hold {
            approvals_needed, ..
        } => ("hold", "held", u64::from(*approvals_needed)),
        Decision::Reject { .. } => ("reject", "rejected", 0),
    }
}

/// What a group of submissions adds to the hourly volume counters, summed before writing so a
/// group makes one update per sender, audience and hour.
#[derive(Default)]
struct VolumeDelta {
    /// member → (sends, recipients) of sends not refused, and submissions every list refused
    senders: BTreeMap<i64, (i64, i64, i64)>,
    /// audience → sends not refused
    audiences: BTreeMap<i64, i64>,
    released_recipients: u64,
}

impl VolumeDelta {
    fn add(&mut self, record: &SubmissionRecord) {
        // Refused ones count too, on a rate of their own: a flood of refused mail is itself
        // throttled (`Store::refusals_throttled`), and does not use up the sender's sends.
        if crate::privacy::raw_kept::Kept::of(record) == crate::privacy::raw_kept::Kept::Headers {
            let sender = self
                .senders
                .entry(record.submission.sender_member_id)
                .or_default();
            sender.2 += 1;
        }
        for send in record.sends.iter().filter(|s| !s.decision.is_reject()) {
            let sender = self
                .senders
                .entry(record.submission.sender_member_id)
                .or_default();
            sender.0 += 1;
            sender.1 += send.recipients as i64;
            if let Some(audience) = send.audience_id {
                *self.audiences.entry(audience).or_default() += 1;
            }
            if send.decision.is_release() {
                self.released_recipients += send.recipients;
            }
        }
    }

    /// One multi-row upsert per counter table: keys are unique within each (map keys).
    fn statements(&self, backend: crate::Backend, now: i64) -> Vec<Statement> {
        let hour = now / HOUR_MS;
        let mut statements = Vec::new();
        if !self.senders.is_empty() {
            let mut statement = Statement::new(format!(
                "INSERT INTO sender_volume_hourly (member_id, hour, sends, recipients, refused) VALUES {} \
                 ON CONFLICT (member_id, hour) DO UPDATE SET sends = sender_volume_hourly.sends + excluded.sends, \
                 recipients = sender_volume_hourly.recipients + excluded.recipients, \
                 refused = sender_volume_hourly.refused + excluded.refused",
                Placeholders::new(backend).values(self.senders.len(), 5)
            ));
            for (member, (sends, recipients, refused)) in &self.senders {
                statement.push(*member);
                statement.push(hour);
                statement.push(*sends);
                statement.push(*recipients);
                statement.push(*refused);
            }
            statements.push(statement);
        }
        if !self.audiences.is_empty() {
            let mut statement = Statement::new(format!(
                "INSERT INTO audience_volume_hourly (audience_id, hour, sends) VALUES {} \
                 ON CONFLICT (audience_id, hour) DO UPDATE SET sends = audience_volume_hourly.sends + excluded.sends",
                Placeholders::new(backend).values(self.audiences.len(), 3)
            ));
            for (audience, sends) in &self.audiences {
                statement.push(*audience);
                statement.push(hour);
                statement.push(*sends);
            }
            statements.push(statement);
        }
        if self.released_recipients > 0 {
            statements.push(org_volume_statement(now, self.released_recipients));
        }
        statements
    }
}

/// Rows per multi-row insert: well below both databases' parameter limits (12 columns each).
const ROWS_PER_INSERT: usize = 1_000;

fn insert_submissions(
    backend: crate::Backend,
    rows: &[(i64, &SubmissionRecord)],
    now: i64,
) -> Statement {
    let mut statement = Statement::new(format!(
        "INSERT INTO submissions (id, message_id, sender_member_id, credential_id, ingress, client_ip, \
         client_name, tls, envelope_from, header_from, subject, size_bytes, content_hash, raw, created_at, \
         message_facts, preview, sms_text, raw_state) VALUES {}",
        Placeholders::new(backend).values(rows.len(), 19)
    ));
    for (id, record) in rows {
        let submission = &record.submission;
        let kept = crate::privacy::raw_kept::Kept::of(record);
        statement.push(*id);
        statement.push(&submission.message_id);
        statement.push(submission.sender_member_id);
        statement.push(submission.credential_id);
        statement.push(submission.ingress.as_str());
        statement.push(&submission.client_ip);
        statement.push(&submission.client_name);
        statement.push(submission.tls);
        statement.push(&submission.envelope_from);
        statement.push(&submission.header_from);
        statement.push(&submission.subject);
        statement.push(submission.raw.len() as i64);
        statement.push(&submission.content_hash);
        statement.push(kept.raw(&submission.raw));
        statement.push(now);
        statement.push(
            submission
                .message_facts
                .as_ref()
                .and_then(|m| serde_json::to_string(m).ok()),
        );
        statement.push(kept.text(&submission.preview));
        statement.push(kept.text(&submission.sms_text));
        statement.push(kept.state());
    }
    statement
}

/// The highest submission id so far, on SQLite (where new ids are its successors).
pub(crate) const SQLITE_LAST_SUBMISSION_ID: &str =
    "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM submissions";

/// Ids for `n` new submissions, taken inside the writing transaction: one statement instead of
/// one `INSERT … RETURNING id` per submission. On SQLite the caller holds the write lock
/// already, so the next ids are the maximum's successors; on PostgreSQL they come from the
/// identity sequence like any other insert's.
async fn allocate_submission_ids(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    Ok(match backend {
        crate::Backend::Sqlite => {
            let max: i64 = sqlx::query_scalar(SQLITE_LAST_SUBMISSION_ID)
                .fetch_one(&mut **tx)
                .await?;
            (1..=n as i64).map(|k| max + k).collect()
        }
        crate::Backend::Postgres => {
            sqlx::query_scalar(
                "SELECT nextval(pg_get_serial_sequence('submissions', 'id')) FROM generate_series(1, $1)",
            )
            .bind(n as i64)
            .fetch_all(&mut **tx)
            .await?
        }
    })
}

/// Rows per multi-row submissions insert (19 columns each).
const SUBMISSIONS_PER_INSERT: usize = 200;

/// Inserts sends as (submission id, send) rows.
fn insert_sends(backend: crate::Backend, rows: &[(i64, &NewSend)], now: i64) -> Statement {
    let mut statement = Statement::new(format!(
        "INSERT INTO sends (submission_id, audience_id, address, state, decision, reasons, recipients, \
         approvals_needed, rewrite_to, release_at, expires_at, created_at, updated_at) VALUES {}",
        Placeholders::new(backend).values(rows.len(), 13)
    ));
    for (submission_id, send) in rows {
        let (decision, state, approvals) = verdict(&send.decision);
        let reasons =
            serde_json::to_string(send.decision.reasons()).unwrap_or_else(|_| "[]".into());
        let rewrite = matches!(
            send.decision,
            Decision::Release {
                headers: verteiler_policies::HeaderTreatment::RewriteToRecipient
            }
        );
        statement.push(*submission_id);
        statement.push(send.audience_id);
        statement.push(&send.address);
        statement.push(state);
        statement.push(decision);
        statement.push(reasons);
        statement.push(send.recipients as i64);
        statement.push(approvals as i64);
        statement.push(rewrite);
        statement.push(send.release_at);
        statement.push(send.expires_at);
        statement.push(now);
        statement.push(now);
    }
    statement
}

/// Inserts notifications as (submission id, notification) rows.
fn insert_notifications(
    backend: crate::Backend,
    rows: &[(i64, &NewNotification)],
    now: i64,
) -> Statement {
    let mut statement = Statement::new(format!(
        "INSERT INTO notifications (member_id, to_address, kind, subject, body, submission_id, created_at) \
         VALUES {}",
        Placeholders::new(backend).values(rows.len(), 7)
    ));
    for (submission_id, n) in rows {
        statement.push(n.member_id);
        statement.push(n.to_address.as_str());
        statement.push(n.kind);
        statement.push(&n.subject);
        statement.push(&n.body);
        statement.push(*submission_id);
        statement.push(now);
    }
    statement
}

/// Everything a group of submissions writes, given their ids and the audit chain's head: the
/// one definition both the sqlx path and the direct SQLite writer run.
pub(crate) fn group_statements(
    backend: crate::Backend,
    records: &[&SubmissionRecord],
    ids: &[i64],
    audit_head: (i64, String),
    privacy: &crate::PrivacyKey,
    now: i64,
) -> Vec<Statement> {
    let mut statements = Vec::new();
    let rows: Vec<(i64, &SubmissionRecord)> =
        ids.iter().zip(records).map(|(id, r)| (*id, *r)).collect();
    for chunk in rows.chunks(SUBMISSIONS_PER_INSERT) {
        statements.push(insert_submissions(backend, chunk, now));
    }
    // Sends and notifications of the whole group go in as multi-row inserts: each statement
    // is a round trip to the database, and a group holds up to MAX_GROUP submissions.
    let sends: Vec<(i64, &NewSend)> = ids
        .iter()
        .zip(records)
        .flat_map(|(id, r)| r.sends.iter().map(move |send| (*id, send)))
        .collect();
    for chunk in sends.chunks(ROWS_PER_INSERT) {
        statements.push(insert_sends(backend, chunk, now));
    }
    let notifications: Vec<(i64, &NewNotification)> = ids
        .iter()
        .zip(records)
        .flat_map(|(id, r)| r.notifications.iter().map(move |n| (*id, n)))
        .collect();
    for chunk in notifications.chunks(ROWS_PER_INSERT) {
        statements.push(insert_notifications(backend, chunk, now));
    }
    let mut volume = VolumeDelta::default();
    for record in records {
        volume.add(record);
    }
    statements.extend(volume.statements(backend, now));
    let events: Vec<AuditEvent> = ids
        .iter()
        .zip(records)
        .map(|(id, r)| decided_event(*id, r, privacy))
        .collect();
    statements.extend(crate::audit::log::append_statements(
        backend, audit_head, &events, now,
    ));
    statements
}

/// The audit entry of a stored submission: who handed it in, how, and every decision. The
/// person is named by member id and their addresses only by keyed hash: the entry outlives
/// an erasure, the addresses must not.
fn decided_event(
    submission_id: i64,
    record: &SubmissionRecord,
    privacy: &crate::PrivacyKey,
) -> AuditEvent {
    let hash = |value: &str| privacy.contact_hash(value, crate::privacy::key::DEFAULT_REGION);
    let s = &record.submission;
    let sends: Vec<serde_json::Value> = record
        .sends
        .iter()
        .map(|send| {
            serde_json::json!({
                "address": send.address,
                "audience_id": send.audience_id,
                "decision": verdict(&send.decision).0,
                "reasons": send.decision.reasons(),
                "recipients": send.recipients,
                "approvals_needed": verdict(&send.decision).2,
            })
        })
        .collect();
    AuditEvent::new("submission.decided", s.ingress.actor(s.sender_member_id))
        .by_member(s.sender_member_id)
        .submission(submission_id)
        .details(serde_json::json!({
            "message_id": s.message_id,
            "credential_id": s.credential_id,
            "ingress": s.ingress.as_str(),
            "client_ip": s.client_ip,
            "client_name": s.client_name,
            "tls": s.tls,
            "login_hash": hash(&s.login),
            "envelope_from_hash": hash(&s.envelope_from),
            "header_from_hash": hash(&s.header_from),
            "subject": s.subject,
            "size_bytes": s.raw.len(),
            "content_hash": s.content_hash,
            "sends": sends,
        }))
}

const SEND_COLUMNS: &str =
    "SELECT id, submission_id, address, state, decision, reasons, recipients, \
     release_at FROM sends";

pub(crate) fn send_from_row(r: &sqlx::any::AnyRow) -> Result<SendRecord, sqlx::Error> {
    Ok(SendRecord {
        id: r.try_get("id")?,
        submission_id: r.try_get("submission_id")?,
        address: r.try_get("address")?,
        state: crate::states::parse(r, "state")?,
        decision: r.try_get("decision")?,
        reasons: r.try_get("reasons")?,
        recipients: r.try_get::<i64, _>("recipients")?.max(0) as u64,
        release_at: r.try_get("release_at")?,
    })
}

impl Store {
    /// Stores a submission, one send per addressed audience and the notifications about them,
    /// all in one transaction. Only after this returns may the gateway answer 250.
    pub async fn record_submission(
        &self,
        record: &SubmissionRecord,
    ) -> Result<StoredSubmission, StoreError> {
        let mut stored = self.record_submissions(&[record]).await?;
        Ok(stored.remove(0))
    }

    /// Stores several submissions in one transaction (group commit: one durable write for all
    /// messages waiting at that moment); all are stored or none.
    pub async fn record_submissions(
        &self,
        records: &[&SubmissionRecord],
    ) -> Result<Vec<StoredSubmission>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // The audit chain's head is locked first: it serialises writers, so on SQLite the ids
        // taken next cannot be taken by anybody else before this transaction commits.
        let head = crate::audit::log::locked_head(&mut tx).await?;
        let ids = allocate_submission_ids(&mut tx, self.backend, records.len()).await?;
        for statement in group_statements(self.backend, records, &ids, head, &self.privacy, now) {
            statement.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(ids.into_iter().map(|id| StoredSubmission { id }).collect())
    }

    /// The sends of one submission, in the order they were addressed.
    pub async fn sends_of(&self, submission_id: i64) -> Result<Vec<SendRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "{SEND_COLUMNS} WHERE submission_id = $1 ORDER BY id"
        ))
        .bind(submission_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(send_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// One send by its id.
    pub async fn send_record(&self, send_id: i64) -> Result<Option<SendRecord>, StoreError> {
        let row = sqlx::query(&format!("{SEND_COLUMNS} WHERE id = $1"))
            .bind(send_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(send_from_row).transpose()?)
    }

    /// Submission ids by Message-ID header (newest first): where "who sent this?" starts.
    pub async fn submissions_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM submissions WHERE message_id = $1 ORDER BY id DESC")
                .bind(message_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The raw bytes of a stored submission.
    pub async fn submission_raw(&self, submission_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT raw FROM submissions WHERE id = $1")
                .bind(submission_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The SMS text the sender wrote for a submission (`None`: none was written, or no such
    /// submission).
    pub async fn submission_sms_text(
        &self,
        submission_id: i64,
    ) -> Result<Option<String>, StoreError> {
        let text: Option<Option<String>> =
            sqlx::query_scalar("SELECT sms_text FROM submissions WHERE id = $1")
                .bind(submission_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(text.flatten())
    }

    pub async fn count_submissions(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM submissions")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Pending notifications to one address (oldest first), as (kind, subject, body).
    pub async fn notifications_to(
        &self,
        address: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, subject, body FROM notifications WHERE to_address = $1 ORDER BY id",
        )
        .bind(address)
        .fetch_all(&self.pool)
        .await?)
    }
}
