//! The one loader: the per-language files parsed once, looked up by key, filled in.

use crate::lang::{format_count, Lang};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::LazyLock;

type Catalogue = BTreeMap<String, String>;

/// The files of one language, by name; a key may appear in only one of them.
macro_rules! files {
    ($lang:literal) => {
        [
            (
                "engine.toml",
                include_str!(concat!("../i18n/", $lang, "/engine.toml")),
            ),
            (
                "smtp.toml",
                include_str!(concat!("../i18n/", $lang, "/smtp.toml")),
            ),
            (
                "store.toml",
                include_str!(concat!("../i18n/", $lang, "/store.toml")),
            ),
            (
                "portal.toml",
                include_str!(concat!("../i18n/", $lang, "/portal.toml")),
            ),
            (
                "api.toml",
                include_str!(concat!("../i18n/", $lang, "/api.toml")),
            ),
        ]
    };
}

const DE_FILES: [(&str, &str); 5] = files!("de");
const EN_FILES: [(&str, &str); 5] = files!("en");

fn parse(lang: &str, files: &[(&str, &str)]) -> Catalogue {
    // The files are compiled in and parsed by a test, so a broken one never gets this far.
    let mut all = Catalogue::new();
    for (name, text) in files {
        let file: Catalogue = toml::from_str(text)
            .unwrap_or_else(|e| panic!("texts/i18n/{lang}/{name} is not flat TOML: {e}"));
        for (key, value) in file {
            if all.insert(key.clone(), value).is_some() {
                panic!("texts/i18n/{lang}: {key} appears in more than one file");
            }
        }
    }
    all
}

static DE: LazyLock<Catalogue> = LazyLock::new(|| parse("de", &DE_FILES));
static EN: LazyLock<Catalogue> = LazyLock::new(|| parse("en", &EN_FILES));

fn catalogue(lang: Lang) -> &'static Catalogue {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// The text for `key` in `lang`, if the catalogue has it.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    catalogue(lang).get(key).map(String::as_str)
}

/// Every key beginning with `prefix` and its text, in key order (the API's problem codes are
/// listed from `api.`).
pub fn with_prefix(lang: Lang, prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let prefix = prefix.to_string();
    catalogue(lang)
        .range(prefix.clone()..)
        .take_while(move |(key, _)| key.starts_with(&prefix))
        .map(|(key, text)| (key.as_str(), text.as_str()))
}

/// The text for `key`. A key missing from a file is a bug the tests catch; in a release build
/// the German text stands in, and the key itself when that is missing too, so a gap shows
/// instead of an empty reply.
pub fn text(lang: Lang, key: &str) -> &'static str {
    debug_assert!(
        lookup(lang, key).is_some(),
        "no text {key:?} for {}",
        lang.as_str()
    );
    lookup(lang, key)
        .or_else(|| lookup(Lang::De, key))
        .unwrap_or_else(|| {
            // Leaked once per missing key and process: only reachable through a bug.
            Box::leak(key.to_owned().into_boxed_str())
        })
}

/// A value to put into a sentence.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A count: written with the language's thousands separator, and the number that
    /// `{name:one/other}` agrees with.
    Count(u64),
    /// Inserted as given (pages escape the whole text afterwards).
    Text(&'a str),
}

/// The text for `key` with its placeholders filled.
pub fn render(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    fill(text(lang, key), lang, args)
}

/// Fills `{name}` and `{name:one/other}` placeholders of a template. An unknown name is left
/// visible rather than dropped, so a typo shows in the unit tests instead of hiding a figure.
pub fn fill(template: &str, lang: Lang, args: &[(&str, Arg<'_>)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let (name, forms) = match inner.split_once(':') {
            Some((name, forms)) => (name, Some(forms)),
            None => (inner, None),
        };
        match (
            args.iter().find(|(n, _)| *n == name).map(|(_, a)| *a),
            forms,
        ) {
            (Some(Arg::Count(n)), None) => out.push_str(&format_count(n, lang)),
            (Some(Arg::Text(text)), None) => out.push_str(text),
            (Some(Arg::Count(n)), Some(forms)) => {
                let (one, other) = forms.split_once('/').unwrap_or((forms, forms));
                out.push_str(if n == 1 { one } else { other });
            }
            _ => {
                let _ = write!(out, "{{{inner}}}");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The names of a text's placeholders; `{n:one/other}` names `n`.
    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(inner, _)| inner))
            .map(|inner| inner.split(':').next().unwrap_or_default())
            .collect()
    }

    #[test]
    fn every_language_has_the_same_keys_and_placeholders() {
        let de = parse("de", &DE_FILES);
        let en = parse("en", &EN_FILES);
        assert!(!de.is_empty());
        assert_eq!(
            de.keys().collect::<Vec<_>>(),
            en.keys().collect::<Vec<_>>(),
            "the languages name different keys"
        );
        for (key, text) in &de {
            assert_eq!(
                placeholders(text),
                placeholders(&en[key]),
                "placeholders of {key} differ"
            );
            assert!(
                !text.trim().is_empty() && !en[key].trim().is_empty(),
                "{key} is empty"
            );
        }
    }

    #[test]
    fn every_file_of_a_language_has_its_counterpart() {
        let names = |files: &[(&'static str, &'static str)]| {
            files.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        };
        assert_eq!(names(&DE_FILES), names(&EN_FILES));
        for ((name, de), (_, en)) in DE_FILES.iter().zip(EN_FILES.iter()) {
            let de: Catalogue = toml::from_str(de).unwrap();
            let en: Catalogue = toml::from_str(en).unwrap();
            assert!(de.keys().eq(en.keys()), "{name} differs between de and en");
        }
    }

    #[test]
    fn placeholders_take_figures_and_agreeing_words() {
        let args = [
            ("n", Arg::Count(1)),
            ("m", Arg::Count(2_000)),
            ("who", Arg::Text("Anna")),
        ];
        let text = fill(
            "{n} {n:Anhang/Anhänge}, {m} {m:Anhang/Anhänge}, {who}",
            Lang::De,
            &args,
        );
        assert_eq!(text, "1 Anhang, 2.000 Anhänge, Anna");
    }

    #[test]
    fn an_unknown_placeholder_stays_visible() {
        assert_eq!(fill("a {missing} b", Lang::En, &[]), "a {missing} b");
    }

    #[test]
    fn values_are_inserted_as_given_and_not_read_again() {
        let text = render(
            Lang::En,
            "unsubscribe_done_text",
            &[("audience", Arg::Text("{audience} <b>"))],
        );
        assert_eq!(
            text,
            "You will no longer receive emails from the list “{audience} <b>”."
        );
    }
}
