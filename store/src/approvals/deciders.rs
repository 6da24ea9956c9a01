//! Who may decide on a held send at all, asked before anything about the send is told.
//!
//! `approve+N`, `reject+N`, `/held/N` and the CLI take any number: without this gate a member
//! trying numbers would learn which sends exist and in which state, and every try would append
//! an audit entry. Somebody who is neither asked nor the sender gets the answer for a send that
//! does not exist, and only a log line records the try.

use crate::approvals::{about, Actor, Pending};
use crate::{Store, StoreError};
use verteiler_policies::{effective_limits, Approval, ApprovalRefusal, OrgLimits};

impl Store {
    /// Whether `actor` is one of the people a held send concerns: its sender (who knows it,
    /// and is told why they cannot approve it), a holder of an approver function that covers
    /// its list, or an organisation admin when the circuit breaker holds it. Anybody else is
    /// only logged.
    pub(crate) async fn may_decide(
        &self,
        pending: &Pending,
        actor: &Actor,
        limits: &OrgLimits,
    ) -> Result<bool, StoreError> {
        let concerned = self.concerns(pending, actor.member_id, limits).await?;
        if !concerned {
            tracing::info!(
                event = "approval.not_asked",
                send = pending.send_id,
                member = actor.member_id
            );
        }
        Ok(concerned)
    }

    async fn concerns(
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

    /// Audits a refused approval, once per person and send: a refusal repeated is only logged,
    /// so trying again and again does not fill the audit log.
    pub(crate) async fn audit_refusal(
        &self,
        actor: &Actor,
        pending: &Pending,
        approval: &Approval,
        refusal: &ApprovalRefusal,
    ) -> Result<(), StoreError> {
        let recorded: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE submission_id = $1 \
             AND send_id = $2 AND actor_member_id = $3 AND action = 'approval.refused'",
        )
        .bind(pending.submission_id)
        .bind(pending.send_id)
        .bind(actor.member_id)
        .fetch_one(&self.pool)
        .await?;
        if recorded > 0 {
            tracing::info!(
                event = "approval.refused_again",
                send = pending.send_id,
                member = actor.member_id,
                refusal = refusal.code()
            );
            return Ok(());
        }
        self.audit(&[
            about("approval.refused", Some(actor), pending).details(self.with_token(
                actor,
                serde_json::json!({
                    "refusal": refusal,
                    "content_hash": approval.content_hash.to_string(),
                    "ingress": actor.ingress.as_str(),
                }),
            )),
        ])
        .await
    }
}
