//! What the API tells about submissions and sends: the decisions of a submission just handed
//! in, and a submission or send as stored, with its state, reasons and delivery totals. The
//! same words for a decision everywhere: `released`, `held`, `refused`.

use super::super::problem::{ProblemReason, Texts};
use serde::Serialize;
use utoipa::ToSchema;
use verteiler_policies::{Decision, Reason};
use verteiler_store::intake::DecidedSend;
use verteiler_store::{DeliveryTotals, OwnSend, OwnSubmission};

/// A submission just handed in: what each list decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionAccepted {
    pub submission_id: i64,
    /// One per list, in the order the lists were given.
    pub sends: Vec<DecidedSendView>,
    /// The display name the message carried in `From:`, replaced by the directory's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_from_name: Option<ReplacedFromName>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplacedFromName {
    pub submitted: String,
    pub shown: String,
}

/// One list's decision about a submission just handed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedSendView {
    pub send_id: i64,
    /// The list's slug (the address's local part).
    pub list: String,
    /// The list's name, or the address when it names no list.
    pub name: String,
    pub address: String,
    /// `released`, `held` or `refused`.
    pub decision: String,
    pub recipients: u64,
    /// Until when the sender may still stop a released send before its first copy
    /// (milliseconds since 1970, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_until: Option<i64>,
    /// For a held send, the roles asked to approve it (`chair`, `press-office` …); empty when
    /// only an admin may release it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// For a held send, the approvals it still needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_needed: Option<u32>,
    /// The decision as one sentence, as SMTP's reply and the portal say it.
    pub summary: Texts,
    pub reasons: Vec<ProblemReason>,
}

/// `released`, `held` or `refused`: the word the API uses for a decision.
pub fn decision_word(decision: &Decision) -> &'static str {
    match decision {
        Decision::Release { .. } => "released",
        Decision::Hold { .. } => "held",
        Decision::Reject { .. } => "refused",
    }
}

/// The word for a decision as stored (`release`, `hold`, `reject`).
fn stored_decision_word(stored: &str) -> String {
    match stored {
        "release" => "released".into(),
        "hold" => "held".into(),
        "reject" => "refused".into(),
        other => other.into(),
    }
}

pub fn reasons(reasons: &[Reason]) -> Vec<ProblemReason> {
    reasons
        .iter()
        .map(|r| ProblemReason {
            code: r.code().to_string(),
            texts: Texts::rendered(|lang| r.text(lang)),
        })
        .collect()
}

impl DecidedSendView {
    pub fn of(d: &DecidedSend, send_id: i64, undo_until: Option<i64>, undo_secs: u64) -> Self {
        let (approvers, approvals_needed) = match &d.decision {
            Decision::Hold {
                approver_roles,
                approvals_needed,
                ..
            } => (
                approver_roles
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect(),
                Some(*approvals_needed),
            ),
            _ => (Vec::new(), None),
        };
        DecidedSendView {
            send_id,
            list: slug_of(&d.address),
            name: d.name.clone(),
            address: d.address.clone(),
            decision: decision_word(&d.decision).into(),
            recipients: d.recipients,
            undo_until: undo_until.filter(|_| d.decision.is_release()),
            approvers,
            approvals_needed,
            summary: Texts::rendered(|lang| d.headline(undo_secs, lang)),
            reasons: reasons(d.decision.reasons()),
        }
    }
}

fn slug_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .to_string()
}

/// A submission as stored, with its sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionView {
    pub submission_id: i64,
    pub subject: String,
    /// Milliseconds since 1970 (UTC).
    pub created_at: i64,
    pub sends: Vec<SendView>,
}

/// A send as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendView {
    pub send_id: i64,
    pub submission_id: i64,
    pub list: String,
    /// The list's name; absent when the address named no list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub address: String,
    /// `held`, `scheduled`, `sending`, `complete`, `rejected`, `cancelled`, `withdrawn`,
    /// `expired`.
    pub state: String,
    /// `released`, `held` or `refused`: the decision last taken.
    pub decision: String,
    pub recipients: u64,
    /// When a released send starts (milliseconds since 1970, UTC); until then it may be
    /// stopped without a copy going out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_at: Option<i64>,
    /// Whether the sender may still stop it (`POST /sends/{id}/cancel`).
    pub cancellable: bool,
    pub reasons: Vec<ProblemReason>,
}

impl SendView {
    pub fn of(own: &OwnSend) -> SendView {
        let send = &own.send;
        SendView {
            send_id: send.id,
            submission_id: send.submission_id,
            list: slug_of(&send.address),
            name: own.audience.clone(),
            address: send.address.clone(),
            state: send.state.as_str().to_string(),
            decision: stored_decision_word(&send.decision),
            recipients: send.recipients,
            release_at: send.release_at,
            cancellable: own.cancellable(),
            reasons: reasons(&own.reasons),
        }
    }
}

impl SubmissionView {
    pub fn of(s: &OwnSubmission) -> SubmissionView {
        SubmissionView {
            submission_id: s.id,
            subject: s.subject.clone(),
            created_at: s.created_at,
            sends: s.sends.iter().map(SendView::of).collect(),
        }
    }
}

/// How far a send's delivery got, by channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsView {
    /// Copies still to go out (retries included).
    pub queued: u64,
    /// Of the queued: waiting for a retry after a temporary failure.
    pub deferred: u64,
    /// Emails handed over.
    pub sent: u64,
    /// Recipients reached by SMS instead of email.
    pub sms: u64,
    pub bounced: u64,
    pub failed: u64,
    /// Recipients with no channel or no address for it.
    pub unreachable: u64,
    pub cancelled: u64,
}

impl From<&DeliveryTotals> for TotalsView {
    fn from(t: &DeliveryTotals) -> TotalsView {
        TotalsView {
            queued: t.queued,
            deferred: t.deferred,
            sent: t.sent,
            sms: t.sms,
            bounced: t.bounced,
            failed: t.failed,
            unreachable: t.unreachable,
            cancelled: t.cancelled,
        }
    }
}

/// One send with its submission's subject and its delivery totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendDetail {
    #[serde(flatten)]
    pub send: SendView,
    pub subject: String,
    pub totals: TotalsView,
}
