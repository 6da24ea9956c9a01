//! What a units import does to the tree and the lists, on the dry run and after it: units the
//! export no longer has (switched off with their lists) or has again, and every list made,
//! renamed, switched off or on — the same as `verteiler import units` prints.

use crate::page::Frame;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::directory::import::{ImportReport, UnitProblem};
use verteiler_store::lists::{ClashWith, ListChange, ListClash};

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
            @if !report.unit_problems.is_empty() {
                div class="error" role="alert" {
                    p { (frame.t("import_tree_broken")) }
                    ul { @for problem in &report.unit_problems { li { (unit_problem(frame, problem)) } } }
                }
            }
            @if !lists.clashes.is_empty() {
                div class="error" role="alert" {
                    p { (frame.t("import_lists_clash")) }
                    ul { @for clash in &lists.clashes { li { (clash_text(frame, clash)) } } }
                }
            }
            p {
                (frame.lang.text_with("import_lists_counts", &[
                    ("before", &n(lists.lists_before as usize)),
                    ("created", &n(lists.created.len())),
                    ("renamed", &n(lists.renamed.len())),
                    ("updated", &n(lists.updated.len())),
                    ("off", &n(lists.deactivated.len())),
                    ("on", &n(lists.reactivated.len())),
                ]))
            }
            (group(frame, "import_lists_created", &lists.created))
            (group(frame, "import_lists_renamed", &lists.renamed))
            (group(frame, "import_lists_updated", &lists.updated))
            (group(frame, "import_lists_off", &lists.deactivated))
            (group(frame, "import_lists_on", &lists.reactivated))
            (group(frame, "import_lists_adopted", &lists.adopted))
            (group(frame, "import_lists_customised", &lists.customised))
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

/// A unit a `full` export lacks but the tree needs, in the admin's language.
fn unit_problem(frame: &Frame<'_>, problem: &UnitProblem) -> String {
    match problem {
        UnitProblem::TopMissing { code } => frame
            .lang
            .text_with("import_top_missing", &[("code", code)]),
        UnitProblem::ParentMissing { code, children } => frame.lang.text_with(
            "import_parent_missing",
            &[("code", code), ("children", &children.join(", "))],
        ),
    }
}

/// Why a list cannot have its address, in the admin's language.
fn clash_text(frame: &Frame<'_>, c: &ListClash) -> String {
    let unit = format!("{} ({})", c.unit_code, c.unit_name);
    let mine = [
        ("slug", c.slug.as_str()),
        ("template", c.template.as_str()),
        ("unit", unit.as_str()),
    ];
    match &c.with {
        ClashWith::Unit {
            template,
            unit_code,
            unit_name,
        } => {
            let other = format!("{unit_code} ({unit_name})");
            let mut args = mine.to_vec();
            args.extend([
                ("other_template", template.as_str()),
                ("other_unit", other.as_str()),
            ]);
            frame.lang.text_with("import_clash_unit", &args)
        }
        ClashWith::List { slug, unit_code } => {
            let mut args = mine.to_vec();
            args.extend([("list", slug.as_str()), ("list_unit", unit_code.as_str())]);
            frame.lang.text_with("import_clash_list", &args)
        }
        ClashWith::Reserved => frame.lang.text_with("import_clash_reserved", &mine),
        ClashWith::Invalid { .. } => frame.lang.text_with("import_clash_invalid", &mine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use verteiler_store::lists::ListChanges;

    fn report() -> ImportReport {
        let clash = |with| ListClash {
            slug: "oldenfelde".into(),
            template: "branch".into(),
            unit_code: "HH-AL-OLD".into(),
            unit_name: "Ortsverein Oldenfelde".into(),
            with,
        };
        ImportReport {
            unit_problems: vec![
                UnitProblem::TopMissing { code: "HH".into() },
                UnitProblem::ParentMissing {
                    code: "HH-AL".into(),
                    children: vec!["HH-AL-OTT".into()],
                },
            ],
            lists: Some(ListChanges {
                clashes: vec![
                    clash(ClashWith::Unit {
                        template: "branch".into(),
                        unit_code: "HH-WA-OLD".into(),
                        unit_name: "Distrikt Oldenfelde".into(),
                    }),
                    clash(ClashWith::List {
                        slug: "oldenfelde".into(),
                        unit_code: "HH-WA-OLD".into(),
                    }),
                    clash(ClashWith::Reserved),
                    clash(ClashWith::Invalid {
                        reason: "invalid audience slug".into(),
                    }),
                ],
                ..ListChanges::default()
            }),
            ..ImportReport::default()
        }
    }

    #[test]
    fn clashes_and_a_broken_tree_are_said_in_the_admins_language_naming_both_units() {
        let de = unit_and_list_changes(&Frame::anonymous(Lang::De, "/"), &report()).into_string();
        for said in [
            "HH fehlt, ist aber die oberste Gliederung",
            "HH-AL fehlt, aber Gliederungen des Exports hängen noch darunter: HH-AL-OTT.",
            "Vorlage branch für HH-WA-OLD (Distrikt Oldenfelde) und Vorlage branch für HH-AL-OLD (Ortsverein Oldenfelde)",
            "hat schon der Verteiler oldenfelde der Gliederung HH-WA-OLD",
            "ist für verteilers eigene Post reserviert",
            "ergibt die Vorlage branch (oldenfelde) keine gültige Adresse",
        ] {
            assert!(de.contains(said), "{said}: {de}");
        }
        assert!(
            !de.contains("invalid audience slug"),
            "no English on a German page"
        );
        let en = unit_and_list_changes(&Frame::anonymous(Lang::En, "/"), &report()).into_string();
        assert!(en.contains("Two would get the address oldenfelde"), "{en}");
    }
}
