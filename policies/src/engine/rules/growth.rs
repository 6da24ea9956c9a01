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

#[cfg(test)]
mod tests {
    use super::audience_growth;

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
