//! The policy engine: the facts of one submission in, a [`Decision`] out.
//!
//! [`decide`] runs every rule over the same facts and collects every reason that applies, so
//! a chair learns everything wrong with a message at once. Rules never return early on each
//! other's behalf: the only short cut is inside the audience rule (a failed resolution has no
//! counts to judge), and that short cut only ever rejects.

/// Declares a closed enum of struct variants, each with a stable dotted code that is both
/// what `code()` returns and the `code` tag of its JSON form, written once so they cannot drift.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal { $($field:ident : $ty:ty),* $(,)? }
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "code")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $code)]
                $variant { $($field: $ty),* }
            ),+
        }

        impl $name {
            /// Every code of this set, for documentation and for checking the text table.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The stable code: SMTP replies, the API and the audit log carry it.
            pub fn code(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => $code),+
                }
            }
        }
    };
}

mod decision;
mod facts;
mod lang;
mod limits;
mod reasons;
mod rules;
#[cfg(test)]
mod testing;
mod texts;

pub use decision::{Decision, HeaderTreatment};
pub use facts::{
    Approval, ApprovalRule, AudienceFacts, AudiencePolicy, ChannelCounts, Facts, FromAddress,
    MessageFacts, ResolutionSummary, RoleGrant, SenderFacts, VolumeFacts,
};
pub use lang::{format_bytes, format_count, Lang, Rounding};
pub use limits::{effective_limits, EffectiveLimits, OrgLimits, RateCap};
pub use reasons::{Reason, Severity};
pub use rules::authorisation::{may_send, may_send_by_role};
pub use rules::four_eyes::{approval_validity, ApprovalRefusal};
pub use rules::growth::{audience_growth, audience_redefined, redefined_after};
pub use texts::{function_label, function_list};

/// Decides what happens to one submission. Pure and deterministic: the same facts and limits
/// always give the same decision, so the store may decide again at release time (with the
/// approvals recorded since) and the audit log can replay any decision.
pub fn decide(facts: &Facts, limits: &OrgLimits) -> Decision {
    let ctx = rules::Ctx::new(facts, limits);
    let mut reasons = Vec::new();
    rules::audience::check(&ctx, &mut reasons);
    rules::authorisation::check(&ctx, &mut reasons);
    rules::from_address::check(&ctx, &mut reasons);
    rules::blast_radius::check(&ctx, &mut reasons);
    rules::visible_recipients::check(&ctx, &mut reasons);
    rules::size::check(&ctx, &mut reasons);
    rules::sms::check(&ctx, &mut reasons);
    rules::rate::check(&ctx, &mut reasons);
    let approvals_missing = rules::four_eyes::apply(&ctx, &mut reasons);
    let headers = rules::visible_recipients::header_treatment(&ctx);
    decision::conclude(
        reasons,
        approvals_missing,
        ctx.limits.approver_functions,
        headers,
    )
}
