//! Addresses that take mail from the world: the one predicate both listeners ask before
//! anything else. Such an address is reachable without AUTH on the submission listener and is
//! the only kind the inbound listener (port 25) takes; every other address there is refused
//! with 550 5.7.1, so port 25 relays nothing and reaches no list.
//!
//! Today that is the VERP bounce address (`bounce+TOKEN@<list domain>`) with a token we
//! issued; further kinds (a group's contact address) are one more arm in
//! [`Ingress::world_recipient`] and one more branch in `accept_message`.

use super::{texts, Ingress};
use crate::smtp::{RcptOutcome, Reply};

impl Ingress {
    /// `Some` when `address` is of a kind that takes mail from the world, with the answer for
    /// it (a known one is `Accept { open: true }`; an unknown one of that kind is refused);
    /// `None` for every other address, which only an authenticated member may reach.
    pub(super) async fn world_recipient(&self, address: &str) -> Option<RcptOutcome> {
        let token = self.bounce_token(address)?;
        // Only tokens we issued: the bounce address is open to anyone, so it must not become
        // a way to reach (or probe) anything else.
        let known = self
            .store
            .delivery_token_known(&token.to_ascii_lowercase())
            .await;
        Some(match known {
            Ok(true) => RcptOutcome::Accept { open: true },
            Ok(false) => {
                RcptOutcome::Reject(Reply::new(550, (5, 1, 1), texts::unknown_list(address)))
            }
            Err(e) => {
                tracing::error!(event = "smtp.rcpt_error", error = %e);
                RcptOutcome::Reject(Reply::new(451, (4, 3, 0), texts::storage_failed()))
            }
        })
    }
}
