//! Lists made and changed by hand, the one set of operations behind the CLI and the admin
//! pages (SQLite, or PostgreSQL when `VERTEILER_TEST_POSTGRES_URL` is set): each refuses what
//! could reach outside its scope or exceed the caps, naming the field, and changes nothing then;
//! each change is audited with before → after.

mod common;

use common::{build_org, member, released_send, slug};
use verteiler_policies::{AudienceKind, OrgLimits, RoleFunction};
use verteiler_store::lists::ListError;
use verteiler_store::testing::TestDatabase;
use verteiler_store::{ApprovalSetting, AuditQuery, NewAudience, Store};

fn caps() -> OrgLimits {
    OrgLimits::default()
}

fn list(s: &str, unit_id: i64) -> NewAudience {
    NewAudience::structural(slug(s), &format!("Liste {s}"), unit_id, false)
}

/// The details of every entry of `action`, oldest first.
async fn audit_details(store: &Store, action: &str) -> Vec<serde_json::Value> {
    let mut entries = store
        .audit_search(&AuditQuery::default(), 1_000)
        .await
        .unwrap();
    entries.sort_by_key(|e| e.seq);
    entries
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect()
}

#[tokio::test]
async fn a_list_is_created_within_its_scope_and_the_caps_and_audited() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("cli:aylin");
    let org = build_org(&s).await;

    let id = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();

    let created = s.audience_by_id(id).await.unwrap().unwrap();
    assert_eq!(created.scope_unit_id, org.old);
    assert!(created.active && created.template_id.is_none());
    let entries = audit_details(&s, "audience.created").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["after"]["slug"], "oldenfelde");
    assert_eq!(entries[0]["before"], serde_json::Value::Null);

    // Scoped below its own unit: it could reach outside its scope by definition.
    let mut outside = list("wandsbek", org.wa);
    outside.include_subunits = true;
    outside.scope_unit_id = org.old;
    let e = s.create_list(&outside, &caps()).await.unwrap_err();
    assert!(
        matches!(&e, ListError::OutsideScope { unit, scope } if unit == "HH-WA" && scope == "HH-WA-OLD"),
        "{e}"
    );
    // A scope above the unit is fine (a topic list of a working group, open to the state).
    let mut wider = list("wandsbek", org.wa);
    wider.scope_unit_id = org.hh;
    s.create_list(&wider, &caps()).await.unwrap();

    let mut huge = list("riesig", org.hh);
    huge.max_recipients = Some(caps().max_recipients + 1);
    let e = s.create_list(&huge, &caps()).await.unwrap_err();
    assert!(
        e.to_string().contains("limits.max_recipients_per_send"),
        "{e}"
    );

    let e = s
        .create_list(&list("oldenfelde", org.rah), &caps())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ListError::SlugTaken { slug, owner } if slug == "oldenfelde" && owner == "oldenfelde"),
        "{e}"
    );
    let e = s
        .create_list(&list("bounce", org.rah), &caps())
        .await
        .unwrap_err();
    assert!(matches!(e, ListError::SlugReserved(_)), "{e}");
    let mut functional = list("vorstaende", org.wa);
    functional.kind = AudienceKind::Functional;
    let e = s.create_list(&functional, &caps()).await.unwrap_err();
    assert!(matches!(e, ListError::Invalid { field: "role", .. }), "{e}");

    assert_eq!(
        s.list_audiences().await.unwrap().len(),
        2,
        "nothing else was stored"
    );
}

#[tokio::test]
async fn an_edit_records_each_changed_field_and_a_new_address_keeps_the_old_one() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("portal:member:4");
    let org = build_org(&s).await;
    let id = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();
    let mut after = s.audience_by_id(id).await.unwrap().unwrap().definition();
    after.slug = slug("ov-oldenfelde");
    after.approval = ApprovalSetting::AboveRecipients(300);
    after.sender_address = Some("Vorstand@Oldenfelde.example".into());
    after.allowed_sender_functions = vec![RoleFunction::Chair, RoleFunction::Board];

    let changes = s.edit_list(id, &after, &caps()).await.unwrap();

    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "allowed_sender_functions",
            "approval",
            "sender_address",
            "slug"
        ]
    );
    let now = s
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.id, now.slug.as_str()), (id, "ov-oldenfelde"));
    assert_eq!(
        now.sender_address.as_deref(),
        Some("vorstand@oldenfelde.example")
    );
    assert_eq!(s.aliases_of(id).await.unwrap(), ["oldenfelde"]);
    let audited = audit_details(&s, "audience.changed").await;
    let last = audited.last().unwrap();
    assert_eq!(last["changes"][1]["before"]["rule"], "never");
    assert_eq!(last["changes"][1]["after"]["threshold"], 300);
    // The same again changes nothing and writes no entry.
    assert!(s.edit_list(id, &after, &caps()).await.unwrap().is_empty());
    assert_eq!(
        audit_details(&s, "audience.changed").await.len(),
        audited.len()
    );

    // An address another list has is refused, nothing changed.
    s.create_list(&list("rahlstedt", org.rah), &caps())
        .await
        .unwrap();
    let mut clash = after.clone();
    clash.slug = slug("rahlstedt");
    assert!(matches!(
        s.edit_list(id, &clash, &caps()).await,
        Err(ListError::SlugTaken { .. })
    ));
    assert_eq!(
        s.audience_by_id(id).await.unwrap().unwrap().slug.as_str(),
        "ov-oldenfelde"
    );
}

#[tokio::test]
async fn a_switched_off_list_says_who_and_when_and_comes_back_only_by_a_person() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("cli:aylin");
    let org = build_org(&s).await;
    let id = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();

    assert!(s.set_list_active(id, false).await.unwrap());
    assert!(!s.set_list_active(id, false).await.unwrap(), "already off");

    let off = s.audience_by_id(id).await.unwrap().unwrap();
    assert!(!off.active);
    let d = off.deactivation.unwrap();
    assert_eq!((d.by.as_str(), d.by_import), ("cli:aylin", false));
    assert!(d.at > 0);
    assert!(s.set_list_active(id, true).await.unwrap());
    let on = s.audience_by_id(id).await.unwrap().unwrap();
    assert!(on.active && on.deactivation.is_none());
    let audited = audit_details(&s, "audience.changed").await;
    assert_eq!(audited.len(), 2);
    assert_eq!(audited[0]["after"]["active"], false);
}

#[tokio::test]
async fn only_a_list_that_never_had_a_send_can_be_deleted() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let chair = member(s, "Ole", org.old).await;
    let used = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();
    released_send(s, chair, used, 10).await;
    let unused = s
        .create_list(&list("entwurf", org.old), &caps())
        .await
        .unwrap();
    s.add_alias(unused, &slug("entwurf-alt")).await.unwrap();
    s.subscribe_confirmed(unused, chair, "tok-1").await.unwrap();

    let e = s.delete_list(used).await.unwrap_err();
    assert!(
        matches!(&e, ListError::HasSends { slug, sends: 1 } if slug == "oldenfelde"),
        "{e}"
    );
    assert!(e.to_string().contains("deactivate it instead"), "{e}");
    assert!(s.audience_by_id(used).await.unwrap().is_some());

    s.delete_list(unused).await.unwrap();
    assert!(s.audience_by_id(unused).await.unwrap().is_none());
    assert!(s
        .audience_by_slug(&slug("entwurf-alt"))
        .await
        .unwrap()
        .is_none());
    let deleted = audit_details(s, "audience.deleted").await;
    assert_eq!(deleted[0]["removed"]["subscriptions"], 1);
    assert_eq!(deleted[0]["removed"]["audience_aliases"], 1);
}

#[tokio::test]
async fn an_alias_reaches_its_list_and_never_another() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let old = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();
    let rah = s
        .create_list(&list("rahlstedt", org.rah), &caps())
        .await
        .unwrap();

    s.add_alias(old, &slug("ov-oldenfelde")).await.unwrap();
    let via = s
        .audience_by_slug(&slug("ov-oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(via.id, old);
    assert!(matches!(
        s.add_alias(rah, &slug("ov-oldenfelde")).await,
        Err(ListError::SlugTaken { .. })
    ));
    assert!(matches!(
        s.add_alias(rah, &slug("oldenfelde")).await,
        Err(ListError::SlugTaken { .. })
    ));
    assert!(matches!(
        s.add_alias(rah, &slug("postmaster")).await,
        Err(ListError::SlugReserved(_))
    ));
    assert!(matches!(
        s.remove_alias(&slug("oldenfelde")).await,
        Err(ListError::NotAnAlias(_))
    ));
    s.remove_alias(&slug("ov-oldenfelde")).await.unwrap();
    assert!(s
        .audience_by_slug(&slug("ov-oldenfelde"))
        .await
        .unwrap()
        .is_none());
    // The list of a submission addressed to the alias is the list itself.
    s.add_alias(old, &slug("ov-oldenfelde")).await.unwrap();
    let found = s
        .audience_for_address("OV-Oldenfelde@lists.example.org", "lists.example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, old);
}

#[tokio::test]
async fn the_overview_shows_every_list_with_its_unit_and_state() {
    let db = TestDatabase::new().await;
    let s = db.store.acting_as("cli:aylin");
    let org = build_org(&s).await;
    let old = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();
    s.create_list(&list("alle", org.hh), &caps()).await.unwrap();
    s.set_list_active(old, false).await.unwrap();

    let all = s.lists_overview().await.unwrap();
    let seen: Vec<(&str, &str, bool)> = all
        .iter()
        .map(|o| (o.list.slug.as_str(), o.unit_code.as_str(), o.list.active))
        .collect();
    assert_eq!(
        seen,
        [("alle", "HH", true), ("oldenfelde", "HH-WA-OLD", false)]
    );
    let off = all[1].list.deactivation.as_ref().unwrap();
    assert_eq!((off.by.as_str(), off.by_import), ("cli:aylin", false));
}

#[tokio::test]
async fn an_edit_from_an_older_look_at_the_list_is_refused_and_changes_nothing() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let org = build_org(s).await;
    let id = s
        .create_list(&list("oldenfelde", org.old), &caps())
        .await
        .unwrap();
    let seen_by_b = s.audience_by_id(id).await.unwrap().unwrap();
    // Admin A makes it stricter first.
    let mut strict = seen_by_b.definition();
    strict.approval = ApprovalSetting::Always;
    s.edit_list_seen(id, Some(&seen_by_b.definition_tag()), &strict, &caps())
        .await
        .unwrap();
    // Admin B saves the form they opened before, with another change: refused.
    let mut other = seen_by_b.definition();
    other.max_recipients = Some(300);
    let e = s
        .edit_list_seen(id, Some(&seen_by_b.definition_tag()), &other, &caps())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ListError::ChangedMeanwhile(ref slug) if slug == "oldenfelde"),
        "{e}"
    );
    let now = s.audience_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (now.approval, now.max_recipients),
        (ApprovalSetting::Always, None),
        "A's change stands, B's is not made"
    );
}

#[tokio::test]
async fn a_templates_list_stays_with_its_unit_and_a_rule_above_the_caps_is_refused() {
    let db = TestDatabase::new().await;
    let s = &db.store;
    let units =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/units-sample.csv");
    s.import_units(
        &units,
        &verteiler_store::directory::import::ImportOptions {
            lists: verteiler_store::lists::ListRules::standard(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let old = s
        .audience_by_slug(&slug("oldenfelde"))
        .await
        .unwrap()
        .unwrap();
    let rah = s.unit_by_code("HH-WA-RAH").await.unwrap().unwrap();
    let mut moved = old.definition();
    moved.unit_id = rah.id;
    moved.scope_unit_id = rah.id;
    let e = s.edit_list(old.id, &moved, &caps()).await.unwrap_err();
    assert!(matches!(e, ListError::Invalid { field: "unit", .. }), "{e}");
    assert!(e.to_string().contains("made by the template branch"), "{e}");

    let mut busy = old.definition();
    busy.sends_per_sender_per_day = Some(caps().sender_sends_per_day.reject_above as u32 + 1);
    let e = s.edit_list(old.id, &busy, &caps()).await.unwrap_err();
    assert!(
        e.to_string().contains("limits.sends_per_sender_per_day"),
        "{e}"
    );
    assert_eq!(
        s.audience_by_id(old.id)
            .await
            .unwrap()
            .unwrap()
            .definition(),
        old.definition()
    );
}
