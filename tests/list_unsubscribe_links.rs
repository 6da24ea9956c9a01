//! The `List-Unsubscribe` link a copy carries leads to a page of the portal: one-click
//! (RFC 8058) for a list that can be left, the member's channel page for statutory mail —
//! never to a page that does not exist. The real delivery engine writes the copies, the real
//! portal router answers their links over a socket.

use std::time::{Duration, Instant};
use tokio::sync::watch;
use verteiler_gateway::delivery::{run_delivery, DeliverySettings, Outbox, Transport};
use verteiler_policies::{
    AudienceSlug, Category, Decision, EmailAddress, HeaderTreatment, UnitKind,
};
use verteiler_portal::{router, AppState, PortalSettings};
use verteiler_store::testing::TestDatabase;
use verteiler_store::{
    now_ms, NewAudience, NewMember, NewSend, NewSubmission, NewUnit, Origin, Store,
    SubmissionRecord,
};

const LIST_DOMAIN: &str = "lists.example.org";

/// Anna's branch with a list of `category`, and a released send to it; returns the list id.
async fn released_to(store: &Store, unit: i64, anna: i64, slug: &str, category: Category) -> i64 {
    let mut list = NewAudience::structural(AudienceSlug::parse(slug).unwrap(), slug, unit, false);
    list.category = category;
    let list = store.create_audience(&list).await.unwrap();
    store
        .record_submission(&SubmissionRecord {
            submission: NewSubmission {
                message_id: Some(format!("{slug}@example.org")),
                sender_member_id: anna,
                credential_id: None,
                login: "anna@example.org".into(),
                ingress: Origin::Cli,
                client_ip: None,
                client_name: None,
                tls: false,
                envelope_from: "anna@example.org".into(),
                header_from: "anna@example.org".into(),
                subject: format!("An {slug}"),
                content_hash: "05".repeat(32),
                raw: format!("From: anna@example.org\r\nSubject: An {slug}\r\n\r\nHallo")
                    .into_bytes(),
                message_facts: None,
                preview: None,
                sms_text: None,
            },
            sends: vec![NewSend {
                address: format!("{slug}@{LIST_DOMAIN}"),
                audience_id: Some(list),
                decision: Decision::Release {
                    headers: HeaderTreatment::Keep,
                },
                recipients: 1,
                release_at: Some(now_ms() - 1),
                expires_at: None,
            }],
            notifications: Vec::new(),
        })
        .await
        .unwrap();
    list
}

/// The header fields of a copy, unfolded: (name, value).
fn fields(copy: &str) -> Vec<(String, String)> {
    let head = copy.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        match (line.starts_with([' ', '\t']), out.last_mut()) {
            (true, Some(last)) => last.1.push_str(line),
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    out.push((name.to_string(), value.trim().to_string()));
                }
            }
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The copies in the outbox by list, once both are there: (statutory, announcement).
async fn copies(dir: &std::path::Path) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let texts: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        let of = |slug: &str| {
            texts
                .iter()
                .find(|t| t.contains(&format!("<{slug}.{LIST_DOMAIN}>")))
                .cloned()
        };
        if let (Some(statutory), Some(announcement)) = (of("versammlung"), of("aktuell")) {
            return (statutory, announcement);
        }
        assert!(Instant::now() < deadline, "no copies in {dir:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn unbracket(value: &str) -> &str {
    value.trim().trim_start_matches('<').trim_end_matches('>')
}

#[tokio::test]
async fn every_unsubscribe_link_a_copy_carries_leads_to_a_page_of_the_portal() {
    let db = TestDatabase::new().await;
    let store = db.store.clone();
    let unit = store
        .create_unit(&NewUnit {
            code: "HH-OLD".into(),
            name: "Oldenfelde".into(),
            kind: UnitKind::Branch,
            parent_code: None,
        })
        .await
        .unwrap();
    let anna = store
        .create_member(&NewMember {
            external_id: Some("100231".into()),
            first_name: "Anna".into(),
            last_name: "Albers".into(),
            unit_id: unit,
            email: Some(EmailAddress::parse("anna@example.org").unwrap()),
        })
        .await
        .unwrap();
    released_to(&store, unit, anna, "versammlung", Category::Statutory).await;
    let announcements = released_to(&store, unit, anna, "aktuell", Category::Announcement).await;

    // The portal on a real socket; its address is the base of every link.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(AppState::new(store.clone(), PortalSettings::new(&base)));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let outbox = tempfile::tempdir().unwrap();
    let (stop, stopped) = watch::channel(false);
    let delivery = tokio::spawn(run_delivery(
        store.clone(),
        Transport::Outbox(Outbox::new(outbox.path())),
        DeliverySettings::new(LIST_DOMAIN, &base, 1),
        stopped,
    ));
    let (statutory, announcement) = copies(outbox.path()).await;
    stop.send(true).unwrap();
    delivery.await.unwrap();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = store.start_session(anna, "link").await.unwrap();
    let signed_in = format!("vt_session={session}");

    // Statutory mail: the channel page, without a one-click POST.
    let statutory = fields(&statutory);
    let link = unbracket(field(&statutory, "List-Unsubscribe").unwrap()).to_string();
    assert!(link.starts_with(&base), "{link}");
    assert!(field(&statutory, "List-Unsubscribe-Post").is_none());
    let anonymous = http.get(&link).send().await.unwrap();
    assert_eq!(anonymous.status(), 303, "{link}: sign in first");
    assert_eq!(anonymous.headers()["location"], "/signin");
    let page = http
        .get(&link)
        .header("cookie", &signed_in)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let page = page.text().await.unwrap();
    assert!(
        page.contains("action=\"/me/channels\""),
        "the channel choice: {page}"
    );

    // A one-click POST to the statutory copy's own token is refused with the way to the
    // channel page, which exists too.
    let token = field(&statutory, "Return-Path")
        .and_then(|p| unbracket(p).strip_prefix("bounce+"))
        .and_then(|p| p.strip_suffix(&format!("@{LIST_DOMAIN}")))
        .unwrap()
        .to_string();
    let refusal_url = format!("{base}/unsubscribe/{token}");
    let refusal = http.get(&refusal_url).send().await.unwrap();
    assert_eq!(refusal.status(), 200);
    let refusal = refusal.text().await.unwrap();
    let href = refusal
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|h| h.contains("subscriptions"))
        .expect("a link to the channel page");
    let target = reqwest::Url::parse(&refusal_url)
        .unwrap()
        .join(href)
        .unwrap();
    assert_eq!(
        target.as_str(),
        link,
        "the page links where the header does"
    );

    // A list that can be left: RFC 8058 one-click, and it works.
    let announcement = fields(&announcement);
    assert_eq!(
        field(&announcement, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let one_click = unbracket(field(&announcement, "List-Unsubscribe").unwrap()).to_string();
    assert!(one_click.starts_with(&format!("{base}/unsubscribe/")));
    let left = http
        .post(&one_click)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 200);
    let list = store.audience_by_id(announcements).await.unwrap().unwrap();
    assert_eq!(store.count(&list).await.unwrap(), 0, "Anna left the list");
}
