//! The admin's list form as a browser posts it: every field of the definition.

/// The complete form of the fixture's branch list `oldenfelde` as it is stored.
pub fn oldenfelde_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("slug", "oldenfelde"),
        ("name", "Ortsverband Oldenfelde"),
        ("kind", "structural"),
        ("unit", "HH-OLD"),
        ("role", ""),
        ("scope", "HH-OLD"),
        ("category", "announcement"),
        ("senders", "chair"),
        ("channels", "email"),
        ("approval", "never"),
        ("threshold", ""),
        ("approvals_needed", "1"),
        ("approvers", "press-office"),
        ("max_recipients", ""),
        ("max_message_kb", ""),
        ("sends_per_day", ""),
        ("sender_address", ""),
        ("reply_mode", "sender"),
    ]
}

/// `form` with the single-valued field `key` set to `value` (added when missing).
pub fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    match form.iter_mut().find(|(k, _)| *k == key) {
        Some(field) => field.1 = value,
        None => form.push((key, value)),
    }
    form
}

/// `form` with every value of `key` taken out (an unticked checkbox group).
pub fn without<'a>(form: Vec<(&'a str, &'a str)>, key: &str) -> Vec<(&'a str, &'a str)> {
    form.into_iter().filter(|(k, _)| *k != key).collect()
}
