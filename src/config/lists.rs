//! `[lists]`: the list templates that make lists from the unit tree, and the words dropped from
//! unit names to make addresses. Without a `[lists]` section an organisation gets the built-in
//! templates ([`ListRules::standard`]), written out in `ops/verteiler.example.toml`.
//!
//! Values are kept as text here and turned into the store's types by [`TemplateConfig::parse`],
//! so that every mistake is reported with the template's number and key, all at once.

use serde::{Deserialize, Serialize};
use verteiler_policies::AudienceSlug;
use verteiler_policies::OrgLimits;
use verteiler_store::lists::{
    check_caps, check_shape, ListError, ListRules, ListTemplate, Pattern, UnitSelector, UnitWords,
    NAME_PLACEHOLDERS, SLUG_PLACEHOLDERS,
};
use verteiler_store::ApprovalSetting;

/// `[lists]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListsConfig {
    /// Leading words of unit names dropped for the `{unit}` placeholder.
    pub name_prefixes: Vec<String>,
    /// `[[lists.templates]]`; an empty array makes no lists from the tree.
    pub templates: Vec<TemplateConfig>,
}

impl Default for ListsConfig {
    fn default() -> Self {
        let standard = ListRules::standard();
        ListsConfig {
            name_prefixes: standard.name_prefixes,
            templates: standard
                .templates
                .iter()
                .map(TemplateConfig::from)
                .collect(),
        }
    }
}

/// One `[[lists.templates]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateConfig {
    pub id: String,
    pub units: String,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub include_subunits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub category: String,
    pub senders: Vec<String>,
    pub channels: Vec<String>,
    pub approval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_above: Option<u64>,
    pub approvals_needed: u32,
    pub approvers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_recipients: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_address: Option<String>,
    pub reply_mode: String,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            id: String::new(),
            units: String::new(),
            slug: String::new(),
            name: "{unit_name}".into(),
            kind: "structural".into(),
            include_subunits: false,
            role: None,
            category: "announcement".into(),
            senders: vec!["chair".into()],
            channels: vec!["email".into()],
            approval: "never".into(),
            approval_above: None,
            approvals_needed: 1,
            approvers: vec!["press-office".into()],
            max_recipients: None,
            sender_address: None,
            reply_mode: "sender".into(),
        }
    }
}

impl From<&ListTemplate> for TemplateConfig {
    fn from(t: &ListTemplate) -> Self {
        let texts = |v: &[verteiler_policies::RoleFunction]| {
            v.iter().map(|f| f.as_str().to_string()).collect()
        };
        let (approval, approval_above) = match t.approval {
            ApprovalSetting::Never => ("never", None),
            ApprovalSetting::AboveRecipients(n) => ("above", Some(n)),
            ApprovalSetting::Always => ("always", None),
        };
        TemplateConfig {
            id: t.id.clone(),
            units: t.units.to_string(),
            slug: t.slug.to_string(),
            name: t.name.to_string(),
            kind: t.kind.as_str().into(),
            include_subunits: t.include_subunits,
            role: t.role_function.map(|f| f.as_str().to_string()),
            category: t.category.as_str().into(),
            senders: texts(&t.senders),
            channels: t.channels.iter().map(|c| c.as_str().to_string()).collect(),
            approval: approval.into(),
            approval_above,
            approvals_needed: t.approvals_needed,
            approvers: texts(&t.approvers),
            max_recipients: t.max_recipients,
            sender_address: t.sender_address.clone(),
            reply_mode: t.reply_mode.as_str().into(),
        }
    }
}

/// A key of a template and what is wrong with its value.
pub type TemplateProblem = (&'static str, String);

/// The template key a refusal of the list it would make is about.
fn template_key(e: ListError) -> TemplateProblem {
    let key = match &e {
        ListError::SlugReserved(_) | ListError::SlugTaken { .. } => "slug",
        ListError::AboveCap { field, .. } => match *field {
            "approval_above" => "approval_above",
            _ => "max_recipients",
        },
        ListError::Invalid { field, .. } => match *field {
            "approval" => "approval_above",
            "limits" => "max_recipients",
            "role" => "role",
            "senders" => "senders",
            "channels" => "channels",
            "approvals_needed" => "approvals_needed",
            "name" => "name",
            _ => "sender_address",
        },
        _ => "id",
    };
    (key, e.to_string())
}

fn parse_all<T: std::str::FromStr>(
    key: &'static str,
    values: &[String],
) -> Result<Vec<T>, TemplateProblem>
where
    T::Err: std::fmt::Display,
{
    values
        .iter()
        .map(|v| v.parse().map_err(|e: T::Err| (key, e.to_string())))
        .collect()
}

fn parse_one<T: std::str::FromStr>(key: &'static str, value: &str) -> Result<T, TemplateProblem>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| (key, e.to_string()))
}

impl TemplateConfig {
    /// The store's template, or the first key that is wrong (checked against the caps too).
    pub fn parse(&self, caps: &OrgLimits) -> Result<ListTemplate, TemplateProblem> {
        let approval = match (self.approval.trim(), self.approval_above) {
            ("never", None) => ApprovalSetting::Never,
            ("always", None) => ApprovalSetting::Always,
            ("above", Some(n)) if n >= 1 => ApprovalSetting::AboveRecipients(n),
            ("above", _) => {
                return Err((
                    "approval_above",
                    "approval = \"above\" needs approval_above, a number of recipients from 1"
                        .into(),
                ))
            }
            ("never" | "always", Some(_)) => {
                return Err((
                    "approval_above",
                    "only approval = \"above\" takes approval_above".into(),
                ))
            }
            (other, _) => {
                return Err((
                    "approval",
                    format!("unknown approval rule {other:?} (expected never, above or always)"),
                ))
            }
        };
        let template = ListTemplate {
            id: self.id.trim().to_string(),
            units: UnitSelector::parse(&self.units).map_err(|e| ("units", e))?,
            slug: Pattern::parse(&self.slug, SLUG_PLACEHOLDERS).map_err(|e| ("slug", e))?,
            name: Pattern::parse(&self.name, NAME_PLACEHOLDERS).map_err(|e| ("name", e))?,
            kind: parse_one("kind", &self.kind)?,
            include_subunits: self.include_subunits,
            role_function: self
                .role
                .as_deref()
                .map(|r| parse_one("role", r))
                .transpose()?,
            category: parse_one("category", &self.category)?,
            senders: parse_all("senders", &self.senders)?,
            channels: parse_all("channels", &self.channels)?,
            approval,
            approvals_needed: self.approvals_needed,
            approvers: parse_all("approvers", &self.approvers)?,
            max_recipients: self.max_recipients,
            sender_address: self.sender_address.clone(),
            reply_mode: parse_one("reply_mode", &self.reply_mode)?,
        };
        template.check()?;
        // The list a unit would get, checked as any list is; a fixed address is checked as is.
        let slug = template
            .slug
            .is_fixed()
            .then(|| AudienceSlug::parse(&template.slug.to_string()).ok())
            .flatten()
            .unwrap_or_else(|| AudienceSlug::parse("probe").expect("valid"));
        let probe = template.list_for(slug, &UnitWords::new("X", "X", &[]), 0);
        check_shape(&probe).map_err(template_key)?;
        check_caps(&probe, caps).map_err(template_key)?;
        Ok(template)
    }
}

impl ListsConfig {
    /// Every template's problems, keyed `lists.templates[N].KEY` (N counted from 1), plus
    /// templates sharing an id.
    pub fn problems(&self, caps: &OrgLimits) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, t) in self.templates.iter().enumerate() {
            let key = |field: &str| format!("lists.templates[{}].{field}", i + 1);
            if let Err((field, message)) = t.parse(caps) {
                out.push((key(field), message));
            }
            let id = t.id.trim();
            if seen.contains(&id) {
                out.push((
                    key("id"),
                    format!("{id:?} is the id of an earlier template too"),
                ));
            }
            seen.push(id);
        }
        out
    }

    /// The templates in the store's terms; call after [`ListsConfig::problems`] found none
    /// (a template that does not parse is left out, never guessed at).
    pub fn rules(&self, caps: &OrgLimits) -> ListRules {
        ListRules {
            templates: self
                .templates
                .iter()
                .filter_map(|t| t.parse(caps).ok())
                .collect(),
            name_prefixes: self.name_prefixes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_standard_templates_and_round_trips() {
        let config = ListsConfig::default();
        let caps = OrgLimits::default();
        assert!(
            config.problems(&caps).is_empty(),
            "{:?}",
            config.problems(&caps)
        );
        assert_eq!(config.rules(&caps), ListRules::standard());
    }

    #[test]
    fn each_broken_template_key_is_named_with_its_number() {
        let caps = OrgLimits::default();
        let good = TemplateConfig {
            id: "branch".into(),
            units: "branch".into(),
            slug: "{unit}".into(),
            ..TemplateConfig::default()
        };
        let broken = |f: &dyn Fn(&mut TemplateConfig)| {
            let mut t = good.clone();
            f(&mut t);
            let config = ListsConfig {
                name_prefixes: vec![],
                templates: vec![good.clone(), t],
            };
            config.problems(&caps)
        };
        let only = |problems: Vec<(String, String)>| {
            assert_eq!(problems.len(), 1, "{problems:?}");
            problems.into_iter().next().unwrap()
        };
        let (key, message) = only(broken(&|t| {
            t.id = "x".into();
            t.slug = "{unti}".into();
        }));
        assert_eq!(key, "lists.templates[2].slug");
        assert!(message.contains("unknown placeholder {unti}"), "{message}");
        let (key, message) = only(broken(&|t| {
            t.id = "x".into();
            t.units = "galaxy".into();
        }));
        assert_eq!(key, "lists.templates[2].units");
        assert!(message.contains("\"galaxy\""), "{message}");
        let (key, _) = only(broken(&|_| {}));
        assert_eq!(key, "lists.templates[2].id", "the same id twice");
        let (key, message) = only(broken(&|t| {
            t.id = "x".into();
            t.max_recipients = Some(caps.max_recipients + 1);
        }));
        assert_eq!(key, "lists.templates[2].max_recipients");
        assert!(
            message.contains("limits.max_recipients_per_send"),
            "{message}"
        );
        let (key, _) = only(broken(&|t| {
            t.id = "x".into();
            t.kind = "functional".into();
        }));
        assert_eq!(key, "lists.templates[2].role");
        let (key, _) = only(broken(&|t| {
            t.id = "x".into();
            t.approval = "above".into();
        }));
        assert_eq!(key, "lists.templates[2].approval_above");
        let (key, _) = only(broken(&|t| {
            t.id = "x".into();
            t.senders = vec!["king".into()];
        }));
        assert_eq!(key, "lists.templates[2].senders");
        let (key, _) = only(broken(&|t| {
            t.id = "x".into();
            t.role = Some("board".into());
        }));
        assert_eq!(
            key, "lists.templates[2].role",
            "a role on a structural list"
        );
        let (key, message) = only(broken(&|t| {
            t.id = "x".into();
            t.approval = "above".into();
            t.approval_above = Some(caps.max_recipients + 1);
        }));
        assert_eq!(key, "lists.templates[2].approval_above");
        assert!(
            message.contains("limits.max_recipients_per_send"),
            "{message}"
        );
        let (key, message) = only(broken(&|t| {
            t.id = "x".into();
            t.units = "top".into();
            t.slug = "postmaster".into();
        }));
        assert_eq!(key, "lists.templates[2].slug");
        assert!(message.contains("reserved"), "{message}");
    }
}
