//! Between the decision and the delivery (the undo window, an approval) an audience can grow:
//! an import adds members, an admin widens a unit. A little growth is ordinary life; much more
//! than was decided on is the silent widening this product exists to prevent.

use crate::engine::Reason;

/// Growth always tolerated, however small the audience.
const SLACK_RECIPIENTS: u64 = 5;
/// Growth tolerated as a share of the decided count, in percent.
const SLACK_PERCENT: u64 = 10;

/// The reason to stop a send whose audience now has `now` recipients where `decided` were
/// decided on, or `None` when the difference is within the ordinary.
pub fn audience_growth(audience: &str, decided: u64, now: u64) -> Option<Reason> {
    let allowed = decided + SLACK_RECIPIENTS.max(decided * SLACK_PERCENT / 100);
    (now > allowed).then(|| Reason::AudienceGrew {
        audience: audience.to_string(),
        decided,
        now,
    })
}

/// Whether an audience redefined (target, sub-units, role, kind or scope) at `changed_at` was
/// redefined after a submission made at `submitted_at` (unix ms): what the sender addressed,
/// and what a send is bound to, whenever it is decided again or expanded.
///
/// `margin_ms` widens "after the submission" backwards: the facts its decision read may be
/// cached for that long, so a change made just before it may not have been seen. A change
/// inside the margin counts as after — a send refused needlessly can be sent again, a send to
/// a definition nobody addressed cannot be called back.
pub fn redefined_after(changed_at: Option<i64>, submitted_at: i64, margin_ms: i64) -> bool {
    changed_at.is_some_and(|changed| changed > submitted_at.saturating_sub(margin_ms))
}

/// The reason to refuse a send to `audience` when [`redefined_after`] says it was redefined
/// after its submission, or `None`.
pub fn audience_redefined(
    audience: &str,
    changed_at: Option<i64>,
    submitted_at: i64,
    margin_ms: i64,
) -> Option<Reason> {
    redefined_after(changed_at, submitted_at, margin_ms).then(|| Reason::AudienceRedefined {
        audience: audience.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::{audience_growth, audience_redefined};

    #[test]
    fn a_definition_changed_after_the_submission_or_just_before_it_refuses() {
        assert!(audience_redefined("a", None, 10_000, 5_000).is_none());
        assert!(
            audience_redefined("a", Some(4_000), 10_000, 5_000).is_none(),
            "changed well before the submission: its decision saw it"
        );
        assert!(
            audience_redefined("a", Some(6_000), 10_000, 5_000).is_some(),
            "inside the facts' cache lifetime: maybe not seen"
        );
        let reason = audience_redefined("a", Some(12_000), 10_000, 5_000).unwrap();
        assert_eq!(reason.code(), "audience.redefined");
        assert_eq!(
            reason.severity(),
            crate::engine::Severity::Reject,
            "never lifted by approvals"
        );
        assert!(!reason.cleared_by_approvals());
    }

    #[test]
    fn ordinary_growth_passes_and_a_widening_stops() {
        assert!(audience_growth("a", 212, 212).is_none());
        assert!(
            audience_growth("a", 212, 180).is_none(),
            "shrinking is fine"
        );
        assert!(
            audience_growth("a", 212, 233).is_none(),
            "10 % more is ordinary"
        );
        assert!(audience_growth("a", 212, 234).is_some());
        assert!(
            audience_growth("a", 3, 8).is_none(),
            "five more always pass"
        );
        assert!(audience_growth("a", 3, 9).is_some());
        assert!(audience_growth("a", 212, 350_000).is_some());
    }
}
