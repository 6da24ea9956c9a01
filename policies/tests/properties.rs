//! Properties of the engine over random organisation trees, roles, audiences and submissions.
//!
//! The trees are built from parent links and checked against the tree itself (walking the
//! links), not against the `scope_path` the engine reads, so a wrong reading of the path shows.

mod support;

use proptest::prelude::*;
use support::{hash, submission, Tree};
use verteiler_policies::{
    decide, Approval, ApprovalRule, AudienceKind, Category, Channel, Facts, Lang, OrgLimits,
    RoleFunction, RoleGrant, VisibleRecipientsMode,
};

const SENDER: i64 = 42;

/// A submission together with the tree and scope unit it was drawn from.
#[derive(Debug, Clone)]
struct Case {
    tree: Tree,
    scope: usize,
    facts: Facts,
}

impl Case {
    /// Whether some grant with an allowed sending function covers the scope, by the tree.
    fn sender_role_in_scope(&self) -> bool {
        let allowed = &self
            .facts
            .audience
            .as_ref()
            .expect("audience")
            .policy
            .sender_functions;
        self.facts.sender.roles.iter().any(|g| {
            allowed.contains(&g.function)
                && self.tree.index_of(g.unit_id).is_some_and(|unit| {
                    unit == self.scope
                        || (g.covers_subtree && self.tree.is_ancestor_or_self(unit, self.scope))
                })
        })
    }

    fn subscriber_may_post(&self) -> bool {
        let audience = self.facts.audience.as_ref().expect("audience");
        audience.policy.subscribers_may_post
            && audience.kind == AudienceKind::Topic
            && audience.category == Category::Discussion
            && self.facts.sender.confirmed_subscriber
    }
}

fn functions(mask: u8) -> Vec<RoleFunction> {
    RoleFunction::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect()
}

/// Mostly figures no limit objects to, sometimes anything up to past the caps, so that
/// releases, holds and rejections all occur often.
fn usually<T>(normal: std::ops::Range<T>, any: std::ops::Range<T>) -> BoxedStrategy<T>
where
    T: Copy + std::fmt::Debug + 'static,
    std::ops::Range<T>: Strategy<Value = T> + 'static,
{
    prop_oneof![20 => normal, 1 => any].boxed()
}

fn arb_tree() -> impl Strategy<Value = Tree> {
    prop::collection::vec((any::<u32>(), prop::bool::weighted(0.1)), 1..40).prop_map(|raw| Tree {
        parents: raw
            .iter()
            .enumerate()
            .map(|(i, (r, standalone))| (i > 0 && !standalone).then(|| *r as usize % i))
            .collect(),
    })
}

/// Grants anywhere in (or, via id 999, outside) the tree: (function, unit, subtree).
fn arb_grants() -> impl Strategy<Value = Vec<(usize, u32, bool)>> {
    prop::collection::vec(
        (0..RoleFunction::ALL.len(), any::<u32>(), any::<bool>()),
        0..5,
    )
}

fn to_grants(tree: &Tree, raw: &[(usize, u32, bool)]) -> Vec<RoleGrant> {
    raw.iter()
        .map(|(f, unit, subtree)| RoleGrant {
            function: RoleFunction::ALL[*f],
            unit_id: if *unit % 17 == 0 {
                999
            } else {
                tree.unit_id(*unit as usize % tree.parents.len())
            },
            covers_subtree: *subtree,
        })
        .collect()
}

/// Half the time, gives the sender an allowed function at the scope unit or over the subtree
/// of one of its ancestors, so authorised senders are as common as unauthorised ones.
fn with_helping_grant(
    tree: &Tree,
    scope: usize,
    mask: u8,
    (help, f, at): (bool, u8, u8),
    roles: &mut Vec<RoleGrant>,
) -> u8 {
    if !help {
        return mask;
    }
    let f = usize::from(f) % RoleFunction::ALL.len();
    let path = tree.path(scope);
    let unit_id = path[usize::from(at) % path.len()];
    let covers_subtree = unit_id != tree.unit_id(scope) || at % 2 == 0;
    roles.push(RoleGrant {
        function: RoleFunction::ALL[f],
        unit_id,
        covers_subtree,
    });
    mask | (1 << f)
}

fn arb_case() -> impl Strategy<Value = Case> {
    let who = (
        arb_tree(),
        any::<u32>(),
        arb_grants(),
        any::<u8>(),
        any::<u8>(),
        any::<[bool; 5]>(),
        any::<(bool, u8, u8)>(),
    );
    let policy = (
        (0u8..5, 0u64..60_000, 0u32..3),
        prop::option::weighted(0.2, 0u64..200_000),
        prop::option::weighted(0.4, prop::option::of(0u64..50_000)),
        (prop::option::of(100u32..300), prop::option::of(0u64..100)),
        (any::<bool>(), prop::option::of(5u32..20)),
        prop::option::of(0u64..2_000),
    );
    let resolution = (
        prop_oneof![1 => Just(0u64), 15 => 1u64..60_000],
        prop_oneof![15 => Just(0u64), 1 => 1u64..1_000],
        prop::bool::weighted(0.03),
    );
    let message = (
        usually(0..100_000, 0..20_000_000),
        (usually(0..5, 0..12), usually(0..1_000_000, 0..8_000_000)),
        (
            usually(0..8, 0..1_500),
            usually(0..3, 0..5),
            any::<bool>(),
            0u8..3,
        ),
    );
    let volume = (
        usually(0..10, 0..40),
        usually(0..30, 0..120),
        usually(0..100_000, 0..2_500_000),
        usually(0..10, 0..60),
        usually(0..500_000, 0..1_100_000),
    );
    let approvals = prop::collection::vec((40i64..46, arb_grants(), 0u8..3), 0..4);
    (who, policy, resolution, message, volume, approvals).prop_map(
        |(who, policy, resolution, message, volume, approvals)| {
            let (tree, scope_raw, grants, send_mask, approve_mask, flags, helper) = who;
            let scope = scope_raw as usize % tree.parents.len();
            let mut sender_roles = to_grants(&tree, &grants);
            let send_mask = with_helping_grant(&tree, scope, send_mask, helper, &mut sender_roles);
            let mut facts = submission(&tree, scope, SENDER, sender_roles, resolution.0);
            let [active, topic, discussion, subscribers_may_post, confirmed] = flags;
            facts.sender.confirmed_subscriber = confirmed;
            let audience = facts.audience.as_mut().expect("audience");
            audience.active = active || scope_raw % 20 != 0;
            if topic {
                audience.kind = AudienceKind::Topic;
            }
            if discussion {
                audience.category = Category::Discussion;
            }
            let ((rule, above, needed), max_recipients, usual, (factor, slack), visible, first) =
                policy;
            let p = &mut audience.policy;
            p.sender_functions = functions(send_mask);
            p.subscribers_may_post = subscribers_may_post;
            p.approver_functions = functions(approve_mask);
            p.approval = match rule {
                0..=2 => ApprovalRule::Never,
                3 => ApprovalRule::AboveRecipients(above),
                _ => ApprovalRule::Always,
            };
            p.approvals_needed = needed;
            p.max_recipients = max_recipients;
            p.usual_size_factor_percent = factor;
            p.usual_size_slack = slack;
            p.visible_recipients = if visible.0 {
                VisibleRecipientsMode::Rewrite
            } else {
                VisibleRecipientsMode::Reject
            };
            p.visible_recipients_threshold = visible.1;
            p.first_send_hold_above = first;
            if let Some(usual) = usual {
                audience.usual_size = usual;
            }
            facts.resolution.outside_scope = resolution.1;
            facts.resolution.error = resolution.2.then(|| "lookup failed".to_string());
            let (size, (attachments, attachment_bytes), (visible, segments, sms, content)) =
                message;
            facts.message.size_bytes = size;
            facts.message.attachment_count = attachments;
            facts.message.attachment_bytes = attachment_bytes;
            facts.message.visible_recipients = visible;
            facts.message.sms_segments = segments;
            facts.message.content_hash = hash(content);
            facts.channel = if sms { Channel::Sms } else { Channel::Email };
            let v = &mut facts.volume;
            (
                v.sender_sends_last_hour,
                v.sender_sends_today,
                v.sender_recipients_today,
            ) = (volume.0, volume.1, volume.2);
            (v.audience_sends_today, v.org_recipients_last_hour) = (volume.3, volume.4);
            facts.approvals = approvals
                .iter()
                .map(|(id, raw, content)| Approval {
                    approver_id: *id,
                    approver_roles: to_grants(&tree, raw),
                    content_hash: hash(*content),
                })
                .collect();
            Case { tree, scope, facts }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_sender_without_a_sending_role_in_scope_is_never_released(case in arb_case()) {
        let decision = decide(&case.facts, &OrgLimits::default());
        if !case.sender_role_in_scope() && !case.subscriber_may_post() {
            prop_assert!(decision.is_reject(), "{decision:?}");
            prop_assert!(decision.has_reason("sender.not_authorised"));
        } else {
            prop_assert!(!decision.has_reason("sender.not_authorised"), "{decision:?}");
        }
    }

    #[test]
    fn a_resolution_with_anyone_outside_scope_is_never_released(case in arb_case()) {
        let decision = decide(&case.facts, &OrgLimits::default());
        if case.facts.resolution.outside_scope > 0 {
            prop_assert!(decision.is_reject(), "{decision:?}");
            if case.facts.resolution.error.is_none() {
                prop_assert!(decision.has_reason("audience.out_of_scope"));
            }
        }
    }

    #[test]
    fn an_unknown_inactive_empty_or_failed_audience_is_never_released(case in arb_case(), unknown in any::<bool>()) {
        let mut facts = case.facts;
        if unknown {
            facts.audience = None;
        }
        let broken = facts.audience.as_ref().is_none_or(|a| !a.active)
            || facts.resolution.error.is_some()
            || facts.resolution.recipients == 0;
        if broken {
            prop_assert!(decide(&facts, &OrgLimits::default()).is_reject());
        }
    }

    #[test]
    fn the_senders_own_approval_never_counts(case in arb_case(), raw in arb_grants(), admin in any::<bool>()) {
        let mut roles = to_grants(&case.tree, &raw);
        if admin {
            let root = case.facts.audience.as_ref().expect("audience").scope_path[0];
            roles.push(RoleGrant { function: RoleFunction::Admin, unit_id: root, covers_subtree: true });
        }
        let own = Approval { approver_id: SENDER, approver_roles: roles, content_hash: case.facts.message.content_hash };
        let mut with_own = case.facts.clone();
        with_own.approvals.push(own.clone());
        with_own.approvals.insert(0, own);
        prop_assert_eq!(decide(&with_own, &OrgLimits::default()), decide(&case.facts, &OrgLimits::default()));
    }

    #[test]
    fn adding_recipients_never_turns_a_hold_or_reject_into_a_release(
        case in arb_case(),
        extras in prop::collection::vec(prop_oneof![0u64..1_000, 0u64..100_000, 0u64..600_000], 1..12),
    ) {
        // Climb a ladder of ever larger resolutions of the same submission.
        let mut ladder = extras;
        ladder.sort_unstable();
        let mut facts = case.facts;
        let base = facts.resolution.recipients.max(1);
        let mut previous = None;
        for extra in std::iter::once(0).chain(ladder) {
            facts.resolution.recipients = base + extra;
            let decision = decide(&facts, &OrgLimits::default());
            if let Some((before, was)) = &previous {
                let was: &verteiler_policies::Decision = was;
                if !was.is_release() {
                    prop_assert!(!decision.is_release(), "{before} recipients: {was:?}\n{} recipients: {decision:?}", base + extra);
                }
                if was.is_reject() {
                    prop_assert!(decision.is_reject(), "{before} recipients: {was:?}\n{} recipients: {decision:?}", base + extra);
                }
            }
            previous = Some((base + extra, decision));
        }
    }

    #[test]
    fn the_decision_is_deterministic(case in arb_case()) {
        let first = decide(&case.facts, &OrgLimits::default());
        let second = decide(&case.facts.clone(), &OrgLimits::default());
        prop_assert_eq!(first.text(Lang::De), second.text(Lang::De));
        prop_assert_eq!(first, second);
    }

    #[test]
    fn a_decision_lists_reasons_exactly_when_it_is_not_a_release(case in arb_case()) {
        let decision = decide(&case.facts, &OrgLimits::default());
        prop_assert_eq!(decision.is_release(), decision.reasons().is_empty());
    }
}
