//! A submitted message checked and prepared before the engine decides it: what RFC 6409 says
//! a submission agent must refuse is refused with the reason, the `From:` address must be the
//! sender's own or an official address they may use, and the message then shows the
//! directory's name in `From:` and has a `Date:` and a `Message-ID:` (the store's
//! [`intake::prepare`], shared with the portal's compose page).

use super::{summarise, texts, Ingress};
use crate::smtp::{Identity, Reply};
use verteiler_policies::Lang;
use verteiler_store::intake::{self, Prepared, Unfit};
use verteiler_store::StoreError;

/// A message ready to be decided.
pub(super) struct Ready {
    pub prepared: Prepared,
    /// The checked `From:` address.
    pub from: String,
    /// The display name `From:` shows now.
    pub from_name: String,
}

impl Ingress {
    /// The message `raw` of `identity` to `addresses`, ready to be decided, or the reply that
    /// refuses it.
    pub(super) async fn prepare(
        &self,
        identity: &Identity,
        addresses: &[String],
        raw: &[u8],
        lang: Lang,
    ) -> Result<Result<Ready, Reply>, StoreError> {
        let member = identity.member_id;
        if let Err(unfit) = intake::check_lines(raw) {
            tracing::info!(event = "smtp.message_refused", member, problem = %unfit);
            return Ok(Err(unfit_reply(&unfit, lang)));
        }
        let domain = &self.settings.list_domain;
        let summary = match summarise(raw, domain) {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(event = "smtp.message_refused", member, problem = %e);
                return Ok(Err(unreadable(&e, lang)));
            }
        };
        // The From: must be one of the person's own verified addresses, or an official address
        // of a list they may send to by role: no sending in somebody else's name, even with
        // valid credentials. An official address is then weighed list by list: it is good only
        // on the lists that carry it.
        let store = &self.store;
        let from = summary.from[0].clone();
        let sender = store.sender_profile(member).await?;
        let aligned = summary.from.len() == 1
            && (sender.owns_verified(&from) || store.may_send_as(member, &from).await?);
        if !aligned {
            tracing::info!(event = "smtp.from_not_aligned", member, from = %from);
            return Ok(Err(Reply::new(
                550,
                (5, 7, 1),
                texts::from_not_yours(&from, lang),
            )));
        }
        let from_name = store
            .from_display_name(member, &from, addresses, domain)
            .await?;
        match intake::prepare(raw, &from, &from_name, domain, verteiler_store::now_ms()) {
            Ok(prepared) => Ok(Ok(Ready {
                prepared,
                from,
                from_name,
            })),
            Err(e) => {
                tracing::info!(event = "smtp.message_refused", member, problem = %e);
                Ok(Err(unreadable(&e, lang)))
            }
        }
    }
}

fn unreadable(e: &intake::MessageError, lang: Lang) -> Reply {
    Reply::new(550, (5, 6, 0), texts::unreadable(&e.to_string(), lang))
}

/// A NUL byte or an overlong header line makes the message unusable as sent (554); an
/// overlong body line is the content's form, which the sender can change (550, saying how).
fn unfit_reply(unfit: &Unfit, lang: Lang) -> Reply {
    let code = match unfit {
        Unfit::NulByte { .. } | Unfit::LongHeaderLine { .. } => 554,
        Unfit::LongBodyLine { .. } => 550,
    };
    Reply::new(code, (5, 6, 0), unfit.text(lang))
}
