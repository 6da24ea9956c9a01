//! Organisation-wide caps, and the limits that apply to one submission once an audience's
//! policy has been folded in.
//!
//! An audience policy may tighten any cap but never loosen it: every effective limit is the
//! smaller of the policy's figure and the organisation's.

use super::facts::AudienceFacts;
use crate::domain::{RoleFunction, VisibleRecipientsMode};
use serde::{Deserialize, Serialize};

/// A volume limit in two steps: above `hold_above` a person has to look first, above
/// `reject_above` nobody may release it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCap {
    pub hold_above: u64,
    pub reject_above: u64,
}

/// Hard caps no audience policy can exceed, and the defaults an audience gets when its policy
/// says nothing. Admins set them in the config file; the figures of [`Default`] are sized for
/// an organisation of ~350,000 members in ~10,000 units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrgLimits {
    /// Recipients of one send. Above the whole membership, so a federal statutory notice fits,
    /// while a runaway resolution (duplicates, non-members) does not.
    pub max_recipients: u64,
    /// Size of one message as submitted. Multiplied by every recipient, so far below what a
    /// mailbox provider would accept for a single mail.
    pub max_message_bytes: u64,
    pub max_attachments: u32,
    /// Total size of all attachments, before transfer encoding (which adds about a third).
    pub max_attachment_bytes: u64,
    /// SMS parts of one text message: 3 parts are ~450 GSM characters, and each part is paid.
    pub max_sms_segments: u32,
    pub sender_sends_per_hour: RateCap,
    pub sender_sends_per_day: RateCap,
    pub sender_recipients_per_day: RateCap,
    pub audience_sends_per_day: RateCap,
    /// Recipients the whole organisation may reach in one hour (including the send being
    /// decided) before everything not yet released is held for an admin: the circuit breaker.
    pub circuit_breaker_recipients_per_hour: u64,
    /// Most addresses openly in To/Cc. A cap, not a default: every address above it is a
    /// personal-data disclosure to all other recipients.
    pub visible_recipients_threshold: u32,
    /// Blast radius: hold above usual size × percent / 100 + slack, unless the audience says
    /// otherwise. These are defaults, not caps: the hard ceiling is `max_recipients`.
    pub usual_size_factor_percent: u32,
    pub usual_size_slack: u64,
    /// A first send (no usual size yet) to more recipients than this is held.
    pub first_send_hold_above: u64,
    /// Who approves held sends of an audience whose policy names no approver functions.
    pub default_approver_functions: Vec<RoleFunction>,
    /// SMS parts of one send (segments × SMS recipients) above which a person looks first:
    /// every part is paid for, and a text cannot be called back.
    pub sms_parts_hold_above: u64,
    /// What one SMS part costs, in cents; 0 when nobody counts the cost.
    pub sms_cost_per_segment_cents: u64,
    /// What a unit's sends may spend on SMS in a calendar month, in cents; 0: no budget. A
    /// send that would go beyond it waits for approval, with the figures.
    pub sms_monthly_budget_cents: u64,
    /// Submissions of one sender every list refused, in the last hour, after which the next
    /// refused one is answered "try later" and not stored: a flood of refused mail is itself
    /// throttled. 0: no such limit.
    pub sender_refused_per_hour: u64,
}

impl Default for OrgLimits {
    fn default() -> Self {
        OrgLimits {
            max_recipients: 500_000,
            max_message_bytes: 10_000_000,
            max_attachments: 10,
            max_attachment_bytes: 7_000_000,
            max_sms_segments: 3,
            // A chair sending a handful of mails an hour is normal; thirty is a script.
            sender_sends_per_hour: RateCap {
                hold_above: 10,
                reject_above: 30,
            },
            sender_sends_per_day: RateCap {
                hold_above: 30,
                reject_above: 100,
            },
            // One whole-organisation send a day passes; a second one is looked at.
            sender_recipients_per_day: RateCap {
                hold_above: 400_000,
                reject_above: 2_000_000,
            },
            audience_sends_per_day: RateCap {
                hold_above: 10,
                reject_above: 50,
            },
            circuit_breaker_recipients_per_hour: 1_000_000,
            visible_recipients_threshold: 10,
            usual_size_factor_percent: 150,
            usual_size_slack: 20,
            first_send_hold_above: 500,
            default_approver_functions: vec![RoleFunction::Chair, RoleFunction::Admin],
            // A branch's invitation by SMS to a few hundred members passes; a state's does not.
            sms_parts_hold_above: 2_000,
            sms_cost_per_segment_cents: 0,
            sms_monthly_budget_cents: 0,
            // A chair who mistypes a list's address a few times stays far below; a script
            // does not.
            sender_refused_per_hour: 20,
        }
    }
}

/// The limits for one submission: the audience's policy folded into the organisation's caps.
/// Public so the simulator can print which figure applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveLimits<'a> {
    pub max_recipients: u64,
    pub max_message_bytes: u64,
    pub max_attachments: u32,
    pub max_attachment_bytes: u64,
    pub max_sms_segments: u32,
    pub sender_sends_per_hour: RateCap,
    pub sender_sends_per_day: RateCap,
    pub sender_recipients_per_day: RateCap,
    pub audience_sends_per_day: RateCap,
    pub circuit_breaker_recipients_per_hour: u64,
    pub visible_recipients_mode: VisibleRecipientsMode,
    pub visible_recipients_threshold: u32,
    pub usual_size_factor_percent: u32,
    pub usual_size_slack: u64,
    pub first_send_hold_above: u64,
    pub approver_functions: &'a [RoleFunction],
}

/// Folds an audience's policy into the organisation's caps. Without an audience (unknown
/// address) the organisation's figures apply, so the message checks still report.
pub fn effective_limits<'a>(
    audience: Option<&'a AudienceFacts>,
    org: &'a OrgLimits,
) -> EffectiveLimits<'a> {
    let Some(policy) = audience.map(|a| &a.policy) else {
        return EffectiveLimits {
            max_recipients: org.max_recipients,
            max_message_bytes: org.max_message_bytes,
            max_attachments: org.max_attachments,
            max_attachment_bytes: org.max_attachment_bytes,
            max_sms_segments: org.max_sms_segments,
            sender_sends_per_hour: org.sender_sends_per_hour,
            sender_sends_per_day: org.sender_sends_per_day,
            sender_recipients_per_day: org.sender_recipients_per_day,
            audience_sends_per_day: org.audience_sends_per_day,
            circuit_breaker_recipients_per_hour: org.circuit_breaker_recipients_per_hour,
            visible_recipients_mode: VisibleRecipientsMode::Reject,
            visible_recipients_threshold: org.visible_recipients_threshold,
            usual_size_factor_percent: org.usual_size_factor_percent,
            usual_size_slack: org.usual_size_slack,
            first_send_hold_above: org.first_send_hold_above,
            approver_functions: &org.default_approver_functions,
        };
    };
    let approver_functions = if policy.approver_functions.is_empty() {
        &org.default_approver_functions
    } else {
        &policy.approver_functions
    };
    EffectiveLimits {
        max_recipients: tighten(policy.max_recipients, org.max_recipients),
        max_message_bytes: tighten(policy.max_message_bytes, org.max_message_bytes),
        max_attachments: tighten(policy.max_attachments, org.max_attachments),
        max_attachment_bytes: tighten(policy.max_attachment_bytes, org.max_attachment_bytes),
        max_sms_segments: tighten(policy.max_sms_segments, org.max_sms_segments),
        sender_sends_per_hour: org.sender_sends_per_hour,
        sender_sends_per_day: soften(policy.sender_sends_per_day, org.sender_sends_per_day),
        sender_recipients_per_day: org.sender_recipients_per_day,
        audience_sends_per_day: soften(policy.audience_sends_per_day, org.audience_sends_per_day),
        circuit_breaker_recipients_per_hour: org.circuit_breaker_recipients_per_hour,
        visible_recipients_mode: policy.visible_recipients,
        visible_recipients_threshold: tighten(
            policy.visible_recipients_threshold,
            org.visible_recipients_threshold,
        ),
        usual_size_factor_percent: policy
            .usual_size_factor_percent
            .unwrap_or(org.usual_size_factor_percent),
        usual_size_slack: policy.usual_size_slack.unwrap_or(org.usual_size_slack),
        first_send_hold_above: tighten(policy.first_send_hold_above, org.first_send_hold_above),
        approver_functions,
    }
}

fn tighten<T: Ord + Copy>(policy: Option<T>, cap: T) -> T {
    policy.map_or(cap, |p| p.min(cap))
}

/// The audience chooses where holding starts, anywhere up to the organisation's hard cap.
fn soften(policy: Option<u64>, org: RateCap) -> RateCap {
    RateCap {
        hold_above: policy.unwrap_or(org.hold_above).min(org.reject_above),
        reject_above: org.reject_above,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts::AudiencePolicy;
    use crate::engine::testing::audience;

    #[test]
    fn a_policy_tightens_caps_but_cannot_loosen_them() {
        let org = OrgLimits::default();
        let mut a = audience(AudiencePolicy::default());
        a.policy.max_recipients = Some(300);
        a.policy.max_message_bytes = Some(u64::MAX);
        a.policy.visible_recipients_threshold = Some(50);
        let limits = effective_limits(Some(&a), &org);
        assert_eq!(limits.max_recipients, 300);
        assert_eq!(limits.max_message_bytes, org.max_message_bytes);
        assert_eq!(limits.visible_recipients_threshold, 10);
    }

    #[test]
    fn a_policy_moves_the_hold_step_but_never_past_the_hard_cap() {
        let org = OrgLimits::default();
        let mut a = audience(AudiencePolicy::default());
        a.policy.sender_sends_per_day = Some(80);
        a.policy.audience_sends_per_day = Some(10_000);
        let limits = effective_limits(Some(&a), &org);
        assert_eq!(
            limits.sender_sends_per_day,
            RateCap {
                hold_above: 80,
                reject_above: 100
            }
        );
        assert_eq!(limits.audience_sends_per_day.hold_above, 50);
    }

    #[test]
    fn approvers_fall_back_to_the_organisation_default() {
        let org = OrgLimits::default();
        let mut a = audience(AudiencePolicy::default());
        assert_eq!(
            effective_limits(Some(&a), &org).approver_functions,
            &org.default_approver_functions[..]
        );
        a.policy.approver_functions = vec![RoleFunction::PressOffice];
        assert_eq!(
            effective_limits(Some(&a), &org).approver_functions,
            &[RoleFunction::PressOffice]
        );
    }

    #[test]
    fn without_an_audience_the_organisation_figures_apply() {
        let org = OrgLimits::default();
        let limits = effective_limits(None, &org);
        assert_eq!(limits.max_message_bytes, org.max_message_bytes);
        assert_eq!(
            limits.visible_recipients_mode,
            VisibleRecipientsMode::Reject
        );
    }
}
