//! The templates an organisation gets when it declares none: a list for every branch and every
//! district, a list of every district's board members, and for the top unit the whole
//! membership (statutory, never without two approvals), the press releases and all chairs.
//! Importing a party's two exports gives working lists without any configuration.

use super::templates::{ListRules, ListTemplate, Pattern, UnitSelector};
use super::templates::{NAME_PLACEHOLDERS, SLUG_PLACEHOLDERS};
use crate::ApprovalSetting;
use verteiler_policies::{AudienceKind, Category, Channel, ReplyMode, RoleFunction, UnitKind};

/// Leading words of German unit names that say what kind of unit it is, not which one:
/// `Distrikt Oldenfelde` gets the address `oldenfelde`.
pub const NAME_PREFIXES: &[&str] = &[
    "Distrikt",
    "Ortsverein",
    "Ortsverband",
    "Ortsgruppe",
    "Stadtverband",
    "Kreisverband",
    "Kreis",
    "Unterbezirk",
    "Bezirk",
    "Landesverband",
    "Landesorganisation",
    "Bundesverband",
];

fn template(id: &str, units: UnitSelector, slug: &str, name: &str) -> ListTemplate {
    ListTemplate {
        id: id.into(),
        units,
        slug: Pattern::parse(slug, SLUG_PLACEHOLDERS).expect("a valid built-in pattern"),
        name: Pattern::parse(name, NAME_PLACEHOLDERS).expect("a valid built-in pattern"),
        kind: AudienceKind::Structural,
        include_subunits: false,
        role_function: None,
        category: Category::Announcement,
        senders: vec![RoleFunction::Chair],
        channels: vec![Channel::Email],
        approval: ApprovalSetting::Never,
        approvals_needed: 1,
        approvers: vec![RoleFunction::PressOffice],
        max_recipients: None,
        sender_address: None,
        reply_mode: ReplyMode::Sender,
    }
}

impl ListRules {
    /// The built-in templates and name prefixes (what `lists` in the configuration defaults to).
    pub fn standard() -> ListRules {
        let branch = ListTemplate {
            senders: vec![
                RoleFunction::Chair,
                RoleFunction::ViceChair,
                RoleFunction::Board,
            ],
            approval: ApprovalSetting::AboveRecipients(1_000),
            ..template(
                "branch",
                UnitSelector::Kind(UnitKind::Branch),
                "{unit}",
                "{unit_name}",
            )
        };
        let district = ListTemplate {
            include_subunits: true,
            approval: ApprovalSetting::AboveRecipients(2_000),
            ..template(
                "district",
                UnitSelector::Kind(UnitKind::District),
                "{name}",
                "{unit_name}",
            )
        };
        let district_board = ListTemplate {
            kind: AudienceKind::Functional,
            role_function: Some(RoleFunction::Board),
            include_subunits: true,
            ..template(
                "district-board",
                UnitSelector::Kind(UnitKind::District),
                "{name}-vorstand",
                "Vorstände {unit_name}",
            )
        };
        let all_members = ListTemplate {
            include_subunits: true,
            category: Category::Statutory,
            channels: vec![Channel::Email, Channel::Sms, Channel::Post],
            approval: ApprovalSetting::Always,
            approvals_needed: 2,
            ..template(
                "all-members",
                UnitSelector::Top,
                "alle-mitglieder",
                "Alle Mitglieder {unit_short}",
            )
        };
        let press = ListTemplate {
            include_subunits: true,
            senders: vec![RoleFunction::PressOffice],
            approval: ApprovalSetting::Always,
            ..template(
                "press",
                UnitSelector::Top,
                "pressemitteilungen",
                "Pressemitteilungen {unit_short}",
            )
        };
        let chairs = ListTemplate {
            kind: AudienceKind::Functional,
            role_function: Some(RoleFunction::Chair),
            include_subunits: true,
            senders: vec![RoleFunction::Chair, RoleFunction::Admin],
            ..template(
                "chairs",
                UnitSelector::Top,
                "vorsitzende-{unit}",
                "Alle Vorsitzenden {unit_short}",
            )
        };
        ListRules {
            templates: vec![branch, district, district_board, all_members, press, chairs],
            name_prefixes: NAME_PREFIXES.iter().map(|p| p.to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_templates_are_sound() {
        let rules = ListRules::standard();
        for t in &rules.templates {
            t.check().unwrap_or_else(|e| panic!("{}: {e:?}", t.id));
        }
        let ids: std::collections::HashSet<&str> =
            rules.templates.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), rules.templates.len(), "template ids are unique");
    }
}
