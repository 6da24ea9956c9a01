//! Rule 5, size: every byte is multiplied by the number of recipients, so size limits are far
//! below what one mailbox would accept. Each limit is named in the reply so the sender knows
//! how much to cut.

use super::Ctx;
use crate::domain::Channel;
use crate::engine::reasons::Reason;

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    let message = &ctx.facts.message;
    let limits = &ctx.limits;
    if message.size_bytes > limits.max_message_bytes {
        reasons.push(Reason::MessageSize {
            bytes: message.size_bytes,
            limit: limits.max_message_bytes,
        });
    }
    if message.attachment_count > limits.max_attachments {
        reasons.push(Reason::AttachmentCount {
            count: message.attachment_count.into(),
            limit: limits.max_attachments.into(),
        });
    }
    if message.attachment_bytes > limits.max_attachment_bytes {
        reasons.push(Reason::AttachmentBytes {
            bytes: message.attachment_bytes,
            limit: limits.max_attachment_bytes,
        });
    }
    // Segments only exist for SMS; an email's figure is meaningless and never refused.
    if ctx.facts.channel == Channel::Sms && message.sms_segments > limits.max_sms_segments {
        reasons.push(Reason::SmsSegments {
            segments: message.sms_segments.into(),
            limit: limits.max_sms_segments.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Channel;
    use crate::engine::testing::{audience_of, facts};
    use crate::engine::{decide, Lang, OrgLimits};

    #[test]
    fn a_message_above_the_size_limit_is_rejected_naming_both_sizes() {
        let mut f = facts();
        f.message.size_bytes = 12_500_000;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["size.message"]);
        assert_eq!(
            d.reasons()[0].text(Lang::De),
            "Die Nachricht ist 12,5 MB groß; erlaubt sind höchstens 10 MB."
        );
        assert_eq!(
            d.reasons()[0].text(Lang::En),
            "The message is 12.5 MB in size; at most 10 MB is allowed."
        );
        f.message.size_bytes = 10_000_000;
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn the_audience_may_set_a_smaller_size_limit() {
        let mut f = facts();
        f.message.size_bytes = 600_000;
        audience_of(&mut f).policy.max_message_bytes = Some(500_000);
        let d = decide(&f, &OrgLimits::default());
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("600 kB groß; erlaubt sind höchstens 500 kB"));
    }

    #[test]
    fn too_many_and_too_large_attachments_are_both_reported() {
        let mut f = facts();
        f.message.attachment_count = 12;
        f.message.attachment_bytes = 8_000_000;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["size.attachment_count", "size.attachments"]);
        assert_eq!(
            d.reasons()[0].text(Lang::De),
            "Die Nachricht hat 12 Anhänge; erlaubt sind höchstens 10."
        );
        assert_eq!(
            d.reasons()[0].text(Lang::En),
            "The message has 12 attachments; at most 10 are allowed."
        );
        assert!(d.reasons()[1]
            .text(Lang::De)
            .contains("zusammen 8 MB groß; erlaubt sind höchstens 7 MB"));
        assert!(d.reasons()[1]
            .text(Lang::En)
            .contains("come to 8 MB in total; at most 7 MB"));
    }

    #[test]
    fn a_single_attachment_where_none_are_allowed_reads_in_the_singular() {
        let mut f = facts();
        f.message.attachment_count = 1;
        audience_of(&mut f).policy.max_attachments = Some(0);
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(
            d.reasons()[0].text(Lang::De),
            "Die Nachricht hat 1 Anhang; erlaubt sind höchstens 0."
        );
        assert_eq!(
            d.reasons()[0].text(Lang::En),
            "The message has 1 attachment; at most 0 are allowed."
        );
    }

    #[test]
    fn sms_segments_count_only_for_sms() {
        let mut f = facts();
        f.message.sms_segments = 5;
        assert!(decide(&f, &OrgLimits::default()).is_release());
        f.channel = Channel::Sms;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["size.sms_segments"]);
        assert!(d.reasons()[0]
            .text(Lang::De)
            .starts_with("Die SMS bräuchte 5 Teile; erlaubt sind höchstens 3."));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("would need 5 parts; at most 3 are allowed"));
    }
}
