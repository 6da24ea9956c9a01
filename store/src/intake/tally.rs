//! Counters of what intake decided, for `/metrics`: one per stored decision (by outcome) and one
//! per reason given (by outcome and the reason's stable code), and the refusals that came before
//! any list was asked. Labels are codes from fixed sets, never an address or a list.

use super::operation::Refusal;
use super::DecidedSend;
use verteiler_policies::Decision;

/// The outcome label of a decision.
fn outcome(decision: &Decision) -> &'static str {
    match decision {
        Decision::Release { .. } => "release",
        Decision::Hold { .. } => "hold",
        Decision::Reject { .. } => "reject",
    }
}

/// Counts the decisions of a stored submission.
pub(super) fn count_decisions(decided: &[DecidedSend]) {
    for send in decided {
        let outcome = outcome(&send.decision);
        metrics::counter!("verteiler_decisions_total", "outcome" => outcome).increment(1);
        for code in send.decision.codes() {
            metrics::counter!("verteiler_decision_reasons_total",
                "outcome" => outcome, "reason" => code)
            .increment(1);
        }
    }
}

/// Counts a message refused before any decision, or throttled after too many refusals.
pub(super) fn count_refused(refusal: Option<&Refusal>) {
    let reason = match refusal {
        Some(Refusal::Unfit(_)) => "unfit",
        Some(Refusal::Unreadable(_)) => "unreadable",
        Some(Refusal::FromNotYours { .. }) => "from_not_yours",
        None => "throttled",
    };
    metrics::counter!("verteiler_intake_refusals_total", "reason" => reason).increment(1);
}
