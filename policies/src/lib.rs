//! Pure domain types and the policy engine of verteiler.
//!
//! Nothing in this crate performs IO, reads a clock or touches a database: callers gather the
//! facts of a submission and receive a decision. That keeps every rule testable in isolation and
//! makes the three incidents of `ARCHITECTURE.md` regression tests rather than hopes.

pub mod domain;
pub mod engine;

pub use domain::*;
pub use engine::{
    approval_validity, audience_growth, audience_redefined, decide, effective_limits, format_bytes,
    format_count, function_label, function_list, may_send, may_send_by_role, redefined_after,
    Approval, ApprovalRefusal, ApprovalRule, AudienceFacts, AudiencePolicy, ChannelCounts,
    Decision, EffectiveLimits, Facts, FromAddress, HeaderTreatment, Lang, MessageFacts, OrgLimits,
    RateCap, Reason, ResolutionSummary, RoleGrant, Rounding, SenderFacts, Severity, VolumeFacts,
};
