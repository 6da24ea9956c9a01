//! Submissions as the gateway stores them: decided by the engine over the store's facts.

use verteiler_policies::{decide, Channel, ContentHash, MessageFacts, OrgLimits};
use verteiler_store::intake::{submission_record, Sender};
use verteiler_store::{
    now_ms, ApprovalSettings, NewSubmission, Origin, Store, Submission, SubmissionRecord,
};

pub fn settings() -> ApprovalSettings {
    ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits::default(),
        undo_window_secs: 0,
        approval_window_secs: 72 * 3600,
        portal_base_url: "http://portal.test".into(),
    }
}

/// The record of `raw` from `sender` (logged in and writing as `address_of_sender`) to one
/// list address, decided by the engine, with the notices the intake adds.
pub async fn decided(
    s: &Store,
    sender: i64,
    address_of_sender: &str,
    to: &str,
    message_id: &str,
    raw: &[u8],
) -> SubmissionRecord {
    let message = MessageFacts {
        size_bytes: raw.len() as u64,
        attachment_count: 0,
        attachment_bytes: 0,
        visible_recipients: 0,
        sms_segments: 0,
        content_hash: ContentHash::from_bytes([7; 32]),
    };
    let facts = s
        .gather_facts(
            &Submission {
                sender_member_id: sender,
                audience_address: to,
                channel: Channel::Email,
                message: message.clone(),
                from: None,
            },
            "lists.example.org",
        )
        .await
        .unwrap();
    let decision = decide(&facts, &OrgLimits::default());
    let decided = vec![verteiler_store::intake::DecidedSend {
        address: to.into(),
        audience_id: facts.audience.as_ref().map(|a| a.id),
        name: to.into(),
        recipients: facts.resolution.recipients,
        by_channel: facts.resolution.by_channel.clone(),
        decision,
    }];
    let submission = NewSubmission {
        message_id: Some(message_id.into()),
        sender_member_id: sender,
        login: address_of_sender.into(),
        credential_id: None,
        ingress: Origin::Smtp,
        client_ip: Some("192.0.2.7".into()),
        client_name: Some("laptop".into()),
        tls: true,
        envelope_from: address_of_sender.into(),
        header_from: address_of_sender.into(),
        subject: "Einladung".into(),
        content_hash: message.content_hash.to_string(),
        raw: raw.to_vec(),
        message_facts: Some(message),
        preview: Some("Geheimer Text".into()),
        sms_text: Some("Geheimer Text per SMS".into()),
    };
    let sender = Sender {
        member_id: sender,
        notify_to: address_of_sender.into(),
        lang: verteiler_policies::Lang::De,
    };
    submission_record(submission, decided, &sender, &settings(), now_ms())
}

/// Stores [`decided`]; returns the submission's id and its send's.
pub async fn submitted(
    s: &Store,
    sender: i64,
    address_of_sender: &str,
    to: &str,
    message_id: &str,
    raw: &[u8],
) -> (i64, i64) {
    let record = decided(s, sender, address_of_sender, to, message_id, raw).await;
    let id = s.record_submission(&record).await.unwrap().id;
    (id, s.sends_of(id).await.unwrap()[0].id)
}
