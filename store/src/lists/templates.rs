//! List templates: rules that make lists from the unit tree, like Sympa's list families.
//!
//! "Every branch gets a list of its members", "every district a list of its board members":
//! the organisation declares these once, and every units import keeps the lists in step with
//! the tree (see [`super::sync`]). A template names which units it applies to, how the list's
//! address and name are made from the unit, and the list's definition and policy.

use crate::{ApprovalSetting, NewAudience};
use serde::Serialize;
use std::fmt;
use verteiler_policies::{
    slug_words, AudienceKind, AudienceSlug, Category, Channel, ReplyMode, RoleFunction, UnitKind,
};

/// Which units a template makes a list for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnitSelector {
    /// Every unit of this kind.
    Kind(UnitKind),
    /// The organisation's top: a unit without a parent that has units below it.
    Top,
}

impl UnitSelector {
    pub fn parse(text: &str) -> Result<UnitSelector, String> {
        if text.trim().eq_ignore_ascii_case("top") {
            return Ok(UnitSelector::Top);
        }
        text.parse::<UnitKind>()
            .map(UnitSelector::Kind)
            .map_err(|e| {
                format!("{e}, or top (the unit without a parent that the others hang below)")
            })
    }

    /// `top`: the unit has no parent and units below it (the organisation's top).
    pub fn matches(self, kind: UnitKind, top: bool) -> bool {
        match self {
            UnitSelector::Kind(k) => k == kind,
            UnitSelector::Top => top,
        }
    }
}

impl fmt::Display for UnitSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitSelector::Kind(k) => f.write_str(k.as_str()),
            UnitSelector::Top => f.write_str("top"),
        }
    }
}

/// The words a unit contributes to a list's address and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitWords<'a> {
    pub code: &'a str,
    pub name: &'a str,
    /// The name without its leading kind word (`Distrikt Oldenfelde` → `Oldenfelde`).
    pub short: &'a str,
}

impl<'a> UnitWords<'a> {
    /// The unit's words, its name shortened by the longest of `prefixes` it starts with as a
    /// whole word (case does not matter); a name that is nothing but the prefix stays whole.
    pub fn new(code: &'a str, name: &'a str, prefixes: &[String]) -> UnitWords<'a> {
        let short = prefixes
            .iter()
            .filter_map(|p| {
                let head = name.get(..p.len())?;
                let rest = name.get(p.len()..)?;
                (head.eq_ignore_ascii_case(p) && rest.starts_with(char::is_whitespace))
                    .then(|| (p.len(), rest.trim()))
            })
            .filter(|(_, rest)| !rest.is_empty())
            .max_by_key(|(len, _)| *len)
            .map_or(name.trim(), |(_, rest)| rest);
        UnitWords { code, name, short }
    }
}

/// A pattern with `{placeholder}`s, checked once so that rendering cannot fail on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Pattern {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(&'static str),
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.text
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Placeholders of a list address: slug words of the short name, the whole name, the code.
pub const SLUG_PLACEHOLDERS: &[&str] = &["unit", "name", "code"];
/// Placeholders of a list's name: the unit's name as written, its short name, its code.
pub const NAME_PLACEHOLDERS: &[&str] = &["unit_name", "unit_short", "code"];

impl Pattern {
    /// Parses `text`; an unknown or unclosed placeholder is an error naming it and the known ones.
    pub fn parse(text: &str, known: &[&'static str]) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(format!("{text:?} has a {{ without its }}"));
            };
            let name = &after[..close];
            let Some(known_name) = known.iter().find(|k| **k == name) else {
                let list: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
                return Err(format!(
                    "unknown placeholder {{{name}}} in {text:?} (known: {})",
                    list.join(", ")
                ));
            };
            parts.push(Part::Placeholder(known_name));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("{text:?} has a }} without its {{"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if parts.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Pattern {
            text: text.to_string(),
            parts,
        })
    }

    fn render(&self, value: impl Fn(&str) -> String) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Placeholder(name) => value(name),
            })
            .collect()
    }

    /// The list address a unit gets; an error says why the result is no valid address.
    pub fn slug_for(&self, unit: &UnitWords<'_>) -> Result<AudienceSlug, String> {
        let text = self.render(|name| match name {
            "unit" => slug_words(unit.short),
            "name" => slug_words(unit.name),
            _ => slug_words(unit.code),
        });
        AudienceSlug::parse(&text).map_err(|e| e.to_string())
    }

    pub fn name_for(&self, unit: &UnitWords<'_>) -> String {
        self.render(|name| match name {
            "unit_name" => unit.name.trim().to_string(),
            "unit_short" => unit.short.to_string(),
            _ => unit.code.to_string(),
        })
    }

    /// Whether the pattern has no placeholder: one address for every unit it applies to.
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }
}

/// One template: which units, how the list is named, and the list's definition and policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListTemplate {
    /// Stable name; the lists it made remember it (renaming it makes new lists).
    pub id: String,
    pub units: UnitSelector,
    pub slug: Pattern,
    pub name: Pattern,
    pub kind: AudienceKind,
    pub include_subunits: bool,
    pub role_function: Option<RoleFunction>,
    pub category: Category,
    pub senders: Vec<RoleFunction>,
    pub channels: Vec<Channel>,
    pub approval: ApprovalSetting,
    pub approvals_needed: u32,
    pub approvers: Vec<RoleFunction>,
    pub max_recipients: Option<u64>,
    pub sender_address: Option<String>,
    pub reply_mode: ReplyMode,
}

impl ListTemplate {
    /// Checks what a template must say for its kind; the caps are checked by
    /// [`super::definition::check_caps`] when the configuration is loaded.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.id.trim().is_empty() {
            return Err(("id", "must not be empty".into()));
        }
        match self.kind {
            AudienceKind::Functional if self.role_function.is_none() => {
                return Err((
                    "role",
                    "a functional list needs the role function whose holders it reaches".into(),
                ))
            }
            AudienceKind::Topic => {
                return Err((
                    "kind",
                    "topic lists are made by hand (verteiler audience create), not from the tree"
                        .into(),
                ))
            }
            _ => {}
        }
        if self.senders.is_empty() {
            return Err(("senders", "name at least one role function".into()));
        }
        if self.channels.is_empty() {
            return Err(("channels", "name at least one channel".into()));
        }
        if !(1..=5).contains(&self.approvals_needed) {
            return Err(("approvals_needed", "must be from 1 to 5".into()));
        }
        Ok(())
    }

    /// The list this template makes for a unit (its address checked by the caller).
    pub fn list_for(&self, slug: AudienceSlug, unit: &UnitWords<'_>, unit_id: i64) -> NewAudience {
        let mut a = NewAudience::structural(slug, &self.name.name_for(unit), unit_id, false);
        a.kind = self.kind;
        a.include_subunits = self.include_subunits;
        a.role_function = self.role_function;
        a.category = self.category;
        a.allowed_sender_functions = self.senders.clone();
        a.channels = self.channels.clone();
        a.approval = self.approval;
        a.approvals_needed = self.approvals_needed;
        a.approver_functions = self.approvers.clone();
        a.max_recipients = self.max_recipients;
        a.sender_address = self.sender_address.clone();
        a.reply_mode = self.reply_mode;
        a
    }
}

/// What keeps lists in step with the tree: the templates and the name rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ListRules {
    pub templates: Vec<ListTemplate>,
    /// Leading words dropped from a unit's name for `{unit}` (`Distrikt`, `Kreis`, …).
    pub name_prefixes: Vec<String>,
}

impl ListRules {
    /// No templates: imports change units only.
    pub fn none() -> ListRules {
        ListRules::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        ["Distrikt", "Kreis", "Landesorganisation", "Kreisverband"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn the_short_name_drops_the_longest_leading_kind_word() {
        let p = prefixes();
        assert_eq!(
            UnitWords::new("HH-WA-OLD", "Distrikt Oldenfelde", &p).short,
            "Oldenfelde"
        );
        assert_eq!(
            UnitWords::new("X", "Kreisverband Nord", &p).short,
            "Nord",
            "the longer prefix wins"
        );
        assert_eq!(UnitWords::new("X", "kreis  Altona ", &p).short, "Altona");
        assert_eq!(
            UnitWords::new("X", "Kreisel Süd", &p).short,
            "Kreisel Süd",
            "only whole words"
        );
        assert_eq!(UnitWords::new("X", "Kreis", &p).short, "Kreis");
    }

    #[test]
    fn patterns_make_addresses_and_names_from_the_unit() {
        let unit = UnitWords::new("HH-WA", "Kreis Wandsbek", &prefixes());
        let slug = |t: &str| {
            Pattern::parse(t, SLUG_PLACEHOLDERS)
                .unwrap()
                .slug_for(&unit)
                .unwrap()
                .to_string()
        };
        assert_eq!(slug("{unit}"), "wandsbek");
        assert_eq!(slug("{name}-vorstand"), "kreis-wandsbek-vorstand");
        assert_eq!(slug("liste-{code}"), "liste-hh-wa");
        assert_eq!(slug("alle-mitglieder"), "alle-mitglieder");
        let name = Pattern::parse("Vorstände {unit_short} ({code})", NAME_PLACEHOLDERS).unwrap();
        assert_eq!(name.name_for(&unit), "Vorstände Wandsbek (HH-WA)");
        assert!(Pattern::parse("alle", SLUG_PLACEHOLDERS)
            .unwrap()
            .is_fixed());
    }

    #[test]
    fn unknown_or_broken_placeholders_are_named() {
        let e = Pattern::parse("{unti}-liste", SLUG_PLACEHOLDERS).unwrap_err();
        assert!(e.contains("unknown placeholder {unti}"), "{e}");
        assert!(e.contains("{unit}, {name}, {code}"), "{e}");
        assert!(Pattern::parse("{unit", SLUG_PLACEHOLDERS).is_err());
        assert!(Pattern::parse("unit}", SLUG_PLACEHOLDERS).is_err());
        assert!(Pattern::parse("", SLUG_PLACEHOLDERS).is_err());
        // A placeholder of names is none of addresses.
        assert!(Pattern::parse("{unit_name}", SLUG_PLACEHOLDERS).is_err());
    }

    #[test]
    fn an_address_that_is_no_valid_slug_says_why() {
        let unit = UnitWords::new("X", "!!", &prefixes());
        let e = Pattern::parse("{unit}", SLUG_PLACEHOLDERS)
            .unwrap()
            .slug_for(&unit)
            .unwrap_err();
        assert!(e.contains("invalid audience slug"), "{e}");
    }

    #[test]
    fn top_or_a_unit_kind_selects_units() {
        assert_eq!(UnitSelector::parse("TOP").unwrap(), UnitSelector::Top);
        let branch = UnitSelector::parse("branch").unwrap();
        assert!(branch.matches(UnitKind::Branch, false));
        assert!(!branch.matches(UnitKind::District, false));
        assert!(UnitSelector::Top.matches(UnitKind::State, true));
        assert!(!UnitSelector::Top.matches(UnitKind::State, false));
        let e = UnitSelector::parse("galaxy").unwrap_err();
        assert!(e.contains("\"galaxy\"") && e.contains("or top"), "{e}");
    }
}
