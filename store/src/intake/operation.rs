//! Intake as one operation, the same for every way in (SMTP, the portal's compose page, the
//! command line, an API): a caller builds an [`IntakeRequest`] and renders the [`Answer`];
//! every step between — the message's form, its `From:`, the directory's name in it, the
//! engine's decisions, the refused-flood throttle and the durable write — happens here, in
//! this order, so no way in can skip one.

use super::conform::{check_lines, Unfit};
use super::group_commit::SubmissionWriter;
use super::prepare::{prepare, Prepared};
use super::submissions::{NewSubmission, Origin};
use super::{submission_record, summarise, DecidedSend, MessageError, Sender};
use crate::{now_ms, ApprovalSettings, Store, StoreError};
use verteiler_policies::{Lang, SmsText};

/// How a message arrived: the way in and what the client said about itself.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub origin: Origin,
    /// The client's address, when the way in knows it (SMTP).
    pub client_ip: Option<String>,
    /// The name the client gave (SMTP `HELO`/`EHLO`).
    pub client_name: Option<String>,
    pub tls: bool,
    /// The envelope sender (SMTP `MAIL FROM`); without one, the checked `From:` address.
    pub envelope_from: Option<String>,
}

/// The person handing a message in, as they authenticated.
#[derive(Debug, Clone)]
pub struct Person {
    pub member_id: i64,
    /// The login they authenticated with: how the submission names them.
    pub login: String,
    /// The app password used, when one was.
    pub credential_id: Option<i64>,
}

/// Whether a message is only decided (the compose page's check) or decided and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Submit,
}

/// One message handed in, with who handed it in, how, and to which lists.
#[derive(Debug, Clone)]
pub struct IntakeRequest {
    pub arrival: Arrival,
    pub person: Person,
    /// The message as received (RFC 5322), or as the portal built it.
    pub raw: Vec<u8>,
    /// The list addresses it is meant for.
    pub addresses: Vec<String>,
    /// The text for members reached by SMS, when the sender wrote one.
    pub sms_text: Option<String>,
    pub mode: Mode,
}

/// Why a message was refused before any list was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// What a submission server must refuse (RFC 6409 §8): a NUL byte, an overlong line.
    #[error("{0}")]
    Unfit(Unfit),
    #[error("{0}")]
    Unreadable(MessageError),
    /// The `From:` is neither one of the person's own verified addresses nor an official
    /// address they may use (or it names several addresses).
    #[error("the From: address {from} is not the sender's")]
    FromNotYours { from: String },
}

/// The display name the sender wrote in `From:`, replaced by the directory's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedName {
    pub submitted: String,
    pub shown: String,
}

/// A decided message, stored before the answer.
#[derive(Debug, Clone)]
pub struct Stored {
    pub submission_id: i64,
    pub decided: Vec<DecidedSend>,
    /// What the sender must be told about their `From:`, when a list took the message.
    pub replaced_name: Option<ReplacedName>,
}

impl Stored {
    /// Whether every list refused the message.
    pub fn all_rejected(&self) -> bool {
        self.decided.iter().all(|d| d.decision.is_reject())
    }
}

/// What became of a request.
#[derive(Debug, Clone)]
pub enum IntakeOutcome {
    /// Refused before any decision; nothing stored.
    Refused(Refusal),
    /// Refused by every list, by a sender with too many refused messages within the hour
    /// (`limits.refused_per_sender_per_hour`): throttled, not stored.
    Throttled {
        limit: u64,
    },
    /// Decided, not stored ([`Mode::Check`]).
    Checked {
        decided: Vec<DecidedSend>,
    },
    Stored(Stored),
}

/// The outcome, and the language the sender reads it in.
#[derive(Debug, Clone)]
pub struct Answer {
    pub lang: Lang,
    pub outcome: IntakeOutcome,
}

/// Intake for every way in: the store, the one group-commit writer every submission is stored
/// through, and the approval settings. Made once at startup and shared; cheap to clone.
#[derive(Debug, Clone)]
pub struct Intake {
    store: Store,
    writer: SubmissionWriter,
    settings: ApprovalSettings,
}

/// A message ready to be decided, and what it is decided as.
struct Ready {
    prepared: Prepared,
    from: String,
    from_name: String,
}

impl Intake {
    /// Starts the submission writer (see [`SubmissionWriter::start`]) on the current runtime.
    pub fn start(store: Store, settings: ApprovalSettings) -> Intake {
        Intake {
            writer: SubmissionWriter::start(store.clone()),
            store,
            settings,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &ApprovalSettings {
        &self.settings
    }

    /// Checks, decides and (in [`Mode::Submit`]) stores one message; a stored one is
    /// committed before this returns.
    pub async fn take(&self, request: IntakeRequest) -> Result<Answer, StoreError> {
        let member = request.person.member_id;
        let sender = self.store.sender_profile(member).await?;
        let lang = Lang::from_tag(&sender.language);
        let answer = |outcome| Ok(Answer { lang, outcome });
        let ready = match self.ready(&request, &sender).await? {
            Ok(ready) => ready,
            Err(refusal) => {
                if request.mode == Mode::Submit {
                    super::tally::count_refused(Some(&refusal));
                }
                return answer(IntakeOutcome::Refused(refusal));
            }
        };
        let (summary, raw) = (&ready.prepared.summary, &ready.prepared.raw);
        let sms = request.sms_text.as_deref().map(SmsText::new);
        let segments = sms.as_ref().map_or(0, SmsText::segments);
        let facts = summary.facts(raw.len() as u64, segments);
        let decided = self
            .store
            .decide_addresses(
                member,
                &ready.from,
                &request.addresses,
                &facts,
                &self.settings,
            )
            .await?;
        if request.mode == Mode::Check {
            return answer(IntakeOutcome::Checked { decided });
        }
        let all_rejected = decided.iter().all(|d| d.decision.is_reject());
        let limit = self.settings.limits.sender_refused_per_hour;
        if all_rejected
            && self
                .store
                .refusals_throttled(member, limit, now_ms())
                .await?
        {
            tracing::info!(event = "policy.refusals_throttled", member);
            super::tally::count_refused(None);
            return answer(IntakeOutcome::Throttled { limit });
        }
        // Notifications go to the person, also when they sent as an official address.
        let notify_to = sender
            .emails
            .iter()
            .find(|(_, verified)| *verified)
            .map_or_else(|| ready.from.clone(), |(address, _)| address.clone());
        let Ready {
            prepared,
            from,
            from_name,
        } = ready;
        let submission = NewSubmission {
            message_id: prepared.summary.message_id.clone(),
            sender_member_id: member,
            login: request.person.login,
            credential_id: request.person.credential_id,
            ingress: request.arrival.origin,
            client_ip: request.arrival.client_ip,
            client_name: request.arrival.client_name,
            tls: request.arrival.tls,
            envelope_from: request
                .arrival
                .envelope_from
                .unwrap_or_else(|| from.clone()),
            header_from: from,
            subject: prepared.summary.subject.clone(),
            content_hash: facts.content_hash.to_string(),
            raw: prepared.raw,
            message_facts: Some(facts),
            preview: Some(prepared.summary.preview),
            sms_text: sms.map(|s| s.text().to_string()),
        };
        let sender = Sender {
            member_id: member,
            notify_to,
            lang,
        };
        let record = submission_record(
            submission,
            decided.clone(),
            &sender,
            &self.settings,
            now_ms(),
        );
        let stored = self.writer.record(record).await?;
        super::tally::count_decisions(&decided);
        let replaced_name = prepared
            .replaced_name
            .filter(|_| !all_rejected)
            .map(|submitted| ReplacedName {
                submitted,
                shown: from_name,
            });
        answer(IntakeOutcome::Stored(Stored {
            submission_id: stored.id,
            decided,
            replaced_name,
        }))
    }

    /// The message of `request`, ready to be decided, or why it is refused: what RFC 6409
    /// says a submission agent must refuse is refused; the `From:` must be the sender's own
    /// verified address or an official address they may send as; the message then shows the
    /// directory's name in `From:` and has a `Date:` and a `Message-ID:`.
    async fn ready(
        &self,
        request: &IntakeRequest,
        sender: &crate::SenderProfile,
    ) -> Result<Result<Ready, Refusal>, StoreError> {
        let (raw, member) = (&request.raw, request.person.member_id);
        if let Err(unfit) = check_lines(raw) {
            return Ok(Err(Refusal::Unfit(unfit)));
        }
        let domain = &self.settings.list_domain;
        let summary = match summarise(raw, domain) {
            Ok(s) => s,
            Err(e) => return Ok(Err(Refusal::Unreadable(e))),
        };
        // No sending in somebody else's name, even with valid credentials. An official address
        // is then weighed list by list: it is good only on the lists that carry it.
        let from = summary.from[0].clone();
        let aligned = summary.from.len() == 1
            && (sender.owns_verified(&from) || self.store.may_send_as(member, &from).await?);
        if !aligned {
            return Ok(Err(Refusal::FromNotYours { from }));
        }
        let from_name = self
            .store
            .from_display_name(member, &from, &request.addresses, domain)
            .await?;
        Ok(match prepare(raw, &from, &from_name, domain, now_ms()) {
            Ok(prepared) => Ok(Ready {
                prepared,
                from,
                from_name,
            }),
            Err(e) => Err(Refusal::Unreadable(e)),
        })
    }
}
