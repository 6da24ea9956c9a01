//! Submissions and their sends: written in one transaction before the gateway answers 250, so
//! a crash after the reply loses nothing and a crash before it leaves nothing half-stored.

use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use verteiler_policies::{Decision, VolumeFacts};

/// Where a submission entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ingress {
    Smtp,
    Portal,
    Api,
    Cli,
}

impl Ingress {
    fn as_str(self) -> &'static str {
        match self {
            Ingress::Smtp => "smtp",
            Ingress::Portal => "portal",
            Ingress::Api => "api",
            Ingress::Cli => "cli",
        }
    }
}

/// One message as handed to the gateway, with who handed it in and how.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub message_id: Option<String>,
    pub sender_member_id: i64,
    pub credential_id: Option<i64>,
    pub ingress: Ingress,
    pub client_ip: Option<String>,
    pub client_name: Option<String>,
    pub tls: bool,
    pub envelope_from: String,
    pub header_from: String,
    pub subject: String,
    pub content_hash: String,
    pub raw: &'a [u8],
}

/// The engine's decision for one addressed audience of a submission.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub address: String,
    pub audience_id: Option<i64>,
    pub decision: &'a Decision,
    pub recipients: u64,
    /// Released sends wait for the undo window: delivery may start at this time.
    pub release_at: Option<i64>,
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

/// What was stored: the submission's id and each send's id, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubmission {
    pub id: i64,
    pub send_ids: Vec<i64>,
}

/// A send as stored, for look-ups and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendRecord {
    pub id: i64,
    pub submission_id: i64,
    pub address: String,
    pub state: String,
    pub decision: String,
    pub reasons: String,
    pub recipients: u64,
    pub release_at: Option<i64>,
}

const HOUR_MS: i64 = 3_600_000;

/// Adds released recipients to the organisation's hourly volume (the circuit breaker's input).
async fn add_org_volume(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: i64,
    recipients: u64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO org_volume_hourly (hour, recipients, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (hour) DO UPDATE SET recipients = org_volume_hourly.recipients + excluded.recipients, \
         updated_at = excluded.updated_at",
    )
    .bind(now / HOUR_MS)
    .bind(recipients as i64)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
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

impl Store {
    /// Stores a submission, one send per addressed audience and the notifications about them,
    /// all in one transaction. Only after this returns may the gateway answer 250.
    pub async fn record_submission(
        &self,
        submission: &NewSubmission<'_>,
        sends: &[NewSend<'_>],
        notifications: &[NewNotification],
    ) -> Result<StoredSubmission, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO submissions (message_id, sender_member_id, credential_id, ingress, client_ip, \
             client_name, tls, envelope_from, header_from, subject, size_bytes, content_hash, raw, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id",
        )
        .bind(&submission.message_id)
        .bind(submission.sender_member_id)
        .bind(submission.credential_id)
        .bind(submission.ingress.as_str())
        .bind(&submission.client_ip)
        .bind(&submission.client_name)
        .bind(submission.tls)
        .bind(&submission.envelope_from)
        .bind(&submission.header_from)
        .bind(&submission.subject)
        .bind(submission.raw.len() as i64)
        .bind(&submission.content_hash)
        .bind(submission.raw.to_vec())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut send_ids = Vec::with_capacity(sends.len());
        for send in sends {
            let (decision, state, approvals) = verdict(send.decision);
            let reasons =
                serde_json::to_string(send.decision.reasons()).unwrap_or_else(|_| "[]".into());
            let rewrite = matches!(
                send.decision,
                Decision::Release {
                    headers: verteiler_policies::HeaderTreatment::RewriteToRecipient
                }
            );
            let send_id: i64 = sqlx::query_scalar(
                "INSERT INTO sends (submission_id, audience_id, address, state, decision, reasons, recipients, \
                 approvals_needed, rewrite_to, release_at, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11) RETURNING id",
            )
            .bind(id)
            .bind(send.audience_id)
            .bind(&send.address)
            .bind(state)
            .bind(decision)
            .bind(reasons)
            .bind(send.recipients as i64)
            .bind(approvals as i64)
            .bind(rewrite)
            .bind(send.release_at)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            send_ids.push(send_id);
            if send.decision.is_release() {
                add_org_volume(&mut tx, now, send.recipients).await?;
            }
        }
        for n in notifications {
            sqlx::query(
                "INSERT INTO notifications (member_id, to_address, kind, subject, body, submission_id, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7)",
            )
            .bind(n.member_id)
            .bind(&n.to_address)
            .bind(n.kind)
            .bind(&n.subject)
            .bind(&n.body)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(StoredSubmission { id, send_ids })
    }

    /// Recent volume for the policy engine, counted over sends that were not refused. Each
    /// figure comes from an index: this runs for every submission.
    pub async fn volume_facts(
        &self,
        sender_member_id: i64,
        audience_id: Option<i64>,
        now: i64,
    ) -> Result<VolumeFacts, StoreError> {
        let (hour_ago, day_ago) = (now - HOUR_MS, now - 24 * HOUR_MS);
        let sender = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS day, \
               CAST(COALESCE(SUM(CASE WHEN sub.created_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS hour, \
               CAST(COALESCE(SUM(s.recipients), 0) AS BIGINT) AS recipients \
             FROM submissions sub JOIN sends s ON s.submission_id = sub.id \
             WHERE sub.sender_member_id = $1 AND sub.created_at > $3 AND s.state <> 'rejected'",
        )
        .bind(sender_member_id)
        .bind(hour_ago)
        .bind(day_ago)
        .fetch_one(&self.pool)
        .await?;
        let audience_day: i64 = match audience_id {
            Some(id) => {
                sqlx::query_scalar(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM sends \
                     WHERE audience_id = $1 AND created_at > $2 AND state <> 'rejected'",
                )
                .bind(id)
                .bind(day_ago)
                .fetch_one(&self.pool)
                .await?
            }
            None => 0,
        };
        // The current and the previous hour: up to two hours counted, never less than one,
        // so the breaker may trip early but never late.
        let org_hour: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) FROM org_volume_hourly WHERE hour >= $1",
        )
        .bind(now / HOUR_MS - 1)
        .fetch_one(&self.pool)
        .await?;
        let get = |c: &str| sender.try_get::<i64, _>(c).map(|v| v.max(0) as u64);
        Ok(VolumeFacts {
            sender_sends_last_hour: get("hour")?,
            sender_sends_today: get("day")?,
            sender_recipients_today: get("recipients")?,
            audience_sends_today: audience_day.max(0) as u64,
            org_recipients_last_hour: org_hour.max(0) as u64,
        })
    }

    /// The sends of one submission, in the order they were addressed.
    pub async fn sends_of(&self, submission_id: i64) -> Result<Vec<SendRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, submission_id, address, state, decision, reasons, recipients, release_at \
             FROM sends WHERE submission_id = $1 ORDER BY id",
        )
        .bind(submission_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SendRecord {
                    id: r.try_get("id")?,
                    submission_id: r.try_get("submission_id")?,
                    address: r.try_get("address")?,
                    state: r.try_get("state")?,
                    decision: r.try_get("decision")?,
                    reasons: r.try_get("reasons")?,
                    recipients: r.try_get::<i64, _>("recipients")?.max(0) as u64,
                    release_at: r.try_get("release_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
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
