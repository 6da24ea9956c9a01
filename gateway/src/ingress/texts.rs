//! What the SMTP gateway says beyond the decisions themselves, in German and English. The
//! decisions' sentences ("accepted for …", "held for …") are the store's intake texts, the same
//! the portal shows.

use verteiler_policies::Lang;

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

/// The sender's own display name in `From:` was replaced by the directory's (every copy shows
/// the directory's), so they are not surprised by what recipients see.
pub fn from_name_replaced(submitted: &str, shown: &str, lang: Lang) -> String {
    // The submitted name is the sender's free text: cut so the sentence fits one reply line.
    let submitted: String = submitted.chars().take(120).collect();
    match lang {
        Lang::De => format!(
            "Absendername \"{submitted}\" ersetzt: jede Kopie zeigt den Namen aus dem \
             Mitgliederverzeichnis, \"{shown}\""
        ),
        Lang::En => format!(
            "sender name \"{submitted}\" replaced: every copy shows the name from the member \
             directory, \"{shown}\""
        ),
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

pub fn too_many_refused(limit: u64, lang: Lang) -> String {
    match lang {
        Lang::De => format!(
            "{limit} Ihrer Nachrichten wurden in der letzten Stunde von jedem Verteiler abgelehnt; \
             diese wird nicht angenommen, versuchen Sie es später wieder"
        ),
        Lang::En => format!(
            "{limit} of your messages in the last hour were refused by every list; this one is \
             not taken, try again later"
        ),
    }
}
