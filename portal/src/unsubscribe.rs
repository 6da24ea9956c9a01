//! `/unsubscribe/{token}`: the link in every list copy's `List-Unsubscribe` header.
//!
//! `POST` is RFC 8058's one-click unsubscribe (mail providers send `List-Unsubscribe=One-Click`
//! without cookies) and the confirmation page's button. `GET` only shows that page: mail
//! scanners and link previewers follow links, and a fetch must never take anyone off a list.
//! The POST body is not read: the token alone names the copy, and providers differ in how
//! they encode the body (form-urlencoded or multipart), so requiring one would only make some
//! one-click requests fail.

use crate::i18n::Lang;
use crate::page::{internal_error, layout, respond, Frame};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use verteiler_store::UnsubscribeOutcome;

/// The member's channel page (`/me/subscriptions`) from this page's URL.
const CHANNEL_PAGE_FROM_HERE: &str = "../me/subscriptions";

/// Delivery tokens are 32 lower-case hex digits; anything else is answered without asking
/// the database.
fn is_delivery_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    lang: Lang,
) -> Response {
    if !is_delivery_token(&token) {
        return unknown(lang);
    }
    match state.store.unsubscribe_preview(&token).await {
        Ok(None) => unknown(lang),
        Ok(Some(p)) if p.statutory => statutory(lang, &token, StatusCode::OK, &p.audience_name),
        Ok(Some(p)) if p.already_unsubscribed => message(
            lang,
            &token,
            "unsubscribe_already_title",
            "unsubscribe_already_text",
            &p.audience_name,
        ),
        Ok(Some(p)) => {
            let title = lang.text("unsubscribe_confirm_title");
            let text = lang.text_with(
                "unsubscribe_confirm_text",
                &[("audience", p.audience_name.as_str())],
            );
            // No `action`: the form posts to this very URL, wherever the portal is mounted.
            let body = html! {
                p { (text) }
                form method="post" {
                    input type="hidden" name="List-Unsubscribe" value="One-Click";
                    button type="submit" { (lang.text("unsubscribe_confirm_button")) }
                }
            };
            respond(
                StatusCode::OK,
                layout(&Frame::anonymous(lang, &here(&token)), title, body),
            )
        }
        Err(e) => internal_error(lang, &e),
    }
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    lang: Lang,
) -> Response {
    if !is_delivery_token(&token) {
        return unknown(lang);
    }
    match state.store.unsubscribe_by_token(&token).await {
        Ok(UnsubscribeOutcome::UnknownToken) => unknown(lang),
        Ok(UnsubscribeOutcome::Statutory { audience_name }) => {
            statutory(lang, &token, StatusCode::CONFLICT, &audience_name)
        }
        Ok(UnsubscribeOutcome::Unsubscribed { audience_name }) => message(
            lang,
            &token,
            "unsubscribe_done_title",
            "unsubscribe_done_text",
            &audience_name,
        ),
        Ok(UnsubscribeOutcome::AlreadyUnsubscribed { audience_name }) => message(
            lang,
            &token,
            "unsubscribe_already_title",
            "unsubscribe_already_text",
            &audience_name,
        ),
        Err(e) => internal_error(lang, &e),
    }
}

fn message(lang: Lang, token: &str, title: &str, text: &str, audience: &str) -> Response {
    let text = lang.text_with(text, &[("audience", audience)]);
    respond(
        StatusCode::OK,
        layout(
            &Frame::anonymous(lang, &here(token)),
            lang.text(title),
            html! { p { (text) } },
        ),
    )
}

fn unknown(lang: Lang) -> Response {
    respond(
        StatusCode::NOT_FOUND,
        layout(
            &Frame::anonymous(lang, "/"),
            lang.text("unsubscribe_unknown_title"),
            html! { p { (lang.text("unsubscribe_unknown_text")) } },
        ),
    )
}

/// Statutory mail links to the member's channel page, not here; a request for it still gets
/// the way there.
fn statutory(lang: Lang, token: &str, status: StatusCode, audience: &str) -> Response {
    let text = lang.text_with("unsubscribe_statutory_text", &[("audience", audience)]);
    // Relative (to `/unsubscribe/TOKEN`), so it stays under the portal's base URL however
    // that is mounted: `/me/subscriptions`, where channels are chosen.
    let body = html! {
        p { (text) }
        p { a href=(CHANNEL_PAGE_FROM_HERE) { (lang.text("unsubscribe_statutory_link")) } }
    };
    respond(
        status,
        layout(
            &Frame::anonymous(lang, &here(token)),
            lang.text("unsubscribe_statutory_title"),
            body,
        ),
    )
}

/// This page's path, for the language switch to return to.
fn here(token: &str) -> String {
    format!("/unsubscribe/{token}")
}

#[cfg(test)]
mod tests {
    use crate::{router, AppState};
    use axum::body::Body;
    use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use verteiler_policies::{
        AudienceSlug, Category, Decision, EmailAddress, HeaderTreatment, UnitKind,
    };
    use verteiler_store::testing::TestDatabase;
    use verteiler_store::{
        now_ms, Audience, NewAudience, NewMember, NewSend, NewSubmission, NewUnit, Origin, Store,
        SubmissionRecord,
    };

    /// A branch with two members, a list of `category` for it, and one released send expanded
    /// into deliveries; returns the list and the delivery tokens (one per member).
    async fn delivered_list(store: &Store, category: Category) -> (Audience, Vec<String>) {
        let unit = store
            .create_unit(&NewUnit {
                code: "HH-WA-OLD".into(),
                name: "Oldenfelde".into(),
                kind: UnitKind::Branch,
                parent_code: None,
            })
            .await
            .unwrap();
        let mut members = Vec::new();
        for name in ["Anna", "Ben"] {
            members.push(
                store
                    .create_member(&NewMember {
                        external_id: Some(format!("X-{name}")),
                        first_name: name.into(),
                        last_name: "Test".into(),
                        unit_id: unit,
                        email: Some(
                            EmailAddress::parse(&format!("{}@example.org", name.to_lowercase()))
                                .unwrap(),
                        ),
                    })
                    .await
                    .unwrap(),
            );
        }
        let slug = AudienceSlug::parse("oldenfelde").unwrap();
        // A name that must come out escaped.
        let mut new = NewAudience::structural(slug.clone(), "Oldenfelde <aktiv>", unit, false);
        new.category = category;
        store.create_audience(&new).await.unwrap();
        let audience = store.audience_by_slug(&slug).await.unwrap().unwrap();
        let stored = store
            .record_submission(&SubmissionRecord {
                submission: NewSubmission {
                    message_id: None,
                    sender_member_id: members[0],
                    credential_id: None,
                    login: "chair@example.org".into(),
                    ingress: Origin::Cli,
                    client_ip: None,
                    client_name: None,
                    tls: false,
                    envelope_from: "anna@example.org".into(),
                    header_from: "anna@example.org".into(),
                    subject: "Einladung".into(),
                    content_hash: "03".repeat(32),
                    raw: b"From: anna@example.org\r\nSubject: Einladung\r\n\r\nHallo".to_vec(),
                    message_facts: None,
                    preview: None,
                    sms_text: None,
                },
                sends: vec![NewSend {
                    address: "oldenfelde@lists.example.org".into(),
                    audience_id: Some(audience.id),
                    decision: Decision::Release {
                        headers: HeaderTreatment::Keep,
                    },
                    recipients: 2,
                    release_at: Some(now_ms() - 1),
                    expires_at: None,
                }],
                notifications: Vec::new(),
            })
            .await
            .unwrap();
        let send = store.sends_of(stored.id).await.unwrap()[0].id;
        store
            .expand_send(
                send,
                100,
                &verteiler_store::ExpansionSettings {
                    approval_window_secs: 3600,
                    portal_base_url: "http://portal.test".into(),
                },
            )
            .await
            .unwrap();
        let tokens = store
            .claim_deliveries(now_ms(), 60_000, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.token)
            .collect::<Vec<_>>();
        assert_eq!(tokens.len(), 2);
        (audience, tokens)
    }

    async fn call(
        store: &Store,
        method: &str,
        path: &str,
        language: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(language) = language {
            request = request.header(ACCEPT_LANGUAGE, language);
        }
        let body = if method == "POST" {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from("List-Unsubscribe=One-Click")
        } else {
            Body::empty()
        };
        let response = router(AppState::new(
            store.clone(),
            crate::PortalSettings::new("http://127.0.0.1:8080"),
        ))
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
        let status = response.status();
        assert!(response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn get_shows_a_button_and_unsubscribes_nobody() {
        let db = TestDatabase::new().await;
        let (list, tokens) = delivered_list(&db.store, Category::Announcement).await;
        let path = format!("/unsubscribe/{}", tokens[0]);
        for _ in 0..2 {
            let (status, page) = call(&db.store, "GET", &path, None).await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("<html lang=\"de\">"), "{page}");
            assert!(page.contains("Vom Verteiler abmelden"), "{page}");
            assert!(page.contains("<form method=\"post\">"), "{page}");
            assert!(page.contains("Oldenfelde &lt;aktiv&gt;"), "escaped: {page}");
            assert!(!page.contains("<aktiv>"));
        }
        assert_eq!(
            db.store.count(&list).await.unwrap(),
            2,
            "a GET changes nothing"
        );
    }

    #[tokio::test]
    async fn post_unsubscribes_once_and_says_so_again() {
        let db = TestDatabase::new().await;
        let (list, tokens) = delivered_list(&db.store, Category::Announcement).await;
        let path = format!("/unsubscribe/{}", tokens[0]);
        let (status, page) = call(&db.store, "POST", &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Abgemeldet"), "{page}");
        assert_eq!(db.store.count(&list).await.unwrap(), 1);

        let (status, page) = call(&db.store, "POST", &path, None).await;
        assert_eq!(status, StatusCode::OK, "one-click clients may retry");
        assert!(page.contains("Bereits abgemeldet"), "{page}");
        let (status, page) = call(&db.store, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Bereits abgemeldet"), "{page}");
        assert!(!page.contains("<form"), "nothing left to confirm: {page}");
        assert_eq!(db.store.count(&list).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn an_english_browser_gets_english_pages() {
        let db = TestDatabase::new().await;
        let (_, tokens) = delivered_list(&db.store, Category::Announcement).await;
        let path = format!("/unsubscribe/{}", tokens[0]);
        let english = Some("en-GB,en;q=0.9,de;q=0.5");
        let (_, page) = call(&db.store, "GET", &path, english).await;
        assert!(page.contains("<html lang=\"en\">"), "{page}");
        assert!(page.contains("Unsubscribe from the list"), "{page}");
        let (_, page) = call(&db.store, "POST", &path, english).await;
        assert!(page.contains("You will no longer receive"), "{page}");
        let (_, page) = call(&db.store, "POST", &path, english).await;
        assert!(page.contains("Already unsubscribed"), "{page}");
        let (_, page) = call(&db.store, "GET", "/unsubscribe/nonsense", english).await;
        assert!(page.contains("Unknown link"), "{page}");
    }

    #[tokio::test]
    async fn an_unknown_token_is_not_found() {
        let db = TestDatabase::new().await;
        delivered_list(&db.store, Category::Announcement).await;
        for path in [
            "/unsubscribe/0123456789abcdef0123456789abcdef",
            "/unsubscribe/not-a-token",
            "/unsubscribe/%3Cscript%3E",
        ] {
            for method in ["GET", "POST"] {
                let (status, page) = call(&db.store, method, path, None).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
                assert!(page.contains("Link unbekannt"), "{page}");
            }
        }
    }

    #[tokio::test]
    async fn statutory_mail_points_to_the_channel_page_and_changes_nothing() {
        let db = TestDatabase::new().await;
        let (list, tokens) = delivered_list(&db.store, Category::Statutory).await;
        let path = format!("/unsubscribe/{}", tokens[0]);
        for lang in [None, Some("en")] {
            let (status, page) = call(&db.store, "GET", &path, lang).await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("href=\"../me/subscriptions\""), "{page}");
            assert!(!page.contains("<form"), "{page}");
            let (status, page) = call(&db.store, "POST", &path, lang).await;
            assert_eq!(status, StatusCode::CONFLICT);
            assert!(page.contains("href=\"../me/subscriptions\""), "{page}");
        }
        assert_eq!(db.store.count(&list).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_database_failure_is_an_opaque_error_page() {
        let db = TestDatabase::new().await;
        db.store.close().await;
        let path = "/unsubscribe/0123456789abcdef0123456789abcdef";
        for (lang, text) in [(None, "Ein Fehler"), (Some("en"), "Something went wrong")] {
            for method in ["GET", "POST"] {
                let (status, page) = call(&db.store, method, path, lang).await;
                assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
                assert!(page.contains(text), "{page}");
            }
        }
    }
}
