//! The engine's sentences by key, and how it names role functions and lists of alternatives.
//!
//! The sentences themselves are in `texts/i18n/<lang>/engine.toml` (crate `verteiler_texts`):
//! the SMTP reply texts and the lines an approver reads, keyed by the stable reason code (plus
//! a few `decision.*`, `approval.*` and `role.*` keys), so a translator works through one list.
//! German sentences avoid addressing the reader as "du" or "Sie", so they fit every unit's
//! custom.

use super::lang::Lang;
use crate::domain::RoleFunction;

/// The sentence for a key (see [`verteiler_texts::text`]).
pub(crate) fn template(key: &str, lang: Lang) -> &'static str {
    verteiler_texts::text(lang, key)
}

/// How a role function is named in a sentence.
pub fn function_label(function: RoleFunction, lang: Lang) -> &'static str {
    verteiler_texts::text(lang, &format!("role.{}", function.as_str()))
}

/// "Vorsitz, Vorstand oder Pressestelle" / "chair, board or press office"; "niemand" /
/// "nobody" for an empty list, which is what an empty list means.
pub fn function_list(functions: &[RoleFunction], lang: Lang) -> String {
    let labels: Vec<&str> = functions.iter().map(|f| function_label(*f, lang)).collect();
    alternatives(&labels, lang)
}

/// Names as prose alternatives: "A, B or C" ("nobody" for none).
pub(crate) fn name_list(names: &[String], lang: Lang) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    alternatives(&names, lang)
}

fn alternatives(items: &[&str], lang: Lang) -> String {
    let or = template("alternatives.or", lang);
    let nobody = template("alternatives.none", lang);
    match items.split_last() {
        None => nobody.to_string(),
        Some((last, [])) => (*last).to_string(),
        Some((last, init)) => format!("{}{or}{last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reasons::Reason;
    use crate::engine::ApprovalRefusal;

    #[test]
    fn every_code_has_a_sentence_in_both_languages() {
        let decisions = ["decision.released", "decision.rejected", "decision.held"];
        let codes = Reason::CODES.iter().chain(ApprovalRefusal::CODES);
        for code in codes.chain(&decisions) {
            let de = verteiler_texts::lookup(Lang::De, code);
            let en = verteiler_texts::lookup(Lang::En, code);
            let (de, en) = de.zip(en).unwrap_or_else(|| panic!("no text for {code}"));
            assert!(de.ends_with('.') && en.ends_with('.'), "{code}");
            assert_ne!(de, en, "{code} is not translated");
        }
    }

    /// One reason of every kind, with figures.
    fn samples() -> Vec<Reason> {
        use crate::engine::reasons::Severity::Hold;
        let a = || "AG Umwelt".to_string();
        vec![
            Reason::AudienceUnknown {
                address: "x@lists.example.org".into(),
            },
            Reason::AudienceInactive { audience: a() },
            Reason::AudienceEmpty { audience: a() },
            Reason::AudienceUnresolvable {
                audience: a(),
                error: "timeout".into(),
            },
            Reason::AudienceOutOfScope {
                audience: a(),
                recipients: 2,
                outside_scope: 1,
            },
            Reason::AudienceGrew {
                audience: a(),
                decided: 10,
                now: 20,
            },
            Reason::AudienceRedefined { audience: a() },
            Reason::AudienceEmptied { audience: a() },
            Reason::FromNotYours {
                from: "x@example.org".into(),
            },
            Reason::FromOtherList {
                from: "presse@example.org".into(),
                lists: vec![a()],
            },
            Reason::SenderNotAuthorised {
                audience: a(),
                allowed: vec![RoleFunction::Chair],
            },
            Reason::BlastRadiusAboveUsual {
                audience: a(),
                recipients: 9,
                usual: 1,
                hold_above: 2,
            },
            Reason::BlastRadiusFirstSend {
                audience: a(),
                recipients: 9,
                hold_above: 2,
            },
            Reason::MaxRecipients {
                audience: a(),
                recipients: 9,
                limit: 1,
            },
            Reason::VisibleRecipients {
                visible: 9,
                limit: 1,
            },
            Reason::MessageSize { bytes: 9, limit: 1 },
            Reason::AttachmentBytes { bytes: 9, limit: 1 },
            Reason::AttachmentCount { count: 9, limit: 1 },
            Reason::SmsSegments {
                segments: 9,
                limit: 1,
            },
            Reason::SmsParts {
                audience: "OV".into(),
                recipients: 1_000,
                segments: 3,
                parts: 3_000,
                hold_above: 2_000,
            },
            Reason::SmsBudget {
                audience: "OV".into(),
                cost_cents: 27_000,
                spent_cents: 5_000,
                budget_cents: 30_000,
            },
            Reason::SenderHourlySends {
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::SenderDailySends {
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::SenderDailyRecipients {
                recipients: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::AudienceDailySends {
                audience: a(),
                sends: 9,
                limit: 1,
                severity: Hold,
            },
            Reason::CircuitBreaker {
                recipients: 9,
                limit: 1,
            },
            Reason::ApprovalRequired {
                audience: a(),
                needed: 1,
                valid: 0,
                approvers: vec![],
            },
        ]
    }

    #[test]
    fn every_reason_fills_every_placeholder_in_both_languages() {
        let samples = samples();
        let mut covered: Vec<&str> = samples.iter().map(Reason::code).collect();
        covered.sort_unstable();
        let mut codes = Reason::CODES.to_vec();
        codes.sort_unstable();
        assert_eq!(covered, codes, "a reason has no sample here");
        for reason in &samples {
            for lang in [Lang::De, Lang::En] {
                let text = reason.text(lang);
                assert!(!text.contains('{') && !text.contains('}'), "{text}");
                assert!(
                    text.chars().next().is_some_and(char::is_uppercase),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn role_lists_read_as_prose() {
        let fs = [
            RoleFunction::Chair,
            RoleFunction::Board,
            RoleFunction::PressOffice,
        ];
        assert_eq!(
            function_list(&fs, Lang::De),
            "Vorsitz, Vorstand oder Pressestelle"
        );
        assert_eq!(function_list(&fs, Lang::En), "chair, board or press office");
        assert_eq!(function_list(&fs[..1], Lang::De), "Vorsitz");
        assert_eq!(function_list(&[], Lang::En), "nobody");
    }

    #[test]
    fn every_function_has_a_label_in_both_languages() {
        for f in RoleFunction::ALL {
            assert_ne!(function_label(*f, Lang::De), function_label(*f, Lang::En));
        }
    }
}
