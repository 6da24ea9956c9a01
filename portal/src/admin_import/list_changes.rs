//! What a units import does to the tree and the lists, on the dry run and after it: units the
//! export no longer has (switched off with their lists) or has again, and every list made,
//! renamed, switched off or on — the same as `verteiler import units` prints.

use crate::page::Frame;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::import::ImportReport;
use verteiler_store::lists::ListChange;

/// Lines of one kind of change shown; more are counted.
const SHOWN: usize = 100;

pub(super) fn unit_and_list_changes(frame: &Frame<'_>, report: &ImportReport) -> Markup {
    let Some(lists) = &report.lists else {
        return html! {};
    };
    let n = |v: usize| format_count(v as u64, frame.lang.policies());
    html! {
        section aria-labelledby="lists" {
            h2 id="lists" { (frame.t("import_lists_title")) }
            @if !report.units_deactivated.is_empty() {
                p { (frame.lang.text_with("import_units_off", &[("codes", &report.units_deactivated.join(", "))])) }
            }
            @if !report.units_reactivated.is_empty() {
                p { (frame.lang.text_with("import_units_on", &[("codes", &report.units_reactivated.join(", "))])) }
            }
            @if !lists.clashes.is_empty() {
                div class="error" role="alert" {
                    p { (frame.t("import_lists_clash")) }
                    ul { @for clash in &lists.clashes { li { (clash) } } }
                }
            }
            p {
                (frame.lang.text_with("import_lists_counts", &[
                    ("before", &n(lists.lists_before as usize)),
                    ("created", &n(lists.created.len())),
                    ("renamed", &n(lists.renamed.len())),
                    ("off", &n(lists.deactivated.len())),
                    ("on", &n(lists.reactivated.len())),
                ]))
            }
            (group(frame, "import_lists_created", &lists.created))
            (group(frame, "import_lists_renamed", &lists.renamed))
            (group(frame, "import_lists_off", &lists.deactivated))
            (group(frame, "import_lists_on", &lists.reactivated))
            (group(frame, "import_lists_adopted", &lists.adopted))
        }
    }
}

fn group(frame: &Frame<'_>, caption: &str, changes: &[ListChange]) -> Markup {
    if changes.is_empty() {
        return html! {};
    }
    let by_hand = frame.t("import_lists_by_hand");
    html! {
        table class="stack" {
            caption { (frame.t(caption)) }
            thead {
                tr {
                    @for key in ["import_list_address", "audiences_name", "admin_unit", "import_list_template"] {
                        th scope="col" { (frame.t(key)) }
                    }
                }
            }
            tbody {
                @for c in changes.iter().take(SHOWN) {
                    tr {
                        td data-label=(frame.t("import_list_address")) {
                            @if let Some(old) = &c.old_slug { (old) " → " }
                            (c.slug)
                        }
                        td data-label=(frame.t("audiences_name")) { (c.name) }
                        td data-label=(frame.t("admin_unit")) { (c.unit_code) }
                        td data-label=(frame.t("import_list_template")) {
                            (c.template.as_deref().unwrap_or(by_hand))
                        }
                    }
                }
            }
        }
        @if changes.len() > SHOWN {
            p { (frame.lang.text_with("import_more_lists", &[("n", &(changes.len() - SHOWN).to_string())])) }
        }
    }
}
