//! Rule 6, rate: how much one sender, one audience and the whole organisation have sent lately.
//!
//! Every figure counts this submission in (the store's volume excludes it), so a limit of 10
//! lets exactly 10 sends through. Above the audience's or the organisation's hold step a
//! person looks first; above the organisation's hard cap nothing goes out. The organisation's
//! hourly volume is the circuit breaker: passing it holds every send until an admin releases
//! it (for that one send: `Facts::circuit_breaker_lifted_by`).

use super::Ctx;
use crate::engine::limits::RateCap;
use crate::engine::reasons::{Reason, Severity};

pub(crate) fn check(ctx: &Ctx<'_>, reasons: &mut Vec<Reason>) {
    let volume = &ctx.facts.volume;
    let limits = &ctx.limits;
    let sends = volume.sender_sends_last_hour.saturating_add(1);
    if let Some((limit, severity)) = step_passed(sends, limits.sender_sends_per_hour) {
        reasons.push(Reason::SenderHourlySends {
            sends,
            limit,
            severity,
        });
    }
    let sends = volume.sender_sends_today.saturating_add(1);
    if let Some((limit, severity)) = step_passed(sends, limits.sender_sends_per_day) {
        reasons.push(Reason::SenderDailySends {
            sends,
            limit,
            severity,
        });
    }
    if let Some(audience) = ctx.audience {
        let sends = volume.audience_sends_today.saturating_add(1);
        if let Some((limit, severity)) = step_passed(sends, limits.audience_sends_per_day) {
            let audience = audience.display_name.clone();
            reasons.push(Reason::AudienceDailySends {
                audience,
                sends,
                limit,
                severity,
            });
        }
    }
    // Without a believable recipient count the submission is refused anyway.
    let Some(this_send) = ctx.recipients() else {
        return;
    };
    let recipients = volume.sender_recipients_today.saturating_add(this_send);
    if let Some((limit, severity)) = step_passed(recipients, limits.sender_recipients_per_day) {
        reasons.push(Reason::SenderDailyRecipients {
            recipients,
            limit,
            severity,
        });
    }
    let recipients = volume.org_recipients_last_hour.saturating_add(this_send);
    let limit = limits.circuit_breaker_recipients_per_hour;
    if recipients > limit && ctx.facts.circuit_breaker_lifted_by.is_none() {
        reasons.push(Reason::CircuitBreaker { recipients, limit });
    }
}

/// The highest step `value` passes, with the figure passed.
fn step_passed(value: u64, cap: RateCap) -> Option<(u64, Severity)> {
    if value > cap.reject_above {
        Some((cap.reject_above, Severity::Reject))
    } else if value > cap.hold_above {
        Some((cap.hold_above, Severity::Hold))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::reasons::{Reason, Severity};
    use crate::engine::testing::{audience_of, facts};
    use crate::engine::{decide, Decision, Lang, OrgLimits};

    #[test]
    fn the_tenth_send_of_the_hour_passes_and_the_eleventh_is_held() {
        let mut f = facts();
        f.volume.sender_sends_last_hour = 9;
        assert!(decide(&f, &OrgLimits::default()).is_release());
        f.volume.sender_sends_last_hour = 10;
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_hold());
        assert_eq!(
            d.reasons(),
            [Reason::SenderHourlySends {
                sends: 11,
                limit: 10,
                severity: Severity::Hold
            }]
        );
        let de = d.reasons()[0].text(Lang::De);
        assert_eq!(de, "Mit dieser Nachricht wären es 11 Nachrichten desselben Absenders in der letzten Stunde; die Grenze liegt bei 10.");
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("would have sent 11 messages in the last hour; the limit is 10"));
    }

    #[test]
    fn above_the_hard_cap_the_send_is_rejected() {
        let mut f = facts();
        f.volume.sender_sends_last_hour = 30;
        let d = decide(&f, &OrgLimits::default());
        assert!(d.is_reject());
        assert_eq!(
            d.reasons(),
            [Reason::SenderHourlySends {
                sends: 31,
                limit: 30,
                severity: Severity::Reject
            }]
        );
    }

    #[test]
    fn daily_sends_hold_at_the_audience_step_within_the_org_cap() {
        let mut f = facts();
        audience_of(&mut f).policy.sender_sends_per_day = Some(5);
        f.volume.sender_sends_today = 5;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["rate.sender_day"]);
        assert!(d.is_hold());
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("6 Nachrichten desselben Absenders heute; die Grenze liegt bei 5"));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("6 messages today; the limit is 5"));
        f.volume.sender_sends_today = 100;
        assert!(decide(&f, &OrgLimits::default()).is_reject());
    }

    #[test]
    fn recipients_per_sender_per_day_count_this_send() {
        let mut f = facts();
        f.volume.sender_recipients_today = 399_800;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["rate.sender_recipients_day"]);
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("heute 400.010 Empfänger erreicht; die Grenze liegt bei 400.000"));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("reached 400,010 recipients today; the limit is 400,000"));
    }

    #[test]
    fn sends_per_audience_per_day_are_limited() {
        let mut f = facts();
        f.volume.audience_sends_today = 10;
        let d = decide(&f, &OrgLimits::default());
        assert_eq!(d.codes(), ["rate.audience_day"]);
        assert!(d.reasons()[0]
            .text(Lang::De)
            .contains("11 Nachrichten an den Verteiler Ortsverein Oldenfelde"));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("11 messages would have gone to the list Ortsverein Oldenfelde today"));
        f.volume.audience_sends_today = 50;
        assert!(decide(&f, &OrgLimits::default()).is_reject());
    }

    #[test]
    fn the_circuit_breaker_holds_for_an_admin_not_for_approvers() {
        let mut f = facts();
        f.volume.org_recipients_last_hour = 999_800;
        let d = decide(&f, &OrgLimits::default());
        let Decision::Hold {
            approvals_needed, ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(*approvals_needed, 0);
        assert_eq!(d.codes(), ["org.circuit_breaker"]);
        assert!(d.reasons()[0].text(Lang::De).contains(
            "1.000.010 Empfänger erreicht, mehr als die Sicherheitsgrenze von 1.000.000"
        ));
        assert!(d.reasons()[0]
            .text(Lang::En)
            .contains("1,000,010 recipients in the last hour"));
        f.volume.org_recipients_last_hour = 999_790;
        assert!(decide(&f, &OrgLimits::default()).is_release());
    }

    #[test]
    fn an_admin_lifts_the_breaker_for_one_send_and_every_other_reason_stays() {
        let mut f = facts();
        f.volume.org_recipients_last_hour = 5_000_000;
        f.circuit_breaker_lifted_by = Some(7);
        assert!(decide(&f, &OrgLimits::default()).is_release());
        // A list that needs approval still does: the admin lifted the breaker, nothing else.
        audience_of(&mut f).policy.approval = crate::engine::ApprovalRule::Always;
        let d = decide(&f, &OrgLimits::default());
        let Decision::Hold {
            approvals_needed, ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(*approvals_needed, 1);
        assert_eq!(d.codes(), ["approval.required"]);
    }
}
