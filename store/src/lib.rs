//! Persistence for verteiler on SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! The store holds the data **and every operation that changes it**: SMTP, portal, API and CLI
//! all call these same operations, so they can never disagree about the invariants. One set of
//! queries serves both databases through sqlx's `Any` driver; where the dialects differ the
//! query is chosen by [`Backend`].

mod access;
mod approvals;
mod audiences;
mod audit;
mod clock;
mod db;
pub mod directory;
mod gauges;
pub mod intake;
pub mod lists;
mod members;
pub mod notices;
mod postal;
mod privacy;
pub mod progress;
mod queue;
mod sms;
mod states;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use access::api_tokens::{
    ApiScope, ApiScopes, ApiToken, NewApiToken, ScopeError, TokenRefusal,
};
pub use access::credentials::{generate_app_password, hash_password, verify_password, AppPassword};
pub use access::idempotency::{IdempotencyStart, IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_TTL_MS};
pub use access::invitations::{
    Invitation, InvitationMail, InviteReport, MailClientSetup, Officer, INVITE_LINK_TTL_MS,
};
pub use access::sessions::{new_secret, PortalSession, SESSION_TTL_MS, SIGN_IN_LINK_TTL_MS};
pub use access::verification_limits::{
    VerificationLimits, VerificationRefusal, VERIFICATION_SENDS_KEPT_MS,
};
pub use approvals::breaker_holds::{BreakerHold, BreakerRelease, Resumed};
pub use approvals::{
    Actor, ApprovalOutcome, ApprovalRecord, ApprovalSettings, Approver, HeldSend, StopOutcome,
};
pub use audiences::definitions::{
    ApprovalSetting, Audience, AudienceSummary, Deactivation, NewAudience,
};
pub use audiences::policy_change::AudiencePolicyChange;
pub use audiences::resolve::{Recipient, RESOLVE_BATCH};
pub use audiences::sendable::{ChannelCounts, SendableAudience, SENDABLE_MAX};
pub use audiences::unsubscribe::{UnsubscribeOutcome, UnsubscribePreview};
pub use audiences::usual_size::{lower_median, CountedSend, UsualSize, USUAL_SIZE_SENDS};
pub use audit::log::{AuditBreak, AuditEntry, AuditEvent, AuditVerification, GENESIS_HASH};
pub use audit::provenance::{copy_references, COPY_ID_TOKEN_CHARS};
pub use audit::search::AuditQuery;
pub use audit::who_sent::{Happened, SendStory, SentBy, WhoAsker};
pub use clock::now_ms;
pub use db::backup::{Backup, BackupError};
pub use db::{redact_url, Backend, Readiness, Store, StoreError};
pub use directory::roles::RoleHolder;
pub use directory::{DirectoryCounts, NewMember, NewRole, NewUnit, Unit, UnitError};
pub use gauges::Gauges;
pub use intake::fact_cache::FACT_CACHE_TTL;
pub use intake::facts::{SenderProfile, Submission};
pub use intake::group_commit::{SubmissionWriter, MAX_GROUP};
pub use intake::own_sends::{CancelOutcome, OwnSend, OwnSubmission};
pub use intake::submissions::{
    NewNotification, NewSend, NewSubmission, Origin, SendRecord, StoredSubmission, SubmissionRecord,
};
pub use members::{
    ConfirmOutcome, Confirmable, ContactChange, ContactPoint, MemberOverview, PhoneOutcome,
    PortalMail, Reach, SubscribeOutcome, TopicList, UnitRef, CONFIRM_LINK_TTL_MS,
    PHONE_CODE_ATTEMPTS,
};
pub use postal::access::PostalAccess;
pub use postal::list::{spreadsheet_cell, PostalList, PostalRecipient};
pub use privacy::key::{PrivacyKey, PrivacyKeyError, PRIVACY_KEY_BYTES};
pub use privacy::raw_kept::REFUSED_HEADER_BYTES;
pub use privacy::retention::{Purged, PURGE_BATCH};
pub use queue::expand::Expansion;
pub use queue::expansion_guard::ExpansionSettings;
pub use queue::{
    Attempt, BounceOutcome, ClaimedDelivery, ClaimedNotification, ClaimedText, CopyBounce,
    CopyRecord, DeliveryPause, DeliveryTotals, DueSend, InstanceLock, Purge, QueueOverview,
    Reclaimed, RequeueScope, SendContent,
};
pub use sms::budgets::SmsSpending;
pub use sms::opt_out::{is_stop, Inbound};
pub use sms::receipts::TextState;
pub use states::{DeliveryState, RawState, SendState, StateNow, SubscriptionState, TextReceipt};
