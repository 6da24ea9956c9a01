//! Everything the engine needs to know about one submission, gathered by the store.
//!
//! The engine owns no state and reads no clock, so every figure that depends on the tree, the
//! database or the time of day arrives here already computed. Plain structs with public fields:
//! the store fills them, the simulator prints them, the tests build them by hand.

use crate::domain::VisibleRecipientsMode;
use crate::domain::{AudienceKind, AudienceSlug, Category, Channel, ContentHash, RoleFunction};
use serde::{Deserialize, Serialize};

/// The facts of one submission: who sends what to whom, and how much has been sent lately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub sender: SenderFacts,
    pub channel: Channel,
    /// The list address or slug exactly as the sender gave it; named in the reply when no
    /// audience answers to it.
    pub audience_address: String,
    /// `None` when no audience answers to the address. Never substitute another audience:
    /// the engine rejects a missing audience, it does not guess.
    pub audience: Option<AudienceFacts>,
    pub resolution: ResolutionSummary,
    pub message: MessageFacts,
    pub volume: VolumeFacts,
    /// Every approval recorded for this submission, valid or not; the engine decides which count.
    pub approvals: Vec<Approval>,
    /// The organisation admin (member id) who lifted the circuit breaker for this one send,
    /// having looked at it. The breaker is the organisation's state, so only an admin lifts it,
    /// and only for the send they released; every other reason still applies. The store checks
    /// that the person is an admin before it sets this.
    #[serde(default)]
    pub circuit_breaker_lifted_by: Option<i64>,
    /// What the message's `From:` is to this sender and this audience.
    #[serde(default)]
    pub from_address: FromAddress,
    /// Whom the audience reaches (its target, sub-units, role, kind or scope) was changed after
    /// the submission was made; set when a held send is decided again. The sender addressed,
    /// and the approvers were shown figures of, a definition that is gone.
    #[serde(default)]
    pub audience_redefined: bool,
}

/// What the `From:` of a message is to its sender and to the audience it is decided for.
///
/// The store works it out (it knows the sender's addresses, every member's, and which lists
/// carry which official address); the engine refuses every audience the address is not good
/// for, so a submission to several lists is judged list by list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromAddress {
    /// One of the sender's own verified addresses, or no `From:` to weigh (a simulation
    /// without one, or a held send decided again: its `From:` was weighed when it came in).
    #[default]
    Own,
    /// An official sender address: one that lists carry (`lists`, by name) and that is no
    /// member's address. Good only on those lists, for those who may send to them by role.
    Official {
        address: String,
        /// Whether this audience is one of the lists that carry it.
        this_list: bool,
        lists: Vec<String>,
    },
    /// Anybody else's address: another member's (also when a list carries it as its official
    /// address: it stays that person's), the sender's own unverified one, or one no list has.
    Foreign { address: String },
}

/// The authenticated person behind the submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderFacts {
    pub member_id: i64,
    pub roles: Vec<RoleGrant>,
    /// Whether the sender holds a confirmed (double opt-in) subscription to this audience; only
    /// topic lists open to their subscribers look at it.
    pub confirmed_subscriber: bool,
}

/// A function a member holds in a unit, possibly over the unit's whole subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleGrant {
    pub function: RoleFunction,
    pub unit_id: i64,
    pub covers_subtree: bool,
}

impl RoleGrant {
    /// Whether this grant reaches an audience scoped at `audience`'s scope unit: held at that
    /// unit itself, or at one of its ancestors over the whole subtree.
    ///
    /// Only `scope_path` tells the engine about ancestors, so a path the store left empty can
    /// only ever deny (fail closed), never grant.
    pub fn covers(&self, audience: &AudienceFacts) -> bool {
        self.unit_id == audience.scope_unit_id
            || (self.covers_subtree && audience.scope_path.contains(&self.unit_id))
    }
}

/// An audience as defined by the admins, with its declared scope and its policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceFacts {
    pub id: i64,
    pub slug: AudienceSlug,
    /// The name a chair knows it by ("Distrikt Oldenfelde"); used in every sentence.
    pub display_name: String,
    pub kind: AudienceKind,
    /// A deactivated audience is refused; it never falls back to a wider one.
    pub active: bool,
    /// The unit this audience may never reach outside of.
    pub scope_unit_id: i64,
    /// Unit ids from the root of the tree down to and including `scope_unit_id`. A
    /// free-standing unit (committee, working group) is its own root: `[scope_unit_id]`.
    pub scope_path: Vec<i64>,
    pub category: Category,
    pub policy: AudiencePolicy,
    /// The learned usual number of recipients; `None` before the first release.
    pub usual_size: Option<u64>,
}

/// Whether a send needs approval by other people before release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", content = "recipients", rename_all = "snake_case")]
pub enum ApprovalRule {
    Never,
    /// Sends to more than this many recipients need approval.
    AboveRecipients(u64),
    /// Every send needs approval (the press office's official audiences).
    Always,
}

/// One audience's rules. Every `Option` left `None` takes the organisation's figure from
/// [`OrgLimits`](super::OrgLimits); a figure set here can tighten an organisation cap, never
/// loosen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudiencePolicy {
    /// Role functions that may send, when held in scope. Empty: nobody may send.
    pub sender_functions: Vec<RoleFunction>,
    /// Confirmed subscribers may post too; honoured only on topic lists of the discussion
    /// category, so a misconfigured announcement list stays closed.
    pub subscribers_may_post: bool,
    pub approval: ApprovalRule,
    /// Who may approve held sends, when held in scope. Empty: the organisation's default.
    pub approver_functions: Vec<RoleFunction>,
    /// Distinct approvers the approval rule asks for; 0 is read as 1 so that "always" can never
    /// mean "without anybody".
    pub approvals_needed: u32,
    pub max_recipients: Option<u64>,
    pub max_message_bytes: Option<u64>,
    pub max_attachments: Option<u32>,
    pub max_attachment_bytes: Option<u64>,
    pub max_sms_segments: Option<u32>,
    /// Sends per sender per day to hold above; may be raised up to the organisation's hard cap.
    pub sender_sends_per_day: Option<u64>,
    /// Sends to this audience per day to hold above; may be raised up to the organisation's cap.
    pub audience_sends_per_day: Option<u64>,
    pub visible_recipients: VisibleRecipientsMode,
    /// Most addresses allowed openly in To/Cc; may only be lowered below the organisation's.
    pub visible_recipients_threshold: Option<u32>,
    /// Hold above `usual_size × percent / 100 + slack`; 150 means the usual size × 1.5.
    pub usual_size_factor_percent: Option<u32>,
    pub usual_size_slack: Option<u64>,
    /// A first send (no usual size yet) above this many recipients is held.
    pub first_send_hold_above: Option<u64>,
}

impl Default for AudiencePolicy {
    /// Closed by default: nobody may send, organisation figures everywhere else.
    fn default() -> Self {
        AudiencePolicy {
            sender_functions: Vec::new(),
            subscribers_may_post: false,
            approval: ApprovalRule::Never,
            approver_functions: Vec::new(),
            approvals_needed: 1,
            max_recipients: None,
            max_message_bytes: None,
            max_attachments: None,
            max_attachment_bytes: None,
            max_sms_segments: None,
            sender_sends_per_day: None,
            audience_sends_per_day: None,
            visible_recipients: VisibleRecipientsMode::Reject,
            visible_recipients_threshold: None,
            usual_size_factor_percent: None,
            usual_size_slack: None,
            first_send_hold_above: None,
        }
    }
}

/// What resolving the audience produced, counted for the channel of the submission.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResolutionSummary {
    pub recipients: u64,
    /// Recipients found outside the declared scope; any at all means the definition is broken.
    pub outside_scope: u64,
    /// Set when resolution failed; the counts are then ignored.
    pub error: Option<String>,
    /// How the recipients would be reached, by their own channel choice.
    #[serde(default)]
    pub by_channel: ChannelCounts,
}

/// How an audience's recipients would be reached, by their own channel choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCounts {
    pub email: u64,
    pub sms: u64,
    pub post: u64,
    /// Chose no channel for this kind of mail.
    pub declined: u64,
    /// Chose a channel they have no verified address or number for.
    pub no_address: u64,
    /// Of those counted under `email`, how many also get a text (the audience's policy says
    /// "email and SMS"); of those under `sms`, how many also get the email.
    #[serde(default)]
    pub also_sms: u64,
    #[serde(default)]
    pub also_email: u64,
}

impl ChannelCounts {
    /// Everybody counted.
    pub fn total(&self) -> u64 {
        self.email + self.sms + self.post + self.declined + self.no_address
    }
}

/// The figures of the message itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFacts {
    pub size_bytes: u64,
    pub attachment_count: u32,
    pub attachment_bytes: u64,
    /// Addresses in To/Cc that are not list addresses: every recipient would see them.
    pub visible_recipients: u32,
    /// Only looked at when the channel is SMS.
    pub sms_segments: u32,
    pub content_hash: ContentHash,
}

/// Recent volume, counted by the store over released sends, excluding this submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VolumeFacts {
    pub sender_sends_last_hour: u64,
    pub sender_sends_today: u64,
    pub sender_recipients_today: u64,
    pub audience_sends_today: u64,
    /// Recipients reached by the whole organisation in the last hour.
    pub org_recipients_last_hour: u64,
    /// SMS parts the sends of the audience's unit produced this calendar month.
    #[serde(default)]
    pub unit_sms_segments_this_month: u64,
    /// The unit's own monthly SMS budget in cents, where one is set; else the organisation's.
    #[serde(default)]
    pub unit_sms_budget_cents: Option<u64>,
}

/// One person's approval of one exact content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub approver_id: i64,
    /// The approver's grants at the time of approving.
    pub approver_roles: Vec<RoleGrant>,
    pub content_hash: ContentHash,
}
