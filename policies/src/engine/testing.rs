//! A submission every rule releases, for unit tests to change one fact at a time.
//!
//! The tree: federal 1 → state 10 → district 100 → branch 1000. The branch chair (member 42)
//! sends an announcement to the branch's 210 members.

use super::facts::*;
use crate::domain::{AudienceKind, AudienceSlug, Category, Channel, ContentHash, RoleFunction};

pub(crate) const SENDER: i64 = 42;
pub(crate) const BRANCH: i64 = 1000;
pub(crate) const DISTRICT: i64 = 100;
pub(crate) const STATE: i64 = 10;

pub(crate) fn hash(n: u8) -> ContentHash {
    ContentHash::from_bytes([n; 32])
}

pub(crate) fn grant(function: RoleFunction, unit_id: i64, covers_subtree: bool) -> RoleGrant {
    RoleGrant {
        function,
        unit_id,
        covers_subtree,
    }
}

pub(crate) fn approval(
    approver_id: i64,
    roles: Vec<RoleGrant>,
    content_hash: ContentHash,
) -> Approval {
    Approval {
        approver_id,
        approver_roles: roles,
        content_hash,
    }
}

pub(crate) fn audience(policy: AudiencePolicy) -> AudienceFacts {
    AudienceFacts {
        id: 7,
        slug: AudienceSlug::parse("ov-oldenfelde").expect("valid slug"),
        display_name: "Ortsverein Oldenfelde".to_string(),
        kind: AudienceKind::Structural,
        active: true,
        scope_unit_id: BRANCH,
        scope_path: vec![1, STATE, DISTRICT, BRANCH],
        category: Category::Announcement,
        policy,
        usual_size: Some(212),
    }
}

pub(crate) fn facts() -> Facts {
    let policy = AudiencePolicy {
        sender_functions: vec![RoleFunction::Chair, RoleFunction::Board],
        ..AudiencePolicy::default()
    };
    Facts {
        sender: SenderFacts {
            member_id: SENDER,
            roles: vec![grant(RoleFunction::Chair, BRANCH, false)],
            confirmed_subscriber: false,
        },
        channel: Channel::Email,
        audience_address: "ov-oldenfelde@lists.example.org".to_string(),
        audience: Some(audience(policy)),
        resolution: ResolutionSummary {
            recipients: 210,
            outside_scope: 0,
            error: None,
            by_channel: Default::default(),
        },
        message: MessageFacts {
            size_bytes: 20_000,
            attachment_count: 0,
            attachment_bytes: 0,
            visible_recipients: 1,
            sms_segments: 0,
            content_hash: hash(1),
        },
        volume: VolumeFacts::default(),
        approvals: Vec::new(),
        circuit_breaker_lifted_by: None,
        from_address: Default::default(),
        audience_redefined: false,
    }
}

/// The audience of [`facts`], for changing its policy in place.
pub(crate) fn audience_of(facts: &mut Facts) -> &mut AudienceFacts {
    facts
        .audience
        .as_mut()
        .expect("the test facts have an audience")
}

#[test]
fn the_baseline_is_released() {
    let d = super::decide(&facts(), &super::OrgLimits::default());
    assert!(d.is_release(), "{d:?}");
}
