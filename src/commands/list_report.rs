//! What a units import or `audience sync` does to the units and lists, printed for a person:
//! the dry run shows it before anything is written.

use verteiler_store::directory::import::{ImportOptions, ImportReport, UnitProblem};
use verteiler_store::lists::{ListChange, ListChanges};

/// Lines of one kind of change shown in full; more are counted.
const SHOWN: usize = 40;

/// Units switched off or on by a units import, then its list changes.
pub fn print_unit_changes(report: &ImportReport, options: &ImportOptions) {
    for problem in &report.unit_problems {
        match problem {
            UnitProblem::TopMissing { code } => println!(
                "not in the export: {code}, the organisation's top unit (it is never switched off \
                 by an import: that would silence every list)"
            ),
            UnitProblem::ParentMissing { code, children } => println!(
                "not in the export: {code}, but units of the export still hang below it: {}",
                children.join(", ")
            ),
        }
    }
    for u in report.units_updated.iter().take(SHOWN) {
        let parent = |p: &Option<String>| p.clone().unwrap_or_else(|| "-".into());
        println!(
            "unit {}: \"{}\" ({}, below {}) → \"{}\" ({}, below {})",
            u.code,
            u.before.name,
            u.before.kind,
            parent(&u.before.parent),
            u.after.name,
            u.after.kind,
            parent(&u.after.parent)
        );
    }
    if !report.units_deactivated.is_empty() {
        println!(
            "units the export no longer has (switched off): {}",
            report.units_deactivated.join(", ")
        );
    }
    if !report.units_reactivated.is_empty() {
        println!(
            "units back in the export (switched on again): {}",
            report.units_reactivated.join(", ")
        );
    }
    if let Some(lists) = &report.lists {
        print_list_changes(lists, options);
    }
}

/// The list changes, grouped by kind, with the sync-safety limit they were measured against.
pub fn print_list_changes(lists: &ListChanges, options: &ImportOptions) {
    println!();
    if lists.total() == 0
        && lists.adopted.is_empty()
        && lists.customised.is_empty()
        && lists.clashes.is_empty()
    {
        println!("lists: no change ({} lists)", lists.lists_before);
        return;
    }
    println!(
        "lists: {} new, {} renamed, {} with new rules, {} switched off, {} switched on again (of {} \
         lists; limit: {}% of them, at least {}{})",
        lists.created.len(),
        lists.renamed.len(),
        lists.updated.len(),
        lists.deactivated.len(),
        lists.reactivated.len(),
        lists.lists_before,
        options.max_change_percent,
        options.change_slack,
        if lists.lists_before == 0 {
            "; the first lists: no limit applies"
        } else {
            ""
        }
    );
    group("new", &lists.created);
    group("renamed", &lists.renamed);
    group("new rules from its template", &lists.updated);
    group("switched off", &lists.deactivated);
    group("switched on again", &lists.reactivated);
    group("taken over by a template", &lists.adopted);
    group(
        "template changed, kept as changed by hand",
        &lists.customised,
    );
    for clash in &lists.clashes {
        println!("  clash: {clash}");
    }
}

fn group(label: &str, changes: &[ListChange]) {
    for c in changes.iter().take(SHOWN) {
        let template = c.template.as_deref().unwrap_or("by hand");
        let fields = if c.fields.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.fields.join(", "))
        };
        match &c.old_slug {
            Some(old) => println!(
                "  {label}: {old} → {} \"{}\" ({}, {template}; {old} stays an alias)",
                c.slug, c.name, c.unit_code
            ),
            None => println!(
                "  {label}: {} \"{}\" ({}, {template}){fields}",
                c.slug, c.name, c.unit_code
            ),
        }
    }
    if changes.len() > SHOWN {
        println!("  … and {} more {label}", changes.len() - SHOWN);
    }
}
