//! The engine's verdict on one submission.

use super::lang::{render, Arg, Lang};
use super::reasons::{Reason, Severity};
use super::texts;
use crate::domain::RoleFunction;
use serde::{Deserialize, Serialize};

/// What delivery does with the To/Cc headers the sender wrote. The list copies themselves are
/// always addressed to the list or the one recipient (Bcc-only); this is only about addresses
/// the sender typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderTreatment {
    /// Few enough visible addresses: headers go out as written.
    Keep,
    /// The audience's policy says "rewrite": each copy goes out with To: the recipient alone
    /// and no Cc, so nobody sees the addresses the sender put there.
    RewriteToRecipient,
}

/// The verdict. A submission is released only when no reason at all applies.
///
/// Reject wins over Hold: when any reason rejects, the decision is `Reject` listing every
/// rejecting reason, and the hold reasons are left out. They would tell the sender "held for
/// approval" about a message that is not going anywhere; once the message is fixed and sent
/// again, the engine reports them then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Deliver now. Only a fresh decision may release: a held submission is decided again with
    /// its approvals, and the `headers` of that decision are the ones delivery applies.
    Release { headers: HeaderTreatment },
    /// Wait. `approvals_needed` is how many more distinct valid approvals by holders of one of
    /// `approver_roles` (in scope) release it; 0 means approvals cannot help, because only
    /// the circuit breaker is left and an admin has to release the send.
    Hold {
        reasons: Vec<Reason>,
        approvals_needed: u32,
        approver_roles: Vec<RoleFunction>,
    },
    /// Refused for good; the SMTP reply is a 5xx carrying every reason.
    Reject { reasons: Vec<Reason> },
}

impl Decision {
    pub fn is_release(&self) -> bool {
        matches!(self, Decision::Release { .. })
    }

    pub fn is_hold(&self) -> bool {
        matches!(self, Decision::Hold { .. })
    }

    pub fn is_reject(&self) -> bool {
        matches!(self, Decision::Reject { .. })
    }

    /// The reasons, empty for a release.
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Decision::Release { .. } => &[],
            Decision::Hold { reasons, .. } | Decision::Reject { reasons } => reasons,
        }
    }

    pub fn codes(&self) -> Vec<&'static str> {
        self.reasons().iter().map(Reason::code).collect()
    }

    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons().iter().any(|r| r.code() == code)
    }

    /// One line per reason, then what happened to the message (and who can approve it): the
    /// lines of a multi-line SMTP reply.
    pub fn lines(&self, lang: Lang) -> Vec<String> {
        let mut lines: Vec<String> = self.reasons().iter().map(|r| r.text(lang)).collect();
        match self {
            Decision::Release { .. } => {
                lines.push(texts::template("decision.released", lang).to_string())
            }
            Decision::Reject { .. } => {
                lines.push(texts::template("decision.rejected", lang).to_string())
            }
            Decision::Hold {
                approvals_needed: 0,
                ..
            } => lines.push(texts::template("decision.held.admin", lang).to_string()),
            Decision::Hold {
                approvals_needed,
                approver_roles,
                ..
            } => {
                lines.push(texts::template("decision.held", lang).to_string());
                let args = [
                    ("missing", Arg::Count(u64::from(*approvals_needed))),
                    ("approvers", Arg::Functions(approver_roles)),
                ];
                lines.push(render(
                    texts::template("decision.held.approvals", lang),
                    lang,
                    &args,
                ));
            }
        }
        lines
    }

    /// The whole explanation as one paragraph.
    pub fn text(&self, lang: Lang) -> String {
        self.lines(lang).join(" ")
    }
}

/// Turns the reasons found into a verdict: Reject if any rejects, else Hold if any remains,
/// else Release.
pub(crate) fn conclude(
    reasons: Vec<Reason>,
    approvals_needed: u32,
    approver_roles: &[RoleFunction],
    headers: HeaderTreatment,
) -> Decision {
    if reasons.iter().any(|r| r.severity() == Severity::Reject) {
        let reasons = reasons
            .into_iter()
            .filter(|r| r.severity() == Severity::Reject)
            .collect();
        return Decision::Reject { reasons };
    }
    if reasons.is_empty() {
        return Decision::Release { headers };
    }
    let approver_roles = if approvals_needed == 0 {
        Vec::new()
    } else {
        approver_roles.to_vec()
    };
    Decision::Hold {
        reasons,
        approvals_needed,
        approver_roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above_usual() -> Reason {
        Reason::BlastRadiusAboveUsual {
            audience: "Distrikt Oldenfelde".into(),
            recipients: 365_120,
            usual: 212,
            hold_above: 338,
        }
    }

    #[test]
    fn a_reject_drops_the_hold_reasons_and_keeps_every_rejecting_one() {
        let reasons = vec![
            above_usual(),
            Reason::MessageSize {
                bytes: 20_000_000,
                limit: 10_000_000,
            },
            Reason::VisibleRecipients {
                visible: 40,
                limit: 10,
            },
        ];
        let d = conclude(reasons, 1, &[RoleFunction::Chair], HeaderTreatment::Keep);
        assert_eq!(d.codes(), ["size.message", "recipients.visible"]);
        assert!(d.is_reject());
    }

    #[test]
    fn no_reason_means_release_with_the_header_treatment() {
        let d = conclude(Vec::new(), 0, &[], HeaderTreatment::RewriteToRecipient);
        assert_eq!(
            d,
            Decision::Release {
                headers: HeaderTreatment::RewriteToRecipient
            }
        );
        assert!(d.reasons().is_empty());
    }

    #[test]
    fn the_held_text_reads_as_in_the_issue_and_names_the_approvers() {
        let d = conclude(
            vec![above_usual()],
            1,
            &[RoleFunction::Chair, RoleFunction::Admin],
            HeaderTreatment::Keep,
        );
        let de = d.text(Lang::De);
        assert!(
            de.starts_with("Diese Nachricht würde 365.120 Mitglieder erreichen; der Verteiler Distrikt Oldenfelde hat üblicherweise 212. Die Nachricht wurde zur Freigabe zurückgehalten."),
            "{de}"
        );
        assert!(
            de.ends_with("Es fehlt noch 1 Freigabe durch: Vorsitz oder Administration."),
            "{de}"
        );
        let en = d.text(Lang::En);
        assert!(en.starts_with("This message would reach 365,120 members; the list Distrikt Oldenfelde usually has 212."), "{en}");
        assert!(
            en.ends_with("1 more approval needed from: chair or administrators."),
            "{en}"
        );
    }

    #[test]
    fn a_hold_no_approval_can_lift_says_an_admin_must_release_it() {
        let reason = Reason::CircuitBreaker {
            recipients: 1_200_000,
            limit: 1_000_000,
        };
        let d = conclude(
            vec![reason],
            0,
            &[RoleFunction::Chair],
            HeaderTreatment::Keep,
        );
        let Decision::Hold { approver_roles, .. } = &d else {
            panic!("{d:?}")
        };
        assert!(approver_roles.is_empty());
        assert!(d
            .text(Lang::De)
            .ends_with("bis die Administration sie freigibt."));
        assert!(d
            .text(Lang::En)
            .ends_with("until an administrator releases it."));
        assert!(d.text(Lang::En).contains("1,200,000"));
    }

    #[test]
    fn a_rejection_ends_with_not_sent() {
        let d = conclude(
            vec![Reason::AudienceEmpty {
                audience: "AG Umwelt".into(),
            }],
            0,
            &[],
            HeaderTreatment::Keep,
        );
        assert_eq!(
            d.lines(Lang::De).last().unwrap(),
            "Die Nachricht wurde nicht verschickt."
        );
        assert_eq!(
            d.lines(Lang::En).last().unwrap(),
            "The message has not been sent."
        );
    }
}
