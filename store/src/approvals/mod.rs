//! Four eyes: held sends become approval requests, and approving, rejecting, withdrawing and
//! expiring them are operations here, so SMTP, the portal, the API and the CLI all go through
//! the same rules (the policy engine's) and the same transactions (with their audit entries).
//!
//! An approval never releases anything by itself: the send is decided again by the engine
//! with every approval recorded, and only a fresh `Release` lets it go, through the same undo
//! window as any send.

mod approve;
mod approvers;
pub(crate) mod breaker_holds;
pub(crate) mod deciders;
mod held_view;
mod pending;
mod people;
pub(crate) mod redecide;
mod requests;
mod stop;

pub use approve::ApprovalOutcome;
pub use approvers::Approver;
pub use held_view::{ApprovalRecord, HeldSend};
pub use stop::StopOutcome;

pub(crate) use pending::{about, recorded_approvals, take_held, Pending};

use crate::intake::submissions::Origin;
use verteiler_policies::OrgLimits;

/// What the approval operations take from the configuration.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    pub list_domain: String,
    pub limits: OrgLimits,
    /// A released send waits this long before the first copy goes out.
    pub undo_window_secs: u64,
    /// A held send waits this long for approvals, then expires.
    pub approval_window_secs: u64,
    /// Base of the links in notices (`https://portal.example.org`).
    pub portal_base_url: String,
}

impl ApprovalSettings {
    pub(crate) fn link(&self, send_id: i64) -> String {
        format!(
            "{}/held/{send_id}",
            self.portal_base_url.trim_end_matches('/')
        )
    }
}

/// The person deciding, and through which way in.
#[derive(Debug, Clone)]
pub struct Actor {
    pub member_id: i64,
    /// How messages and command output name them (a login, an address, a name). The audit
    /// log does not: it names them by `ingress` and `member_id` (see [`Origin::actor`]).
    pub label: String,
    pub ingress: Origin,
}
