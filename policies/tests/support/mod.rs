//! Shared by the integration tests: an organisation tree and a submission to a unit of it.
//!
//! Each test file uses only part of this module.
#![allow(dead_code)]

use verteiler_policies::{
    AudienceFacts, AudienceKind, AudiencePolicy, AudienceSlug, Category, Channel, ContentHash,
    Facts, MessageFacts, ResolutionSummary, RoleFunction, RoleGrant, SenderFacts, VolumeFacts,
};

pub fn hash(n: u8) -> ContentHash {
    ContentHash::from_bytes([n; 32])
}

pub fn grant(function: RoleFunction, unit_id: i64, covers_subtree: bool) -> RoleGrant {
    RoleGrant {
        function,
        unit_id,
        covers_subtree,
    }
}

/// An organisation as parent links: `parents[i]` is the parent of unit index `i`, `None` for
/// the federal root and for free-standing committees. Unit ids are `index + 1000`, so an id is
/// never mistaken for an index.
#[derive(Debug, Clone)]
pub struct Tree {
    pub parents: Vec<Option<usize>>,
}

impl Tree {
    pub fn unit_id(&self, index: usize) -> i64 {
        i64::try_from(index).expect("small tree") + 1000
    }

    /// Unit ids from the root down to and including `index`: what the store puts into
    /// `AudienceFacts::scope_path`.
    pub fn path(&self, index: usize) -> Vec<i64> {
        let mut path = vec![self.unit_id(index)];
        let mut at = index;
        while let Some(parent) = self.parents[at] {
            path.push(self.unit_id(parent));
            at = parent;
        }
        path.reverse();
        path
    }

    /// Walks the parent links upwards, independently of `path`, so a test can check the
    /// engine's reading of `scope_path` against the tree itself.
    pub fn is_ancestor_or_self(&self, ancestor: usize, of: usize) -> bool {
        let mut at = Some(of);
        while let Some(i) = at {
            if i == ancestor {
                return true;
            }
            at = self.parents[i];
        }
        false
    }

    /// Index of the unit with this id, if it is in the tree.
    pub fn index_of(&self, unit_id: i64) -> Option<usize> {
        usize::try_from(unit_id - 1000)
            .ok()
            .filter(|i| *i < self.parents.len())
    }
}

/// A releasable announcement by `sender` (holding `roles`) to the structural audience of unit
/// `scope` with `recipients` recipients and a matching usual size.
pub fn submission(
    tree: &Tree,
    scope: usize,
    sender: i64,
    roles: Vec<RoleGrant>,
    recipients: u64,
) -> Facts {
    Facts {
        sender: SenderFacts {
            member_id: sender,
            roles,
            confirmed_subscriber: false,
        },
        channel: Channel::Email,
        audience_address: "unit@lists.example.org".to_string(),
        audience: Some(AudienceFacts {
            id: 1,
            slug: AudienceSlug::parse("unit").expect("valid slug"),
            display_name: format!("Einheit {}", tree.unit_id(scope)),
            kind: AudienceKind::Structural,
            active: true,
            scope_unit_id: tree.unit_id(scope),
            scope_path: tree.path(scope),
            category: Category::Announcement,
            policy: AudiencePolicy {
                sender_functions: vec![RoleFunction::Chair, RoleFunction::Board],
                ..AudiencePolicy::default()
            },
            usual_size: Some(recipients),
        }),
        resolution: ResolutionSummary {
            recipients,
            outside_scope: 0,
            error: None,
            by_channel: Default::default(),
        },
        message: MessageFacts {
            size_bytes: 30_000,
            attachment_count: 0,
            attachment_bytes: 0,
            visible_recipients: 0,
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
