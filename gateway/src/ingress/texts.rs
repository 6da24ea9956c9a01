//! Every sentence the SMTP gateway says to a person, in German and English. Reasons come from
//! the policy engine's own texts; these frame them ("accepted for …", "held for …").

use verteiler_policies::{format_count, function_list, Lang, RoleFunction};

pub fn accepted(recipients: u64, audience: &str, undo_secs: u64, lang: Lang) -> String {
    let n = format_count(recipients, lang);
    let wait = wait_text(undo_secs, lang);
    match lang {
        Lang::De => {
            format!("angenommen für {n} Empfänger von \"{audience}\"; der Versand beginnt {wait}")
        }
        Lang::En => {
            format!("accepted for {n} recipients of \"{audience}\"; delivery starts {wait}")
        }
    }
}

fn wait_text(secs: u64, lang: Lang) -> String {
    match (lang, secs) {
        (Lang::De, 0) => "sofort".into(),
        (Lang::En, 0) => "now".into(),
        (Lang::De, s) if s % 60 == 0 => format!("in {} min", s / 60),
        (Lang::En, s) if s % 60 == 0 => format!("in {} min", s / 60),
        (Lang::De, s) => format!("in {s} s"),
        (Lang::En, s) => format!("in {s} s"),
    }
}

pub fn held(approvers: &[RoleFunction], audience: &str, lang: Lang) -> String {
    let who = function_list(approvers, lang);
    match lang {
        Lang::De => format!("zur Freigabe durch {who} zurückgehalten (\"{audience}\")"),
        Lang::En => format!("held for approval by {who} (\"{audience}\")"),
    }
}

pub fn held_by_admin(audience: &str, lang: Lang) -> String {
    match lang {
        Lang::De => format!(
            "zurückgehalten, bis eine Administratorin den Versand wieder freigibt (\"{audience}\")"
        ),
        Lang::En => format!("held until an administrator resumes sending (\"{audience}\")"),
    }
}

pub fn not_sent_to(address: &str, lang: Lang) -> String {
    match lang {
        Lang::De => format!("nicht an {address} verschickt"),
        Lang::En => format!("not sent to {address}"),
    }
}

pub fn unknown_list(address: &str) -> String {
    format!("{address}: Diesen Verteiler gibt es nicht / no such list")
}

pub fn from_not_yours(from: &str, lang: Lang) -> String {
    match lang {
        Lang::De => format!(
            "Der Absender {from} ist keine bestätigte Adresse Ihres Zugangs; senden Sie mit Ihrer eigenen, \
             bestätigten Adresse als From:"
        ),
        Lang::En => format!(
            "The sender {from} is not a verified address of your account; send with your own verified \
             address in From:"
        ),
    }
}

pub fn unreadable(problem: &str, lang: Lang) -> String {
    match lang {
        Lang::De => format!("Die Nachricht ist fehlerhaft: {problem}"),
        Lang::En => format!("The message is malformed: {problem}"),
    }
}

pub fn bounce_recorded() -> String {
    "bounce recorded".into()
}

pub fn bounce_mixed() -> String {
    "a bounce and a list message cannot share one transaction".into()
}

pub fn decision_mixed() -> String {
    "an approval decision and a list message cannot share one transaction".into()
}

pub fn auth_required() -> String {
    "authentication required".into()
}

pub fn storage_failed() -> String {
    "the message could not be stored; nothing was accepted, please retry".into()
}

/// Subject and body of the notification about one send, with the portal link.
pub fn notification(
    kind: &str,
    audience: &str,
    subject: &str,
    lines: &[String],
    link: &str,
    lang: Lang,
) -> (String, String) {
    let (title, intro) = match (kind, lang) {
        ("submission.held", Lang::De) => (
            "Zur Freigabe zurückgehalten",
            "Ihre Nachricht wurde zur Freigabe zurückgehalten.",
        ),
        ("submission.held", Lang::En) => {
            ("Held for approval", "Your message is held for approval.")
        }
        ("submission.rejected", Lang::De) => {
            ("Nicht verschickt", "Ihre Nachricht wurde nicht verschickt.")
        }
        ("submission.rejected", Lang::En) => ("Not sent", "Your message was not sent."),
        (_, Lang::De) => (
            "Versand freigegeben",
            "Ihre Nachricht wurde angenommen und wird verschickt.",
        ),
        (_, Lang::En) => (
            "Released",
            "Your message was accepted and will be delivered.",
        ),
    };
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
    fn held_names_the_approvers() {
        assert!(held(&[RoleFunction::PressOffice], "Presse", Lang::De).contains("Pressestelle"));
        assert!(
            held(&[RoleFunction::PressOffice], "Presse", Lang::En).contains("held for approval by")
        );
    }
}
