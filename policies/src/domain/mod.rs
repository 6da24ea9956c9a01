//! The organisation's vocabulary (see "Domain model" in `ARCHITECTURE.md`).
//!
//! Every type here is valid once constructed ("parse, don't validate"): the store and every
//! ingress turn text into these types at the boundary and work with them afterwards.

mod content_hash;
mod email;
mod kinds;
mod phone;
mod slug;
mod sms_text;

pub use content_hash::{ContentHash, InvalidContentHash};
pub use email::{EmailAddress, InvalidEmail};
pub use kinds::{
    AudienceKind, Category, Channel, ChannelPreference, ContactKind, MemberStatus, ReplyMode,
    RoleFunction, SubscriptionState, UnitKind, UnknownValue, VisibleRecipientsMode,
};
pub use phone::{InvalidPhone, PhoneNumber};
pub use slug::{slug_words, AudienceSlug, InvalidSlug};
pub use sms_text::{
    decode_gsm_unpacked, encode_gsm_unpacked, sms_rendering, SmsEncoding, SmsText,
    SMS_RENDERING_SEGMENTS,
};
