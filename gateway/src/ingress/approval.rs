//! Approving by email: an approver sends (through verteiler, authenticated with their own app
//! password) an empty message to `approve+ID@<list domain>`, or their reason to
//! `reject+ID@<list domain>`. Who decides is the authenticated person, never the From: line;
//! the store's four-eyes operations decide whether it counts.

use verteiler_policies::{format_count, Lang};
use verteiler_store::{ApprovalOutcome, StopOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

/// The verdict and send id an address names, if it is a decision address of our list domain.
pub fn decision_address(address: &str, list_domain: &str) -> Option<(Verdict, i64)> {
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(list_domain) {
        return None;
    }
    let (word, id) = local.split_once('+')?;
    let verdict = if word.eq_ignore_ascii_case("approve") {
        Verdict::Approve
    } else if word.eq_ignore_ascii_case("reject") {
        Verdict::Reject
    } else {
        return None;
    };
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    Some((verdict, id))
}

/// The reason a rejecting approver wrote: the text body up to the quoted request (lines
/// starting with `>`, or an "… wrote:" / "… schrieb:" line), trimmed.
pub fn comment(raw: &[u8]) -> String {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
        return String::new();
    };
    let text = message.body_text(0).unwrap_or_default();
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with('>') {
            // The attribution line above a quote ("Am … schrieb verteiler:") is not the reason.
            while kept.last().is_some_and(|l| l.trim().is_empty()) {
                kept.pop();
            }
            if kept.last().is_some_and(|l| l.ends_with(':')) {
                kept.pop();
            }
            break;
        }
        if line.trim_end() == "--" {
            break;
        }
        kept.push(line.trim_end());
    }
    kept.join("\n").trim().to_string()
}

/// The reply line for an approval, and whether it counted.
pub fn approve_line(
    send_id: i64,
    outcome: &ApprovalOutcome,
    undo_secs: u64,
    lang: Lang,
) -> (bool, String) {
    let minutes = undo_secs.div_ceil(60);
    match (outcome, lang) {
        (ApprovalOutcome::Released { recipients, .. }, Lang::De) => (
            true,
            format!(
                "Sendung {send_id} freigegeben: {} Empfänger, der Versand beginnt in {minutes} min",
                format_count(*recipients, lang)
            ),
        ),
        (ApprovalOutcome::Released { recipients, .. }, Lang::En) => (
            true,
            format!(
                "send {send_id} approved and released: {} recipients, delivery starts in {minutes} min",
                format_count(*recipients, lang)
            ),
        ),
        (ApprovalOutcome::Recorded { missing }, Lang::De) => (
            true,
            format!("Freigabe für Sendung {send_id} gezählt; es fehlen noch {missing}"),
        ),
        (ApprovalOutcome::Recorded { missing }, Lang::En) => (
            true,
            format!("approval of send {send_id} counted; {missing} more needed"),
        ),
        (ApprovalOutcome::Rejected { reasons }, _) => (
            false,
            reasons
                .iter()
                .map(|r| r.text(lang))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (ApprovalOutcome::Refused(refusal), _) => (false, refusal.text(lang)),
        (ApprovalOutcome::NotHeld { state }, _) => {
            (false, not_held(send_id, state.as_str(), lang))
        }
        (ApprovalOutcome::NotFound, _) => (false, not_found(send_id, lang)),
        (ApprovalOutcome::Undecidable, Lang::De) => (
            false,
            format!("Sendung {send_id} kann nicht erneut entschieden werden; bitte neu einreichen lassen"),
        ),
        (ApprovalOutcome::Undecidable, Lang::En) => (
            false,
            format!("send {send_id} cannot be decided again; it has to be submitted anew"),
        ),
    }
}

/// The reply line for a rejection, and whether it was carried out.
pub fn stop_line(send_id: i64, outcome: &StopOutcome, lang: Lang) -> (bool, String) {
    match (outcome, lang) {
        (StopOutcome::Stopped, Lang::De) => (
            true,
            format!("Sendung {send_id} abgelehnt; der Absender erhält Ihre Begründung"),
        ),
        (StopOutcome::Stopped, Lang::En) => (
            true,
            format!("send {send_id} rejected; the sender receives your reason"),
        ),
        (StopOutcome::CommentMissing, Lang::De) => (
            false,
            "Eine Ablehnung braucht eine Begründung im Text der Nachricht".into(),
        ),
        (StopOutcome::CommentMissing, Lang::En) => (
            false,
            "a rejection needs a reason in the text of the message".into(),
        ),
        (StopOutcome::Refused(refusal), _) => (false, refusal.text(lang)),
        (StopOutcome::NotSender, _) => (false, not_found(send_id, lang)),
        (StopOutcome::NotHeld { state }, _) => (false, not_held(send_id, state.as_str(), lang)),
        (StopOutcome::NotFound, _) => (false, not_found(send_id, lang)),
    }
}

fn not_held(send_id: i64, state: &str, lang: Lang) -> String {
    match lang {
        Lang::De => format!("Sendung {send_id} wartet nicht auf Freigabe (Zustand: {state})"),
        Lang::En => format!("send {send_id} is not waiting for approval (it is {state})"),
    }
}

fn not_found(send_id: i64, lang: Lang) -> String {
    match lang {
        Lang::De => format!("Es gibt keine Sendung {send_id}"),
        Lang::En => format!("there is no send {send_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decision_addresses_of_our_domain_with_an_id_count() {
        let d = "lists.example.org";
        assert_eq!(
            decision_address("approve+17@lists.example.org", d),
            Some((Verdict::Approve, 17))
        );
        assert_eq!(
            decision_address("Reject+3@LISTS.example.org", d),
            Some((Verdict::Reject, 3))
        );
        for other in [
            "approve+17@example.org",
            "approve@lists.example.org",
            "approve+x@lists.example.org",
            "approve+-1@lists.example.org",
            "bounce+17@lists.example.org",
            "oldenfelde@lists.example.org",
        ] {
            assert_eq!(decision_address(other, d), None, "{other}");
        }
    }

    #[test]
    fn the_comment_stops_at_the_quoted_request() {
        let raw = b"From: a@example.org\r\nSubject: Re: [Freigabe]\r\n\r\nBitte das Zitat pruefen.\r\nDanke\r\n\r\nAm 30.11. schrieb verteiler:\r\n> Renee moechte ...\r\n";
        assert_eq!(comment(raw), "Bitte das Zitat pruefen.\nDanke");
        let empty = b"From: a@example.org\r\n\r\n> only the quote\r\n";
        assert_eq!(comment(empty), "");
    }
}
