//! One decision for a realistic submission: a district's press office sends an announcement to
//! the district's 12,400 members, with the four-eyes rule on and two approvals recorded (the
//! author's own, which does not count, and a second press officer's). Target: under 5 µs.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use verteiler_policies::{
    decide, Approval, ApprovalRule, AudienceFacts, AudienceKind, AudiencePolicy, AudienceSlug,
    Category, Channel, ContentHash, Facts, MessageFacts, OrgLimits, ResolutionSummary,
    RoleFunction, RoleGrant, SenderFacts, VolumeFacts,
};

const DISTRICT: i64 = 3_120;
const PATH: [i64; 3] = [1, 14, DISTRICT];

fn press_office(unit_id: i64) -> RoleGrant {
    RoleGrant {
        function: RoleFunction::PressOffice,
        unit_id,
        covers_subtree: true,
    }
}

fn statement() -> Facts {
    let content = ContentHash::from_bytes([7; 32]);
    Facts {
        sender: SenderFacts {
            member_id: 88_412,
            roles: vec![
                press_office(DISTRICT),
                RoleGrant {
                    function: RoleFunction::Board,
                    unit_id: 31_877,
                    covers_subtree: false,
                },
                RoleGrant {
                    function: RoleFunction::Secretary,
                    unit_id: 31_877,
                    covers_subtree: false,
                },
            ],
            confirmed_subscriber: false,
        },
        channel: Channel::Email,
        audience_address: "bezirk-nord@lists.example.org".to_string(),
        audience: Some(AudienceFacts {
            id: 5_512,
            slug: AudienceSlug::parse("bezirk-nord").expect("valid slug"),
            display_name: "Bezirk Nord".to_string(),
            kind: AudienceKind::Structural,
            active: true,
            scope_unit_id: DISTRICT,
            scope_path: PATH.to_vec(),
            category: Category::Announcement,
            policy: AudiencePolicy {
                sender_functions: vec![
                    RoleFunction::Chair,
                    RoleFunction::Board,
                    RoleFunction::PressOffice,
                ],
                approval: ApprovalRule::AboveRecipients(5_000),
                approver_functions: vec![RoleFunction::PressOffice, RoleFunction::Chair],
                approvals_needed: 1,
                max_recipients: Some(20_000),
                ..AudiencePolicy::default()
            },
            usual_size: Some(12_310),
        }),
        resolution: ResolutionSummary {
            recipients: 12_400,
            outside_scope: 0,
            error: None,
            by_channel: Default::default(),
        },
        message: MessageFacts {
            size_bytes: 184_000,
            attachment_count: 1,
            attachment_bytes: 120_000,
            visible_recipients: 0,
            sms_segments: 0,
            content_hash: content,
        },
        volume: VolumeFacts {
            sender_sends_last_hour: 1,
            sender_sends_today: 3,
            sender_recipients_today: 12_400,
            audience_sends_today: 1,
            org_recipients_last_hour: 61_000,
            unit_sms_segments_this_month: 0,
            unit_sms_budget_cents: None,
        },
        approvals: vec![
            Approval {
                approver_id: 88_412,
                approver_roles: vec![press_office(DISTRICT)],
                content_hash: content,
            },
            Approval {
                approver_id: 90_017,
                approver_roles: vec![press_office(14)],
                content_hash: content,
            },
        ],
        circuit_breaker_lifted_by: None,
        from_address: Default::default(),
        audience_redefined: false,
    }
}

fn bench_decide(c: &mut Criterion) {
    let limits = OrgLimits::default();
    let approved = statement();
    assert!(decide(&approved, &limits).is_release());
    c.bench_function("decide/approved_district_statement", |b| {
        b.iter(|| decide(black_box(&approved), black_box(&limits)))
    });

    let mut awaiting = statement();
    awaiting.approvals.truncate(1);
    awaiting.resolution.recipients = 19_000;
    assert!(decide(&awaiting, &limits).is_hold());
    c.bench_function("decide/held_for_blast_radius_and_approval", |b| {
        b.iter(|| decide(black_box(&awaiting), black_box(&limits)))
    });
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
