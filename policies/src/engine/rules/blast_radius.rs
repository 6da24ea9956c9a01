//! Rule 3, blast radius: a send far larger than the audience usually is waits for a second
//! look, and one above the hard ceiling never goes out. The second line of defence behind the
//! scope check against the silent broadening: it catches a definition that is wrong but still
//! inside its scope.

use super::Ctx;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    let (Some(audience), Some(recipients)) = (ctx.audience, ctx.recipients()) else {
        return;
    };
    let limits = &ctx.limits;
    if recipients > limits.max_recipients {
        reasons.push(Reason::MaxRecipients {
            audience: audience.display_name.clone(),
            recipients,
            limit: limits.max_recipients,
        });
    }
    match audience.usual_size {
        Some(usual) => {
            let hold_above = usual_threshold(
                usual,
                limits.usual_size_factor_percent,
                limits.usual_size_slack,
            );
            if recipients > hold_above {
                reasons.push(Reason::BlastRadiusAboveUsual {
                    audience: audience.display_name.clone(),
                    recipients,
                    usual,
                    hold_above,
                });
            }
        }
        None if recipients > limits.first_send_hold_above => {
            reasons.push(Reason::BlastRadiusFirstSend {
                audience: audience.display_name.clone(),
                recipients,
                hold_above: limits.first_send_hold_above,
            });
        }
        None => {}
    }
}

/// usual × percent / 100 + slack, rounded down, without overflow for any input.
pub(crate) fn usual_threshold(usual: u64, factor_percent: u32, slack: u64) -> u64 {
    let scaled = u128::from(usual) * u128::from(factor_percent) / 100;
    u64::try_from(scaled)
        .unwrap_or(u64::MAX)
        .saturating_add(slack)
}

#[cfg(test)]
mod tests {
    use super::usual_threshold;
    use crate::engine::testing::{audience_of, facts};
    use crate::engine::{decide, Decision, Lang, OrgLimits};

    fn decide_recipients(recipients: u64, usual: Option<u64>) -> Decision {
        let mut f = facts();
        f.resolution.recipients = recipients;
        audience_of(&mut f).usual_size = usual;
        decide(&f, &OrgLimits::default())
    }

    #[test]
    fn the_default_threshold_is_one_and_a_half_times_usual_plus_twenty() {
        assert_eq!(usual_threshold(212, 150, 20), 338);
        assert_eq!(usual_threshold(0, 150, 20), 20);
        assert_eq!(usual_threshold(u64::MAX, u32::MAX, u64::MAX), u64::MAX);
        assert!(decide_recipients(338, Some(212)).is_release());
        assert!(decide_recipients(339, Some(212)).is_hold());
    }

    #[test]
    fn far_above_usual_is_held_with_the_figures_in_both_languages() {
        let mut f = facts();
        f.resolution.recipients = 365_120;
        audience_of(&mut f).display_name = "Distrikt Oldenfelde".into();
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_hold(), "{d:?}");
        assert!(d.has_reason("blast_radius.above_usual"));
        let de = d.reasons()[0].text(Lang::De);
        assert_eq!(de, "Diese Nachricht würde 365.120 Mitglieder erreichen; der Verteiler Distrikt Oldenfelde hat üblicherweise 212.");
        let en = d.reasons()[0].text(Lang::En);
        assert_eq!(en, "This message would reach 365,120 members; the list Distrikt Oldenfelde usually has 212.");
    }

    #[test]
    fn an_audience_may_set_its_own_factor_and_slack() {
        let mut f = facts();
        f.resolution.recipients = 230;
        let a = audience_of(&mut f);
        a.usual_size = Some(200);
        a.policy.usual_size_factor_percent = Some(100);
        a.policy.usual_size_slack = Some(10);
        assert!(decide(&f, &OrgLimits::default()).has_reason("blast_radius.above_usual"));
    }

    #[test]
    fn a_large_first_send_is_held_and_a_small_one_released() {
        assert!(decide_recipients(500, None).is_release());
        let d = decide_recipients(4_200, None);
        assert_eq!(d.codes(), ["blast_radius.first_send"]);
        let de = d.reasons()[0].text(Lang::De);
        assert!(
            de.contains("erste Nachricht an den Verteiler Ortsverein Oldenfelde"),
            "{de}"
        );
        assert!(
            de.contains("4.200 Mitglieder") && de.contains("mehr als 500 Empfänger"),
            "{de}"
        );
        let en = d.reasons()[0].text(Lang::En);
        assert!(
            en.contains("4,200 members") && en.contains("more than 500 recipients"),
            "{en}"
        );
    }

    #[test]
    fn above_the_audience_maximum_is_rejected_naming_the_limit() {
        let mut f = facts();
        f.resolution.recipients = 1_500;
        audience_of(&mut f).policy.max_recipients = Some(1_000);
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["limits.max_recipients"]);
        let de = d.reasons()[0].text(Lang::De);
        assert!(
            de.contains("1.500 Mitglieder") && de.contains("höchstens 1.000 Empfänger"),
            "{de}"
        );
        let en = d.reasons()[0].text(Lang::En);
        assert!(en.contains("at most 1,000 recipients per message"), "{en}");
    }

    #[test]
    fn the_organisation_cap_binds_an_audience_that_allows_more() {
        let mut f = facts();
        f.resolution.recipients = 600_000;
        let a = audience_of(&mut f);
        a.usual_size = Some(600_000);
        a.policy.max_recipients = Some(10_000_000);
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_reject());
        assert!(d.reasons()[0].text(Lang::En).contains("at most 500,000"));
    }
}
