//! The three incidents of `ARCHITECTURE.md`, replayed against the engine. Each test is named after
//! the incident and fails if the engine would let it happen again.

mod support;

use support::{grant, hash, submission, Tree};
use verteiler_policies::{
    decide, Approval, ApprovalRule, Category, Decision, HeaderTreatment, Lang, OrgLimits,
    RoleFunction, VisibleRecipientsMode,
};

const WHOLE_ORGANISATION: u64 = 365_120;

/// federal (0) → state (1) → district (2) → branch Oldenfelde (3); county office (4) under the
/// state.
fn organisation() -> Tree {
    Tree {
        parents: vec![None, Some(0), Some(1), Some(2), Some(1)],
    }
}

const FEDERAL: usize = 0;
const BRANCH: usize = 3;
const COUNTY: usize = 4;

mod incident_1_silent_broadening {
    use super::*;

    const CHAIR: i64 = 4711;

    fn invitation_by_the_branch_chair() -> verteiler_policies::Facts {
        let tree = organisation();
        let roles = vec![grant(RoleFunction::Chair, tree.unit_id(BRANCH), false)];
        let mut facts = submission(&tree, BRANCH, CHAIR, roles, 212);
        let audience = facts.audience.as_mut().expect("audience");
        audience.display_name = "Ortsverein Oldenfelde".into();
        facts
    }

    #[test]
    fn the_invitation_to_the_branch_goes_out_as_usual() {
        assert!(decide(&invitation_by_the_branch_chair(), &OrgLimits::default()).is_release());
    }

    #[test]
    fn deactivated_target_group_resolving_to_the_whole_organisation_is_rejected() {
        let mut facts = invitation_by_the_branch_chair();
        facts.audience.as_mut().expect("audience").active = false;
        facts.resolution.recipients = WHOLE_ORGANISATION;
        facts.resolution.outside_scope = WHOLE_ORGANISATION - 212;
        let decision = decide(&facts, &OrgLimits::default());
        assert!(decision.is_reject(), "{decision:?}");
        assert!(decision.has_reason("audience.inactive"), "{decision:?}");
        assert!(decision.has_reason("audience.out_of_scope"), "{decision:?}");
        let de = decision.text(Lang::De);
        assert!(de.contains("Ortsverein Oldenfelde ist deaktiviert"), "{de}");
        assert!(
            de.contains("364.908 Empfänger außerhalb seines Bereichs"),
            "{de}"
        );
        assert!(
            de.ends_with("Die Nachricht wurde nicht verschickt."),
            "{de}"
        );
    }

    #[test]
    fn an_active_group_that_suddenly_resolves_to_everyone_is_rejected_not_held() {
        let mut facts = invitation_by_the_branch_chair();
        facts.resolution.recipients = WHOLE_ORGANISATION;
        facts.resolution.outside_scope = WHOLE_ORGANISATION - 212;
        let decision = decide(&facts, &OrgLimits::default());
        assert!(decision.is_reject(), "{decision:?}");
        assert!(decision.has_reason("audience.out_of_scope"));
    }

    #[test]
    fn a_broadening_inside_the_scope_is_still_held_by_the_blast_radius() {
        let mut facts = invitation_by_the_branch_chair();
        facts.resolution.recipients = 40_000;
        let decision = decide(&facts, &OrgLimits::default());
        assert!(decision.is_hold(), "{decision:?}");
        assert!(decision.has_reason("blast_radius.above_usual"));
    }

    #[test]
    fn a_missing_target_group_is_never_replaced_by_another() {
        let mut facts = invitation_by_the_branch_chair();
        facts.audience = None;
        facts.resolution.recipients = WHOLE_ORGANISATION;
        let decision = decide(&facts, &OrgLimits::default());
        assert_eq!(decision.codes(), ["audience.unknown"]);
    }

    #[test]
    fn a_target_group_that_cannot_be_resolved_is_rejected() {
        let mut facts = invitation_by_the_branch_chair();
        facts.resolution.error = Some("target group definition missing".into());
        facts.resolution.recipients = WHOLE_ORGANISATION;
        let decision = decide(&facts, &OrgLimits::default());
        assert_eq!(decision.codes(), ["audience.unresolvable"]);
    }
}

mod incident_2_open_to_line {
    use super::*;

    fn cancellation_by_the_county_office(visible: u32) -> verteiler_policies::Facts {
        let tree = organisation();
        let roles = vec![grant(RoleFunction::Secretary, tree.unit_id(COUNTY), false)];
        let mut facts = submission(&tree, COUNTY, 815, roles, 1_493);
        let audience = facts.audience.as_mut().expect("audience");
        audience.display_name = "Kreisverband Impftermine".into();
        audience
            .policy
            .sender_functions
            .push(RoleFunction::Secretary);
        facts.message.visible_recipients = visible;
        facts
    }

    #[test]
    fn one_thousand_four_hundred_ninety_three_addresses_in_to_are_rejected() {
        let decision = decide(
            &cancellation_by_the_county_office(1_493),
            &OrgLimits::default(),
        );
        assert!(decision.is_reject(), "{decision:?}");
        assert_eq!(decision.codes(), ["recipients.visible"]);
        let de = decision.text(Lang::De);
        assert!(de.contains("1.493 Adressen offen in An/Cc"), "{de}");
        assert!(
            de.contains("jede Empfängerin und jeder Empfänger würde alle anderen Adressen sehen"),
            "{de}"
        );
        assert!(de.contains("Verteileradresse oder Bcc"), "{de}");
        let en = decision.text(Lang::En);
        assert!(en.contains("1,493 addresses openly in To/Cc"), "{en}");
    }

    #[test]
    fn the_same_mail_through_the_list_address_goes_out_bcc_only() {
        let decision = decide(&cancellation_by_the_county_office(0), &OrgLimits::default());
        assert_eq!(
            decision,
            Decision::Release {
                headers: HeaderTreatment::Keep
            }
        );
    }

    #[test]
    fn an_audience_set_to_rewrite_delivers_one_by_one() {
        let mut facts = cancellation_by_the_county_office(1_493);
        facts
            .audience
            .as_mut()
            .expect("audience")
            .policy
            .visible_recipients = VisibleRecipientsMode::Rewrite;
        let decision = decide(&facts, &OrgLimits::default());
        assert_eq!(
            decision,
            Decision::Release {
                headers: HeaderTreatment::RewriteToRecipient
            }
        );
    }
}

mod incident_3_unapproved_post {
    use super::*;

    const AUTHOR: i64 = 100;
    const SECOND_PRESS_OFFICER: i64 = 200;

    fn press_officer_roles() -> Vec<verteiler_policies::RoleGrant> {
        vec![grant(
            RoleFunction::PressOffice,
            organisation().unit_id(FEDERAL),
            true,
        )]
    }

    fn official_statement() -> verteiler_policies::Facts {
        let tree = organisation();
        let mut facts = submission(&tree, FEDERAL, AUTHOR, press_officer_roles(), 48_000);
        let audience = facts.audience.as_mut().expect("audience");
        audience.display_name = "Pressemitteilungen".into();
        audience.category = Category::Announcement;
        audience.policy.sender_functions = vec![RoleFunction::PressOffice];
        audience.policy.approval = ApprovalRule::Always;
        audience.policy.approver_functions = vec![RoleFunction::PressOffice];
        audience.policy.approvals_needed = 1;
        facts
    }

    fn approval_by(approver_id: i64, content: u8) -> Approval {
        Approval {
            approver_id,
            approver_roles: press_officer_roles(),
            content_hash: hash(content),
        }
    }

    #[test]
    fn an_official_statement_without_approval_is_held() {
        let decision = decide(&official_statement(), &OrgLimits::default());
        let Decision::Hold {
            approvals_needed,
            approver_roles,
            ..
        } = &decision
        else {
            panic!("expected a hold: {decision:?}")
        };
        assert_eq!(*approvals_needed, 1);
        assert_eq!(approver_roles, &[RoleFunction::PressOffice]);
        assert_eq!(decision.codes(), ["approval.required"]);
        assert!(decision
            .text(Lang::De)
            .ends_with("Es fehlt noch 1 Freigabe durch: Pressestelle."));
    }

    #[test]
    fn approved_by_the_author_it_is_still_held() {
        let mut facts = official_statement();
        facts.approvals.push(approval_by(AUTHOR, 1));
        assert!(decide(&facts, &OrgLimits::default()).is_hold());
    }

    #[test]
    fn approved_by_a_second_press_officer_it_is_released() {
        let mut facts = official_statement();
        facts.approvals.push(approval_by(AUTHOR, 1));
        facts.approvals.push(approval_by(SECOND_PRESS_OFFICER, 1));
        assert!(decide(&facts, &OrgLimits::default()).is_release());
    }

    #[test]
    fn changed_after_approval_it_is_held_again() {
        let mut facts = official_statement();
        facts.approvals.push(approval_by(SECOND_PRESS_OFFICER, 1));
        facts.message.content_hash = hash(2);
        assert!(decide(&facts, &OrgLimits::default()).is_hold());
    }
}
