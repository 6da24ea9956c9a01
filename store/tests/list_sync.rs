//! Lists kept in step with the unit tree by the units import (SQLite, or PostgreSQL when
//! `VERTEILER_TEST_POSTGRES_URL` is set): made by the templates, renamed with their unit (the
//! old address kept as an alias), switched off when their unit leaves the export and on again
//! when it comes back; clashes and large changes refused with nothing written.

use std::path::{Path, PathBuf};
use verteiler_policies::{AudienceKind, AudienceSlug, Category, RoleFunction};
use verteiler_store::directory::import::{ImportOptions, ImportReport, Refusal};
use verteiler_store::lists::ListRules;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{Audience, Store};

const UNIT_HEADER: &str = "code;name;kind;parent_code";

/// The sample units export: HH, two districts, five branches, the press office, AG 60 plus.
fn sample_units() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/units-sample.csv")
}

struct TempCsv {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn units_file(rows: &[&str]) -> TempCsv {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("units.csv");
    let mut text = format!("{UNIT_HEADER}\r\n");
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    std::fs::write(&path, text).unwrap();
    TempCsv { _dir: dir, path }
}

/// The sample's rows, optionally without the units named and with names replaced.
fn sample_rows(without: &[&str], renamed: &[(&str, &str)]) -> Vec<String> {
    let text = std::fs::read_to_string(sample_units()).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| {
            !without
                .iter()
                .any(|code| l.starts_with(&format!("{code};")))
        })
        .map(|l| {
            let mut fields: Vec<String> = l.split(';').map(str::to_string).collect();
            if let Some((_, name)) = renamed.iter().find(|(code, _)| fields[0] == *code) {
                fields[1] = name.to_string();
            }
            fields.join(";")
        })
        .collect()
}

fn with_templates(extra: impl FnOnce(&mut ImportOptions)) -> ImportOptions {
    let mut options = ImportOptions {
        lists: ListRules::standard(),
        ..ImportOptions::default()
    };
    extra(&mut options);
    options
}

fn slug(s: &str) -> AudienceSlug {
    AudienceSlug::parse(s).unwrap()
}

async fn list(store: &Store, s: &str) -> Audience {
    store
        .audience_by_slug(&slug(s))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no list {s}"))
}

async fn import(store: &Store, path: &Path, options: &ImportOptions) -> ImportReport {
    store.import_units(path, options).await.unwrap()
}

fn slugs(changes: &[verteiler_store::lists::ListChange]) -> Vec<String> {
    let mut v: Vec<String> = changes.iter().map(|c| c.slug.clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_sample_tree_gets_the_lists_the_standard_templates_say() {
    let db = TestDatabase::new().await;
    let s = &db.store;

    let report = import(s, &sample_units(), &with_templates(|_| {})).await;

    assert!(report.written, "{report:?}");
    let lists = report.lists.as_ref().unwrap();
    assert_eq!(
        slugs(&lists.created),
        [
            "alle-mitglieder",
            "blankenese",
            "bramfeld",
            "kreis-altona",
            "kreis-altona-vorstand",
            "kreis-wandsbek",
            "kreis-wandsbek-vorstand",
            "oldenfelde",
            "ottensen",
            "pressemitteilungen",
            "rahlstedt",
            "vorsitzende-hamburg",
        ]
    );
    let old = list(s, "oldenfelde").await;
    let old_unit = s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap();
    assert_eq!(
        (old.name.as_str(), old.kind, old.unit_id, old.scope_unit_id),
        (
            "Distrikt Oldenfelde",
            AudienceKind::Structural,
            old_unit.id,
            old_unit.id
        )
    );
    assert!(!old.include_subunits && old.active);
    assert_eq!(old.template_id.as_deref(), Some("branch"));
    let board = list(s, "kreis-wandsbek-vorstand").await;
    assert_eq!(board.kind, AudienceKind::Functional);
    assert_eq!(board.role_function, Some(RoleFunction::Board));
    assert!(board.include_subunits);
    let all = list(s, "alle-mitglieder").await;
    assert_eq!(all.name, "Alle Mitglieder Hamburg");
    assert_eq!(all.category, Category::Statutory);
    assert_eq!(all.approvals_needed, 2);

    // The same export again changes nothing.
    let again = import(s, &sample_units(), &with_templates(|_| {})).await;
    assert!(again.written);
    assert_eq!(again.lists.unwrap().total(), 0);
    assert_eq!(s.list_audiences().await.unwrap().len(), 12);
}

#[tokio::test]
async fn a_renamed_unit_keeps_its_old_address_as_an_alias_of_the_same_list() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    let before = list(s, "oldenfelde").await;

    let rows = sample_rows(&[], &[("HH-WA-OLD", "Distrikt Oldenfelde-Ost")]);
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);
    let report = import(s, &file.path, &with_templates(|_| {})).await;

    assert!(report.written, "{report:?}");
    let renamed = &report.lists.as_ref().unwrap().renamed;
    assert_eq!(renamed.len(), 1, "{renamed:?}");
    assert_eq!(renamed[0].slug, "oldenfelde-ost");
    assert_eq!(renamed[0].old_slug.as_deref(), Some("oldenfelde"));
    let after = list(s, "oldenfelde-ost").await;
    assert_eq!(after.id, before.id, "the same list");
    assert_eq!(after.name, "Distrikt Oldenfelde-Ost");
    assert_eq!(
        list(s, "oldenfelde").await.id,
        before.id,
        "the old address still works"
    );
    assert_eq!(s.aliases_of(before.id).await.unwrap(), ["oldenfelde"]);

    // Renamed back: the list takes its old address back from the alias.
    let back = import(s, &sample_units(), &with_templates(|_| {})).await;
    assert!(back.written, "{back:?}");
    assert_eq!(list(s, "oldenfelde").await.slug.as_str(), "oldenfelde");
    assert_eq!(s.aliases_of(before.id).await.unwrap(), ["oldenfelde-ost"]);
}

#[tokio::test]
async fn a_branch_that_leaves_the_export_has_its_lists_switched_off_never_deleted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    let rows = sample_rows(&["HH-WA-BRA"], &[]);
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);

    // Without --full the export need not be the whole tree: nothing is switched off.
    let partial = import(s, &file.path, &with_templates(|_| {})).await;
    assert!(partial.units_deactivated.is_empty());
    assert!(list(s, "bramfeld").await.active);

    let report = import(s, &file.path, &with_templates(|o| o.full = true)).await;
    assert!(report.written, "{report:?}");
    assert_eq!(report.units_deactivated, ["HH-WA-BRA"]);
    assert_eq!(
        slugs(&report.lists.as_ref().unwrap().deactivated),
        ["bramfeld"]
    );
    let bramfeld = list(s, "bramfeld").await;
    assert!(!bramfeld.active, "kept, switched off");
    let off = bramfeld.deactivation.expect("who and when");
    assert!(off.by_import);
    assert!(!s.unit_by_code("HH-WA-BRA").await.unwrap().unwrap().active);
    // The district's list is not widened or narrowed by definition; Bramfeld's unit is silent.
    assert!(list(s, "kreis-wandsbek").await.active);

    // The branch is back in the next export: its unit and its list come back.
    let back = import(s, &sample_units(), &with_templates(|o| o.full = true)).await;
    assert_eq!(back.units_reactivated, ["HH-WA-BRA"]);
    assert_eq!(slugs(&back.lists.unwrap().reactivated), ["bramfeld"]);
    assert!(list(s, "bramfeld").await.active);
}

#[tokio::test]
async fn a_list_a_person_switched_off_stays_off_whatever_the_import_says() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    let old = list(s, "oldenfelde").await;
    s.acting_as("cli:aylin")
        .set_list_active(old.id, false)
        .await
        .unwrap();

    let report = import(s, &sample_units(), &with_templates(|o| o.full = true)).await;

    assert_eq!(report.lists.unwrap().total(), 0);
    let old = list(s, "oldenfelde").await;
    assert!(!old.active);
    let off = old.deactivation.unwrap();
    assert_eq!((off.by.as_str(), off.by_import), ("cli:aylin", false));
}

#[tokio::test]
async fn two_units_wanting_one_address_are_refused_naming_both_and_nothing_is_written() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let file = units_file(&[
        "HH;Landesorganisation Hamburg;state;",
        "HH-WA;Kreis Wandsbek;district;HH",
        "HH-WA-OLD;Distrikt Oldenfelde;branch;HH-WA",
        "HH-AL;Kreis Altona;district;HH",
        "HH-AL-OLD;Ortsverein Oldenfelde;branch;HH-AL",
    ]);

    let report = import(s, &file.path, &with_templates(|_| {})).await;

    assert_eq!(report.refusal, Some(Refusal::ListClash));
    assert!(!report.written);
    let clashes = &report.lists.as_ref().unwrap().clashes;
    assert_eq!(clashes.len(), 1, "{clashes:?}");
    let said = clashes[0].to_string();
    assert!(said.contains("the address oldenfelde"), "{said}");
    assert!(
        said.contains("HH-WA-OLD") && said.contains("HH-AL-OLD"),
        "{said}"
    );
    assert_eq!(s.directory_counts().await.unwrap().units, 0, "rolled back");
    assert!(s.list_audiences().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_address_taken_by_another_units_list_is_a_clash() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &ImportOptions::default()).await;
    let ott = s.unit_by_code("HH-AL-OTT").await.unwrap().unwrap();
    s.create_audience(&verteiler_store::NewAudience::structural(
        slug("oldenfelde"),
        "Irgendwas",
        ott.id,
        false,
    ))
    .await
    .unwrap();

    let report = import(s, &sample_units(), &with_templates(|_| {})).await;

    assert_eq!(report.refusal, Some(Refusal::ListClash));
    let clash = report.lists.unwrap().clashes[0].to_string();
    assert!(
        clash.contains("HH-WA-OLD") && clash.contains("HH-AL-OTT"),
        "{clash}"
    );
    assert_eq!(s.list_audiences().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_hand_made_list_of_the_same_unit_and_address_is_adopted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &ImportOptions::default()).await;
    let old_unit = s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap();
    let id = s
        .create_audience(&verteiler_store::NewAudience::structural(
            slug("oldenfelde"),
            "Distrikt Oldenfelde",
            old_unit.id,
            false,
        ))
        .await
        .unwrap();

    // Eleven new lists beside one: above the limit, so the admin has to say it is meant.
    let refused = import(s, &sample_units(), &with_templates(|_| {})).await;
    assert_eq!(refused.refusal, Some(Refusal::LargeChange));
    let report = import(
        s,
        &sample_units(),
        &with_templates(|o| o.allow_large_change = true),
    )
    .await;

    assert!(report.written, "{report:?}");
    let lists = report.lists.unwrap();
    assert_eq!(slugs(&lists.adopted), ["oldenfelde"]);
    assert!(!slugs(&lists.created).contains(&"oldenfelde".to_string()));
    let old = list(s, "oldenfelde").await;
    assert_eq!((old.id, old.template_id.as_deref()), (id, Some("branch")));
}

#[tokio::test]
async fn more_list_changes_than_the_limit_are_refused_unless_allowed() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    // Three of five branches and a district gone: 6 of 12 lists, above 10 % and the slack of 5.
    let rows = sample_rows(
        &["HH-WA-RAH", "HH-WA-BRA", "HH-AL-BLA", "HH-AL", "HH-AL-OTT"],
        &[],
    );
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);

    let refused = import(s, &file.path, &with_templates(|o| o.full = true)).await;
    assert_eq!(refused.refusal, Some(Refusal::LargeChange));
    assert!(!refused.written);
    assert_eq!(refused.lists.as_ref().unwrap().deactivated.len(), 6);
    assert!(list(s, "ottensen").await.active, "rolled back");
    assert!(s.unit_by_code("HH-AL").await.unwrap().unwrap().active);

    let dry = import(
        s,
        &file.path,
        &with_templates(|o| {
            o.full = true;
            o.allow_large_change = true;
            o.dry_run = true;
        }),
    )
    .await;
    assert_eq!(dry.refusal, None);
    assert!(!dry.written);
    assert_eq!(dry.lists.unwrap().deactivated.len(), 6);
    assert!(list(s, "ottensen").await.active, "a dry run writes nothing");

    let allowed = import(
        s,
        &file.path,
        &with_templates(|o| {
            o.full = true;
            o.allow_large_change = true;
        }),
    )
    .await;
    assert!(allowed.written);
    assert!(!list(s, "ottensen").await.active);
}

#[tokio::test]
async fn the_top_unit_cannot_be_switched_off_but_a_branch_can() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("cli:aylin");
    import(&s, &sample_units(), &with_templates(|_| {})).await;
    let hh = s.unit_by_code("HH").await.unwrap().unwrap();
    let err = s.set_unit_active(hh.id, false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("HH is the organisation's top unit"),
        "{err}"
    );
    assert!(s.unit_by_code("HH").await.unwrap().unwrap().active);

    let old = s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap();
    assert!(s.set_unit_active(old.id, false).await.unwrap());
    let old = s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap();
    let off = old.deactivation.unwrap();
    assert_eq!((off.by.as_str(), off.by_import), ("cli:aylin", false));
    // A person's deactivation is not undone by an import that lists the unit.
    import(&s, &sample_units(), &with_templates(|o| o.full = true)).await;
    assert!(!s.unit_by_code("HH-WA-OLD").await.unwrap().unwrap().active);
    assert!(s.set_unit_active(old.id, true).await.unwrap());
    assert!(s
        .unit_by_code("HH-WA-OLD")
        .await
        .unwrap()
        .unwrap()
        .deactivation
        .is_none());
}

/// The standard templates, with the branch template's rules changed as an admin would in the
/// configuration.
fn stricter_branches() -> ImportOptions {
    with_templates(|o| {
        let branch = o
            .lists
            .templates
            .iter_mut()
            .find(|t| t.id == "branch")
            .unwrap();
        branch.approval = verteiler_store::ApprovalSetting::Always;
        branch.senders = vec![RoleFunction::Chair];
    })
}

#[tokio::test]
async fn a_changed_template_gives_its_lists_the_new_rules_but_spares_lists_changed_by_hand() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    // Somebody gave Rahlstedt's list its own senders by hand.
    let rah = list(s, "rahlstedt").await;
    let mut own = rah.definition();
    own.allowed_sender_functions = vec![RoleFunction::Chair, RoleFunction::Secretary];
    s.edit_list(rah.id, &own, &verteiler_policies::OrgLimits::default())
        .await
        .unwrap();

    let report = import(
        s,
        &sample_units(),
        &ImportOptions {
            allow_large_change: true,
            ..stricter_branches()
        },
    )
    .await;

    assert!(report.written, "{report:?}");
    let lists = report.lists.unwrap();
    assert_eq!(
        slugs(&lists.updated),
        ["blankenese", "bramfeld", "oldenfelde", "ottensen"]
    );
    assert_eq!(
        lists.updated[0].fields,
        ["allowed_sender_functions", "approval"]
    );
    assert_eq!(slugs(&lists.customised), ["rahlstedt"]);
    let old = list(s, "oldenfelde").await;
    assert_eq!(old.approval, verteiler_store::ApprovalSetting::Always);
    assert_eq!(old.allowed_sender_functions, [RoleFunction::Chair]);
    let rah = list(s, "rahlstedt").await;
    assert_eq!(
        rah.allowed_sender_functions,
        [RoleFunction::Chair, RoleFunction::Secretary],
        "kept as changed by hand"
    );
    // The same templates again: nothing to do, and the hand-made change is not reported again.
    let again = import(s, &sample_units(), &stricter_branches()).await;
    let again = again.lists.unwrap();
    assert_eq!((again.total(), again.customised.len()), (0, 0));
}

#[tokio::test]
async fn a_full_export_without_the_top_unit_or_a_needed_parent_is_refused_whole() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;

    // The top unit missing: its children still name it (stored), it is never switched off.
    let rows = sample_rows(&["HH"], &[]);
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);
    let report = import(
        s,
        &file.path,
        &with_templates(|o| {
            o.full = true;
            o.allow_large_change = true;
        }),
    )
    .await;
    assert_eq!(report.refusal, Some(Refusal::TreeBroken));
    assert_eq!(
        report.unit_problems,
        [verteiler_store::directory::import::UnitProblem::TopMissing { code: "HH".into() }]
    );
    assert!(s.unit_by_code("HH").await.unwrap().unwrap().active);

    // A district missing while its branches are still in the export, below it.
    let rows = sample_rows(&["HH-AL"], &[]);
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);
    let report = import(s, &file.path, &with_templates(|o| o.full = true)).await;
    assert_eq!(report.refusal, Some(Refusal::TreeBroken));
    assert_eq!(
        report.unit_problems,
        [
            verteiler_store::directory::import::UnitProblem::ParentMissing {
                code: "HH-AL".into(),
                children: vec!["HH-AL-OTT".into(), "HH-AL-BLA".into()],
            }
        ]
    );
    assert!(list(s, "kreis-altona").await.active, "nothing was written");
}

#[tokio::test]
async fn moved_units_are_recorded_before_and_after_and_count_for_sync_safety() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    import(s, &sample_units(), &with_templates(|_| {})).await;
    // Seven branches and groups moved to the other district: whom the district lists reach
    // changes, beyond 10 % of the ten units and the slack of five.
    let moved: Vec<String> = sample_rows(&[], &[])
        .into_iter()
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            let to = match f[3] {
                "HH-WA" => "HH-AL",
                "HH-AL" => "HH-WA",
                "HH" if f[2] != "district" => "HH-WA",
                _ => return l,
            };
            format!("{};{};{};{to}", f[0], f[1], f[2])
        })
        .collect();
    let rows: Vec<&str> = moved.iter().map(String::as_str).collect();
    let file = units_file(&rows);

    let refused = import(s, &file.path, &with_templates(|_| {})).await;
    assert_eq!(refused.refusal, Some(Refusal::LargeChange), "{refused:?}");
    let wa_old = refused
        .units_updated
        .iter()
        .find(|u| u.code == "HH-WA-OLD")
        .unwrap();
    assert_eq!(
        (
            wa_old.before.parent.as_deref(),
            wa_old.after.parent.as_deref()
        ),
        (Some("HH-WA"), Some("HH-AL"))
    );
    let allowed = import(
        s,
        &file.path,
        &with_templates(|o| o.allow_large_change = true),
    )
    .await;
    assert!(allowed.written);
    let audit = s
        .audit_search(&verteiler_store::AuditQuery::default(), 100)
        .await
        .unwrap();
    let entry = audit.iter().find(|e| e.action == "import.units").unwrap();
    assert!(
        entry.details.contains("\"units_updated\""),
        "{}",
        entry.details
    );
    assert!(entry.details.contains("HH-WA-OLD"), "{}", entry.details);
}

#[tokio::test]
async fn a_template_address_verteiler_answers_itself_is_a_clash() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let file = units_file(&[
        "HH;Landesorganisation Hamburg;state;",
        "HH-WA;Kreis Wandsbek;district;HH",
        "HH-WA-PM;Distrikt Postmaster;branch;HH-WA",
    ]);
    let report = import(s, &file.path, &with_templates(|_| {})).await;
    assert_eq!(report.refusal, Some(Refusal::ListClash));
    let clash = &report.lists.unwrap().clashes[0];
    assert_eq!(clash.slug, "postmaster");
    assert_eq!(clash.with, verteiler_store::lists::ClashWith::Reserved);
    assert!(clash.to_string().contains("reserved"), "{clash}");
}

#[tokio::test]
async fn a_free_standing_group_without_units_below_is_no_second_top() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let mut rows = sample_rows(&[], &[]);
    rows.push("AG-FREI;AG Frei;working-group;".into());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = units_file(&rows);
    let report = import(s, &file.path, &with_templates(|_| {})).await;
    assert!(report.written, "{report:?}");
    assert_eq!(
        list(s, "alle-mitglieder").await.name,
        "Alle Mitglieder Hamburg"
    );
}
