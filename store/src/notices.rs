//! The emails the approval flow writes: to approvers when a send waits for them, and to the
//! sender when it is released, rejected or expires. The sentences are in
//! `texts/i18n/<lang>/store.toml` (`notice.*`); this module puts them together.

use verteiler_policies::Lang;
use verteiler_texts::{render, Arg};

/// Lines of the message's text quoted in an approval request.
const PREVIEW_LINES: usize = 40;

/// Subject and body of one notice.
pub type Notice = (String, String);

/// What approvers read about a held send.
#[derive(Debug, Clone)]
pub struct HeldSummary<'a> {
    pub send_id: i64,
    pub sender: &'a str,
    pub audience: &'a str,
    pub recipients: u64,
    pub usual_size: Option<u64>,
    pub subject: &'a str,
    /// One line per reason, in the reader's language.
    pub reasons: &'a [String],
    pub link: &'a str,
    pub expires_in_hours: u64,
    /// The beginning of the message's text.
    pub preview: &'a str,
    /// Where the approve+/reject+ addresses live.
    pub list_domain: &'a str,
}

pub fn approval_requested(held: &HeldSummary<'_>, lang: Lang) -> Notice {
    let id = held.send_id.to_string();
    let hours = held.expires_in_hours.to_string();
    let args = [
        ("audience", Arg::Text(held.audience)),
        ("subject", Arg::Text(held.subject)),
        ("sender", Arg::Text(held.sender)),
        ("recipients", Arg::Count(held.recipients)),
        ("usual", Arg::Count(held.usual_size.unwrap_or_default())),
        ("link", Arg::Text(held.link)),
        ("send_id", Arg::Text(&id)),
        ("domain", Arg::Text(held.list_domain)),
        ("hours", Arg::Text(&hours)),
    ];
    let part = |name: &str| render(lang, &format!("notice.approval_requested.{name}"), &args);
    let size = match held.usual_size {
        Some(_) => part("size"),
        None => part("size_first"),
    };
    let (intro, subject_line) = (part("intro"), part("subject_line"));
    let mut body = format!("{intro}\n\n{subject_line}\n{size}\n\n");
    for line in held.reasons {
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(&format!("\n{}\n", part("text_heading")));
    for line in held.preview.lines().take(PREVIEW_LINES) {
        body.push_str("| ");
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(&format!("\n{}\n\n{}\n", part("how"), part("expiry")));
    (part("subject"), body)
}

/// The subject and body of the notice `name` (`notice.<name>.subject`, `….body`).
fn notice(name: &str, args: &[(&str, Arg<'_>)], lang: Lang) -> Notice {
    (
        render(lang, &format!("notice.{name}.subject"), args),
        render(lang, &format!("notice.{name}.body"), args),
    )
}

/// To the sender: the last approval arrived, delivery starts after the undo window.
pub fn released_after_approval(
    audience: &str,
    subject: &str,
    approvers: &str,
    send_id: i64,
    undo_window_secs: u64,
    link: &str,
    lang: Lang,
) -> Notice {
    let minutes = undo_window_secs.div_ceil(60).to_string();
    let id = send_id.to_string();
    let args = [
        ("audience", Arg::Text(audience)),
        ("subject", Arg::Text(subject)),
        ("approvers", Arg::Text(approvers)),
        ("send_id", Arg::Text(&id)),
        ("minutes", Arg::Text(&minutes)),
        ("link", Arg::Text(link)),
    ];
    notice("released_after_approval", &args, lang)
}

/// To the sender: their send, held by the organisation's circuit breaker, was released by
/// an admin; delivery starts after the undo window.
pub fn released_by_admin(
    audience: &str,
    subject: &str,
    admin: &str,
    send_id: i64,
    undo_window_secs: u64,
    link: &str,
    lang: Lang,
) -> Notice {
    let minutes = undo_window_secs.div_ceil(60).to_string();
    let id = send_id.to_string();
    let args = [
        ("audience", Arg::Text(audience)),
        ("subject", Arg::Text(subject)),
        ("admin", Arg::Text(admin)),
        ("send_id", Arg::Text(&id)),
        ("minutes", Arg::Text(&minutes)),
        ("link", Arg::Text(link)),
    ];
    notice("released_by_admin", &args, lang)
}

/// To the sender: an approver refused the message, with their comment.
pub fn rejected_by_approver(
    audience: &str,
    subject: &str,
    approver: &str,
    comment: &str,
    link: &str,
    lang: Lang,
) -> Notice {
    let args = [
        ("audience", Arg::Text(audience)),
        ("subject", Arg::Text(subject)),
        ("approver", Arg::Text(approver)),
        ("comment", Arg::Text(comment)),
        ("link", Arg::Text(link)),
    ];
    notice("rejected_by_approver", &args, lang)
}

/// To the sender: a held message was not decided in time and will not be sent.
pub fn expired(audience: &str, subject: &str, hours: u64, link: &str, lang: Lang) -> Notice {
    let hours = hours.to_string();
    let args = [
        ("audience", Arg::Text(audience)),
        ("subject", Arg::Text(subject)),
        ("hours", Arg::Text(&hours)),
        ("link", Arg::Text(link)),
    ];
    notice("expired", &args, lang)
}

/// To the sender: a send accepted earlier was stopped when its copies were about to be made,
/// because its list changed meanwhile (`reasons`: the engine's sentences, joined).
pub fn stopped_before_delivery(
    audience: &str,
    subject: &str,
    reasons: &str,
    link: &str,
    lang: Lang,
) -> Notice {
    let args = [
        ("audience", Arg::Text(audience)),
        ("subject", Arg::Text(subject)),
        ("reasons", Arg::Text(reasons)),
        ("link", Arg::Text(link)),
    ];
    notice("stopped_before_delivery", &args, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_sender_count_usual_size_reasons_and_how_to_decide() {
        let reasons = vec!["Nachrichten an den Verteiler … müssen freigegeben werden.".to_string()];
        let held = HeldSummary {
            send_id: 42,
            sender: "Renée Hoffmann <renee.hoffmann@example.org>",
            audience: "Pressemitteilungen",
            recipients: 365_120,
            usual_size: Some(212),
            subject: "Stellungnahme",
            reasons: &reasons,
            link: "http://127.0.0.1:8080/held/42",
            expires_in_hours: 72,
            preview: "Liebe Mitglieder,\nheute erklären wir …",
            list_domain: "lists.example.org",
        };
        let (subject, body) = approval_requested(&held, Lang::De);
        assert_eq!(subject, "[Freigabe] Pressemitteilungen: Stellungnahme");
        for part in [
            "Renée Hoffmann",
            "Empfänger: 365.120 (üblich: 212)",
            "müssen freigegeben werden",
            "verteiler held approve 42",
            "approve+42@lists.example.org",
            "reject+42@lists.example.org",
            "| Liebe Mitglieder,",
            "http://127.0.0.1:8080/held/42",
            "72 Stunden",
        ] {
            assert!(body.contains(part), "{part} missing in {body}");
        }
        let (_, en) = approval_requested(&held, Lang::En);
        assert!(en.contains("Recipients: 365,120 (usually: 212)"), "{en}");
    }

    #[test]
    fn a_rejection_carries_the_comment() {
        let (_, body) = rejected_by_approver(
            "Presse",
            "Stellungnahme",
            "Jonas Petersen",
            "Bitte Zitat prüfen",
            "http://x/held/1",
            Lang::De,
        );
        assert!(body.contains("Begründung: Bitte Zitat prüfen"));
    }
}

/// One email to a person, queued for the delivery engine's notification worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    pub member_id: Option<i64>,
    pub to: &'a str,
    /// What it is about: `approval.requested`, `portal.sign_in`, …
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub submission_id: Option<i64>,
}

/// Queues `notice` in `tx`: it goes out only if the change it reports is committed.
pub(crate) async fn queue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    notice: &Outgoing<'_>,
    now: i64,
) -> Result<(), crate::StoreError> {
    sqlx::query(
        "INSERT INTO notifications (member_id, to_address, kind, subject, body, submission_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(notice.member_id)
    .bind(notice.to)
    .bind(notice.kind)
    .bind(notice.subject)
    .bind(notice.body)
    .bind(notice.submission_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
