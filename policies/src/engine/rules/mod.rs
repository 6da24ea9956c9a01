//! The rules, one file each. Every rule looks at the same context and adds the reasons it
//! finds; none of them decides alone, so the decision can list every reason that applies.

pub(crate) mod audience;
pub(crate) mod authorisation;
pub(crate) mod blast_radius;
pub(crate) mod four_eyes;
pub(crate) mod from_address;
pub(crate) mod growth;
pub(crate) mod rate;
pub(crate) mod size;
pub(crate) mod sms;
pub(crate) mod visible_recipients;

use super::facts::{AudienceFacts, Facts};
use super::limits::{effective_limits, EffectiveLimits, OrgLimits};

/// What every rule reads: the facts, the audience if one answered, and the limits in force.
pub(crate) struct Ctx<'a> {
    pub facts: &'a Facts,
    pub audience: Option<&'a AudienceFacts>,
    pub limits: EffectiveLimits<'a>,
    pub org: &'a OrgLimits,
}

impl<'a> Ctx<'a> {
    pub fn new(facts: &'a Facts, org: &'a OrgLimits) -> Self {
        let audience = facts.audience.as_ref();
        Ctx {
            facts,
            audience,
            limits: effective_limits(audience, org),
            org,
        }
    }

    /// The number of recipients, when there is one to believe: an audience answered and its
    /// resolution succeeded. Rules about counts stay silent otherwise; the audience rule has
    /// already refused the submission.
    pub fn recipients(&self) -> Option<u64> {
        let resolution = &self.facts.resolution;
        match (self.audience, &resolution.error) {
            (Some(_), None) => Some(resolution.recipients),
            _ => None,
        }
    }

    /// The audience's display name for sentences; only called by rules that found an audience.
    pub fn audience_name(&self) -> String {
        self.audience
            .map(|a| a.display_name.clone())
            .unwrap_or_default()
    }
}
