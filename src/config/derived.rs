//! What follows from the configuration: the organisation's caps in the policy engine's terms,
//! and the list templates in the store's.

use super::Config;
use verteiler_policies::{OrgLimits, RateCap};
use verteiler_store::lists::ListRules;

impl Config {
    /// The organisation-wide caps from the `[limits]` section; figures it does not name keep the
    /// engine's documented defaults. A configured volume limit is the hard cap; the engine's hold
    /// step stays below it.
    pub fn org_limits(&self) -> OrgLimits {
        let defaults = OrgLimits::default();
        let cap = |default: RateCap, configured: u64| RateCap {
            hold_above: default.hold_above.min(configured),
            reject_above: configured,
        };
        let limits = &self.limits;
        OrgLimits {
            max_recipients: limits.max_recipients_per_send,
            max_message_bytes: limits.max_message_bytes,
            sender_sends_per_hour: cap(
                defaults.sender_sends_per_hour,
                limits.sends_per_sender_per_hour.into(),
            ),
            sender_sends_per_day: cap(
                defaults.sender_sends_per_day,
                limits.sends_per_sender_per_day.into(),
            ),
            sender_recipients_per_day: cap(
                defaults.sender_recipients_per_day,
                limits.recipients_per_sender_per_day,
            ),
            audience_sends_per_day: cap(
                defaults.audience_sends_per_day,
                limits.sends_per_audience_per_day.into(),
            ),
            circuit_breaker_recipients_per_hour: limits.org_recipients_per_hour,
            sms_parts_hold_above: self.sms.parts_hold_above,
            sms_cost_per_segment_cents: self.sms.cost_per_segment_cents,
            sms_monthly_budget_cents: self.sms.monthly_budget_cents_per_unit,
            sender_refused_per_hour: limits.refused_per_sender_per_hour,
            ..defaults
        }
    }

    /// The list templates every units import keeps the lists in step with.
    pub fn list_rules(&self) -> ListRules {
        self.lists.rules(&self.org_limits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_volume_limits_are_hard_caps_with_the_hold_step_below() {
        let mut config = Config::default();
        config.limits.sends_per_sender_per_hour = 1_000;
        config.limits.sends_per_audience_per_day = 5;
        let limits = config.org_limits();
        let defaults = OrgLimits::default();
        assert_eq!(limits.sender_sends_per_hour.reject_above, 1_000);
        assert_eq!(
            limits.sender_sends_per_hour.hold_above,
            defaults.sender_sends_per_hour.hold_above
        );
        assert_eq!(
            (
                limits.audience_sends_per_day.hold_above,
                limits.audience_sends_per_day.reject_above
            ),
            (5, 5)
        );
    }
}
