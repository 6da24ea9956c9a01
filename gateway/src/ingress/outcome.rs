//! The SMTP reply to the store's intake outcome: a refusal before any decision with its
//! enhanced status code, the refused-flood throttle as a temporary failure, and the decisions
//! of a stored message one statement per line (RFC 5321 caps a reply line at 512 octets, and
//! a mail client shows each line of a multi-line reply separately).

use super::texts;
use crate::smtp::Reply;
use verteiler_policies::Lang;
use verteiler_store::intake::{Answer, IntakeOutcome, Refusal, Stored, Unfit};

/// The reply that tells the sender what became of their message.
pub(super) fn reply(answer: &Answer, member: i64, undo_window_secs: u64) -> Reply {
    let lang = answer.lang;
    match &answer.outcome {
        IntakeOutcome::Refused(refusal) => refused(refusal, member, lang),
        IntakeOutcome::Throttled { limit } => {
            Reply::new(451, (4, 7, 1), texts::too_many_refused(*limit, lang))
        }
        IntakeOutcome::Stored(stored) => decided(stored, member, undo_window_secs, lang),
        // SMTP always submits; a check has nothing to reply.
        IntakeOutcome::Checked { .. } => Reply::new(451, (4, 3, 0), texts::storage_failed()),
    }
}

fn refused(refusal: &Refusal, member: i64, lang: Lang) -> Reply {
    match refusal {
        Refusal::Unfit(unfit) => {
            tracing::info!(event = "smtp.message_refused", member, problem = %unfit);
            unfit_reply(unfit, lang)
        }
        Refusal::Unreadable(e) => {
            tracing::info!(event = "smtp.message_refused", member, problem = %e);
            Reply::new(550, (5, 6, 0), texts::unreadable(&e.to_string(), lang))
        }
        Refusal::FromNotYours { from } => {
            tracing::info!(event = "smtp.from_not_aligned", member, from = %from);
            Reply::new(550, (5, 7, 1), texts::from_not_yours(from, lang))
        }
    }
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

fn decided(stored: &Stored, member: i64, undo_window_secs: u64, lang: Lang) -> Reply {
    let mut lines: Vec<String> = stored
        .decided
        .iter()
        .flat_map(|d| d.lines(undo_window_secs, lang))
        .collect();
    if let Some(replaced) = &stored.replaced_name {
        lines.push(texts::from_name_replaced(
            &replaced.submitted,
            &replaced.shown,
            lang,
        ));
    }
    let all_rejected = stored.all_rejected();
    tracing::info!(
        event = if all_rejected {
            "policy.rejected"
        } else {
            "smtp.accepted"
        },
        submission_id = stored.submission_id,
        member,
        audiences = stored.decided.len(),
    );
    if all_rejected {
        Reply::multiline(550, (5, 7, 1), lines)
    } else {
        Reply::multiline(250, (2, 0, 0), lines)
    }
}
