//! A template's rules over the lists it made. When the configuration changes a template (who
//! may send, approval, channels, whom it reaches), the next sync gives its lists the new rules
//! — except lists somebody changed by hand since, which keep their changes and are named.
//!
//! To tell the two apart, each template list keeps the template's part of its definition as the
//! template last gave it (`audiences.template_definition`): a list whose definition still
//! equals that was not changed by hand.

use crate::NewAudience;
use serde_json::{Map, Value};

/// The fields a template sets (address and name follow the unit and are kept in step apart).
const TEMPLATE_FIELDS: &[&str] = &[
    "kind",
    "include_subunits",
    "role_function",
    "category",
    "allowed_sender_functions",
    "channels",
    "approval",
    "approvals_needed",
    "approver_functions",
    "max_recipients",
    "sender_address",
    "reply_mode",
];

/// Fields whose change alters whom the list reaches.
const TARGET_FIELDS: &[&str] = &["kind", "include_subunits", "role_function"];

/// The template's part of a definition, as stored in `template_definition`.
pub(crate) fn template_part(a: &NewAudience) -> Value {
    let Ok(Value::Object(all)) = serde_json::to_value(a) else {
        return Value::Null;
    };
    let part: Map<String, Value> = all
        .into_iter()
        .filter(|(k, _)| TEMPLATE_FIELDS.contains(&k.as_str()))
        .collect();
    Value::Object(part)
}

/// What the sync does with one template list's rules.
#[derive(Debug, PartialEq)]
pub(super) enum RulesStep {
    /// The template is as it was when it last gave the list its rules.
    Unchanged,
    /// The template changed and nobody changed the list: it gets these fields.
    Update {
        after: Box<NewAudience>,
        fields: Vec<String>,
        retarget: bool,
    },
    /// The template changed, but the list was changed by hand: it keeps its changes.
    Customised { fields: Vec<String> },
}

/// Compares the list (`current`), the template's part as last given (`given`) and what the
/// template wants now (`wanted`).
pub(super) fn rules_step(current: &NewAudience, given: &Value, wanted: &NewAudience) -> RulesStep {
    let wanted_part = template_part(wanted);
    if *given == wanted_part {
        return RulesStep::Unchanged;
    }
    let differs = |a: &Value, b: &Value| -> Vec<String> {
        TEMPLATE_FIELDS
            .iter()
            .filter(|f| a.get(**f) != b.get(**f))
            .map(|f| f.to_string())
            .collect()
    };
    let current_part = template_part(current);
    if current_part != *given {
        return RulesStep::Customised {
            fields: differs(&current_part, &wanted_part),
        };
    }
    let fields = differs(&current_part, &wanted_part);
    let after = NewAudience {
        kind: wanted.kind,
        include_subunits: wanted.include_subunits,
        role_function: wanted.role_function,
        category: wanted.category,
        allowed_sender_functions: wanted.allowed_sender_functions.clone(),
        channels: wanted.channels.clone(),
        approval: wanted.approval,
        approvals_needed: wanted.approvals_needed,
        approver_functions: wanted.approver_functions.clone(),
        max_recipients: wanted.max_recipients,
        sender_address: wanted.sender_address.clone(),
        reply_mode: wanted.reply_mode,
        ..current.clone()
    };
    RulesStep::Update {
        retarget: fields.iter().any(|f| TARGET_FIELDS.contains(&f.as_str())),
        after: Box::new(after),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApprovalSetting;
    use verteiler_policies::{AudienceSlug, RoleFunction};

    fn list() -> NewAudience {
        NewAudience::structural(AudienceSlug::parse("oldenfelde").unwrap(), "O", 1, false)
    }

    #[test]
    fn a_changed_template_reaches_an_untouched_list_and_spares_a_changed_one() {
        let made = list();
        let given = template_part(&made);
        assert_eq!(rules_step(&made, &given, &made), RulesStep::Unchanged);

        let mut wanted = made.clone();
        wanted.approval = ApprovalSetting::Always;
        wanted.include_subunits = true;
        match rules_step(&made, &given, &wanted) {
            RulesStep::Update {
                after,
                fields,
                retarget,
            } => {
                assert_eq!(after.approval, ApprovalSetting::Always);
                assert_eq!(fields, ["include_subunits", "approval"]);
                assert!(retarget);
            }
            other => panic!("{other:?}"),
        }

        // Changed by hand: the senders differ from what the template gave.
        let mut edited = made.clone();
        edited.allowed_sender_functions = vec![RoleFunction::Board];
        edited.email_and_sms = true;
        assert!(matches!(
            rules_step(&edited, &given, &wanted),
            RulesStep::Customised { .. }
        ));
        // A field no template sets is no change by hand of the template's part.
        let mut other = made.clone();
        other.email_and_sms = true;
        match rules_step(&other, &given, &wanted) {
            RulesStep::Update { after, .. } => assert!(after.email_and_sms, "kept"),
            step => panic!("{step:?}"),
        }
    }
}
