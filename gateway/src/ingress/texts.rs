//! What the SMTP gateway says beyond the decisions themselves, by key; the sentences are in
//! `texts/i18n/<lang>/smtp.toml`. The decisions' sentences ("accepted for …", "held for …")
//! are the store's intake texts, the same the portal shows.

use verteiler_policies::Lang;
use verteiler_texts::{render, text, Arg};

pub fn unknown_list(address: &str) -> String {
    // One reply for both languages: nobody has signed in yet to say which they read.
    render(
        Lang::De,
        "smtp.unknown_list",
        &[("address", Arg::Text(address))],
    )
}

pub fn from_not_yours(from: &str, lang: Lang) -> String {
    render(lang, "smtp.from_not_yours", &[("from", Arg::Text(from))])
}

pub fn unreadable(problem: &str, lang: Lang) -> String {
    render(lang, "smtp.unreadable", &[("problem", Arg::Text(problem))])
}

/// The sender's own display name in `From:` was replaced by the directory's (every copy shows
/// the directory's), so they are not surprised by what recipients see.
pub fn from_name_replaced(submitted: &str, shown: &str, lang: Lang) -> String {
    // The submitted name is the sender's free text: cut so the sentence fits one reply line.
    let submitted: String = submitted.chars().take(120).collect();
    let args = [
        ("submitted", Arg::Text(&submitted)),
        ("shown", Arg::Text(shown)),
    ];
    render(lang, "smtp.from_name_replaced", &args)
}

// Replies a mail program reads rather than a person: English whatever the sender reads.

pub fn bounce_recorded() -> String {
    text(Lang::En, "smtp.bounce_recorded").into()
}

pub fn bounce_mixed() -> String {
    text(Lang::En, "smtp.bounce_mixed").into()
}

pub fn decision_mixed() -> String {
    text(Lang::En, "smtp.decision_mixed").into()
}

pub fn auth_required() -> String {
    text(Lang::En, "smtp.auth_required").into()
}

pub fn no_outside_mail() -> String {
    text(Lang::En, "smtp.no_outside_mail").into()
}

pub fn storage_failed() -> String {
    text(Lang::En, "smtp.storage_failed").into()
}

pub fn too_many_refused(limit: u64, lang: Lang) -> String {
    // A plain figure, as the reply always wrote it.
    let limit = limit.to_string();
    render(
        lang,
        "smtp.too_many_refused",
        &[("limit", Arg::Text(&limit))],
    )
}
