//! Approving by email: an approver sends (through verteiler, authenticated with their own app
//! password) an empty message to `approve+ID@<list domain>`, or their reason to
//! `reject+ID@<list domain>`. Who decides is the authenticated person, never the From: line;
//! the store's four-eyes operations decide whether it counts.

use verteiler_policies::Lang;
use verteiler_store::{ApprovalOutcome, StopOutcome};
use verteiler_texts::{render, text, Arg};

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
    // Send ids and minutes are plain numbers in these lines, never grouped like amounts.
    let id = send_id.to_string();
    let id = ("send_id", Arg::Text(&id));
    match outcome {
        ApprovalOutcome::Released { recipients, .. } => {
            let minutes = undo_secs.div_ceil(60).to_string();
            let args = [
                id,
                ("recipients", Arg::Count(*recipients)),
                ("minutes", Arg::Text(&minutes)),
            ];
            (true, render(lang, "smtp.approval.released", &args))
        }
        ApprovalOutcome::Recorded { missing } => {
            let missing = missing.to_string();
            let args = [id, ("missing", Arg::Text(&missing))];
            (true, render(lang, "smtp.approval.recorded", &args))
        }
        ApprovalOutcome::Rejected { reasons } => (
            false,
            reasons
                .iter()
                .map(|r| r.text(lang))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ApprovalOutcome::Refused(refusal) => (false, refusal.text(lang)),
        ApprovalOutcome::NotHeld { state } => (false, not_held(send_id, state.as_str(), lang)),
        ApprovalOutcome::NotFound => (false, not_found(send_id, lang)),
        ApprovalOutcome::Undecidable => (false, render(lang, "smtp.approval.undecidable", &[id])),
    }
}

/// The reply line for a rejection, and whether it was carried out.
pub fn stop_line(send_id: i64, outcome: &StopOutcome, lang: Lang) -> (bool, String) {
    match outcome {
        StopOutcome::Stopped => {
            let id = send_id.to_string();
            let args = [("send_id", Arg::Text(&id))];
            (true, render(lang, "smtp.approval.stopped", &args))
        }
        StopOutcome::CommentMissing => (false, text(lang, "smtp.approval.comment_missing").into()),
        StopOutcome::Refused(refusal) => (false, refusal.text(lang)),
        StopOutcome::NotSender => (false, not_found(send_id, lang)),
        StopOutcome::NotHeld { state } => (false, not_held(send_id, state.as_str(), lang)),
        StopOutcome::NotFound => (false, not_found(send_id, lang)),
    }
}

fn not_held(send_id: i64, state: &str, lang: Lang) -> String {
    let id = send_id.to_string();
    let args = [("send_id", Arg::Text(&id)), ("state", Arg::Text(state))];
    render(lang, "smtp.approval.not_held", &args)
}

fn not_found(send_id: i64, lang: Lang) -> String {
    let id = send_id.to_string();
    render(
        lang,
        "smtp.approval.not_found",
        &[("send_id", Arg::Text(&id))],
    )
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
