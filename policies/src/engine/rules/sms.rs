//! SMS volume and cost: every part of a text is paid for and none can be called back, so a
//! send with many parts (segments × members reached by SMS) waits for a second look, and so
//! does one that would take its unit beyond the month's SMS budget, with the figures.
//!
//! A send submitted by email reaches its SMS members with a rendering of at most
//! [`SMS_RENDERING_SEGMENTS`] parts; it is counted at that size, never smaller.

use super::Ctx;
use crate::domain::Channel;
use crate::domain::SMS_RENDERING_SEGMENTS;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    if ctx.recipients().is_none() {
        return;
    }
    let facts = ctx.facts;
    let by_channel = &facts.resolution.by_channel;
    let recipients = match facts.channel {
        Channel::Sms => facts.resolution.recipients,
        _ => by_channel.sms + by_channel.also_sms,
    };
    if recipients == 0 {
        return;
    }
    let segments = match facts.message.sms_segments {
        0 => SMS_RENDERING_SEGMENTS,
        n => n,
    };
    let parts = recipients.saturating_mul(segments.into());
    let org = ctx.org;
    if parts > org.sms_parts_hold_above {
        reasons.push(Reason::SmsParts {
            audience: ctx.audience_name(),
            recipients,
            segments: segments.into(),
            parts,
            hold_above: org.sms_parts_hold_above,
        });
    }
    let price = org.sms_cost_per_segment_cents;
    // The organisation's 0 means "no budget"; a unit's own 0 means "nothing to spend".
    let budget = match facts.volume.unit_sms_budget_cents {
        Some(own) => own,
        None if org.sms_monthly_budget_cents == 0 => return,
        None => org.sms_monthly_budget_cents,
    };
    if price == 0 {
        return;
    }
    let cost = parts.saturating_mul(price);
    let spent = facts
        .volume
        .unit_sms_segments_this_month
        .saturating_mul(price);
    if spent.saturating_add(cost) > budget {
        reasons.push(Reason::SmsBudget {
            audience: ctx.audience_name(),
            cost_cents: cost,
            spent_cents: spent,
            budget_cents: budget,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::facts;
    use crate::engine::{decide, Lang, OrgLimits};

    fn limits() -> OrgLimits {
        OrgLimits {
            sms_parts_hold_above: 100,
            sms_cost_per_segment_cents: 9,
            sms_monthly_budget_cents: 10_000,
            ..OrgLimits::default()
        }
    }

    #[test]
    fn many_paid_parts_are_held_until_approved() {
        let mut f = facts();
        f.resolution.by_channel.sms = 50;
        f.message.sms_segments = 2;
        assert!(decide(&f, &limits()).is_release(), "100 parts pass");
        f.message.sms_segments = 3;
        let d = decide(&f, &limits());
        assert!(d.is_hold());
        assert_eq!(d.codes(), ["sms.parts"]);
        let text = d.text(Lang::En);
        assert!(
            text.contains("50 text messages of 3 parts each, 150 paid SMS parts"),
            "{text}"
        );
    }

    #[test]
    fn an_emailed_send_counts_its_renderings_at_two_parts() {
        let mut f = facts();
        f.resolution.by_channel.sms = 51;
        f.message.sms_segments = 0;
        assert_eq!(decide(&f, &limits()).codes(), ["sms.parts"]);
        f.resolution.by_channel.sms = 0;
        assert!(
            decide(&f, &limits()).is_release(),
            "no SMS member, no SMS cost"
        );
    }

    #[test]
    fn a_send_beyond_the_month_s_budget_is_held_with_the_figures() {
        let mut f = facts();
        f.resolution.by_channel.sms = 40;
        f.message.sms_segments = 1;
        // 40 parts × 9 ct = 3.60 €; 1,080 parts this month = 97.20 €; budget 100 €.
        f.volume.unit_sms_segments_this_month = 1_080;
        let d = decide(&f, &limits());
        assert_eq!(d.codes(), ["sms.budget"]);
        let text = d.text(Lang::De);
        assert!(
            text.contains("kosten 3,60 €")
                && text.contains("schon 97,20 € ausgegeben")
                && text.contains("100,00 €"),
            "{text}"
        );
        f.volume.unit_sms_segments_this_month = 1_000;
        assert!(decide(&f, &limits()).is_release(), "93.60 € fits");
        let unpriced = OrgLimits {
            sms_cost_per_segment_cents: 0,
            ..limits()
        };
        f.volume.unit_sms_segments_this_month = 1_000_000;
        assert!(decide(&f, &unpriced).is_release(), "no price, no budget");

        // The unit's own budget replaces the organisation's.
        f.volume.unit_sms_segments_this_month = 1_000;
        f.volume.unit_sms_budget_cents = Some(9_000);
        let d = decide(&f, &limits());
        assert_eq!(d.codes(), ["sms.budget"]);
        assert!(
            d.text(Lang::En).contains("monthly budget is €90.00"),
            "{}",
            d.text(Lang::En)
        );
        f.volume.unit_sms_budget_cents = Some(1_000_000);
        f.volume.unit_sms_segments_this_month = 100_000;
        assert!(
            decide(&f, &limits()).is_release(),
            "a larger budget of its own"
        );
        f.volume.unit_sms_budget_cents = Some(0);
        f.volume.unit_sms_segments_this_month = 0;
        assert_eq!(
            decide(&f, &limits()).codes(),
            ["sms.budget"],
            "a unit's own budget of 0 is nothing to spend, not no budget"
        );
        let no_org_budget = OrgLimits {
            sms_monthly_budget_cents: 0,
            ..limits()
        };
        assert_eq!(decide(&f, &no_org_budget).codes(), ["sms.budget"]);
        f.volume.unit_sms_budget_cents = None;
        assert!(decide(&f, &no_org_budget).is_release());
    }
}
