//! Why a submission is held or refused: one typed value per cause, carrying its figures.
//!
//! A reason is what the chair reads in the SMTP reply, what the approver sees, and what the
//! audit log stores, so it must stand on its own: it names the audience and every figure
//! instead of pointing back into the facts.

use super::lang::{render, Arg, Lang, Rounding};
use super::texts;
use crate::domain::RoleFunction;
use serde::{Deserialize, Serialize};

/// Whether a reason stops a submission for good or only until someone looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Held until approved (or, for the circuit breaker, until an admin releases the send).
    Hold,
    /// Refused; the sender has to change the message or ask an admin to change the policy.
    Reject,
}

coded_enum! {
    /// One cause for holding or refusing a submission. [`Reason::code`] is stable (the SMTP
    /// reply, the API and the audit log carry it) and equals the `code` tag of the JSON form.
    pub enum Reason {
        /// No audience answers to the address; nothing is guessed in its place.
        AudienceUnknown = "audience.unknown" { address: String },
        /// The audience exists but is deactivated; it is never replaced by a wider one.
        AudienceInactive = "audience.inactive" { audience: String },
        AudienceEmpty = "audience.empty" { audience: String },
        /// Resolution failed; the technical cause is kept for the admins.
        AudienceUnresolvable = "audience.unresolvable" { audience: String, error: String },
        /// The resolution reached people outside the declared scope: the silent broadening.
        AudienceOutOfScope = "audience.out_of_scope" {
            audience: String,
            recipients: u64,
            outside_scope: u64,
        },
        /// At delivery the audience had grown well beyond what was decided on: the send waits
        /// for a person instead of reaching people nobody agreed to.
        AudienceGrew = "audience.grew" { audience: String, decided: u64, now: u64 },
        /// Between the decision and the delivery an admin changed whom the audience reaches
        /// (its target unit, sub-units, role, kind or scope): what was decided on no longer
        /// exists, so the send is refused rather than sent to the new definition.
        AudienceRedefined = "audience.redefined" { audience: String },
        /// When the send was to be expanded its audience reached nobody any more (its unit or
        /// a unit above it switched off, or every member gone): it is refused, never sent to
        /// nobody in silence.
        AudienceEmptied = "audience.emptied" { audience: String },
        SenderNotAuthorised = "sender.not_authorised" {
            audience: String,
            allowed: Vec<RoleFunction>,
        },
        /// The `From:` is not the sender's: another member's address, their own unverified
        /// one, or one no list carries.
        FromNotYours = "from.not_yours" { from: String },
        /// The `From:` is an official sender address of other lists (`lists`, by name), or of
        /// this one for somebody who may not send to it by role.
        FromOtherList = "from.other_list" { from: String, lists: Vec<String> },
        /// Far more recipients than the audience usually has.
        BlastRadiusAboveUsual = "blast_radius.above_usual" {
            audience: String,
            recipients: u64,
            usual: u64,
            hold_above: u64,
        },
        /// The first send to an audience, and a large one: nothing to compare it with yet.
        BlastRadiusFirstSend = "blast_radius.first_send" {
            audience: String,
            recipients: u64,
            hold_above: u64,
        },
        MaxRecipients = "limits.max_recipients" { audience: String, recipients: u64, limit: u64 },
        /// Too many addresses openly in To/Cc: every recipient would see all the others.
        VisibleRecipients = "recipients.visible" { visible: u64, limit: u64 },
        MessageSize = "size.message" { bytes: u64, limit: u64 },
        AttachmentBytes = "size.attachments" { bytes: u64, limit: u64 },
        AttachmentCount = "size.attachment_count" { count: u64, limit: u64 },
        SmsSegments = "size.sms_segments" { segments: u64, limit: u64 },
        /// Many paid SMS parts in one send: segments of the text × members reached by SMS.
        SmsParts = "sms.parts" {
            audience: String,
            recipients: u64,
            segments: u64,
            parts: u64,
            hold_above: u64,
        },
        /// The send would take the unit's SMS spending this month beyond its budget (cents).
        SmsBudget = "sms.budget" {
            audience: String,
            cost_cents: u64,
            spent_cents: u64,
            budget_cents: u64,
        },
        /// `sends` includes this one; `limit` is the step that was passed.
        SenderHourlySends = "rate.sender_hour" { sends: u64, limit: u64, severity: Severity },
        SenderDailySends = "rate.sender_day" { sends: u64, limit: u64, severity: Severity },
        SenderDailyRecipients = "rate.sender_recipients_day" {
            recipients: u64,
            limit: u64,
            severity: Severity,
        },
        AudienceDailySends = "rate.audience_day" {
            audience: String,
            sends: u64,
            limit: u64,
            severity: Severity,
        },
        /// The organisation as a whole has sent too much this hour; only an admin releases.
        CircuitBreaker = "org.circuit_breaker" { recipients: u64, limit: u64 },
        /// The audience's four-eyes rule applies and not enough valid approvals exist yet.
        ApprovalRequired = "approval.required" {
            audience: String,
            needed: u64,
            valid: u64,
            approvers: Vec<RoleFunction>,
        },
    }
}

impl Reason {
    pub fn severity(&self) -> Severity {
        match self {
            Reason::AudienceUnknown { .. }
            | Reason::AudienceInactive { .. }
            | Reason::AudienceEmpty { .. }
            | Reason::AudienceUnresolvable { .. }
            | Reason::AudienceOutOfScope { .. }
            | Reason::AudienceRedefined { .. }
            | Reason::AudienceEmptied { .. }
            | Reason::SenderNotAuthorised { .. }
            | Reason::FromNotYours { .. }
            | Reason::FromOtherList { .. }
            | Reason::MaxRecipients { .. }
            | Reason::VisibleRecipients { .. }
            | Reason::MessageSize { .. }
            | Reason::AttachmentBytes { .. }
            | Reason::AttachmentCount { .. }
            | Reason::SmsSegments { .. } => Severity::Reject,
            Reason::BlastRadiusAboveUsual { .. }
            | Reason::BlastRadiusFirstSend { .. }
            | Reason::AudienceGrew { .. }
            | Reason::CircuitBreaker { .. }
            | Reason::SmsParts { .. }
            | Reason::SmsBudget { .. }
            | Reason::ApprovalRequired { .. } => Severity::Hold,
            Reason::SenderHourlySends { severity, .. }
            | Reason::SenderDailySends { severity, .. }
            | Reason::SenderDailyRecipients { severity, .. }
            | Reason::AudienceDailySends { severity, .. } => *severity,
        }
    }

    /// Whether enough valid approvals lift this reason. The circuit breaker is an
    /// organisation-wide state, not a property of one message: approvers of one audience must
    /// not be able to push more mail through it, so only an admin lifts it, one send at a time
    /// (`Facts::circuit_breaker_lifted_by`).
    pub fn cleared_by_approvals(&self) -> bool {
        match self {
            Reason::BlastRadiusAboveUsual { .. }
            | Reason::BlastRadiusFirstSend { .. }
            | Reason::AudienceGrew { .. }
            | Reason::SmsParts { .. }
            | Reason::SmsBudget { .. }
            | Reason::ApprovalRequired { .. } => true,
            Reason::SenderHourlySends { severity, .. }
            | Reason::SenderDailySends { severity, .. }
            | Reason::SenderDailyRecipients { severity, .. }
            | Reason::AudienceDailySends { severity, .. } => *severity == Severity::Hold,
            Reason::AudienceUnknown { .. }
            | Reason::AudienceInactive { .. }
            | Reason::AudienceEmpty { .. }
            | Reason::AudienceUnresolvable { .. }
            | Reason::AudienceOutOfScope { .. }
            | Reason::AudienceRedefined { .. }
            | Reason::AudienceEmptied { .. }
            | Reason::SenderNotAuthorised { .. }
            | Reason::FromNotYours { .. }
            | Reason::FromOtherList { .. }
            | Reason::MaxRecipients { .. }
            | Reason::VisibleRecipients { .. }
            | Reason::MessageSize { .. }
            | Reason::AttachmentBytes { .. }
            | Reason::AttachmentCount { .. }
            | Reason::SmsSegments { .. }
            | Reason::CircuitBreaker { .. } => false,
        }
    }

    /// The situation in one or two sentences a chair understands, figures written the way the
    /// language writes them. What happens to the message is said once by
    /// [`Decision::text`](super::Decision::text), not by every reason.
    pub fn text(&self, lang: Lang) -> String {
        render(texts::template(self.code(), lang), lang, &self.values())
    }

    /// The values the reason's sentence names, by placeholder.
    fn values(&self) -> Vec<(&'static str, Arg<'_>)> {
        use Arg::{Count, Functions, Names, Text};
        match self {
            Reason::AudienceUnknown { address } => vec![("address", Text(address))],
            Reason::AudienceInactive { audience }
            | Reason::AudienceEmpty { audience }
            | Reason::AudienceRedefined { audience }
            | Reason::AudienceEmptied { audience } => vec![("audience", Text(audience))],
            Reason::FromNotYours { from } => vec![("from", Text(from))],
            Reason::FromOtherList { from, lists } => {
                vec![("from", Text(from)), ("lists", Names(lists))]
            }
            Reason::AudienceUnresolvable { audience, error } => {
                vec![("audience", Text(audience)), ("error", Text(error))]
            }
            Reason::AudienceOutOfScope {
                audience,
                recipients,
                outside_scope,
            } => vec![
                ("audience", Text(audience)),
                ("recipients", Count(*recipients)),
                ("outside", Count(*outside_scope)),
            ],
            Reason::AudienceGrew {
                audience,
                decided,
                now,
            } => vec![
                ("audience", Text(audience)),
                ("decided", Count(*decided)),
                ("now", Count(*now)),
            ],
            Reason::SenderNotAuthorised { audience, allowed } => {
                vec![
                    ("audience", Text(audience)),
                    ("allowed", Functions(allowed)),
                ]
            }
            Reason::ApprovalRequired {
                audience,
                needed,
                valid,
                approvers,
            } => vec![
                ("audience", Text(audience)),
                ("needed", Count(*needed)),
                ("valid", Count(*valid)),
                ("approvers", Functions(approvers)),
            ],
            Reason::BlastRadiusAboveUsual { .. }
            | Reason::BlastRadiusFirstSend { .. }
            | Reason::MaxRecipients { .. }
            | Reason::VisibleRecipients { .. }
            | Reason::MessageSize { .. }
            | Reason::AttachmentBytes { .. }
            | Reason::AttachmentCount { .. }
            | Reason::SmsSegments { .. }
            | Reason::SmsParts { .. }
            | Reason::SmsBudget { .. }
            | Reason::SenderHourlySends { .. }
            | Reason::SenderDailySends { .. }
            | Reason::SenderDailyRecipients { .. }
            | Reason::AudienceDailySends { .. }
            | Reason::CircuitBreaker { .. } => self.figures(),
        }
    }

    /// The values of the reasons about sizes, counts and rates.
    fn figures(&self) -> Vec<(&'static str, Arg<'_>)> {
        use Arg::{Bytes, Count, Euros, Text};
        match self {
            Reason::BlastRadiusAboveUsual {
                audience,
                recipients,
                usual,
                hold_above,
            } => vec![
                ("audience", Text(audience)),
                ("recipients", Count(*recipients)),
                ("usual", Count(*usual)),
                ("hold_above", Count(*hold_above)),
            ],
            Reason::BlastRadiusFirstSend {
                audience,
                recipients,
                hold_above,
            } => vec![
                ("audience", Text(audience)),
                ("recipients", Count(*recipients)),
                ("hold_above", Count(*hold_above)),
            ],
            Reason::MaxRecipients {
                audience,
                recipients,
                limit,
            } => vec![
                ("audience", Text(audience)),
                ("recipients", Count(*recipients)),
                ("limit", Count(*limit)),
            ],
            Reason::VisibleRecipients { visible, limit } => {
                vec![("visible", Count(*visible)), ("limit", Count(*limit))]
            }
            Reason::MessageSize { bytes, limit } | Reason::AttachmentBytes { bytes, limit } => {
                vec![
                    ("bytes", Bytes(*bytes, Rounding::Up)),
                    ("limit", Bytes(*limit, Rounding::Down)),
                ]
            }
            Reason::AttachmentCount { count, limit } => {
                vec![("count", Count(*count)), ("limit", Count(*limit))]
            }
            Reason::SmsSegments { segments, limit } => {
                vec![("segments", Count(*segments)), ("limit", Count(*limit))]
            }
            Reason::SmsParts {
                audience,
                recipients,
                segments,
                parts,
                hold_above,
            } => vec![
                ("audience", Text(audience)),
                ("recipients", Count(*recipients)),
                ("segments", Count(*segments)),
                ("parts", Count(*parts)),
                ("limit", Count(*hold_above)),
            ],
            Reason::SmsBudget {
                audience,
                cost_cents,
                spent_cents,
                budget_cents,
            } => vec![
                ("audience", Text(audience)),
                ("cost", Euros(*cost_cents)),
                ("spent", Euros(*spent_cents)),
                ("budget", Euros(*budget_cents)),
            ],
            Reason::SenderHourlySends { sends, limit, .. }
            | Reason::SenderDailySends { sends, limit, .. } => {
                vec![("sends", Count(*sends)), ("limit", Count(*limit))]
            }
            Reason::SenderDailyRecipients {
                recipients, limit, ..
            }
            | Reason::CircuitBreaker { recipients, limit } => {
                vec![("recipients", Count(*recipients)), ("limit", Count(*limit))]
            }
            Reason::AudienceDailySends {
                audience,
                sends,
                limit,
                ..
            } => vec![
                ("audience", Text(audience)),
                ("sends", Count(*sends)),
                ("limit", Count(*limit)),
            ],
            _ => unreachable!("Reason::values hands over only the reasons with figures"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_dotted() {
        let mut codes = Reason::CODES.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Reason::CODES.len());
        assert!(codes.iter().all(|c| c.contains('.')
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '.' || ch == '_')));
    }

    #[test]
    fn rate_reasons_take_their_severity_from_the_step_passed() {
        let soft = Reason::SenderDailySends {
            sends: 31,
            limit: 30,
            severity: Severity::Hold,
        };
        let hard = Reason::SenderDailySends {
            sends: 101,
            limit: 100,
            severity: Severity::Reject,
        };
        assert_eq!(soft.severity(), Severity::Hold);
        assert!(soft.cleared_by_approvals());
        assert_eq!(hard.severity(), Severity::Reject);
        assert!(!hard.cleared_by_approvals());
    }

    #[test]
    fn the_circuit_breaker_holds_but_approvals_do_not_lift_it() {
        let reason = Reason::CircuitBreaker {
            recipients: 1_000_001,
            limit: 1_000_000,
        };
        assert_eq!(reason.severity(), Severity::Hold);
        assert!(!reason.cleared_by_approvals());
    }

    #[test]
    fn no_reject_is_ever_cleared_by_approvals() {
        let reasons = [
            Reason::AudienceInactive {
                audience: "x".into(),
            },
            Reason::MaxRecipients {
                audience: "x".into(),
                recipients: 2,
                limit: 1,
            },
            Reason::VisibleRecipients {
                visible: 11,
                limit: 10,
            },
            Reason::SenderHourlySends {
                sends: 31,
                limit: 30,
                severity: Severity::Reject,
            },
        ];
        for reason in reasons {
            assert_eq!(reason.severity(), Severity::Reject);
            assert!(!reason.cleared_by_approvals(), "{reason:?}");
        }
    }
}
