//! The audit log's hash chain against tampering: an edited field, a removed entry, two
//! swapped entries, a rewritten hash and a cut-off end are each found and named; an untouched
//! log verifies. The database itself refuses UPDATE and DELETE, so each tamper case first
//! switches that off, as somebody with the owner's rights could.

use sqlx::{AnyConnection, Connection, Executor};
use verteiler_policies::{RoleFunction, UnitKind};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{AuditBreak, AuditEntry, AuditEvent, Backend, NewRole, NewUnit};

const ENTRIES: i64 = 6;

async fn log_with_entries() -> TestDatabase {
    let db = TestDatabase::new().await;
    let events: Vec<AuditEvent> = (1..=ENTRIES)
        .map(|n| {
            AuditEvent::new("approval.given", format!("approver{n}@example.org"))
                .by_member(n)
                .submission(100 + n)
                .details(serde_json::json!({ "n": n }))
        })
        .collect();
    // Two appends: the chain continues across transactions.
    db.store.audit(&events[..2]).await.unwrap();
    db.store.audit(&events[2..]).await.unwrap();
    db
}

async fn raw(db: &TestDatabase) -> AnyConnection {
    AnyConnection::connect(&db.url).await.unwrap()
}

/// Turns the append-only triggers off, as an intruder with the owner's rights could.
async fn unguard(db: &TestDatabase, conn: &mut AnyConnection) {
    let sql = match Backend::from_url(&db.url).unwrap() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER USER",
    };
    conn.execute(sql).await.unwrap();
}

async fn entries(db: &TestDatabase) -> Vec<AuditEntry> {
    use futures::TryStreamExt;
    db.store.audit_entries_since(0).try_collect().await.unwrap()
}

async fn broken(db: &TestDatabase) -> Option<AuditBreak> {
    db.store.audit_verify().await.unwrap().broken
}

#[tokio::test]
async fn an_untouched_log_verifies_and_the_database_refuses_changes() {
    let db = log_with_entries().await;
    let report = db.store.audit_verify().await.unwrap();
    assert_eq!(report.entries, ENTRIES as u64);
    assert_eq!(report.broken, None);
    let all = entries(&db).await;
    assert_eq!(report.head_hash, all.last().unwrap().hash);
    assert_eq!(all[0].prev_hash, verteiler_store::GENESIS_HASH);
    assert!(all.windows(2).all(|w| w[1].prev_hash == w[0].hash));

    let mut conn = raw(&db).await;
    for sql in [
        "UPDATE audit_log SET actor = 'someone@example.org' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        let err = conn.execute(sql).await.unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(broken(&db).await, None);
}

#[tokio::test]
async fn an_edited_field_is_found_at_its_entry() {
    let db = log_with_entries().await;
    let mut conn = raw(&db).await;
    unguard(&db, &mut conn).await;
    conn.execute("UPDATE audit_log SET actor = 'someone-else@example.org' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(broken(&db).await, Some(AuditBreak::Edited { seq: 3 }));
    let text = AuditBreak::Edited { seq: 3 }.to_string();
    assert!(text.contains("entry 3 was edited"), "{text}");
}

#[tokio::test]
async fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    let db = log_with_entries().await;
    let mut forged = entries(&db).await[2].clone();
    forged.details = r#"{"n":999}"#.into();
    forged.hash = forged.computed_hash();
    let mut conn = raw(&db).await;
    unguard(&db, &mut conn).await;
    sqlx::query("UPDATE audit_log SET details = $1, hash = $2 WHERE seq = 3")
        .bind(forged.details)
        .bind(forged.hash)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(broken(&db).await, Some(AuditBreak::Unlinked { seq: 4 }));
}

#[tokio::test]
async fn a_removed_entry_is_named() {
    let db = log_with_entries().await;
    let mut conn = raw(&db).await;
    unguard(&db, &mut conn).await;
    conn.execute("DELETE FROM audit_log WHERE seq = 4")
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        Some(AuditBreak::Removed { from: 4, to: 4 })
    );
}

#[tokio::test]
async fn entries_cut_off_the_end_are_noticed() {
    let db = log_with_entries().await;
    let mut conn = raw(&db).await;
    unguard(&db, &mut conn).await;
    conn.execute("DELETE FROM audit_log WHERE seq >= 5")
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        Some(AuditBreak::Removed {
            from: 5,
            to: ENTRIES
        })
    );
}

#[tokio::test]
async fn two_swapped_entries_are_found_as_reordered() {
    let db = log_with_entries().await;
    let all = entries(&db).await;
    let (second, fourth) = (&all[1], &all[3]);
    let mut conn = raw(&db).await;
    unguard(&db, &mut conn).await;
    // Every column but the position changes place; each row stays consistent in itself.
    for (seq, e) in [(2, fourth), (4, second)] {
        sqlx::query(
            "UPDATE audit_log SET at = $1, action = $2, actor_member_id = $3, actor = $4, \
             submission_id = $5, send_id = $6, details = $7, prev_hash = $8, hash = $9 WHERE seq = $10",
        )
        .bind(e.at)
        .bind(e.action.clone())
        .bind(e.actor_member_id)
        .bind(e.actor.clone())
        .bind(e.submission_id)
        .bind(e.send_id)
        .bind(e.details.clone())
        .bind(e.prev_hash.clone())
        .bind(if seq == 2 { "x".repeat(64) } else { e.hash.clone() })
        .bind(seq)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // The unique hash column forbids two rows with one hash mid-swap; finish the swap.
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = 2")
        .bind(fourth.hash.clone())
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        Some(AuditBreak::Reordered { seq: 2, follows: 3 })
    );
}

#[tokio::test]
async fn changes_to_units_roles_and_audiences_name_who_made_them_before_and_after() {
    let db = TestDatabase::new().await;
    let admin = db.store.acting_as("portal:member:42");
    let unit = admin
        .create_unit(&NewUnit {
            code: "HH".into(),
            name: "Hamburg".into(),
            kind: UnitKind::State,
            parent_code: None,
        })
        .await
        .unwrap();
    admin.set_unit_active(unit, false).await.unwrap();
    let member = admin
        .create_member(&verteiler_store::NewMember {
            external_id: None,
            first_name: "Jonas".into(),
            last_name: "Petersen".into(),
            unit_id: unit,
            email: None,
        })
        .await
        .unwrap();
    for subtree in [false, true] {
        admin
            .grant_role(NewRole {
                member_id: member,
                unit_id: unit,
                function: RoleFunction::PressOffice,
                covers_subtree: subtree,
            })
            .await
            .unwrap();
    }
    let slug = verteiler_policies::AudienceSlug::parse("hh").unwrap();
    let audience = admin
        .create_audience(&verteiler_store::NewAudience::structural(
            slug, "Hamburg", unit, true,
        ))
        .await
        .unwrap();
    admin.set_audience_active(audience, false).await.unwrap();

    let log = entries(&db).await;
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|e| (e.action.clone(), e.actor.clone()))
        .collect();
    let by = |a: &str| (a.to_string(), "portal:member:42".to_string());
    assert_eq!(
        summary,
        [
            by("unit.created"),
            by("unit.changed"),
            by("role.granted"),
            by("role.granted"),
            by("audience.created"),
            by("audience.changed"),
        ]
    );
    let details: Vec<serde_json::Value> = log.iter().map(AuditEntry::details_json).collect();
    assert_eq!(details[1]["before"]["active"], true);
    assert_eq!(details[1]["after"]["active"], false);
    assert!(details[2]["before"].is_null());
    assert_eq!(details[3]["before"]["covers_subtree"], false);
    assert_eq!(details[3]["after"]["covers_subtree"], true);
    assert_eq!(details[4]["after"]["slug"], "hh");
    assert_eq!(details[5]["after"]["active"], false);
    assert_eq!(db.store.audit_verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn a_member_data_export_holds_their_data_but_no_secret_and_is_audited() {
    let db = TestDatabase::new().await;
    let unit = db
        .store
        .create_unit(&NewUnit {
            code: "HH".into(),
            name: "Hamburg".into(),
            kind: UnitKind::State,
            parent_code: None,
        })
        .await
        .unwrap();
    let member = db
        .store
        .create_member(&verteiler_store::NewMember {
            external_id: Some("D42".into()),
            first_name: "Zoë".into(),
            last_name: "Nguyen".into(),
            unit_id: unit,
            email: Some(verteiler_policies::EmailAddress::parse("zoe@example.org").unwrap()),
        })
        .await
        .unwrap();
    db.store
        .add_app_password(member, "Thunderbird", "geheim-geheim")
        .await
        .unwrap();
    let admin = db.store.acting_as("portal:member:42");
    let export = admin.export_member_data(member).await.unwrap().unwrap();
    assert_eq!(export["member"]["first_name"], "Zoë");
    assert_eq!(export["memberships"][0]["unit_code"], "HH");
    assert_eq!(export["contact_points"][0]["value"], "zoe@example.org");
    assert_eq!(export["app_passwords"][0]["name"], "Thunderbird");
    let text = export.to_string();
    // The stored argon2id hash stays in the database.
    assert!(!text.contains("argon2"), "{text}");
    assert!(admin
        .export_member_data(member + 1000)
        .await
        .unwrap()
        .is_none());

    let last = entries(&db).await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("member.exported", "portal:member:42")
    );
    assert_eq!(last.details_json()["member_id"], member);
}
