//! The admin's list and unit pages (`/admin/audiences`, `/admin/new-audience`,
//! `/admin/templates`, `/admin/units/{code}`): every change goes through the store's list and
//! unit operations, is audited with the admin as actor, and every refusal names the field in
//! the page's language and changes nothing.

mod support;

use axum::http::StatusCode;
use support::lists::{oldenfelde_form, with, without};
use support::staff::{admin, held_send, make_chair, offices};
use support::{mails, org, Org};
use verteiler_policies::{AudienceSlug, Channel, RoleFunction, UnitKind};
use verteiler_store::directory::import::ImportOptions;
use verteiler_store::lists::ListRules;
use verteiler_store::{ApprovalSetting, AuditQuery, NewMember, NewRole, NewUnit};

/// Actions of the audit log by this actor, oldest first.
async fn audited(org: &Org, actor: &str) -> Vec<String> {
    let mut entries = org
        .store()
        .audit_search(&AuditQuery::default(), 1_000)
        .await
        .unwrap();
    entries.sort_by_key(|e| e.seq);
    entries
        .into_iter()
        .filter(|e| e.actor == actor)
        .map(|e| e.action)
        .collect()
}

/// A point in time as the German pages write it.
fn german(ms: i64) -> String {
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap()
        .format(format)
        .unwrap()
}

fn new_topic_list() -> Vec<(&'static str, &'static str)> {
    let form = oldenfelde_form();
    let form = with(form, "slug", "radfahren");
    let form = with(form, "name", "AG Radfahren");
    let form = with(form, "kind", "topic");
    let form = with(form, "scope", "");
    let form = with(form, "category", "discussion");
    let mut form = with(form, "open_to_public", "1");
    form.extend([("senders", "board"), ("channels", "sms")]);
    form
}

#[tokio::test]
async fn an_admin_creates_a_list_and_a_refusal_names_the_field_and_keeps_what_was_entered() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    let index = browser.get("/admin/audiences").await;
    assert!(index.body.contains("href=\"/admin/new-audience\""));
    assert!(index.body.contains("oldenfelde@lists.example.org"));
    let blank = browser.get("/admin/new-audience").await;
    assert_eq!(blank.status, StatusCode::OK);
    assert!(blank.body.contains("id=\"list-create\""));

    let refusals = [
        (with(new_topic_list(), "unit", "HH-XYZ"), "<strong>Gliederung</strong>: Eine Gliederung mit dem Kürzel HH-XYZ gibt es nicht."),
        (with(new_topic_list(), "scope", "HH-VOL"), "<strong>Geltungsbereich</strong>: Die Gliederung HH-OLD liegt außerhalb des Geltungsbereichs HH-VOL"),
        (with(new_topic_list(), "max_recipients", "99999999"), "<strong>Höchstens Empfänger</strong>: 99.999.999 liegt über der Obergrenze der Organisation"),
        (with(new_topic_list(), "slug", "klima"), "<strong>Adresse</strong>: Die Adresse klima gehört schon dem Verteiler klima."),
        (with(new_topic_list(), "slug", "postmaster"), "<strong>Adresse</strong>: Die Adresse postmaster ist für verteilers eigene Post reserviert"),
        (with(new_topic_list(), "approvals_needed", "6"), "<strong>Nötige Freigaben (1 bis 5)</strong>: Es braucht 1 bis 5 Freigaben."),
        (without(new_topic_list(), "channels"), "<strong>Kanäle</strong>: Bitte mindestens einen Kanal wählen."),
        (with(with(new_topic_list(), "kind", "structural"), "scope", ""), "<strong>Offen für alle</strong>: Nur ein Themenverteiler kann offen für alle sein."),
    ];
    for (form, message) in &refusals {
        let refused = browser.post("/admin/new-audience", form).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
        assert!(refused.body.contains("role=\"alert\""));
        assert!(
            refused.body.contains("value=\"AG Radfahren\""),
            "the form keeps what was entered"
        );
    }
    let radfahren = AudienceSlug::parse("radfahren").unwrap();
    assert!(store.audience_by_slug(&radfahren).await.unwrap().is_none());
    assert!(!audited(&org, &format!("portal:member:{erik}"))
        .await
        .contains(&"audience.created".to_string()));

    // In English, the same refusal in English; never the store's own words on a German page.
    browser.accept_language = Some("en".into());
    browser.get("/admin/new-audience").await;
    let english = browser
        .post(
            "/admin/new-audience",
            &with(new_topic_list(), "max_recipients", "99999999"),
        )
        .await;
    assert!(
        english.body.contains(
            "<strong>Recipients at most</strong>: 99,999,999 is above the organisation's cap"
        ),
        "{}",
        english.body
    );
    browser.accept_language = None;

    browser.get("/admin/new-audience").await;
    let created = browser.post("/admin/new-audience", &new_topic_list()).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), Some("/admin/audiences/radfahren"));
    let list = store.audience_by_slug(&radfahren).await.unwrap().unwrap();
    assert_eq!(list.name, "AG Radfahren");
    assert_eq!(list.kind, verteiler_policies::AudienceKind::Topic);
    assert_eq!((list.unit_id, list.scope_unit_id), (org.branch, org.branch));
    assert_eq!(
        list.allowed_sender_functions,
        [RoleFunction::Chair, RoleFunction::Board]
    );
    assert_eq!(list.channels, [Channel::Email, Channel::Sms]);
    assert!(list.open_to_public && list.template_id.is_none());
    assert!(audited(&org, &format!("portal:member:{erik}"))
        .await
        .contains(&"audience.created".to_string()));
    let page = browser.get("/admin/audiences/radfahren").await;
    assert!(page.body.contains("Von Hand angelegt."), "{}", page.body);
    assert!(page.body.contains("id=\"list-deactivate\""));
}

#[tokio::test]
async fn an_admin_edits_a_list_refusals_change_nothing_and_changes_show_before_and_after() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    let page = browser.get("/admin/audiences/oldenfelde").await;
    assert!(
        page.body.contains("value=\"Ortsverband Oldenfelde\""),
        "filled with the definition"
    );
    assert!(
        page.body
            .contains("id=\"senders-chair\" name=\"senders\" value=\"chair\" checked"),
        "{}",
        page.body
    );

    let before = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    for (form, message) in [
        (with(oldenfelde_form(), "scope", "HH-VOL"), "<strong>Geltungsbereich</strong>"),
        (with(oldenfelde_form(), "max_message_kb", "999999999"), "<strong>Größte Nachricht</strong>: 999.999,9 MB liegt über der Obergrenze der Organisation von 10 MB"),
        (with(with(oldenfelde_form(), "approval", "above"), "threshold", "0"), "<strong>Empfängerzahl für die Freigabe</strong>"),
        (with(oldenfelde_form(), "kind", "functional"), "<strong>Amt</strong>: Ein Verteiler von Amtsträgerinnen und Amtsträgern braucht das Amt"),
    ] {
        let refused = browser.post("/admin/audiences/oldenfelde", &form).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(refused.body.contains(message), "{message}: {}", refused.body);
        let now = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
        assert_eq!(now, before, "{message}: nothing changed");
    }

    let mut form = with(oldenfelde_form(), "slug", "oldenfelde-ost");
    form = with(form, "name", "Ortsverband Oldenfelde-Ost");
    form.push(("senders", "board"));
    form.push(("subunits", "1"));
    let saved = browser.post("/admin/audiences/oldenfelde", &form).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for line in [
        "Adresse: oldenfelde → oldenfelde-ost",
        "Name: Ortsverband Oldenfelde → Ortsverband Oldenfelde-Ost",
        "Wer schreiben darf: Vorsitz → Vorsitz, Vorstand",
        "mit allen Gliederungen darunter: nein → ja",
    ] {
        assert!(saved.body.contains(line), "{line}: {}", saved.body);
    }
    assert!(saved.body.contains(&format!(
        "href=\"/admin/audit?person=portal:member:{erik}\""
    )));
    assert!(
        saved.body.contains("oldenfelde@lists.example.org"),
        "the old address stays as an alias"
    );
    assert_eq!(
        store.aliases_of(org.oldenfelde).await.unwrap(),
        ["oldenfelde"]
    );
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert_eq!(list.slug.as_str(), "oldenfelde-ost");
    assert!(list.include_subunits);
    // The old address still finds the list's page.
    let by_alias = browser.get("/admin/audiences/oldenfelde").await;
    assert!(by_alias
        .body
        .contains("value=\"Ortsverband Oldenfelde-Ost\""));
    let unchanged = browser.post("/admin/audiences/oldenfelde-ost", &form).await;
    assert!(
        unchanged.body.contains("Nichts hat sich geändert."),
        "{}",
        unchanged.body
    );
    assert!(audited(&org, &format!("portal:member:{erik}"))
        .await
        .contains(&"audience.changed".to_string()));
}

#[tokio::test]
async fn a_templates_list_keeps_its_address_and_name_and_the_templates_are_shown() {
    let org = org().await;
    admin(&org).await;
    let store = org.store();
    let branch = ListRules {
        templates: vec![ListRules::standard().templates[0].clone()],
        name_prefixes: Vec::new(),
    };
    let options = ImportOptions {
        allow_large_change: true,
        ..ImportOptions::default()
    };
    let report = store.sync_lists_now(&branch, &options).await.unwrap();
    assert!(report.written, "{report:?}");
    let mut browser = org.signed_in("erik@example.org").await;
    let index = browser.get("/admin/audiences").await;
    assert!(index.body.contains("Vorlage branch"), "{}", index.body);
    let page = browser.get("/admin/audiences/oldenfelde").await;
    assert!(
        page.body
            .contains("Dieser Verteiler stammt aus der Vorlage branch"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"slug\""),
        "the address is not the form's to change"
    );
    let form = with(
        with(oldenfelde_form(), "name", "Anders"),
        "sends_per_day",
        "3",
    );
    let saved = browser.post("/admin/audiences/oldenfelde", &form).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert_eq!(
        (list.name.as_str(), list.sends_per_sender_per_day),
        ("Ortsverband Oldenfelde", Some(3))
    );

    let templates = browser.get("/admin/templates").await;
    assert_eq!(templates.status, StatusCode::OK);
    for part in [
        "Vorlage branch",
        "jede Gliederung der Art „Ortsverband“",
        "{unit}@lists.example.org",
        "Vorsitz, stellvertretender Vorsitz, Vorstand",
        "ab 1.000 Empfängern",
    ] {
        assert!(templates.body.contains(part), "{part}: {}", templates.body);
    }
}

#[tokio::test]
async fn a_list_switched_off_says_by_whom_and_when_and_comes_back() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    browser.get("/admin/audiences/oldenfelde").await;
    let off = browser
        .post("/admin/audiences/oldenfelde/active", &[("active", "false")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert!(!list.active);
    let at = german(list.deactivation.unwrap().at);
    let page = browser.get("/admin/audiences/oldenfelde").await;
    // By name, with the actor the audit log records.
    let said = format!("(portal:member:{erik}) am {at}");
    assert!(
        page.body.contains("Abgeschaltet von Erik Ernst") && page.body.contains(&said),
        "{said}: {}",
        page.body
    );
    assert!(
        page.body.contains("id=\"list-activate\"") && !page.body.contains("id=\"list-deactivate\"")
    );
    let index = browser.get("/admin/audiences").await;
    assert!(index
        .body
        .contains(&format!("abgeschaltet von portal:member:{erik}, {at}")));
    let on = browser
        .post("/admin/audiences/oldenfelde/active", &[("active", "true")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert!(list.active && list.deactivation.is_none());
    assert!(browser
        .get("/admin/audiences/oldenfelde")
        .await
        .body
        .contains("id=\"list-deactivate\""));
    let changed = audited(&org, &format!("portal:member:{erik}")).await;
    assert_eq!(
        changed.iter().filter(|a| *a == "audience.changed").count(),
        2
    );
}

#[tokio::test]
async fn aliases_come_and_go_and_only_a_list_without_sends_is_deleted() {
    let org = org().await;
    admin(&org).await;
    offices(&org).await;
    let held = held_send(&org, "Haushalt").await;
    assert!(held > 0);
    let store = org.store();
    let mut browser = org.signed_in("erik@example.org").await;
    browser.get("/admin/audiences/oldenfelde").await;
    let added = browser
        .post(
            "/admin/audiences/oldenfelde/aliases",
            &[("alias", "ole@lists.example.org")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(store.aliases_of(org.oldenfelde).await.unwrap(), ["ole"]);
    let page = browser.get("/admin/audiences/oldenfelde").await;
    assert!(
        page.body.contains("ole@lists.example.org")
            && page.body.contains("id=\"alias-remove-ole\"")
    );
    for (alias, message) in [
        ("klima", "<strong>Weitere Adresse</strong>: Die Adresse klima gehört schon dem Verteiler klima."),
        ("postmaster", "<strong>Weitere Adresse</strong>: Die Adresse postmaster ist für verteilers eigene Post reserviert"),
        ("Nicht gültig!", "<strong>Weitere Adresse</strong>: Eine Adresse besteht aus"),
    ] {
        let refused = browser.post("/admin/audiences/oldenfelde/aliases", &[("alias", alias)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{alias}");
        assert!(refused.body.contains(message), "{alias}: {}", refused.body);
    }
    // Another list's address is not this list's to remove.
    let refused = browser
        .post(
            "/admin/audiences/oldenfelde/aliases/remove",
            &[("alias", "klima")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("klima ist keine weitere Adresse dieses Verteilers."));
    assert!(store.audience_by_id(org.klima).await.unwrap().is_some());
    let removed = browser
        .post(
            "/admin/audiences/oldenfelde/aliases/remove",
            &[("alias", "ole")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(store.aliases_of(org.oldenfelde).await.unwrap().is_empty());

    browser.get("/admin/audiences/klima").await;
    let unconfirmed = browser.post("/admin/audiences/klima/delete", &[]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(store.audience_by_id(org.klima).await.unwrap().is_some());
    let deleted = browser
        .post("/admin/audiences/klima/delete", &[("confirm", "1")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/admin/audiences?deleted=klima"));
    assert!(store.audience_by_id(org.klima).await.unwrap().is_none());
    let index = browser.get("/admin/audiences?deleted=klima").await;
    assert!(index.body.contains("Der Verteiler klima ist gelöscht"));

    browser.get("/admin/audiences/presse-haushalt").await;
    let kept = browser
        .post(
            "/admin/audiences/presse-haushalt/delete",
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(kept.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        kept.body.contains("Dieser Verteiler hatte 1 Sendung(en) und bleibt für das Prüfprotokoll erhalten. Schalten Sie ihn stattdessen ab."),
        "{}",
        kept.body
    );
    assert!(kept.body.contains("id=\"list-deactivate\""));
    let slug = AudienceSlug::parse("presse-haushalt").unwrap();
    assert!(store.audience_by_slug(&slug).await.unwrap().is_some());
}

#[tokio::test]
async fn an_admin_switches_a_unit_off_and_on_but_never_the_top() {
    let org = org().await;
    let erik = admin(&org).await;
    let store = org.store();
    let nord = store
        .create_unit(&NewUnit {
            code: "HH-OLD-N".into(),
            name: "Oldenfelde-Nord".into(),
            kind: UnitKind::Branch,
            parent_code: Some("HH-OLD".into()),
        })
        .await
        .unwrap();
    let mut browser = org.signed_in("erik@example.org").await;
    browser.get("/admin/units/HH-OLD").await;
    let top = browser
        .post("/admin/units/HH-OLD/active", &[("active", "false")])
        .await;
    assert_eq!(top.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        top.body
            .contains("HH-OLD ist die oberste Gliederung der Organisation"),
        "{}",
        top.body
    );
    assert!(store.unit_by_id(org.branch).await.unwrap().unwrap().active);

    browser.get("/admin/units/HH-OLD-N").await;
    let off = browser
        .post("/admin/units/HH-OLD-N/active", &[("active", "false")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let unit = store.unit_by_id(nord).await.unwrap().unwrap();
    assert!(!unit.active);
    let at = german(unit.deactivation.unwrap().at);
    let page = browser.get("/admin/units/HH-OLD-N").await;
    assert!(
        page.body.contains("Abgeschaltet von Erik Ernst")
            && page
                .body
                .contains(&format!("(portal:member:{erik}) am {at}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"unit-activate\""));
    let tree = browser.get("/admin/units").await;
    assert!(tree
        .body
        .contains(&format!("abgeschaltet von portal:member:{erik}, {at}")));
    let on = browser
        .post("/admin/units/HH-OLD-N/active", &[("active", "true")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    assert!(store.unit_by_id(nord).await.unwrap().unwrap().active);
    let changed = audited(&org, &format!("portal:member:{erik}")).await;
    assert_eq!(changed.iter().filter(|a| *a == "unit.changed").count(), 2);
}

#[tokio::test]
async fn an_admin_invites_chairs_and_a_second_run_skips_them() {
    let org = org().await;
    admin(&org).await;
    make_chair(&org).await;
    let store = org.store();
    let nomail = store
        .create_member(&NewMember {
            external_id: Some("100240".into()),
            first_name: "Nora".into(),
            last_name: "Ohnepost".into(),
            unit_id: org.branch,
            email: None,
        })
        .await
        .unwrap();
    store
        .grant_role(NewRole {
            member_id: nomail,
            unit_id: org.branch,
            function: RoleFunction::Chair,
            covers_subtree: false,
        })
        .await
        .unwrap();
    let mut browser = org.signed_in("erik@example.org").await;
    let page = browser.get("/admin/units/HH-OLD").await;
    assert!(page.body.contains("action=\"/admin/units/HH-OLD/invite\""));
    let done = browser
        .post("/admin/units/HH-OLD/invite", &[("function", "chair")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("1 eingeladen, 0 übersprungen, 1 ohne E-Mail-Adresse"),
        "{}",
        done.body
    );
    let invited = &done.body[done.body.find("id=\"invite-invited\"").unwrap()..];
    assert!(
        invited.starts_with("id=\"invite-invited\"><li>Ben Brandt (HH-OLD)"),
        "{invited}"
    );
    let without = &done.body[done.body.find("id=\"invite-without-email\"").unwrap()..];
    assert!(without.contains("Nora Ohnepost (HH-OLD)"));
    let sent = mails(store, "ben@example.org", "portal.invitation").await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("smtp.example.org") && sent[0].contains("587"),
        "{}",
        sent[0]
    );

    // Again, for the whole organisation: Ben's link is still valid, nobody is mailed twice.
    let tree = browser.get("/admin/units").await;
    assert!(tree.body.contains("action=\"/admin/invite\""));
    let again = browser
        .post("/admin/invite", &[("function", "chair")])
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again
            .body
            .contains("0 eingeladen, 1 übersprungen, 1 ohne E-Mail-Adresse"),
        "{}",
        again.body
    );
    assert!(again.body.contains("id=\"invite-pending\""));
    assert_eq!(
        mails(store, "ben@example.org", "portal.invitation")
            .await
            .len(),
        1
    );
    let list = store.audience_by_id(org.oldenfelde).await.unwrap().unwrap();
    assert_eq!(list.approval, ApprovalSetting::Never);
}
