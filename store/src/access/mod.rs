//! Who may come in and how: portal sessions and sign-in links, app passwords, invitations for
//! officers, and the limits on verification codes and links.

pub(crate) mod api_tokens;
pub(crate) mod credentials;
pub(crate) mod idempotency;
pub(crate) mod invitations;
pub(crate) mod sessions;
pub(crate) mod verification_limits;
