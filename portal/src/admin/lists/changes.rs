//! "field: before → after" for each field an edit changed, in the admin's language: the store
//! says which fields changed, the two definitions say what they were and are.

use super::errors::label_key;
use super::form_view::{channel_key, reply_key};
use crate::member::{category_key, kind_key};
use crate::page::Frame;
use std::collections::HashMap;
use verteiler_policies::VisibleRecipientsMode;
use verteiler_policies::{format_bytes, format_count, function_label, RoleFunction, Rounding};
use verteiler_store::lists::FieldChange;
use verteiler_store::{ApprovalSetting, NewAudience};

/// The definition's field names as the form's (whose labels the page has).
fn form_field(field: &str) -> &str {
    match field {
        "unit_id" => "unit",
        "include_subunits" => "subunits",
        "role_function" => "role",
        "scope_unit_id" => "scope",
        "allowed_sender_functions" => "senders",
        "approver_functions" => "approvers",
        "max_message_bytes" => "max_message_kb",
        "sends_per_sender_per_day" => "sends_per_day",
        other => other,
    }
}

/// One line per change; `codes` has the codes of the units either definition names.
pub(crate) fn lines(
    frame: &Frame<'_>,
    changes: &[FieldChange],
    before: &NewAudience,
    after: &NewAudience,
    codes: &HashMap<i64, String>,
) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            let field = form_field(&c.field);
            format!(
                "{}: {} → {}",
                frame.t(label_key(field)),
                value(frame, before, field, codes),
                value(frame, after, field, codes)
            )
        })
        .collect()
}

fn value(frame: &Frame<'_>, a: &NewAudience, field: &str, codes: &HashMap<i64, String>) -> String {
    let lang = frame.lang.policies();
    let yes_no = |v: bool| {
        frame
            .t(if v { "admin_yes" } else { "admin_no" })
            .to_string()
    };
    let count = |v: Option<u64>| {
        v.map_or_else(
            || frame.t("admin_org_default").to_string(),
            |v| format_count(v, lang),
        )
    };
    let functions = |v: &[RoleFunction]| {
        if v.is_empty() {
            return frame.t("list_none").to_string();
        }
        v.iter()
            .map(|f| function_label(*f, lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let code = |id: i64| codes.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    match field {
        "slug" => a.slug.to_string(),
        "name" => a.name.clone(),
        "kind" => frame.t(kind_key(a.kind)).to_string(),
        "unit" => code(a.unit_id),
        "subunits" => yes_no(a.include_subunits),
        "role" => a.role_function.map_or_else(
            || frame.t("list_none").to_string(),
            |r| function_label(r, lang).to_string(),
        ),
        "scope" => code(a.scope_unit_id),
        "category" => frame.t(category_key(a.category)).to_string(),
        "senders" => functions(&a.allowed_sender_functions),
        "subscribers_may_post" => yes_no(a.subscribers_may_post),
        "open_to_public" => yes_no(a.open_to_public),
        "channels" => a
            .channels
            .iter()
            .map(|c| frame.t(channel_key(*c)))
            .collect::<Vec<_>>()
            .join(", "),
        "approval" => match a.approval {
            ApprovalSetting::Never => frame.t("approval_never").to_string(),
            ApprovalSetting::AboveRecipients(n) => frame
                .lang
                .text_with("approval_above", &[("recipients", &format_count(n, lang))]),
            ApprovalSetting::Always => frame.t("approval_always").to_string(),
        },
        "approvers" => functions(&a.approver_functions),
        "approvals_needed" => a.approvals_needed.to_string(),
        "max_recipients" => count(a.max_recipients),
        "max_message_kb" => a.max_message_bytes.map_or_else(
            || frame.t("admin_org_default").to_string(),
            |b| format_bytes(b, Rounding::Down, lang),
        ),
        "sends_per_day" => count(a.sends_per_sender_per_day.map(u64::from)),
        "reply_mode" => frame.t(reply_key(a.reply_mode)).to_string(),
        "visible_recipients_mode" => frame
            .t(match a.visible_recipients_mode {
                VisibleRecipientsMode::Reject => "list_visible_reject",
                VisibleRecipientsMode::Rewrite => "list_visible_rewrite",
            })
            .to_string(),
        "sender_address" => a
            .sender_address
            .clone()
            .unwrap_or_else(|| frame.t("list_none").to_string()),
        "email_and_sms" => yes_no(a.email_and_sms),
        _ => String::new(),
    }
}
