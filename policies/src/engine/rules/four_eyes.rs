//! Rule 7, four eyes: the unapproved-post incident.
//!
//! An approval counts only when a different person, holding an approver function over the
//! audience, approved exactly this content. Enough approvals by distinct people lift the holds
//! a person may lift (the approval rule, blast radius, soft rate steps); they never lift a
//! rejection, and never the circuit breaker, which is the organisation's state, not this
//! message's.

use super::Ctx;
use crate::domain::RoleFunction;
use crate::engine::facts::{Approval, ApprovalRule, Facts};
use crate::engine::lang::{render, Arg, Lang};
use crate::engine::limits::OrgLimits;
use crate::engine::reasons::Reason;
use crate::engine::texts;

coded_enum! {
    /// Why one approval does not count; the four-eyes flow refuses the approver with it.
    pub enum ApprovalRefusal {
        /// There is no audience, so no scope an approver could hold.
        AudienceUnknown = "approval.audience_unknown" {},
        /// Separation of duties: nobody approves their own submission.
        OwnSubmission = "approval.own_submission" {},
        /// The approval is for other content: a changed message needs new approvals.
        ContentChanged = "approval.content_changed" {},
        NotInScope = "approval.not_in_scope" { audience: String, approvers: Vec<RoleFunction> },
        /// The same person approved this content already; approvals count per person.
        Duplicate = "approval.duplicate" {},
    }
}

impl ApprovalRefusal {
    pub fn text(&self, lang: Lang) -> String {
        let t = texts::template(self.code(), lang);
        match self {
            ApprovalRefusal::NotInScope {
                audience,
                approvers,
            } => render(
                t,
                lang,
                &[
                    ("audience", Arg::Text(audience)),
                    ("approvers", Arg::Functions(approvers)),
                ],
            ),
            ApprovalRefusal::AudienceUnknown {}
            | ApprovalRefusal::OwnSubmission {}
            | ApprovalRefusal::ContentChanged {}
            | ApprovalRefusal::Duplicate {} => t.to_string(),
        }
    }
}

/// Whether `approval` would count for the submission described by `facts`. Call it with a
/// new approval before recording it: one already in `facts.approvals` by the same person for
/// the same content is refused as a duplicate.
pub fn approval_validity(
    facts: &Facts,
    limits: &OrgLimits,
    approval: &Approval,
) -> Result<(), ApprovalRefusal> {
    let ctx = Ctx::new(facts, limits);
    if let Some(refusal) = refusal(&ctx, approval) {
        return Err(refusal);
    }
    let again = facts
        .approvals
        .iter()
        .any(|a| a.approver_id == approval.approver_id && a.content_hash == approval.content_hash);
    if again {
        return Err(ApprovalRefusal::Duplicate {});
    }
    Ok(())
}

/// Why an approval does not count on its own merits (duplicates are counted away separately).
fn refusal(ctx: &Ctx<'_>, approval: &Approval) -> Option<ApprovalRefusal> {
    let Some(audience) = ctx.audience else {
        return Some(ApprovalRefusal::AudienceUnknown {});
    };
    if approval.approver_id == ctx.facts.sender.member_id {
        return Some(ApprovalRefusal::OwnSubmission {});
    }
    if approval.content_hash != ctx.facts.message.content_hash {
        return Some(ApprovalRefusal::ContentChanged {});
    }
    let approvers = ctx.limits.approver_functions;
    let in_scope = approval
        .approver_roles
        .iter()
        .any(|grant| approvers.contains(&grant.function) && grant.covers(audience));
    if !in_scope {
        return Some(ApprovalRefusal::NotInScope {
            audience: audience.display_name.clone(),
            approvers: approvers.to_vec(),
        });
    }
    None
}

/// Distinct people whose approval counts.
fn valid_approvals(ctx: &Ctx<'_>) -> u32 {
    let mut approvers: Vec<i64> = ctx
        .facts
        .approvals
        .iter()
        .filter(|a| refusal(ctx, a).is_none())
        .map(|a| a.approver_id)
        .collect();
    approvers.sort_unstable();
    approvers.dedup();
    u32::try_from(approvers.len()).unwrap_or(u32::MAX)
}

/// Approvals the audience's own rule asks for, if it applies to this send.
fn required_by_rule(ctx: &Ctx<'_>) -> Option<u32> {
    let audience = ctx.audience?;
    let applies = match audience.policy.approval {
        ApprovalRule::Never => false,
        ApprovalRule::Always => true,
        ApprovalRule::AboveRecipients(n) => ctx.recipients()? > n,
    };
    applies.then_some(audience.policy.approvals_needed.max(1))
}

/// Weighs the approvals against the holds found so far: lifts the holds approvals may lift
/// when there are enough, otherwise adds `approval.required` where the rule asks for it.
/// Returns how many more approvals are missing (0: approvals cannot help any more).
pub(crate) fn apply(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) -> u32 {
    let by_rule = required_by_rule(ctx);
    let liftable = reasons.iter().any(Reason::cleared_by_approvals);
    if by_rule.is_none() && !liftable {
        return 0;
    }
    // A hold of another rule needs one approval; the audience's rule may ask for more.
    let needed = by_rule.unwrap_or(1);
    let valid = valid_approvals(ctx);
    if valid >= needed {
        reasons.retain(|r| !r.cleared_by_approvals());
        return 0;
    }
    if by_rule.is_some() {
        reasons.push(Reason::ApprovalRequired {
            audience: ctx.audience_name(),
            needed: needed.into(),
            valid: valid.into(),
            approvers: ctx.limits.approver_functions.to_vec(),
        });
    }
    needed - valid
}

#[cfg(test)]
mod tests {
    use super::ApprovalRefusal;
    use crate::domain::RoleFunction::{Board, Chair, PressOffice, Treasurer};
    use crate::engine::testing::{
        approval, audience_of, facts, grant, hash, BRANCH, DISTRICT, SENDER,
    };
    use crate::engine::{
        approval_validity, decide, ApprovalRule, Decision, Facts, Lang, OrgLimits,
    };

    /// The baseline, with the audience asking for `needed` press-office approvals on every send.
    fn always(needed: u32) -> Facts {
        let mut f = facts();
        let policy = &mut audience_of(&mut f).policy;
        policy.approval = ApprovalRule::Always;
        policy.approver_functions = vec![PressOffice];
        policy.approvals_needed = needed;
        f
    }

    fn press_officer(id: i64) -> crate::engine::Approval {
        approval(id, vec![grant(PressOffice, DISTRICT, true)], hash(1))
    }

    #[test]
    fn never_asks_for_nothing_and_always_holds_without_approvals() {
        assert!(decide(&facts(), &OrgLimits::default()).is_release());
        let d = decide(&always(1), &OrgLimits::default());
        let Decision::Hold {
            approvals_needed,
            approver_roles,
            ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(
            (*approvals_needed, approver_roles.as_slice()),
            (1, &[PressOffice][..])
        );
        assert_eq!(d.codes(), ["approval.required"]);
        let de = d.reasons()[0].text(Lang::De);
        assert_eq!(de, "Nachrichten an den Verteiler Ortsverein Oldenfelde müssen von 1 Person freigegeben werden, die sie nicht selbst verschickt hat (Pressestelle); gültige Freigaben bisher: 0.");
        let en = d.reasons()[0].text(Lang::En);
        assert_eq!(en, "Messages to the list Ortsverein Oldenfelde must be approved by 1 person other than the sender (press office); valid approvals so far: 0.");
    }

    #[test]
    fn above_n_recipients_asks_only_for_larger_sends() {
        let mut f = facts();
        audience_of(&mut f).policy.approval = ApprovalRule::AboveRecipients(210);
        assert!(decide(&f, &OrgLimits::default()).is_release());
        f.resolution.recipients = 211;
        assert_eq!(
            decide(&f, &OrgLimits::default()).codes(),
            ["approval.required"]
        );
    }

    #[test]
    fn a_second_person_in_scope_releases() {
        let mut f = always(1);
        f.approvals.push(press_officer(7));
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn two_approvals_by_the_same_person_count_once() {
        let mut f = always(2);
        f.approvals.extend([press_officer(7), press_officer(7)]);
        let d = decide(&f, &OrgLimits::default());
        let Decision::Hold {
            approvals_needed, ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(*approvals_needed, 1);
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("2 Personen freigegeben werden, die sie nicht selbst verschickt haben"));
        assert!(d
            .text(Lang::De)
            .ends_with("Es fehlt noch 1 Freigabe durch: Pressestelle."));
        f.approvals.push(press_officer(8));
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn the_senders_own_approval_does_not_count() {
        let mut f = always(1);
        f.sender.roles.push(grant(PressOffice, BRANCH, false));
        f.approvals
            .push(approval(SENDER, f.sender.roles.clone(), hash(1)));
        assert!(decide(&f, &OrgLimits::default()).is_hold());
        let refusal = approval_validity(&f, &OrgLimits::default(), &f.approvals[0]).unwrap_err();
        assert_eq!(refusal.code(), "approval.own_submission");
        assert!(refusal.text(Lang::De).contains("nicht selbst freigegeben"));
        assert!(refusal
            .text(Lang::En)
            .contains("cannot approve your own message"));
    }

    #[test]
    fn an_approval_of_other_content_does_not_count() {
        let mut f = always(1);
        let stale = approval(7, vec![grant(PressOffice, DISTRICT, true)], hash(2));
        assert_eq!(
            approval_validity(&f, &OrgLimits::default(), &stale)
                .unwrap_err()
                .code(),
            "approval.content_changed"
        );
        f.approvals.push(stale);
        assert!(decide(&f, &OrgLimits::default()).is_hold());
        let text = ApprovalRefusal::ContentChanged {}.text(Lang::En);
        assert!(text.contains("changed since it was approved"), "{text}");
        assert!(ApprovalRefusal::ContentChanged {}
            .text(Lang::De)
            .contains("seit der Freigabe geändert"));
    }

    #[test]
    fn an_approver_out_of_scope_or_of_another_function_does_not_count() {
        let f = always(1);
        let elsewhere = approval(7, vec![grant(PressOffice, 2000, true)], hash(1));
        let wrong_function = approval(8, vec![grant(Treasurer, BRANCH, true)], hash(1));
        for a in [&elsewhere, &wrong_function] {
            let refusal = approval_validity(&f, &OrgLimits::default(), a).unwrap_err();
            assert_eq!(refusal.code(), "approval.not_in_scope");
            assert!(
                refusal
                    .text(Lang::De)
                    .ends_with("freigeben dürfen: Pressestelle."),
                "{}",
                refusal.text(Lang::De)
            );
            assert!(refusal
                .text(Lang::En)
                .contains("approvals are given by: press office"));
        }
        let mut g = f.clone();
        g.approvals = vec![elsewhere, wrong_function];
        assert!(decide(&g, &OrgLimits::default()).is_hold());
    }

    #[test]
    fn approving_twice_is_refused_and_a_fresh_approval_is_valid() {
        let mut f = always(2);
        assert_eq!(
            approval_validity(&f, &OrgLimits::default(), &press_officer(7)),
            Ok(())
        );
        f.approvals.push(press_officer(7));
        let refusal = approval_validity(&f, &OrgLimits::default(), &press_officer(7)).unwrap_err();
        assert_eq!(refusal.code(), "approval.duplicate");
        assert!(refusal.text(Lang::De).contains("bereits freigegeben"));
        assert!(refusal.text(Lang::En).contains("already approved"));
    }

    #[test]
    fn nothing_can_be_approved_without_an_audience() {
        let mut f = facts();
        f.audience = None;
        let refusal = approval_validity(&f, &OrgLimits::default(), &press_officer(7)).unwrap_err();
        assert_eq!(refusal.code(), "approval.audience_unknown");
        assert!(refusal
            .text(Lang::De)
            .contains("keinen bekannten Verteiler"));
        assert!(refusal.text(Lang::En).contains("no known list"));
    }

    #[test]
    fn approvals_lift_blast_radius_and_soft_rate_holds() {
        let mut f = facts();
        f.resolution.recipients = 5_000;
        f.volume.sender_sends_last_hour = 10;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["blast_radius.above_usual", "rate.sender_hour"]);
        let Decision::Hold {
            approvals_needed,
            approver_roles,
            ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(
            (*approvals_needed, approver_roles.as_slice()),
            (1, &[Chair, crate::domain::RoleFunction::Admin][..])
        );
        f.approvals
            .push(approval(9, vec![grant(Chair, DISTRICT, true)], hash(1)));
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn approvals_never_lift_a_rejection_or_the_circuit_breaker() {
        let mut f = always(1);
        f.approvals.push(press_officer(7));
        f.message.visible_recipients = 50;
        assert!(decide(&f, &OrgLimits::default()).is_reject());
        f.message.visible_recipients = 0;
        f.volume.org_recipients_last_hour = 2_000_000;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["org.circuit_breaker"]);
        let Decision::Hold {
            approvals_needed, ..
        } = d
        else {
            panic!()
        };
        assert_eq!(approvals_needed, 0);
    }

    #[test]
    fn zero_approvals_needed_still_means_one() {
        let f = always(0);
        let Decision::Hold {
            approvals_needed, ..
        } = decide(&f, &OrgLimits::default())
        else {
            panic!()
        };
        assert_eq!(approvals_needed, 1);
    }

    #[test]
    fn approvers_default_to_the_organisation_when_the_policy_names_none() {
        let mut f = always(1);
        audience_of(&mut f).policy.approver_functions.clear();
        f.approvals
            .push(approval(7, vec![grant(Board, BRANCH, false)], hash(1)));
        assert!(decide(&f, &OrgLimits::default()).is_hold());
        f.approvals
            .push(approval(8, vec![grant(Chair, DISTRICT, true)], hash(1)));
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }
}
