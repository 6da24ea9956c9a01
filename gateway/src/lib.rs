//! SMTP submission in, delivery out.
//!
//! `smtp/` holds the submission server (protocol only; decisions come from a
//! [`smtp::SessionHandler`]); `ingress` implements that handler over the store and the policy
//! engine. It depends on `store` and `policies`, never on `portal`.

pub mod delivery;
pub mod ingress;
pub mod sms;
pub mod smtp;
