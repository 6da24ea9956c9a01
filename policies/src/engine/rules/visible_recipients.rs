//! Rule 4, visible recipients: the open-To:-line incident.
//!
//! The list copies themselves are always Bcc-only (delivery puts only the list address or the
//! one recipient in To:), and that is not configurable. This rule is about addresses the
//! sender typed into To/Cc: beyond the threshold, every recipient would see all of them.

use super::Ctx;
use crate::domain::VisibleRecipientsMode;
use crate::engine::decision::HeaderTreatment;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    let visible = ctx.facts.message.visible_recipients;
    let limit = ctx.limits.visible_recipients_threshold;
    if visible > limit && ctx.limits.visible_recipients_mode == VisibleRecipientsMode::Reject {
        reasons.push(Reason::VisibleRecipients {
            visible: visible.into(),
            limit: limit.into(),
        });
    }
}

/// What delivery does with the sender's To/Cc: rewritten only when the audience chose
/// "rewrite" and the threshold is passed; a few openly named colleagues stay as written.
pub(crate) fn header_treatment(ctx: &Ctx<'_>) -> HeaderTreatment {
    let over = ctx.facts.message.visible_recipients > ctx.limits.visible_recipients_threshold;
    match ctx.limits.visible_recipients_mode {
        VisibleRecipientsMode::Rewrite if over => HeaderTreatment::RewriteToRecipient,
        VisibleRecipientsMode::Rewrite | VisibleRecipientsMode::Reject => HeaderTreatment::Keep,
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::VisibleRecipientsMode;
    use crate::engine::testing::{audience_of, facts};
    use crate::engine::{decide, Decision, HeaderTreatment, Lang, OrgLimits};

    #[test]
    fn up_to_the_threshold_the_headers_stay_as_written() {
        let mut f = facts();
        f.message.visible_recipients = 10;
        assert_eq!(
            decide(&f, &OrgLimits::default()),
            Decision::Release {
                headers: HeaderTreatment::Keep
            }
        );
    }

    #[test]
    fn above_the_threshold_the_message_is_rejected_with_the_explanation() {
        let mut f = facts();
        f.message.visible_recipients = 11;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["recipients.visible"]);
        let de = d.reasons()[0].text(Lang::De);
        assert!(de.contains("11 Adressen offen in An/Cc"), "{de}");
        assert!(de.contains("würde alle anderen Adressen sehen"), "{de}");
        assert!(
            de.contains("höchstens 10; bitte die Verteileradresse oder Bcc verwenden"),
            "{de}"
        );
        let en = d.reasons()[0].text(Lang::En);
        assert!(
            en.contains("every recipient would see all the others"),
            "{en}"
        );
        assert!(en.contains("use the list address or Bcc"), "{en}");
    }

    #[test]
    fn an_audience_may_lower_the_threshold_but_not_raise_it() {
        let mut f = facts();
        f.message.visible_recipients = 4;
        audience_of(&mut f).policy.visible_recipients_threshold = Some(3);
        assert!(decide(&f, &OrgLimits::default()).has_reason("recipients.visible"));

        f.message.visible_recipients = 40;
        audience_of(&mut f).policy.visible_recipients_threshold = Some(100);
        let d = decide(&f, &OrgLimits::default());
        assert!(
            d.reasons()[0]
                .text(Lang::En)
                .contains("At most 10 are allowed"),
            "{d:?}"
        );
    }

    #[test]
    fn rewrite_mode_releases_and_tells_delivery_to_rewrite() {
        let mut f = facts();
        f.message.visible_recipients = 1_493;
        audience_of(&mut f).policy.visible_recipients = VisibleRecipientsMode::Rewrite;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(
            d,
            Decision::Release {
                headers: HeaderTreatment::RewriteToRecipient
            }
        );

        f.message.visible_recipients = 2;
        let few = decide(&f, &OrgLimits::default());
        assert_eq!(
            few,
            Decision::Release {
                headers: HeaderTreatment::Keep
            }
        );
    }
}
