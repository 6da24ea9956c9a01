//! The portal's texts: German by default, English for those whose browser prefers it.
//!
//! Texts live in `texts/i18n/<lang>/portal.toml` (flat `key = "text"`, `{name}` placeholders)
//! so they can be reworded without touching code; `verteiler_texts` compiles them in, parses
//! them once and keeps the languages in step. This module only chooses the language.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use std::convert::Infallible;
use verteiler_texts::Arg;

/// A language the portal speaks. Taken from `Accept-Language` by handlers that show text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    /// For `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The best language for an `Accept-Language` value: the highest `q` among the languages we
    /// have (ties go to the one named first), German when none of them is acceptable.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for entry in accept_language.unwrap_or("").split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            let lang = match primary.as_str() {
                "de" => Lang::De,
                "en" => Lang::En,
                _ => continue,
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::De, |(_, lang)| lang)
    }

    /// The text for `key`. A key missing from a file is a bug the tests catch (every page is
    /// rendered in every language there); in a release build the German text stands in.
    pub fn text(self, key: &str) -> &'static str {
        verteiler_texts::text(self.policies(), key)
    }

    /// The text for `key` with each `{name}` replaced by its value. The values are inserted as
    /// given: the template engine escapes the whole text afterwards.
    pub fn text_with(self, key: &str, args: &[(&str, &str)]) -> String {
        let args: Vec<(&str, Arg<'_>)> = args
            .iter()
            .map(|(name, value)| (*name, Arg::Text(value)))
            .collect();
        verteiler_texts::render(self.policies(), key, &args)
    }
}

impl Lang {
    /// The language a person chose with the switch (a cookie), else what their browser asks for.
    pub fn of_request(parts: &Parts) -> Lang {
        match crate::session::cookie(parts, crate::session::LANG_COOKIE) {
            Some("de") => Lang::De,
            Some("en") => Lang::En,
            _ => Lang::negotiate(
                parts
                    .headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            ),
        }
    }

    /// A language code of ours (`de`, `en`), as links and the member record name them.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The same language in the store's and the policy engine's terms.
    pub fn policies(self) -> verteiler_policies::Lang {
        match self {
            Lang::De => verteiler_policies::Lang::De,
            Lang::En => verteiler_policies::Lang::En,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of_request(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_unless_english_is_preferred() {
        assert_eq!(Lang::negotiate(None), Lang::De);
        assert_eq!(Lang::negotiate(Some("")), Lang::De);
        assert_eq!(Lang::negotiate(Some("fr-FR, it")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(
            Lang::negotiate(Some("fr;q=1, en;q=0.5, de;q=0.7")),
            Lang::De
        );
        assert_eq!(Lang::negotiate(Some("de;q=0.2, EN-us;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en;q=0, de;q=0.1")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en;q=0")), Lang::De);
    }

    #[test]
    fn placeholders_are_filled_and_nothing_else_is_touched() {
        let text = Lang::En.text_with("unsubscribe_done_text", &[("audience", "{audience} <b>")]);
        assert_eq!(
            text,
            "You will no longer receive emails from the list “{audience} <b>”."
        );
    }
}
