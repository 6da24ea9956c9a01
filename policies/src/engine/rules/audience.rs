//! Rule 2, fail-closed audiences: the silent-broadening incident.
//!
//! A missing, deactivated, empty or unresolvable audience is refused; so is a resolution that
//! reached anybody outside the declared scope, and a held send whose audience was redefined
//! after it was submitted. This rule only ever adds rejecting reasons,
//! and the engine has no other path for an audience, so nothing here can widen a send.

use super::Ctx;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    let Some(audience) = ctx.audience else {
        reasons.push(Reason::AudienceUnknown {
            address: ctx.facts.audience_address.clone(),
        });
        return;
    };
    let name = || audience.display_name.clone();
    if !audience.active {
        reasons.push(Reason::AudienceInactive { audience: name() });
    }
    if ctx.facts.audience_redefined {
        // What the sender addressed (and the approvers were shown) is gone: no approval turns
        // a send to the old definition into one to the new.
        reasons.push(Reason::AudienceRedefined { audience: name() });
    }
    let resolution = &ctx.facts.resolution;
    if let Some(error) = &resolution.error {
        // The counts of a failed resolution mean nothing; report the failure alone.
        reasons.push(Reason::AudienceUnresolvable {
            audience: name(),
            error: error.clone(),
        });
        return;
    }
    if resolution.recipients == 0 {
        reasons.push(Reason::AudienceEmpty { audience: name() });
    }
    if resolution.outside_scope > 0 {
        reasons.push(Reason::AudienceOutOfScope {
            audience: name(),
            recipients: resolution.recipients,
            outside_scope: resolution.outside_scope,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::{audience_of, facts};
    use crate::engine::{decide, Lang, OrgLimits};

    #[test]
    fn an_unknown_address_is_rejected_and_named() {
        let mut f = facts();
        f.audience = None;
        f.audience_address = "ov-oldenfeld@lists.example.org".into();
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_reject());
        assert_eq!(d.codes(), ["audience.unknown"]);
        let de = d.reasons()[0].text(Lang::De);
        assert_eq!(
            de,
            "Die Adresse ov-oldenfeld@lists.example.org gehört zu keinem Verteiler."
        );
        let en = d.reasons()[0].text(Lang::En);
        assert_eq!(
            en,
            "The address ov-oldenfeld@lists.example.org does not belong to any list."
        );
    }

    #[test]
    fn a_deactivated_audience_is_rejected_even_when_it_resolves() {
        let mut f = facts();
        audience_of(&mut f).active = false;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["audience.inactive"]);
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("Ortsverein Oldenfelde ist deaktiviert"));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("no other list is used in its place"));
    }

    #[test]
    fn a_held_send_whose_audience_was_redefined_is_refused_whatever_the_approvals() {
        let mut f = facts();
        f.audience_redefined = true;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["audience.redefined"]);
        assert!(!d.reasons()[0].cleared_by_approvals());
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("was changed after this message was submitted"));
    }

    #[test]
    fn an_empty_audience_is_rejected() {
        let mut f = facts();
        f.resolution.recipients = 0;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["audience.empty"]);
        assert!(d.reasons()[0].text(Lang::De).contains("keine Empfänger"));
        assert!(d.reasons()[0].text(Lang::En).contains("no recipients"));
    }

    #[test]
    fn a_failed_resolution_is_rejected_whatever_the_counts_say() {
        let mut f = facts();
        f.resolution.error = Some("unit 1000 has no members table".into());
        f.resolution.recipients = 0;
        f.resolution.outside_scope = 5;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["audience.unresolvable"]);
        let de = d.reasons()[0].text(Lang::De);
        assert!(
            de.contains("konnten nicht ermittelt werden (unit 1000 has no members table)"),
            "{de}"
        );
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("could not be determined"));
    }

    #[test]
    fn a_single_recipient_outside_the_scope_rejects_the_send() {
        let mut f = facts();
        f.resolution.recipients = 1_211;
        f.resolution.outside_scope = 1_001;
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_reject());
        assert!(d.has_reason("audience.out_of_scope"));
        let de = d.reasons()[0].text(Lang::De);
        assert!(
            de.contains("1.001 Empfänger außerhalb seines Bereichs erreichen (1.211 insgesamt)"),
            "{de}"
        );
        let en = d.reasons()[0].text(Lang::En);
        assert!(
            en.contains("1,001 recipients outside its scope (1,211 in total)"),
            "{en}"
        );

        f.resolution.outside_scope = 1;
        let one = decide(&f, &OrgLimits::default());
        assert!(one.has_reason("audience.out_of_scope"));
        assert!(one.reasons()[0]
            .text(Lang::En)
            .contains("1 recipient outside"));
    }

    #[test]
    fn inactive_and_out_of_scope_are_both_reported() {
        let mut f = facts();
        audience_of(&mut f).active = false;
        f.resolution.recipients = 350_000;
        f.resolution.outside_scope = 349_800;
        let d = decide(&f, &OrgLimits::default());
        assert!(d.has_reason("audience.inactive"));
        assert!(d.has_reason("audience.out_of_scope"));
    }
}
