//! Expansion: a released send, once its undo window has passed, turned batch by batch into one
//! copy per recipient address, one text per number and a count of those reached by post or
//! not at all. Every batch is one transaction after the audience was checked again
//! ([`crate::queue::expansion_guard`]), and resumes after the cursor of the last, so a crash neither
//! loses nor repeats a copy.

use crate::audiences::resolve::Recipient;
use crate::audiences::sendable::Reach;
use crate::db::sql::Placeholders;
use crate::queue::expansion_guard::{ExpansionSettings, Scheduled};
use crate::{now_ms, Audience, DeliveryState, Store, StoreError};
use rand::RngCore;
use sqlx::Row;
use verteiler_policies::{Category, Reason, SMS_RENDERING_SEGMENTS};

/// What one expansion step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// More recipients follow; call again.
    Progress { queued: u64 },
    /// The last batch: the send is now `sending`.
    Done { queued: u64 },
    /// The audience grew beyond what was decided; the send is held for approval with these
    /// reasons.
    Held(Vec<Reason>),
    /// The audience is gone, deactivated or redefined since the submission, or reaches nobody
    /// any more: the send is refused with these reasons and its sender told.
    Refused(Vec<Reason>),
    /// The send is no longer scheduled (cancelled, held or already expanded meanwhile).
    NotScheduled,
}

/// One batch of recipients sorted by how each is reached.
#[derive(Debug, Default)]
struct Batch {
    /// (member, address) of each email copy.
    copies: Vec<(Option<i64>, String)>,
    /// (member, number, whether the member is reached by email as well) of each text.
    texts: Vec<(Option<i64>, String, bool)>,
    /// Members reached neither by email nor by SMS: on the postal list, or not at all.
    not_reached: i64,
    /// Of those, the members on the postal list.
    by_post: i64,
    /// (member, position in the audience) of each member on the postal list: the list is
    /// these, recorded with the batch, never the audience resolved again later.
    posted: Vec<(i64, i64)>,
}

impl Batch {
    /// Sorts recipients of `audience` by the channel that reaches each.
    fn sort(audience: &Audience, recipients: &[Recipient]) -> Batch {
        let mut batch = Batch::default();
        for r in recipients {
            let reached = crate::audiences::sendable::reach(r, audience.category);
            // The policy says "email and SMS": a second channel where the member has one.
            let second = audience
                .email_and_sms
                .then(|| crate::audiences::sendable::also(r, reached))
                .flatten();
            let emailed_too = matches!(second, Some(Reach::Email(_)));
            match reached {
                Reach::Email(email) => batch.copies.push((r.member_id, email.to_lowercase())),
                Reach::Sms(phone) => {
                    batch
                        .texts
                        .push((r.member_id, phone.to_string(), emailed_too))
                }
                // Post comes with its own list; those who chose no channel and those without
                // any address are counted as not reached, never dropped unseen.
                Reach::Post => {
                    batch.not_reached += 1;
                    batch.by_post += 1;
                    if let Some(member_id) = r.member_id {
                        batch.posted.push((member_id, r.cursor));
                    }
                }
                Reach::Declined | Reach::NoAddress => batch.not_reached += 1,
            }
            match second {
                Some(Reach::Sms(phone)) => batch.texts.push((r.member_id, phone.to_string(), true)),
                Some(Reach::Email(email)) => batch.copies.push((r.member_id, email.to_lowercase())),
                _ => {}
            }
        }
        batch
    }
}

/// The cursor of a send none of whose batches is queued yet; audience positions are never
/// negative.
const NO_CURSOR: i64 = -1;

fn token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Store {
    /// Expands the next batch of a scheduled send into deliveries. The audience is checked
    /// first ([`ExpansionSettings`]): one gone, deactivated or redefined since the submission,
    /// or (before the first batch) reaching nobody any more, refuses the send; one grown well
    /// beyond the decided count (before the first batch) holds it for approval — never a wider
    /// send than the one decided on, never a send to nobody in silence.
    pub async fn expand_send(
        &self,
        send_id: i64,
        batch_size: usize,
        settings: &ExpansionSettings,
    ) -> Result<Expansion, StoreError> {
        let row = sqlx::query(
            "SELECT submission_id, address, audience_id, recipients, expansion_cursor, \
             created_at FROM sends WHERE id = $1 AND state = 'scheduled'",
        )
        .bind(send_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Expansion::NotScheduled);
        };
        let submission_id: i64 = row.try_get("submission_id")?;
        let cursor: Option<i64> = row.try_get("expansion_cursor")?;
        let scheduled = Scheduled {
            send_id,
            address: row.try_get("address")?,
            audience_id: row.try_get("audience_id")?,
            decided: row.try_get::<i64, _>("recipients")?.max(0) as u64,
            submitted_at: row.try_get("created_at")?,
            first_batch: cursor.is_none(),
        };
        let audience = match self.audience_to_expand(&scheduled, settings).await? {
            Ok(audience) => audience,
            Err(stopped) => return Ok(stopped),
        };
        let recipients = self
            .resolve_batch(&audience, cursor.unwrap_or(0), batch_size)
            .await?;
        let last = recipients.len() < batch_size;
        let mut batch = Batch::sort(&audience, &recipients);
        // A number that answered STOP gets statutory notice only; a member it was the only
        // channel of is then not reached.
        if !batch.texts.is_empty() && audience.category != Category::Statutory {
            let numbers: Vec<String> = batch.texts.iter().map(|t| t.1.clone()).collect();
            let stopped = self.opted_out(&numbers).await?;
            let mut dropped = 0;
            batch.texts.retain(|(_, phone, emailed_too)| {
                let keep = !stopped.contains(phone);
                if !keep && !emailed_too {
                    dropped += 1;
                }
                keep
            });
            batch.not_reached += dropped;
        }
        let next_cursor = recipients.last().map_or(cursor.unwrap_or(0), |r| r.cursor);
        let cursors = (cursor.unwrap_or(NO_CURSOR), next_cursor);
        let written = self
            .write_batch(submission_id, send_id, &audience, &batch, cursors, last)
            .await?;
        if !written {
            return Ok(Expansion::NotScheduled);
        }
        let queued = batch.copies.len() as u64;
        Ok(if last {
            Expansion::Done { queued }
        } else {
            Expansion::Progress { queued }
        })
    }

    /// Queues one sorted batch and moves the send's cursor from where this batch read it
    /// past it, in one transaction with its audit entry. `false`: the send stopped being
    /// scheduled meanwhile, or another instance queued this batch first; nothing written.
    async fn write_batch(
        &self,
        submission_id: i64,
        send_id: i64,
        audience: &Audience,
        batch: &Batch,
        (read_cursor, next_cursor): (i64, i64),
        last: bool,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let sms_body = if batch.texts.is_empty() {
            String::new()
        } else {
            self.sms_body(submission_id, &audience.name).await?
        };
        let _turn = self.queue_write_turn().await;
        let mut tx = self.pool.begin().await?;
        self.queue_texts(&mut tx, send_id, audience, &batch.texts, &sms_body, now)
            .await?;
        self.queue_copies(&mut tx, send_id, &batch.copies, now)
            .await?;
        self.record_posted(&mut tx, send_id, &batch.posted, now)
            .await?;
        let moved = sqlx::query(
            "UPDATE sends SET expansion_cursor = $1, unreachable = unreachable + $2, \
             by_post = by_post + $6, postal_recorded = TRUE, \
             state = CASE WHEN $3 THEN 'sending' ELSE state END, \
             updated_at = $4 WHERE id = $5 AND state = 'scheduled' \
             AND COALESCE(expansion_cursor, $7) = $7",
        )
        .bind(next_cursor)
        .bind(batch.not_reached)
        .bind(last)
        .bind(now)
        .bind(send_id)
        .bind(batch.by_post)
        .bind(read_cursor)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            // Cancelled while we read, or queued by another instance (its counts and texts
            // are in already): nothing of this batch may be written twice.
            tx.rollback().await?;
            return Ok(false);
        }
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[crate::AuditEvent::new("send.expanded", "system")
                .submission(submission_id)
                .send(send_id)
                .details(serde_json::json!({
                    "copies_queued": batch.copies.len(),
                    "texts_queued": batch.texts.len(),
                    "not_reached": batch.not_reached,
                    "by_post": batch.by_post,
                    "cursor": next_cursor,
                    "last_batch": last,
                }))],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Queues the texts of a batch in `tx`, and adds what they cost to the unit's month.
    async fn queue_texts(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        send_id: i64,
        audience: &Audience,
        texts: &[(Option<i64>, String, bool)],
        sms_body: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut texts_written = 0u64;
        for rows in texts.chunks(1_000) {
            let sql = format!(
                "INSERT INTO sms_outbox (member_id, to_number, kind, body, created_at, send_id) \
                 VALUES {} ON CONFLICT DO NOTHING",
                Placeholders::new(self.backend).values(rows.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for (member_id, phone, _) in rows {
                q = q
                    .bind(*member_id)
                    .bind(phone.clone())
                    .bind("list")
                    .bind(sms_body.to_string())
                    .bind(now)
                    .bind(send_id);
            }
            texts_written += q.execute(&mut **tx).await?.rows_affected();
        }
        if texts_written > 0 {
            // What this batch costs the unit this month, for its SMS budget.
            let segments =
                texts_written * u64::from(verteiler_policies::SmsText::new(sms_body).segments());
            sqlx::query(
                "INSERT INTO unit_sms_monthly (unit_id, month, segments) VALUES ($1, $2, $3) \
                 ON CONFLICT (unit_id, month) DO UPDATE \
                 SET segments = unit_sms_monthly.segments + excluded.segments",
            )
            .bind(audience.scope_unit_id)
            .bind(crate::clock::month_of(now))
            .bind(segments as i64)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Queues the email copies of a batch in `tx`; an address already queued is skipped.
    async fn queue_copies(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        send_id: i64,
        copies: &[(Option<i64>, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        for rows in copies.chunks(1_000) {
            let sql = format!(
                "INSERT INTO deliveries (send_id, member_id, address, token, state, next_attempt_at, \
                 created_at, updated_at) VALUES {} ON CONFLICT (send_id, address) DO NOTHING",
                Placeholders::new(self.backend).values(rows.len(), 8)
            );
            let mut q = sqlx::query(&sql);
            for (member_id, address) in rows {
                q = q
                    .bind(send_id)
                    .bind(*member_id)
                    .bind(address.clone())
                    .bind(token())
                    .bind(DeliveryState::Queued.as_str())
                    .bind(now)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Records the members of a batch on the send's postal list in `tx` (ids only: names and
    /// addresses are read when the list is downloaded).
    async fn record_posted(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        send_id: i64,
        posted: &[(i64, i64)],
        now: i64,
    ) -> Result<(), StoreError> {
        for rows in posted.chunks(1_000) {
            let sql = format!(
                "INSERT INTO postal_recipients (send_id, member_id, position, created_at) \
                 VALUES {} ON CONFLICT (send_id, member_id) DO NOTHING",
                Placeholders::new(self.backend).values(rows.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for (member_id, position) in rows {
                q = q.bind(send_id).bind(*member_id).bind(*position).bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The text SMS recipients of a submission get: the sender's own SMS text, else a
    /// rendering of the email of at most [`SMS_RENDERING_SEGMENTS`] parts.
    async fn sms_body(&self, submission_id: i64, list: &str) -> Result<String, StoreError> {
        let row = sqlx::query(
            "SELECT sub.sms_text, sub.subject, sub.preview, m.first_name, m.last_name \
             FROM submissions sub JOIN members m ON m.id = sub.sender_member_id WHERE sub.id = $1",
        )
        .bind(submission_id)
        .fetch_one(&self.pool)
        .await?;
        if let Some(text) = row.try_get::<Option<String>, _>("sms_text")? {
            return Ok(text);
        }
        let subject: String = row.try_get("subject")?;
        let preview: Option<String> = row.try_get("preview")?;
        let first: String = row.try_get("first_name")?;
        let last: String = row.try_get("last_name")?;
        let rendering = verteiler_policies::sms_rendering(
            list,
            &subject,
            preview.as_deref().unwrap_or(""),
            &format!("{first} {last}"),
            SMS_RENDERING_SEGMENTS,
        );
        Ok(rendering.text().to_string())
    }
}
