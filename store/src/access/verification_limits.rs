//! How many verification texts and mails the portal sends for members' own contact data (a code
//! by SMS for a new number, a link by mail for a new address): each costs the organisation and
//! goes to whatever number or address was typed in, so they are limited per member and per
//! destination per hour and per day, and the texts per month by the portal's own SMS budget.
//!
//! Every send is recorded in `verification_sends` in the transaction that queues it, so the
//! counts survive a restart; the destination is stored only as a SHA-256 of its normalised form,
//! and rows are deleted two days after they were written. A refused send leaves nothing behind:
//! its transaction is dropped, with the contact point it would have verified.
//!
//! The portal's texts count against a budget of their own (`sms.portal_monthly_budget_cents`,
//! spending in `portal_sms_monthly`) rather than a unit's: a member may belong to several units,
//! and a code is nobody's send, so charging one unit's budget would be arbitrary and would let
//! members' codes hold their branch's sends.

use crate::access::sessions::digest;
use crate::clock::{month_of, HOUR_MS};
use crate::members::{phone_code_hash, PortalMail, PHONE_CODE_TTL_MS};
use crate::{Backend, Store, StoreError};
use rand::Rng;
use verteiler_policies::SmsText;

const DAY_MS: i64 = 24 * HOUR_MS;
/// Sends are counted over a day at most; older rows go when new ones are written.
pub const VERIFICATION_SENDS_KEPT_MS: i64 = 2 * DAY_MS;

/// The limits (`limits.verification_*`, `sms.cost_per_segment_cents`,
/// `sms.portal_monthly_budget_cents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationLimits {
    pub per_member_per_hour: u32,
    pub per_member_per_day: u32,
    pub per_destination_per_hour: u32,
    pub per_destination_per_day: u32,
    /// What one SMS part costs, in euro cents (0: costs are not counted).
    pub sms_cost_per_segment_cents: u64,
    /// What the portal's texts may cost per calendar month (UTC), in euro cents (0: no budget).
    pub sms_monthly_budget_cents: u64,
}

impl Default for VerificationLimits {
    fn default() -> Self {
        VerificationLimits {
            per_member_per_hour: 5,
            per_member_per_day: 10,
            per_destination_per_hour: 3,
            per_destination_per_day: 5,
            sms_cost_per_segment_cents: 0,
            sms_monthly_budget_cents: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationChannel {
    Email,
    Sms,
}

impl VerificationChannel {
    fn as_str(self) -> &'static str {
        match self {
            VerificationChannel::Email => "email",
            VerificationChannel::Sms => "sms",
        }
    }
}

/// Which limit refused a verification, with its figure (the portal says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationRefusal {
    MemberPerHour {
        limit: u32,
    },
    MemberPerDay {
        limit: u32,
    },
    DestinationPerHour {
        limit: u32,
    },
    DestinationPerDay {
        limit: u32,
    },
    /// The portal's texts have spent this month's budget.
    SmsBudget {
        budget_cents: u64,
    },
}

/// One verification about to be sent.
pub(crate) struct VerificationSend<'a> {
    pub member_id: i64,
    pub channel: VerificationChannel,
    /// The normalised destination: E.164 number or the address's key.
    pub destination: &'a str,
    /// SMS parts of the text (0 for a mail).
    pub segments: u32,
}

impl VerificationSend<'_> {
    /// A link to `key`, an address's normalised form.
    pub(crate) fn email(member_id: i64, key: &str) -> VerificationSend<'_> {
        VerificationSend {
            member_id,
            channel: VerificationChannel::Email,
            destination: key,
            segments: 0,
        }
    }
}

/// The counts one send is judged by.
struct Counts {
    member_hour: i64,
    member_day: i64,
    destination_hour: i64,
    destination_day: i64,
}

const COUNTS: &str = "SELECT \
       (SELECT CAST(COUNT(*) AS BIGINT) FROM verification_sends \
        WHERE member_id = $1 AND sent_at > $3) AS member_hour, \
       (SELECT CAST(COUNT(*) AS BIGINT) FROM verification_sends \
        WHERE member_id = $1 AND sent_at > $4) AS member_day, \
       (SELECT CAST(COUNT(*) AS BIGINT) FROM verification_sends \
        WHERE destination_hash = $2 AND sent_at > $3) AS destination_hour, \
       (SELECT CAST(COUNT(*) AS BIGINT) FROM verification_sends \
        WHERE destination_hash = $2 AND sent_at > $4) AS destination_day";

impl Store {
    /// The same database, with these limits on verifications sent through this handle.
    pub fn with_verification_limits(self, limits: VerificationLimits) -> Store {
        Store {
            verification_limits: std::sync::Arc::new(limits),
            ..self
        }
    }

    pub fn verification_limits(&self) -> &VerificationLimits {
        &self.verification_limits
    }

    /// SMS parts the portal's own texts produced this calendar month (UTC).
    pub async fn portal_sms_segments_this_month(&self) -> Result<u64, StoreError> {
        let segments: Option<i64> =
            sqlx::query_scalar("SELECT segments FROM portal_sms_monthly WHERE month = $1")
                .bind(month_of(crate::now_ms()))
                .fetch_optional(&self.pool)
                .await?;
        Ok(segments.unwrap_or(0).max(0) as u64)
    }

    /// Sends a new code to one of the member's numbers (the old one stops working), unless a
    /// limit refuses it; then `tx` holds a half-done change and must be dropped.
    pub(crate) async fn send_phone_code(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        member_id: i64,
        contact_id: i64,
        number: &str,
        mail: &dyn PortalMail,
        now: i64,
    ) -> Result<Option<VerificationRefusal>, StoreError> {
        sqlx::query(
            "UPDATE verifications SET used_at = $1 WHERE contact_point_id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(contact_id)
        .execute(&mut **tx)
        .await?;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        // The code's hash is salted with the contact point so equal codes never collide.
        sqlx::query(
            "INSERT INTO verifications (purpose, member_id, contact_point_id, secret_hash, created_at, expires_at) \
             VALUES ('phone', $1, $2, $3, $4, $5)",
        )
        .bind(member_id)
        .bind(contact_id)
        .bind(phone_code_hash(contact_id, now, &code))
        .bind(now)
        .bind(now + PHONE_CODE_TTL_MS)
        .execute(&mut **tx)
        .await?;
        // Read in the transaction: a connection of its own from the pool could be the one that
        // never comes while other requests hold the rest waiting for this one's lock.
        let lang: Option<String> = sqlx::query_scalar("SELECT language FROM members WHERE id = $1")
            .bind(member_id)
            .fetch_optional(&mut **tx)
            .await?;
        let lang = lang.unwrap_or_else(|| "de".to_string());
        let body = mail.phone_code(&code, &lang);
        let send = VerificationSend {
            member_id,
            channel: VerificationChannel::Sms,
            destination: number,
            segments: SmsText::new(&body).segments(),
        };
        if let Some(refused) = self.admit_verification(tx, &send, now).await? {
            return Ok(Some(refused));
        }
        sqlx::query(
            "INSERT INTO sms_outbox (member_id, to_number, kind, body, created_at) \
             VALUES ($1, $2, 'portal.phone_code', $3, $4)",
        )
        .bind(member_id)
        .bind(number)
        .bind(body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(None)
    }

    /// Records `send` in `tx` if no limit refuses it; otherwise says which one does (and the
    /// caller drops `tx`). Checked day before hour and member before destination, so the page
    /// names the limit that takes longest to pass.
    pub(crate) async fn admit_verification(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        send: &VerificationSend<'_>,
        now: i64,
    ) -> Result<Option<VerificationRefusal>, StoreError> {
        let limits = &*self.verification_limits;
        let destination = digest(send.destination);
        lock(tx, self.backend, send.member_id, &destination).await?;
        let counts = counts(tx, send.member_id, &destination, now).await?;
        let over = |count: i64, limit: u32| count >= i64::from(limit);
        let refusal = if over(counts.member_day, limits.per_member_per_day) {
            Some(VerificationRefusal::MemberPerDay {
                limit: limits.per_member_per_day,
            })
        } else if over(counts.member_hour, limits.per_member_per_hour) {
            Some(VerificationRefusal::MemberPerHour {
                limit: limits.per_member_per_hour,
            })
        } else if over(counts.destination_day, limits.per_destination_per_day) {
            Some(VerificationRefusal::DestinationPerDay {
                limit: limits.per_destination_per_day,
            })
        } else if over(counts.destination_hour, limits.per_destination_per_hour) {
            Some(VerificationRefusal::DestinationPerHour {
                limit: limits.per_destination_per_hour,
            })
        } else {
            None
        };
        if refusal.is_some() {
            return Ok(refusal);
        }
        if send.segments > 0 && !self.within_sms_budget(tx, send.segments, now).await? {
            return Ok(Some(VerificationRefusal::SmsBudget {
                budget_cents: limits.sms_monthly_budget_cents,
            }));
        }
        record(tx, send, &destination, now).await?;
        Ok(None)
    }

    /// Whether `segments` more parts fit this month's portal budget; counts them if so.
    async fn within_sms_budget(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        segments: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let limits = &*self.verification_limits;
        let month = month_of(now);
        let spent: Option<i64> =
            sqlx::query_scalar("SELECT segments FROM portal_sms_monthly WHERE month = $1")
                .bind(month)
                .fetch_optional(&mut **tx)
                .await?;
        let price = limits.sms_cost_per_segment_cents;
        let budget = limits.sms_monthly_budget_cents;
        let spent = spent.unwrap_or(0).max(0) as u64;
        // As for the units: without a price or a budget, texts are counted but never refused.
        if price > 0
            && budget > 0
            && (spent.saturating_add(segments.into())).saturating_mul(price) > budget
        {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO portal_sms_monthly (month, segments, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (month) DO UPDATE \
             SET segments = portal_sms_monthly.segments + excluded.segments, \
                 updated_at = excluded.updated_at",
        )
        .bind(month)
        .bind(i64::from(segments))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }
}

/// PostgreSQL: one verification per member and per destination at a time, so two requests at
/// once cannot both pass a limit with one left (SQLite's write lock does this already). Always
/// the member's lock first, so two transactions never wait for each other in a circle.
async fn lock(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    member_id: i64,
    destination_hash: &str,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        for key in [
            lock_key(&format!("verification:member:{member_id}")),
            lock_key(&format!("verification:destination:{destination_hash}")),
        ] {
            sqlx::query("SELECT CAST(pg_advisory_xact_lock($1) AS TEXT)")
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// An advisory lock's number: the first 64 bits of a SHA-256 (a collision only makes two
/// unrelated requests wait for each other).
fn lock_key(name: &str) -> i64 {
    let hex = digest(name);
    u64::from_str_radix(&hex[..16], 16).map_or(0, |n| n as i64)
}

async fn counts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    destination_hash: &str,
    now: i64,
) -> Result<Counts, StoreError> {
    let (member_hour, member_day, destination_hour, destination_day) = sqlx::query_as(COUNTS)
        .bind(member_id)
        .bind(destination_hash)
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Counts {
        member_hour,
        member_day,
        destination_hour,
        destination_day,
    })
}

async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    send: &VerificationSend<'_>,
    destination_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM verification_sends WHERE sent_at < $1")
        .bind(now - VERIFICATION_SENDS_KEPT_MS)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO verification_sends (member_id, destination_hash, channel, sent_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(send.member_id)
    .bind(destination_hash)
    .bind(send.channel.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
