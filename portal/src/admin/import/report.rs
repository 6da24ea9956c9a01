//! The report of an import run: sync safety first (members), the rows, then what happened or
//! the confirmation with what it must say.

use super::{ExportKind, JobRequest};
use crate::page::Frame;
use maud::{html, Markup};
use verteiler_policies::format_count;
use verteiler_store::directory::import::{ImportReport, Refusal};

/// Bad rows listed on the report; the count names them all.
const ERRORS_SHOWN: usize = 200;
/// Units listed besides those above the limit.
const UNITS_SHOWN: usize = 40;

const UNIT_COLUMNS: [&str; 5] = [
    "admin_unit",
    "import_members_before",
    "import_added",
    "import_changed",
    "import_removed",
];
const ERROR_COLUMNS: [&str; 3] = ["import_line", "import_field", "import_reason"];

pub(super) fn report_page(
    frame: &Frame<'_>,
    report: &ImportReport,
    request: &JobRequest,
) -> Markup {
    html! {
        @if request.kind == ExportKind::Members {
            (safety(frame, report, request))
        }
        (rows(frame, report, request))
        (super::list_changes::unit_and_list_changes(frame, report))
        (outcome(frame, report, request))
    }
}

fn safety(frame: &Frame<'_>, report: &ImportReport, request: &JobRequest) -> Markup {
    let options = &request.options;
    let lang = frame.lang.policies();
    let n = |v: u64| format_count(v, lang);
    let too_large: Vec<_> = report.changes.iter().filter(|c| c.too_large).collect();
    let others: Vec<_> = report
        .changes
        .iter()
        .filter(|c| !c.too_large)
        .take(UNITS_SHOWN)
        .collect();
    let hidden = report.changes.len() - too_large.len() - others.len();
    html! {
        section aria-labelledby="safety" {
            h2 id="safety" { (frame.t("import_safety")) }
            @if report.first_import {
                p { (frame.t("import_first")) }
            } @else if too_large.is_empty() {
                p role="status" { (frame.t("import_within_limit")) }
            } @else {
                p class="error" role="alert" {
                    (frame.lang.text_with("import_above_limit", &[
                        ("units", &n(too_large.len() as u64)),
                        ("percent", &options.max_change_percent.to_string()),
                        ("slack", &n(options.change_slack)),
                    ]))
                }
            }
            p {
                (frame.lang.text_with("import_directory", &[
                    ("before", &n(report.directory_before)),
                    ("touched", &n(report.directory_changes)),
                ]))
            }
            @if !report.changes.is_empty() {
                table class="stack" {
                    caption { (frame.t("import_units_caption")) }
                    thead {
                        tr {
                            @for key in UNIT_COLUMNS { th scope="col" { (frame.t(key)) } }
                        }
                    }
                    tbody {
                        @for c in too_large.iter().chain(others.iter()) {
                            tr class=[c.too_large.then_some("above")] {
                                td data-label=(frame.t(UNIT_COLUMNS[0])) {
                                    (c.unit_code)
                                    @if c.too_large { " " strong { (frame.t("import_unit_above")) } }
                                }
                                td data-label=(frame.t(UNIT_COLUMNS[1])) { (n(c.members_before)) }
                                td data-label=(frame.t(UNIT_COLUMNS[2])) { (n(c.added)) }
                                td data-label=(frame.t(UNIT_COLUMNS[3])) { (n(c.changed)) }
                                td data-label=(frame.t(UNIT_COLUMNS[4])) { (n(c.removed)) }
                            }
                        }
                    }
                }
                @if hidden > 0 {
                    p { (frame.lang.text_with("import_more_units", &[("n", &n(hidden as u64))])) }
                }
            }
        }
    }
}

fn rows(frame: &Frame<'_>, report: &ImportReport, request: &JobRequest) -> Markup {
    let n = |v: u64| format_count(v, frame.lang.policies());
    html! {
        section aria-labelledby="rows" {
            h2 id="rows" { (frame.t("import_rows")) }
            p {
                (frame.lang.text_with("import_counts", &[
                    ("rows", &n(report.rows)),
                    ("created", &n(report.created)),
                    ("updated", &n(report.updated)),
                    ("unchanged", &n(report.unchanged)),
                    ("bad", &n(report.bad_rows())),
                ]))
                @if request.options.full {
                    " " (frame.lang.text_with("import_marked_left", &[("n", &n(report.marked_left))]))
                }
            }
            @if !report.errors.is_empty() {
                table class="stack" {
                    caption {
                        (frame.lang.text_with("import_errors_caption", &[("max", &ERRORS_SHOWN.to_string())]))
                    }
                    thead {
                        tr {
                            @for key in ERROR_COLUMNS { th scope="col" { (frame.t(key)) } }
                        }
                    }
                    tbody {
                        @for e in report.errors.iter().take(ERRORS_SHOWN) {
                            tr {
                                td data-label=(frame.t(ERROR_COLUMNS[0])) { (e.line) }
                                td data-label=(frame.t(ERROR_COLUMNS[1])) { (e.field.unwrap_or("")) }
                                td data-label=(frame.t(ERROR_COLUMNS[2])) { (e.reason) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What happened, and on a dry run or a refusal the confirmation with what it must say.
fn outcome(frame: &Frame<'_>, report: &ImportReport, request: &JobRequest) -> Markup {
    let options = &request.options;
    if report.written {
        let skipped = report.bad_rows();
        return html! {
            section role="status" aria-labelledby="done" {
                h2 id="done" { (frame.t("import_done")) }
                @if skipped > 0 {
                    p { (frame.lang.text_with("import_done_skipped", &[
                        ("bad", &format_count(skipped, frame.lang.policies())),
                    ])) }
                }
                p { a href={ "/admin/audit?person=portal:member:" (frame.member.map_or(0, |m| m.member_id)) } { (frame.t("admin_see_audit")) } }
                p { a href="/admin/import" { (frame.t("import_other_file")) } }
            }
        };
    }
    let bad_rows = !report.errors.is_empty();
    let too_large =
        report.changes.iter().any(|c| c.too_large) || report.refusal == Some(Refusal::LargeChange);
    let refused_key = match (&report.refusal, options.dry_run) {
        (Some(Refusal::InvalidRows), false) => Some("import_refused_rows"),
        (Some(Refusal::LargeChange), false) => Some("import_refused_large"),
        (Some(Refusal::ListClash), _) => Some("import_refused_clash"),
        (Some(Refusal::TreeBroken), _) => Some("import_tree_broken"),
        _ => None,
    };
    html! {
        section aria-labelledby="confirm" {
            h2 id="confirm" { (frame.t("import_confirm_title")) }
            @if let Some(key) = refused_key {
                p class="error" role="alert" { (frame.t(key)) }
            } @else {
                p { (frame.t("import_dry_run")) }
            }
            form method="post" action="/admin/import/confirm" {
                (frame.csrf_field())
                input type="hidden" name="upload" value=(request.token);
                input type="hidden" name="kind" value=(request.kind.as_str());
                input type="hidden" name="encoding" value=(options.encoding.as_str());
                @if options.full {
                    input type="hidden" name="full" value="1";
                }
                @if bad_rows {
                    p {
                        input id="skip_invalid" name="skip_invalid" type="checkbox" value="1";
                        label class="inline" for="skip_invalid" { (frame.t("import_skip_invalid")) }
                    }
                }
                @if too_large {
                    p {
                        input id="allow_large_change" name="allow_large_change" type="checkbox" value="1";
                        label class="inline" for="allow_large_change" { (frame.t("import_allow_large")) }
                    }
                }
                button type="submit" { (frame.t("import_confirm")) }
            }
            p { a href="/admin/import" { (frame.t("import_other_file")) } }
        }
    }
}
