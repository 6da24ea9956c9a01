//! Storage nobody can fill: drafts with attachments are capped per member (with a way to
//! discard them), and refused messages beyond the refusal rate are not stored at all; a
//! refused message that is stored keeps no body, yet its page still shows why it was refused.

mod support;

use axum::http::StatusCode;
use support::staff::make_chair;
use support::{org, Org, BASE};
use verteiler_policies::OrgLimits;
use verteiler_portal::{router, AppState, PortalSettings};

/// The test organisation's portal, with `drafts` drafts per member and `refused` refused
/// messages per hour.
fn with_caps(org: &mut Org, drafts: u32, refused: u64) {
    let approvals = verteiler_store::ApprovalSettings {
        list_domain: "lists.example.org".into(),
        limits: OrgLimits {
            sender_refused_per_hour: refused,
            ..OrgLimits::default()
        },
        undo_window_secs: 120,
        approval_window_secs: 72 * 3600,
        portal_base_url: BASE.into(),
    };
    org.app = router(AppState::new(
        org.store().clone(),
        PortalSettings::new(BASE)
            .with_approvals(approvals)
            .with_upload_dir(org.uploads.path())
            .with_drafts_per_member(drafts),
    ));
}

fn parts<'a>(action: &'a str, draft: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("draft", draft),
        ("list", "oldenfelde"),
        ("subject", "Einladung"),
        ("text", "Liebe Mitglieder,\n\nwir laden ein."),
        ("html", ""),
        ("action", action),
    ]
}

fn drafts(org: &Org) -> usize {
    std::fs::read_dir(org.uploads.path().join("drafts")).map_or(0, |d| d.count())
}

fn draft_token(page: &str) -> String {
    let marker = "name=\"draft\" value=\"";
    let at = page.find(marker).expect("a waiting draft") + marker.len();
    page[at..at + 64].to_string()
}

#[tokio::test]
async fn a_member_keeps_only_so_many_drafts_with_attachments() {
    let mut org = org().await;
    with_caps(&mut org, 2, 20);
    make_chair(&org).await;
    let mut ben = org.signed_in("ben@example.org").await;
    let pdf = b"%PDF-1.4 Einladung".repeat(50);
    let file = ("attachments", "Einladung.pdf", &pdf[..]);
    let mut last = String::new();
    for _ in 0..2 {
        ben.get("/compose").await;
        let checked = ben
            .post_multipart("/compose", &parts("check", ""), file)
            .await;
        assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
        last = draft_token(&checked.body);
    }
    assert_eq!(drafts(&org), 2);

    ben.get("/compose").await;
    let third = ben
        .post_multipart("/compose", &parts("check", ""), file)
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        third
            .body
            .contains("Es warten schon 2 Nachrichten mit Anhängen"),
        "{}",
        third.body
    );
    assert!(third.body.contains("action=\"/compose/discard\""));
    assert_eq!(drafts(&org), 2, "the files of one too many are not kept");

    // Checking a waiting draft again makes no new one.
    ben.get("/compose").await;
    let again = ben
        .post_multipart("/compose", &parts("check", &last), file)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(drafts(&org), 2);

    // Another member's drafts are theirs: Anna's count is her own.
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get("/compose").await;
    let hers = anna
        .post_multipart("/compose", &parts("check", ""), file)
        .await;
    assert_eq!(hers.status, StatusCode::OK, "{}", hers.body);
    assert_eq!(drafts(&org), 3);

    ben.get("/compose").await;
    let discarded = ben.post("/compose/discard", &[]).await;
    assert_eq!(discarded.status, StatusCode::OK);
    assert!(discarded.body.contains("verworfen"), "{}", discarded.body);
    assert_eq!(drafts(&org), 1, "only Ben's are gone");
}

#[tokio::test]
async fn refused_messages_beyond_the_refusal_rate_are_not_stored() {
    let mut org = org().await;
    with_caps(&mut org, 20, 2);
    let store = org.store().clone();
    // Anna holds no office: every message of hers to the branch list is refused.
    let mut anna = org.signed_in("anna@example.org").await;
    let mut refused = Vec::new();
    for _ in 0..2 {
        anna.get("/compose").await;
        let sent = anna.post("/compose", &parts("send", "")).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        refused.push(sent.location().unwrap().to_string());
    }
    assert_eq!(store.count_submissions().await.unwrap(), 2);
    anna.get("/compose").await;
    let throttled = anna.post("/compose", &parts("send", "")).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled.body.contains("zu viele Ihrer Nachrichten"),
        "{}",
        throttled.body
    );
    assert_eq!(store.count_submissions().await.unwrap(), 2, "not stored");

    // What was stored keeps no body, and its page still says why it was refused.
    let id: i64 = refused[0]
        .trim_start_matches("/submissions/")
        .parse()
        .unwrap();
    let raw = String::from_utf8(store.submission_raw(id).await.unwrap().unwrap()).unwrap();
    assert!(raw.contains("Subject: Einladung"), "{raw}");
    assert!(!raw.contains("wir laden ein"), "{raw}");
    let page = anna.get(&refused[0]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Einladung") && page.body.contains("abgelehnt"),
        "{}",
        page.body
    );

    // Ben, chair of the branch, is not throttled by Anna's refusals.
    make_chair(&org).await;
    let mut ben = org.signed_in("ben@example.org").await;
    ben.get("/compose").await;
    let sent = ben.post("/compose", &parts("send", "")).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
}
