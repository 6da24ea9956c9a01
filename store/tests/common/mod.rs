//! A small organisation for resolution tests:
//!
//! ```text
//! HH (state)
//! ├── HH-WA (district)
//! │   ├── HH-WA-OLD (branch)
//! │   └── HH-WA-RAH (branch)
//! └── HH-AL (district)
//!     └── HH-AL-OTT (branch)
//! ```
#![allow(dead_code)]

pub mod decided;

use verteiler_policies::{
    AudienceSlug, Decision, EmailAddress, HeaderTreatment, RoleFunction, UnitKind,
};
use verteiler_store::{
    now_ms, Audience, ExpansionSettings, NewAudience, NewMember, NewNotification, NewRole, NewSend,
    NewSubmission, NewUnit, Origin, Store, SubmissionRecord,
};

pub struct Org {
    pub hh: i64,
    pub wa: i64,
    pub old: i64,
    pub rah: i64,
    pub al: i64,
    pub ott: i64,
}

pub async fn build_org(store: &Store) -> Org {
    let unit = |code: &str, kind: UnitKind, parent: Option<&str>| NewUnit {
        code: code.into(),
        name: format!("Unit {code}"),
        kind,
        parent_code: parent.map(str::to_string),
    };
    Org {
        hh: store
            .create_unit(&unit("HH", UnitKind::State, None))
            .await
            .unwrap(),
        wa: store
            .create_unit(&unit("HH-WA", UnitKind::District, Some("HH")))
            .await
            .unwrap(),
        old: store
            .create_unit(&unit("HH-WA-OLD", UnitKind::Branch, Some("HH-WA")))
            .await
            .unwrap(),
        rah: store
            .create_unit(&unit("HH-WA-RAH", UnitKind::Branch, Some("HH-WA")))
            .await
            .unwrap(),
        al: store
            .create_unit(&unit("HH-AL", UnitKind::District, Some("HH")))
            .await
            .unwrap(),
        ott: store
            .create_unit(&unit("HH-AL-OTT", UnitKind::Branch, Some("HH-AL")))
            .await
            .unwrap(),
    }
}

pub async fn member(store: &Store, name: &str, unit_id: i64) -> i64 {
    store
        .create_member(&NewMember {
            external_id: Some(format!("X-{name}")),
            first_name: name.into(),
            last_name: "Test".into(),
            unit_id,
            email: Some(
                EmailAddress::parse(&format!("{}@example.org", name.to_lowercase())).unwrap(),
            ),
        })
        .await
        .unwrap()
}

pub async fn role(store: &Store, member_id: i64, unit_id: i64, function: RoleFunction) {
    store
        .grant_role(NewRole {
            member_id,
            unit_id,
            function,
            covers_subtree: false,
        })
        .await
        .unwrap();
}

pub fn slug(s: &str) -> AudienceSlug {
    AudienceSlug::parse(s).unwrap()
}

pub async fn structural(store: &Store, s: &str, unit_id: i64, include_subunits: bool) -> Audience {
    store
        .create_audience(&NewAudience::structural(
            slug(s),
            s,
            unit_id,
            include_subunits,
        ))
        .await
        .unwrap();
    store.audience_by_slug(&slug(s)).await.unwrap().unwrap()
}

/// Stores a released send from `sender` to the audience `audience_id`, decided for
/// `recipients` and due now; returns the send's id.
pub async fn released_send(s: &Store, sender: i64, audience_id: i64, recipients: u64) -> i64 {
    released_send_with_notices(s, sender, audience_id, recipients, Vec::new()).await
}

/// A released send whose record also queues `notifications` (to its sender, say).
pub async fn released_send_with_notices(
    s: &Store,
    sender: i64,
    audience_id: i64,
    recipients: u64,
    notifications: Vec<NewNotification>,
) -> i64 {
    let stored = s
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some("released@example.org".into()),
                sender_member_id: sender,
                credential_id: None,
                login: "chair@example.org".into(),
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: "chair@example.org".into(),
                header_from: "chair@example.org".into(),
                subject: "Einladung".into(),
                content_hash: "03".repeat(32),
                raw: b"From: chair@example.org\r\nSubject: Einladung\r\n\r\nHallo".to_vec(),
                message_facts: None,
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: "list@lists.example.org".into(),
                audience_id: Some(audience_id),
                decision: Decision::Release {
                    headers: HeaderTreatment::Keep,
                },
                recipients,
                release_at: Some(now_ms() - 1),
                expires_at: None,
            }],
            notifications,
        })
        .await
        .unwrap();
    s.sends_of(stored.id).await.unwrap()[0].id
}

/// What the delivery loop passes to expansion: the default approval window, the test portal.
pub fn checks() -> ExpansionSettings {
    ExpansionSettings {
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}
