//! Persistence for verteiler on SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! The store holds the data **and every operation that changes it**: SMTP, portal, API and CLI
//! all call these same operations, so they can never disagree about the invariants. One set of
//! queries serves both databases through sqlx's `Any` driver; where the dialects differ the
//! query is chosen by [`Backend`].

mod admin;
mod approvals;
mod audiences;
mod audit;
mod audit_search;
mod breaker_holds;
mod clock;
mod credentials;
mod db;
mod deciders;
mod delivery_failures;
mod directory;
mod erasure;
mod expansion;
mod expansion_guard;
mod fact_cache;
mod facts;
mod from_name;
mod group_commit;
pub mod import;
pub mod intake;
mod invitations;
pub mod lists;
mod member_export;
mod members;
mod native_reads;
mod native_writer;
pub mod notices;
mod official_from;
mod own_sends;
mod portal_auth;
mod postal;
mod postal_access;
mod privacy;
pub mod progress;
mod provenance;
mod queue;
mod raw_kept;
mod redecide;
mod resolve;
mod retention;
mod sendable;
mod sender_standing;
mod sms_budgets;
mod sms_opt_out;
mod sms_receipts;
mod sql;
mod statement;
mod submissions;
pub mod testing;
mod unsubscribe;
mod usual_size;
mod verification_limits;
mod who_sent;

pub use admin::{AudiencePolicyChange, RoleHolder};
pub use approvals::{
    Actor, ApprovalOutcome, ApprovalRecord, ApprovalSettings, Approver, HeldSend, StopOutcome,
};
pub use audiences::{ApprovalSetting, Audience, AudienceSummary, Deactivation, NewAudience};
pub use audit::{AuditBreak, AuditEntry, AuditEvent, AuditVerification, GENESIS_HASH};
pub use audit_search::AuditQuery;
pub use breaker_holds::{BreakerHold, BreakerRelease, Resumed};
pub use clock::now_ms;
pub use credentials::{generate_app_password, hash_password, verify_password, AppPassword};
pub use db::{redact_url, Backend, Readiness, Store, StoreError};
pub use directory::{DirectoryCounts, NewMember, NewRole, NewUnit, Unit, UnitError};
pub use expansion::Expansion;
pub use expansion_guard::ExpansionSettings;
pub use fact_cache::FACT_CACHE_TTL;
pub use facts::{SenderProfile, Submission};
pub use group_commit::{SubmissionWriter, MAX_GROUP};
pub use invitations::{
    Invitation, InvitationMail, InviteReport, MailClientSetup, Officer, INVITE_LINK_TTL_MS,
};
pub use members::{
    ConfirmOutcome, Confirmable, ContactChange, ContactPoint, MemberOverview, PhoneOutcome,
    PortalMail, Reach, SubscribeOutcome, TopicList, UnitRef, CONFIRM_LINK_TTL_MS,
    PHONE_CODE_ATTEMPTS,
};
pub use own_sends::{CancelOutcome, OwnSend, OwnSubmission};
pub use portal_auth::{new_secret, PortalSession, SESSION_TTL_MS, SIGN_IN_LINK_TTL_MS};
pub use postal::{spreadsheet_cell, PostalList, PostalRecipient};
pub use postal_access::PostalAccess;
pub use privacy::{PrivacyKey, PrivacyKeyError, PRIVACY_KEY_BYTES};
pub use provenance::{copy_references, COPY_ID_TOKEN_CHARS};
pub use queue::{
    Attempt, BounceOutcome, ClaimedDelivery, ClaimedNotification, ClaimedText, DeliveryPause,
    DeliveryTotals, DueSend, QueueOverview, SendContent,
};
pub use raw_kept::REFUSED_HEADER_BYTES;
pub use resolve::{Recipient, RESOLVE_BATCH};
pub use retention::{Purged, PURGE_BATCH};
pub use sendable::{ChannelCounts, SendableAudience, SENDABLE_MAX};
pub use sms_budgets::SmsSpending;
pub use sms_opt_out::{is_stop, Inbound};
pub use sms_receipts::TextState;
pub use submissions::{
    Ingress, NewNotification, NewSend, NewSubmission, SendRecord, StoredSubmission,
    SubmissionRecord,
};
pub use unsubscribe::{UnsubscribeOutcome, UnsubscribePreview};
pub use usual_size::{lower_median, CountedSend, UsualSize, USUAL_SIZE_SENDS};
pub use verification_limits::{
    VerificationLimits, VerificationRefusal, VERIFICATION_SENDS_KEPT_MS,
};
pub use who_sent::{Happened, SendStory, SentBy, WhoAsker};
