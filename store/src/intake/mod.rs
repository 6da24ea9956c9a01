//! The one path every submission takes, whatever brought it (SMTP, the portal's compose form):
//! [`Intake::take`] checks the message, the engine decides each addressed list over the facts
//! the store gathers, and the decisions become one record — the sends, and a notice to the
//! sender for each — stored before the sender is told. The functions at the end put together
//! what the sender reads about each decision (sentences in `texts/i18n/<lang>/store.toml`);
//! the reasons come from the engine's.

mod conform;
pub(crate) mod fact_cache;
pub(crate) mod facts;
mod from_header;
pub(crate) mod from_name;
pub(crate) mod group_commit;
mod message;
pub(crate) mod official_from;
mod operation;
pub(crate) mod own_sends;
mod prepare;
pub(crate) mod sender_standing;
pub(crate) mod submissions;
mod tally;

pub use conform::{check_lines, complete_headers, Added, Part, Unfit, MAX_LINE_OCTETS};
pub use from_header::{encoded_words, normalise as normalise_name, submitted_from_name, with_from};
pub use message::{summarise, MessageError, MessageSummary};
pub use operation::{
    Answer, Arrival, Intake, IntakeOutcome, IntakeRequest, Mode, Person, Refusal, ReplacedName,
    Stored,
};
pub use prepare::{prepare, Prepared};

use crate::{ApprovalSettings, NewNotification, NewSend, NewSubmission, Store, StoreError};
use crate::{Submission, SubmissionRecord};
use verteiler_policies::{
    decide, function_list, Channel, ChannelCounts, Decision, Lang, MessageFacts, RoleFunction,
};
use verteiler_texts::{render, text, Arg};

/// Characters of a message's text kept as its preview: what approvers read in the request
/// before deciding. The same for every way in.
pub const PREVIEW_CHARS: usize = 4_000;

/// The engine's decision for one addressed list.
#[derive(Debug, Clone)]
pub struct DecidedSend {
    pub address: String,
    pub audience_id: Option<i64>,
    /// The list's name, or the address when it names no list.
    pub name: String,
    pub recipients: u64,
    /// How those recipients would be reached.
    pub by_channel: ChannelCounts,
    pub decision: Decision,
}

impl DecidedSend {
    /// The sentence that heads this decision ("accepted for 212 recipients of …").
    pub fn headline(&self, undo_window_secs: u64, lang: Lang) -> String {
        match &self.decision {
            Decision::Release { .. } => {
                accepted(self.recipients, &self.name, undo_window_secs, lang)
            }
            Decision::Hold {
                approvals_needed: 0,
                ..
            } => held_by_admin(&self.name, lang),
            Decision::Hold { approver_roles, .. } => held(approver_roles, &self.name, lang),
            Decision::Reject { .. } => not_sent_to(&self.address, lang),
        }
    }

    /// The headline and then every reason, one sentence per line.
    pub fn lines(&self, undo_window_secs: u64, lang: Lang) -> Vec<String> {
        let mut lines = vec![self.headline(undo_window_secs, lang)];
        if !self.decision.is_reject() {
            lines.extend(by_channel(&self.by_channel, lang));
        }
        lines.extend(self.decision.reasons().iter().map(|r| r.text(lang)));
        lines
    }

    fn notice_kind(&self) -> &'static str {
        match &self.decision {
            Decision::Release { .. } => "submission.released",
            Decision::Hold { .. } => "submission.held",
            Decision::Reject { .. } => "submission.rejected",
        }
    }
}

/// Who is told about a submission's decisions, and in which language.
#[derive(Debug, Clone)]
pub struct Sender {
    pub member_id: i64,
    /// The member's own verified address (also when they sent as an official address).
    pub notify_to: String,
    pub lang: Lang,
}

impl Store {
    /// Asks the engine about each address, as SMTP and the portal alike do: facts gathered by
    /// the store, decided by [`verteiler_policies::decide`]. `from` (the message's `From:`) is
    /// weighed per list: an official sender address is good only on the lists that carry it.
    /// Nothing is stored.
    pub async fn decide_addresses(
        &self,
        sender_member_id: i64,
        from: &str,
        addresses: &[String],
        message: &MessageFacts,
        settings: &ApprovalSettings,
    ) -> Result<Vec<DecidedSend>, StoreError> {
        let mut decided = Vec::with_capacity(addresses.len());
        for address in addresses {
            let facts = self
                .gather_facts(
                    &Submission {
                        sender_member_id,
                        audience_address: address,
                        channel: Channel::Email,
                        message: message.clone(),
                        from: Some(from),
                    },
                    &settings.list_domain,
                )
                .await?;
            let decision = decide(&facts, &settings.limits);
            decided.push(DecidedSend {
                address: address.clone(),
                audience_id: facts.audience.as_ref().map(|a| a.id),
                name: facts
                    .audience
                    .as_ref()
                    .map_or_else(|| address.clone(), |a| a.display_name.clone()),
                recipients: facts.resolution.recipients,
                by_channel: facts.resolution.by_channel.clone(),
                decision,
            });
        }
        Ok(decided)
    }
}

/// What a decided submission stores: the submission, a send per list (released ones wait for
/// the undo window, held ones expire after the approval window) and a notice to the sender per
/// list. When every list refused, the sender learns it at once (the SMTP reply, the page) and
/// no notice repeats it.
pub fn submission_record(
    submission: NewSubmission,
    decided: Vec<DecidedSend>,
    sender: &Sender,
    settings: &ApprovalSettings,
    now: i64,
) -> SubmissionRecord {
    let all_rejected = decided.iter().all(|d| d.decision.is_reject());
    let link = format!(
        "{}/submissions",
        settings.portal_base_url.trim_end_matches('/')
    );
    let mut notifications = Vec::new();
    let mut sends = Vec::new();
    for d in decided {
        if !all_rejected {
            let (subject, body) = notification(
                d.notice_kind(),
                &d.name,
                &submission.subject,
                &d.decision.lines(sender.lang),
                &link,
                sender.lang,
            );
            notifications.push(NewNotification {
                member_id: Some(sender.member_id),
                to_address: sender.notify_to.clone(),
                kind: d.notice_kind(),
                subject,
                body,
            });
        }
        sends.push(NewSend {
            release_at: d
                .decision
                .is_release()
                .then(|| now + settings.undo_window_secs as i64 * 1000),
            expires_at: d
                .decision
                .is_hold()
                .then(|| now + settings.approval_window_secs as i64 * 1000),
            address: d.address,
            audience_id: d.audience_id,
            decision: d.decision,
            recipients: d.recipients,
        });
    }
    SubmissionRecord {
        submission,
        sends,
        notifications,
    }
}

pub fn accepted(recipients: u64, audience: &str, undo_secs: u64, lang: Lang) -> String {
    let wait = wait_text(undo_secs, lang);
    let args = [
        ("recipients", Arg::Count(recipients)),
        ("audience", Arg::Text(audience)),
        ("wait", Arg::Text(&wait)),
    ];
    render(lang, "intake.accepted", &args)
}

/// "212 recipients: 180 by email, 25 by SMS, 7 by post", when not all of them are reached by
/// email (an all-email list needs no second line).
pub fn by_channel(counts: &ChannelCounts, lang: Lang) -> Option<String> {
    let total = counts.total();
    if counts.email == total && counts.also_sms == 0 {
        return None;
    }
    let parts: Vec<String> = [
        (counts.email, "intake.channel.email"),
        (counts.sms, "intake.channel.sms"),
        (counts.post, "intake.channel.post"),
        (
            counts.declined + counts.no_address,
            "intake.channel.unreachable",
        ),
        // The audience's policy says "email and SMS": some get both.
        (counts.also_sms, "intake.channel.also_sms"),
        (counts.also_email, "intake.channel.also_email"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, key)| render(lang, key, &[("count", Arg::Count(count))]))
    .collect();
    let parts = parts.join(", ");
    let args = [("total", Arg::Count(total)), ("parts", Arg::Text(&parts))];
    Some(render(lang, "intake.by_channel", &args))
}

fn wait_text(secs: u64, lang: Lang) -> String {
    // Plain figures: a wait is read at a glance, never in the thousands.
    match secs {
        0 => text(lang, "intake.wait.now").into(),
        s if s % 60 == 0 => {
            let minutes = (s / 60).to_string();
            render(
                lang,
                "intake.wait.minutes",
                &[("minutes", Arg::Text(&minutes))],
            )
        }
        s => {
            let seconds = s.to_string();
            render(
                lang,
                "intake.wait.seconds",
                &[("seconds", Arg::Text(&seconds))],
            )
        }
    }
}

pub fn held(approvers: &[RoleFunction], audience: &str, lang: Lang) -> String {
    let who = function_list(approvers, lang);
    let args = [
        ("approvers", Arg::Text(&who)),
        ("audience", Arg::Text(audience)),
    ];
    render(lang, "intake.held", &args)
}

pub fn held_by_admin(audience: &str, lang: Lang) -> String {
    render(
        lang,
        "intake.held_by_admin",
        &[("audience", Arg::Text(audience))],
    )
}

pub fn not_sent_to(address: &str, lang: Lang) -> String {
    render(
        lang,
        "intake.not_sent_to",
        &[("address", Arg::Text(address))],
    )
}

/// Subject and body of the notice about one send, with the portal link.
fn notification(
    kind: &str,
    audience: &str,
    subject: &str,
    lines: &[String],
    link: &str,
    lang: Lang,
) -> (String, String) {
    // `kind` is one of the three `submission.*` notice kinds.
    let title = text(lang, &format!("intake.{kind}.title"));
    let intro = text(lang, &format!("intake.{kind}.intro"));
    let subject_line = format!("[{audience}] {title}: {subject}");
    let mut body = format!("{intro}\n\n");
    for line in lines {
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(&format!("\n{link}\n"));
    (subject_line, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accepted_line_names_count_audience_and_start_in_both_languages() {
        assert_eq!(
            accepted(212, "Distrikt Oldenfelde", 120, Lang::En),
            "accepted for 212 recipients of \"Distrikt Oldenfelde\"; delivery starts in 2 min"
        );
        assert_eq!(
            accepted(365_120, "Alle", 0, Lang::De),
            "angenommen für 365.120 Empfänger von \"Alle\"; der Versand beginnt sofort"
        );
    }

    #[test]
    fn the_channel_line_splits_the_recipients_only_when_not_all_get_email() {
        let counts = ChannelCounts {
            email: 180,
            sms: 25,
            post: 7,
            ..ChannelCounts::default()
        };
        assert_eq!(
            by_channel(&counts, Lang::En).as_deref(),
            Some("212 recipients: 180 by email, 25 by SMS, 7 by post")
        );
        let german = ChannelCounts {
            declined: 2,
            no_address: 1,
            ..counts
        };
        assert_eq!(
            by_channel(&german, Lang::De).as_deref(),
            Some(
                "215 Empfänger: 180 per E-Mail, 25 per SMS, 7 per Post, 3 nicht erreichbar \
                 (kein Kanal gewählt oder keine Adresse dafür)"
            )
        );
        let all_email = ChannelCounts {
            email: 40,
            ..ChannelCounts::default()
        };
        assert_eq!(by_channel(&all_email, Lang::De), None);
        let both = ChannelCounts {
            also_sms: 12,
            ..all_email
        };
        assert_eq!(
            by_channel(&both, Lang::De).as_deref(),
            Some("40 Empfänger: 40 per E-Mail, zusätzlich 12 per SMS")
        );
        assert_eq!(
            by_channel(&both, Lang::En).as_deref(),
            Some("40 recipients: 40 by email, 12 also by SMS")
        );
    }

    #[test]
    fn held_names_the_approvers() {
        assert!(held(&[RoleFunction::PressOffice], "Presse", Lang::De).contains("Pressestelle"));
        assert!(
            held(&[RoleFunction::PressOffice], "Presse", Lang::En).contains("held for approval by")
        );
    }
}
