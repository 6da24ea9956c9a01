//! Who may decide on a held send at all, asked before anything about the send is told.
//!
//! `approve+N`, `reject+N`, `/held/N` and the CLI take any number: without this gate a member
//! trying numbers would learn which sends exist and in which state, and every try would append
//! an audit entry. Somebody who is neither asked nor the sender gets the answer for a send that
//! does not exist, and only a log line records the try.

use crate::approvals::Pending;
use crate::{Store, StoreError};
use verteiler_policies::{effective_limits, OrgLimits};

impl Store {
    /// Whether `member_id` is one of the people a held send concerns: its sender (who knows
    /// it, and is told why they cannot approve it), an holder of an approver function that
    /// covers its list, or an organisation admin when the circuit breaker holds it.
    pub(crate) async fn may_decide(
        &self,
        pending: &Pending,
        member_id: i64,
        limits: &OrgLimits,
    ) -> Result<bool, StoreError> {
        if member_id == pending.sender_member_id
            || self.admin_stops_breaker_hold(member_id, pending).await?
        {
            return Ok(true);
        }
        let Some(audience_id) = pending.audience_id else {
            return Ok(false);
        };
        let Some(audience) = self.audience_by_id(audience_id).await? else {
            return Ok(false);
        };
        let facts = self.audience_facts(&audience).await?;
        let functions = effective_limits(Some(&facts), limits).approver_functions;
        Ok(self
            .role_grants(member_id)
            .await?
            .iter()
            .any(|grant| functions.contains(&grant.function) && grant.covers(&facts)))
    }

    /// Whether a refused approval of `send_id` by `member_id` is in the audit log already: a
    /// refusal is recorded once per person and send, not once per try.
    pub(crate) async fn refusal_audited(
        &self,
        submission_id: i64,
        send_id: i64,
        member_id: i64,
    ) -> Result<bool, StoreError> {
        let found: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE submission_id = $1 \
             AND send_id = $2 AND actor_member_id = $3 AND action = 'approval.refused'",
        )
        .bind(submission_id)
        .bind(send_id)
        .bind(member_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(found > 0)
    }
}
