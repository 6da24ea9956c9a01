//! A list's state and addresses on its page: on or off (and by whom, when, or because its
//! unit left the export), its own address and aliases, and deleting it while it never had a
//! send. The same words describe a unit's state on its page.

use crate::page::{when, Frame};
use maud::{html, Markup};
use verteiler_store::{Audience, Deactivation};

/// The state of a list or unit in a sentence: on, off by a person (who, when), off because the
/// import no longer found it (when). `kind` is `list` or `unit`.
pub(crate) fn state_text(
    frame: &Frame<'_>,
    kind: &str,
    active: bool,
    off: Option<&Deactivation>,
    short: bool,
) -> String {
    let form = if short { "short" } else { "long" };
    match (active, off) {
        (true, _) => frame.t(&format!("{kind}_state_active_{form}")).to_string(),
        (false, Some(d)) if d.by_import => frame.lang.text_with(
            &format!("{kind}_state_left_export_{form}"),
            &[("at", &when(d.at, frame.lang))],
        ),
        (false, Some(d)) => frame.lang.text_with(
            &format!("{kind}_state_off_{form}"),
            &[("by", &d.by), ("at", &when(d.at, frame.lang))],
        ),
        (false, None) => frame
            .t(&format!("{kind}_state_off_unknown_{form}"))
            .to_string(),
    }
}

/// The deactivation with its actor as a person reads it (a member's name, not their id).
pub(crate) async fn named(
    store: &verteiler_store::Store,
    off: Option<&Deactivation>,
) -> Result<Option<Deactivation>, verteiler_store::StoreError> {
    match off {
        Some(d) if !d.by_import => Ok(Some(Deactivation {
            by: store.actor_name(&d.by).await?,
            ..d.clone()
        })),
        other => Ok(other.cloned()),
    }
}

crate::csrf_form! {
    ActiveForm { active: String }
}

impl ActiveForm {
    /// The state the switch asks for; `None` for anything but `true` or `false`.
    pub(crate) fn wanted(&self) -> Option<bool> {
        match self.active.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

/// The switch between on and off: one button, posting the state wanted.
pub(crate) fn switch_form(frame: &Frame<'_>, action: &str, kind: &str, active: bool) -> Markup {
    let (value, id, key) = if active {
        (
            "false",
            format!("{kind}-deactivate"),
            format!("{kind}_deactivate"),
        )
    } else {
        (
            "true",
            format!("{kind}-activate"),
            format!("{kind}_activate"),
        )
    };
    html! {
        form method="post" action=(action) {
            (frame.csrf_field())
            input type="hidden" name="active" value=(value);
            button type="submit" id=(id) class=[active.then_some("danger")] { (frame.t(&key)) }
        }
    }
}

pub(crate) fn state_section(frame: &Frame<'_>, list: &Audience) -> Markup {
    let base = format!("/admin/audiences/{}", list.slug);
    html! {
        section aria-labelledby="list-state-heading" {
            h2 id="list-state-heading" { (frame.t("list_state_heading")) }
            p id="list-state" {
                (state_text(frame, "list", list.active, list.deactivation.as_ref(), false))
            }
            @if let Some(d) = list.deactivation.as_ref().filter(|_| !list.active) {
                p { a href={ "/admin/audit?person=" (d.by) } { (frame.t("list_state_audit")) } }
            }
            (switch_form(frame, &format!("{base}/active"), "list", list.active))
            p {
                @match &list.template_id {
                    Some(t) => (frame.lang.text_with("list_origin_template", &[("template", t)])),
                    None => (frame.t("list_origin_hand")),
                }
            }
        }
    }
}

/// `slug@domain` when the list domain is known.
pub(crate) fn address(slug: &str, domain: Option<&str>) -> String {
    match domain {
        Some(domain) => format!("{slug}@{domain}"),
        None => slug.to_string(),
    }
}

pub(crate) fn addresses_section(
    frame: &Frame<'_>,
    list: &Audience,
    aliases: &[String],
    domain: Option<&str>,
    alias_entered: &str,
) -> Markup {
    let base = format!("/admin/audiences/{}", list.slug);
    html! {
        section aria-labelledby="list-addresses-heading" {
            h2 id="list-addresses-heading" { (frame.t("list_addresses_heading")) }
            ul id="list-addresses" {
                li { span class="address" { (address(list.slug.as_str(), domain)) } " – " (frame.t("list_address_own")) }
                @for alias in aliases {
                    li {
                        span class="address" { (address(alias, domain)) } " – " (frame.t("list_address_alias"))
                        form method="post" action={ (base) "/aliases/remove" } class="inline" {
                            (frame.csrf_field())
                            input type="hidden" name="alias" value=(alias);
                            button type="submit" id={ "alias-remove-" (alias) } class="danger"
                                aria-label=(frame.lang.text_with("list_alias_remove_label", &[("alias", alias)])) {
                                (frame.t("list_alias_remove"))
                            }
                        }
                    }
                }
            }
            form method="post" action={ (base) "/aliases" } {
                (frame.csrf_field())
                p {
                    label for="alias" { (frame.t("list_label_alias")) }
                    input id="alias" name="alias" value=(alias_entered);
                }
                button type="submit" id="alias-add" { (frame.t("list_alias_add")) }
            }
        }
    }
}

pub(crate) fn delete_section(frame: &Frame<'_>, list: &Audience) -> Markup {
    html! {
        section aria-labelledby="list-delete-heading" {
            h2 id="list-delete-heading" { (frame.t("list_delete_heading")) }
            p { (frame.t("list_delete_text")) }
            form method="post" action={ "/admin/audiences/" (list.slug) "/delete" } {
                (frame.csrf_field())
                p {
                    input type="checkbox" id="confirm" name="confirm" value="1" required;
                    label class="inline" for="confirm" { (frame.t("list_delete_confirm")) }
                }
                button type="submit" id="list-delete" class="danger" { (frame.t("list_delete")) }
            }
        }
    }
}
