//! How the list form looks: every field of the definition in groups with a legend, each input
//! with its label, the field a refusal named marked invalid and pointing at the message.

use super::form::ListForm;
use crate::page::Frame;
use maud::{html, Markup};
use verteiler_policies::{
    format_bytes, format_count, function_label, AudienceKind, Category, Channel, OrgLimits,
    ReplyMode, RoleFunction, Rounding,
};

/// Where the form is shown, and what it may change.
pub(crate) struct FormContext<'a> {
    pub action: &'a str,
    /// The template that made the list: its address and name are not the form's to change.
    pub template: Option<&'a str>,
    /// The field a refusal named: its input is marked invalid.
    pub invalid: Option<&'static str>,
    pub submit_id: &'static str,
    pub submit_key: &'static str,
}

pub(crate) fn render(
    frame: &Frame<'_>,
    f: &ListForm,
    org: &OrgLimits,
    cx: &FormContext<'_>,
) -> Markup {
    let lang = frame.lang.policies();
    let invalid = |field: &str| (cx.invalid == Some(field)).then_some("true");
    let described = |field: &str| (cx.invalid == Some(field)).then_some("list-error");
    let text = |field: &'static str, label: String, value: &str| {
        html! {
            p {
                label for=(field) { (label) }
                input id=(field) name=(field) value=(value)
                    aria-invalid=[invalid(field)] aria-describedby=[described(field)];
            }
        }
    };
    let number = |field: &'static str, label: String, value: &str| {
        html! {
            p {
                label for=(field) { (label) }
                input id=(field) name=(field) inputmode="numeric" value=(value)
                    aria-invalid=[invalid(field)] aria-describedby=[described(field)];
            }
        }
    };
    let check = |field: &'static str, key: &str, on: bool| {
        html! {
            p {
                input type="checkbox" id=(field) name=(field) value="1" checked[on];
                label class="inline" for=(field) { (frame.t(key)) }
            }
        }
    };
    let functions = |group: &'static str, ticked: &[String]| {
        let all = RoleFunction::ALL
            .iter()
            .map(|f| (f.as_str(), function_label(*f, lang)));
        boxes(group, all, ticked)
    };
    html! {
        form method="post" action=(cx.action) class="list-form" {
            (frame.csrf_field())
            @if !f.seen.is_empty() {
                input type="hidden" name="seen" value=(f.seen);
            }
            fieldset {
                legend { (frame.t("list_legend_identity")) }
                @if let Some(template) = cx.template {
                    dl class="facts" {
                        dt { (frame.t("list_field_slug")) } dd { (f.slug) }
                        dt { (frame.t("list_field_name")) } dd { (f.name) }
                    }
                    p { (frame.lang.text_with("list_template_note", &[("template", template)])) }
                } @else {
                    (text("slug", frame.t("list_label_slug").into(), &f.slug))
                    (text("name", frame.t("list_field_name").into(), &f.name))
                }
            }
            fieldset {
                legend { (frame.t("list_legend_reach")) }
                (select(frame, "kind", "list_field_kind", &f.kind, AudienceKind::ALL.iter().map(|k| (k.as_str(), frame.t(crate::member::kind_key(*k)))), cx))
                (text("unit", frame.t("list_label_unit").into(), &f.unit))
                (check("subunits", "list_field_subunits", f.subunits))
                (select(frame, "role", "list_label_role", &f.role,
                    std::iter::once(("", frame.t("list_none"))).chain(RoleFunction::ALL.iter().map(|r| (r.as_str(), function_label(*r, lang)))), cx))
                (text("scope", frame.t("list_label_scope").into(), &f.scope))
                (select(frame, "category", "list_field_category", &f.category, Category::ALL.iter().map(|c| (c.as_str(), frame.t(crate::member::category_key(*c)))), cx))
            }
            fieldset {
                legend { (frame.t("list_field_senders")) }
                (functions("senders", &f.senders))
                (check("subscribers_may_post", "list_field_subscribers_may_post", f.subscribers_may_post))
            }
            fieldset {
                legend { (frame.t("list_field_channels")) }
                (boxes("channels", Channel::ALL.iter().map(|c| (c.as_str(), frame.t(channel_key(*c)))), &f.channels))
                (check("email_and_sms", "admin_email_and_sms", f.email_and_sms))
            }
            fieldset {
                legend { (frame.t("audiences_approval")) }
                @for (value, key) in [("never", "approval_never"), ("above", "admin_approval_above"), ("always", "approval_always")] {
                    p {
                        input type="radio" id={ "approval-" (value) } name="approval" value=(value)
                            checked[f.approval == value];
                        label class="inline" for={ "approval-" (value) } { (frame.t(key)) }
                    }
                }
                (number("threshold", frame.t("admin_threshold").into(), &f.threshold))
                (number("approvals_needed", frame.t("admin_approvals_needed").into(), &f.approvals_needed))
                fieldset {
                    legend { (frame.t("list_field_approvers")) }
                    (functions("approvers", &f.approvers))
                }
            }
            fieldset {
                legend { (frame.t("list_legend_limits")) }
                (number("max_recipients", frame.lang.text_with("admin_max_recipients", &[("cap", &format_count(org.max_recipients, lang))]), &f.max_recipients))
                (number("max_message_kb", frame.lang.text_with("admin_max_kb", &[("cap", &format_bytes(org.max_message_bytes, Rounding::Down, lang))]), &f.max_message_kb))
                (number("sends_per_day", frame.t("admin_sends_per_day").into(), &f.sends_per_day))
            }
            fieldset {
                legend { (frame.t("list_legend_more")) }
                (text("sender_address", frame.t("list_label_sender_address").into(), &f.sender_address))
                (check("open_to_public", "list_label_open_to_public", f.open_to_public))
                (select(frame, "reply_mode", "list_field_reply_mode", &f.reply_mode, ReplyMode::ALL.iter().map(|m| (m.as_str(), frame.t(reply_key(*m)))), cx))
            }
            button type="submit" id=(cx.submit_id) { (frame.t(cx.submit_key)) }
        }
    }
}

/// A group of checkboxes posting every ticked value under one name.
fn boxes<'v>(
    group: &'static str,
    values: impl Iterator<Item = (&'v str, &'v str)>,
    ticked: &[String],
) -> Markup {
    html! {
        @for (value, text) in values {
            p {
                input type="checkbox" id={ (group) "-" (value) } name=(group) value=(value)
                    checked[ticked.iter().any(|t| t == value)];
                label class="inline" for={ (group) "-" (value) } { (text) }
            }
        }
    }
}

fn select<'v>(
    frame: &Frame<'_>,
    field: &'static str,
    label: &str,
    current: &str,
    options: impl Iterator<Item = (&'v str, &'v str)>,
    cx: &FormContext<'_>,
) -> Markup {
    let invalid = cx.invalid == Some(field);
    html! {
        p {
            label for=(field) { (frame.t(label)) }
            select id=(field) name=(field) aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then_some("list-error")] {
                @for (value, text) in options {
                    option value=(value) selected[value == current] { (text) }
                }
            }
        }
    }
}

pub(crate) fn channel_key(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "channel_email",
        Channel::Sms => "channel_sms",
        Channel::Post => "channel_post",
    }
}

pub(crate) fn reply_key(mode: ReplyMode) -> &'static str {
    match mode {
        ReplyMode::Sender => "list_reply_sender",
        ReplyMode::List => "list_reply_list",
        ReplyMode::NoReply => "list_reply_no_reply",
    }
}
