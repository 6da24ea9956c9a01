//! The emails the approval flow writes: to approvers when a send waits for them, and to the
//! sender when it is released, rejected or expires. German and English, side by side, so a
//! translator sees each sentence once in both languages.

use verteiler_policies::{format_count, Lang};

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
    let n = format_count(held.recipients, lang);
    let usual = held.usual_size.map(|u| format_count(u, lang));
    let id = held.send_id;
    let domain = held.list_domain;
    let (subject, intro, size, how, expiry) = match lang {
        Lang::De => (
            format!("[Freigabe] {}: {}", held.audience, held.subject),
            format!(
                "{} möchte eine Nachricht an den Verteiler \"{}\" verschicken. Sie wartet auf Ihre Freigabe.",
                held.sender, held.audience
            ),
            match usual {
                Some(u) => format!("Empfänger: {n} (üblich: {u})"),
                None => format!("Empfänger: {n} (erste Nachricht an diesen Verteiler)"),
            },
            format!(
                "Prüfen und entscheiden: {link}\n\
                 Oder per E-Mail über verteiler (mit Ihrem App-Passwort): eine leere Nachricht an \
                 approve+{id}@{domain} gibt frei; eine Nachricht mit der Begründung an reject+{id}@{domain} lehnt ab.\n\
                 Oder auf der Kommandozeile: verteiler held show {id}, \
                 verteiler held approve {id} --as IHRE-ADRESSE, verteiler held reject {id} --as IHRE-ADRESSE --comment \"…\"",
                link = held.link
            ),
            format!(
                "Ohne Entscheidung verfällt die Anfrage in {} Stunden.",
                held.expires_in_hours
            ),
        ),
        Lang::En => (
            format!("[Approval] {}: {}", held.audience, held.subject),
            format!(
                "{} wants to send a message to the list \"{}\". It is waiting for your approval.",
                held.sender, held.audience
            ),
            match usual {
                Some(u) => format!("Recipients: {n} (usually: {u})"),
                None => format!("Recipients: {n} (first message to this list)"),
            },
            format!(
                "Review and decide: {link}\n\
                 Or by email through verteiler (with your app password): an empty message to \
                 approve+{id}@{domain} approves; a message with your reason to reject+{id}@{domain} rejects.\n\
                 Or on the command line: verteiler held show {id}, \
                 verteiler held approve {id} --as YOUR-ADDRESS, verteiler held reject {id} --as YOUR-ADDRESS --comment \"…\"",
                link = held.link
            ),
            format!(
                "Without a decision the request expires in {} hours.",
                held.expires_in_hours
            ),
        ),
    };
    let subject_line = match lang {
        Lang::De => format!("Betreff: {}", held.subject),
        Lang::En => format!("Subject: {}", held.subject),
    };
    let mut body = format!("{intro}\n\n{subject_line}\n{size}\n\n");
    for line in held.reasons {
        body.push_str(line);
        body.push('\n');
    }
    let text_heading = match lang {
        Lang::De => "Beginn des Textes:",
        Lang::En => "Beginning of the text:",
    };
    body.push_str(&format!("\n{text_heading}\n"));
    for line in held.preview.lines().take(PREVIEW_LINES) {
        body.push_str("| ");
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(&format!("\n{how}\n\n{expiry}\n"));
    (subject, body)
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
    let mins = undo_window_secs.div_ceil(60);
    match lang {
        Lang::De => (
            format!("[{audience}] Freigegeben: {subject}"),
            format!(
                "Ihre Nachricht an \"{audience}\" wurde freigegeben von: {approvers}.\n\n\
                 Der Versand beginnt in {mins} min. Bis dahin können Sie ihn noch abbrechen: \
                 verteiler send cancel {send_id} oder {link}\n"
            ),
        ),
        Lang::En => (
            format!("[{audience}] Approved: {subject}"),
            format!(
                "Your message to \"{audience}\" was approved by: {approvers}.\n\n\
                 Delivery starts in {mins} min. Until then you can still cancel it: \
                 verteiler send cancel {send_id} or {link}\n"
            ),
        ),
    }
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
    let mins = undo_window_secs.div_ceil(60);
    match lang {
        Lang::De => (
            format!("[{audience}] Freigegeben: {subject}"),
            format!(
                "Ihre Nachricht an \"{audience}\" war zurückgehalten, weil die Organisation in einer \
                 Stunde sehr viele Empfänger erreicht hatte (Sicherung). {admin} hat sie freigegeben.\n\n\
                 Der Versand beginnt in {mins} min. Bis dahin können Sie ihn noch abbrechen: \
                 verteiler send cancel {send_id} oder {link}\n"
            ),
        ),
        Lang::En => (
            format!("[{audience}] Released: {subject}"),
            format!(
                "Your message to \"{audience}\" was held because the organisation had reached very \
                 many recipients within an hour (circuit breaker). {admin} has released it.\n\n\
                 Delivery starts in {mins} min. Until then you can still cancel it: \
                 verteiler send cancel {send_id} or {link}\n"
            ),
        ),
    }
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
    match lang {
        Lang::De => (
            format!("[{audience}] Nicht freigegeben: {subject}"),
            format!(
                "Ihre Nachricht an \"{audience}\" wurde nicht freigegeben und nicht verschickt.\n\n\
                 Abgelehnt von: {approver}\nBegründung: {comment}\n\n{link}\n"
            ),
        ),
        Lang::En => (
            format!("[{audience}] Not approved: {subject}"),
            format!(
                "Your message to \"{audience}\" was not approved and has not been sent.\n\n\
                 Rejected by: {approver}\nComment: {comment}\n\n{link}\n"
            ),
        ),
    }
}

/// To the sender: a held message was not decided in time and will not be sent.
pub fn expired(audience: &str, subject: &str, hours: u64, link: &str, lang: Lang) -> Notice {
    match lang {
        Lang::De => (
            format!("[{audience}] Freigabe verfallen: {subject}"),
            format!(
                "Ihre Nachricht an \"{audience}\" wurde nicht innerhalb von {hours} Stunden freigegeben \
                 und wird nicht verschickt. Schicken Sie sie erneut, wenn sie noch gebraucht wird.\n\n{link}\n"
            ),
        ),
        Lang::En => (
            format!("[{audience}] Approval expired: {subject}"),
            format!(
                "Your message to \"{audience}\" was not approved within {hours} hours and will not be \
                 sent. Send it again if it is still needed.\n\n{link}\n"
            ),
        ),
    }
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
    match lang {
        Lang::De => (
            format!("[{audience}] Nicht verschickt: {subject}"),
            format!(
                "Ihre Nachricht an \"{audience}\" war angenommen, wurde aber vor dem Versand gestoppt; \
                 was noch nicht hinausgegangen war, wird nicht mehr verschickt.\n\n{reasons}\n\n{link}\n"
            ),
        ),
        Lang::En => (
            format!("[{audience}] Not sent: {subject}"),
            format!(
                "Your message to \"{audience}\" was accepted but stopped before delivery; \
                 whatever had not gone out yet will not be sent.\n\n{reasons}\n\n{link}\n"
            ),
        ),
    }
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
