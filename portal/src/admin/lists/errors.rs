//! Why a list or unit change was refused, said in the admin's language. The store's refusals
//! name the field in its own terms (and explain in English for the command line); here each
//! becomes the form field's label and a translated sentence, never the store's text.

use crate::page::Frame;
use maud::{html, Markup};
use verteiler_policies::{format_bytes, format_count, AudienceKind, Lang, Rounding};
use verteiler_store::lists::ListError;
use verteiler_store::{NewAudience, StoreError, UnitError};

/// A refusal: nothing was changed.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// The form field it is about; its label leads the message and its input is marked.
    pub field: Option<&'static str>,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

/// A change that did not happen: refused (shown to the admin) or failed (an internal error).
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(Refusal),
    Store(StoreError),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure::Refused(r)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl Refusal {
    pub fn at(field: &'static str, key: &'static str) -> Refusal {
        Refusal {
            field: Some(field),
            key,
            args: Vec::new(),
        }
    }

    pub fn general(key: &'static str) -> Refusal {
        Refusal {
            field: None,
            key,
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.args.push((name, value.into()));
        self
    }

    pub fn render(&self, frame: &Frame<'_>) -> Markup {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        html! {
            p class="error" role="alert" id="list-error" {
                @if let Some(field) = self.field {
                    strong { (frame.t(label_key(field))) } ": "
                }
                (frame.lang.text_with(self.key, &args))
            }
        }
    }
}

/// The short label of a form field (also of the alias field of a list's page).
pub(crate) fn label_key(field: &str) -> &'static str {
    match field {
        "slug" => "list_field_slug",
        "name" => "list_field_name",
        "kind" => "list_field_kind",
        "unit" => "list_field_unit",
        "subunits" => "list_field_subunits",
        "role" => "list_field_role",
        "scope" => "list_field_scope",
        "category" => "list_field_category",
        "senders" => "list_field_senders",
        "subscribers_may_post" => "list_field_subscribers_may_post",
        "channels" => "list_field_channels",
        "email_and_sms" => "list_field_email_and_sms",
        "approval" => "audiences_approval",
        "threshold" => "list_field_threshold",
        "approvals_needed" => "admin_approvals_needed",
        "approvers" => "list_field_approvers",
        "max_recipients" => "audiences_max_recipients",
        "max_message_kb" => "audiences_max_size",
        "sends_per_day" => "list_field_sends_per_day",
        "sender_address" => "list_field_sender_address",
        "open_to_public" => "list_field_open_to_public",
        "reply_mode" => "list_field_reply_mode",
        "visible_recipients_mode" => "list_field_visible",
        "alias" => "list_field_alias",
        "confirm" => "list_field_confirm",
        _ => "list_field_other",
    }
}

/// The store's refusal as the page says it; `tried` is the definition that was refused (it
/// tells which of two zero limits was meant), `slug_field` the field an address came from.
pub(crate) fn list_refusal(
    e: ListError,
    tried: Option<&NewAudience>,
    slug_field: &'static str,
    lang: Lang,
) -> Failure {
    let refusal = match e {
        ListError::Store(e) => return Failure::Store(e),
        ListError::UnknownList(_) => Refusal::general("list_error_unknown_list"),
        ListError::UnknownUnit(code) => {
            Refusal::at("unit", "list_error_unknown_unit").with("code", code)
        }
        ListError::SlugTaken { slug, owner } => Refusal::at(slug_field, "list_error_slug_taken")
            .with("slug", slug)
            .with("owner", owner),
        ListError::SlugReserved(slug) => {
            Refusal::at(slug_field, "list_error_slug_reserved").with("slug", slug)
        }
        ListError::Invalid { field, .. } => invalid(field, tried),
        ListError::OutsideScope { unit, scope } => Refusal::at("scope", "list_error_outside_scope")
            .with("unit", unit)
            .with("scope", scope),
        ListError::AboveCap {
            field,
            value,
            cap,
            key,
        } => {
            let (form_field, bytes) = match field {
                "max_message_bytes" => ("max_message_kb", true),
                "approval_above" => ("threshold", false),
                "sends_per_sender_per_day" => ("sends_per_day", false),
                _ => ("max_recipients", false),
            };
            let shown = |n: u64| {
                if bytes {
                    format_bytes(n, Rounding::Down, lang)
                } else {
                    format_count(n, lang)
                }
            };
            Refusal::at(form_field, "list_error_above_cap")
                .with("value", shown(value))
                .with("cap", shown(cap))
                .with("key", key)
        }
        ListError::HasSends { sends, .. } => {
            Refusal::general("list_error_has_sends").with("sends", format_count(sends, lang))
        }
        ListError::NotAnAlias(slug) => {
            Refusal::at("alias", "list_error_not_an_alias").with("alias", slug)
        }
        ListError::ChangedMeanwhile(_) => Refusal::general("list_error_changed_meanwhile"),
    };
    Failure::Refused(refusal)
}

/// `ListError::Invalid` names the definition's field; the page names the form's.
fn invalid(field: &str, tried: Option<&NewAudience>) -> Refusal {
    match field {
        "name" => Refusal::at("name", "list_error_name"),
        "slug" => Refusal::at("slug", "list_error_template_fixed"),
        "unit" => Refusal::at("unit", "list_error_template_fixed"),
        "role" if tried.is_some_and(|a| a.kind == AudienceKind::Functional) => {
            Refusal::at("role", "list_error_role_missing")
        }
        "role" => Refusal::at("role", "list_error_role_not_functional"),
        "senders" => Refusal::at("senders", "list_error_senders"),
        "channels" => Refusal::at("channels", "list_error_channels"),
        "approvals_needed" => Refusal::at("approvals_needed", "admin_error_approvals_needed"),
        "approval" => Refusal::at("threshold", "admin_error_threshold"),
        "limits" if tried.is_some_and(|a| a.max_recipients == Some(0)) => {
            Refusal::at("max_recipients", "list_error_zero")
        }
        "limits" => Refusal::at("max_message_kb", "list_error_zero"),
        "sends_per_sender_per_day" => Refusal::at("sends_per_day", "list_error_zero"),
        "open_to_public" => Refusal::at("open_to_public", "list_error_open_to_public"),
        "sender_address" => Refusal::at("sender_address", "list_error_sender_address"),
        _ => Refusal::general("list_error_invalid"),
    }
}

/// A unit that could not be switched, said in the admin's language.
pub(crate) fn unit_refusal(e: UnitError) -> Failure {
    match e {
        UnitError::Store(e) => Failure::Store(e),
        UnitError::Unknown(code) => {
            Failure::Refused(Refusal::general("unit_error_unknown").with("code", code))
        }
        UnitError::Top(code) => {
            Failure::Refused(Refusal::general("unit_error_top").with("code", code))
        }
    }
}
