//! `/held/{id}`, where the approval request links to: only the people asked see the request;
//! approving and rejecting go through the store's four-eyes operations, which refuse the
//! sender and anybody out of scope however the form is forced.

mod support;

use axum::http::StatusCode;
use support::org;
use support::staff::{held_send, held_send_of, offices, state_of};
use verteiler_store::SendState;

#[tokio::test]
async fn the_press_office_approves_on_the_page_and_nobody_else_can() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Haushalt").await;
    let path = format!("/held/{send}");

    // The sender and a member without office see nothing; forcing the form is refused: the
    // sender is told why, the member without office gets the answer for no such send.
    for (email, status) in [
        ("ben@example.org", StatusCode::FORBIDDEN),
        ("clara@example.org", StatusCode::NOT_FOUND),
    ] {
        let mut browser = org.signed_in(email).await;
        assert_eq!(
            browser.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{email}"
        );
        browser.get("/me").await;
        let forced = browser
            .post(
                &format!("{path}/approve"),
                &[("content_hash", &"ab".repeat(32)), ("comment", "")],
            )
            .await;
        assert_eq!(forced.status, status, "{email}");
        assert_eq!(state_of(&org, send).await, SendState::Held);
    }

    let mut anna = org.signed_in("anna@example.org").await;
    let me = anna.get("/me").await;
    assert!(
        me.body.contains("href=\"/held\""),
        "the press office finds its queue"
    );
    assert!(!me.body.contains("href=\"/admin\""), "but no admin pages");
    let page = anna.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Haushalt") && page.body.contains("Ben Brandt"));
    assert!(
        page.body
            .contains("Mitglieder einer Gliederung, Ankündigungen · Oldenfelde (HH-OLD)"),
        "the list's definition: {}",
        page.body
    );
    assert!(
        page.body.contains("&lt;b&gt;Text&lt;/b&gt; der Mitteilung"),
        "the text is shown, escaped"
    );
    let approved = anna
        .post(
            &format!("{path}/approve"),
            &[("content_hash", &"ab".repeat(32)), ("comment", "passt")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(state_of(&org, send).await, SendState::Scheduled);
    let after = anna.get(&path).await;
    assert!(
        !after.body.contains("/approve\""),
        "no more buttons once decided"
    );
    assert!(after.body.contains("passt"));
}

#[tokio::test]
async fn a_member_not_asked_gets_the_answer_for_an_unknown_send_and_no_audit_entry() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Haushalt").await;
    let unknown = send + 1000;
    let entries = async || org.store().audit_verify().await.unwrap().entries;
    let mut clara = org.signed_in("clara@example.org").await;
    let before = entries().await;
    let mut answers = Vec::new();
    for id in [send, unknown] {
        let held = format!("/held/{id}");
        let page = clara.get(&held).await;
        clara.get("/me").await;
        let approve = clara
            .post(
                &format!("{held}/approve"),
                &[("content_hash", &"ab".repeat(32)), ("comment", "")],
            )
            .await;
        clara.get("/me").await;
        let reject = clara
            .post(&format!("{held}/reject"), &[("comment", "nein")])
            .await;
        // The pages differ only in their own path (the language switch returns to it).
        let same = |body: &str| {
            body.replace(&held, "/held/N")
                .replace(&format!("%2Fheld%2F{id}"), "%2Fheld%2FN")
        };
        answers.push([page, approve, reject].map(|p| (p.status, same(&p.body))));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][1].0, StatusCode::NOT_FOUND);
    assert_eq!(entries().await, before, "no audit entry per try");
    assert_eq!(state_of(&org, send).await, SendState::Held);
}

#[tokio::test]
async fn an_approval_of_other_content_is_refused() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Wahl").await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get(&format!("/held/{send}")).await;
    let stale = anna
        .post(
            &format!("/held/{send}/approve"),
            &[("content_hash", &"cd".repeat(32)), ("comment", "")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&org, send).await, SendState::Held);
}

#[tokio::test]
async fn a_rejection_needs_a_reason() {
    let org = org().await;
    offices(&org).await;
    let send = held_send(&org, "Satzung").await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.get(&format!("/held/{send}")).await;
    let bare = anna
        .post(&format!("/held/{send}/reject"), &[("comment", "  ")])
        .await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(state_of(&org, send).await, SendState::Held);
    anna.get(&format!("/held/{send}")).await;
    let rejected = anna
        .post(
            &format!("/held/{send}/reject"),
            &[("comment", "Bitte erst mit dem Vorstand abstimmen")],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK);
    assert_eq!(state_of(&org, send).await, SendState::Rejected);
}

#[tokio::test]
async fn the_queue_lists_what_the_member_is_asked_to_approve_and_nothing_else() {
    let org = org().await;
    offices(&org).await;
    let budget = held_send(&org, "Haushaltsrede").await;
    let vote = held_send(&org, "Urwahl").await;

    let mut anna = org.signed_in("anna@example.org").await;
    let queue = anna.get("/held").await;
    assert_eq!(queue.status, StatusCode::OK);
    let (newest, older) = (
        queue.body.find(&format!("/held/{vote}\"")),
        queue.body.find(&format!("/held/{budget}\"")),
    );
    assert!(
        newest.is_some() && older.is_some() && newest < older,
        "both requests, newest first: {}",
        queue.body
    );
    assert!(queue.body.contains("Ben Brandt"));

    // The sender is not asked about his own sends; a member without office about nothing.
    for email in ["ben@example.org", "clara@example.org"] {
        let mut browser = org.signed_in(email).await;
        let page = browser.get("/held").await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert!(
            !page.body.contains("Urwahl") && !page.body.contains("Haushaltsrede"),
            "{email} sees no request: {}",
            page.body
        );
    }

    // Once decided, a send leaves the queue.
    anna.get(&format!("/held/{vote}")).await;
    let rejected = anna
        .post(
            &format!("/held/{vote}/reject"),
            &[("comment", "Nicht vor der Sitzung")],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK);
    let queue = anna.get("/held").await;
    assert!(!queue.body.contains("Urwahl"));
    assert!(queue.body.contains("Haushaltsrede"));
}

#[tokio::test]
async fn approvers_see_the_html_sanitised_in_a_sandbox_and_the_attachments_listed() {
    let org = org().await;
    offices(&org).await;
    let raw = b"From: ben@example.org\r\nSubject: Wahlaufruf\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n\
        <p onclick=\"steal()\">Liebe <b>Mitglieder</b></p><script>alert(1)</script>\
        <img src=\"https://tracker.example/pixel.gif\" alt=\"\">\r\n--b\r\n\
        Content-Type: application/pdf\r\n\
        Content-Disposition: attachment; filename=\"Wahlprogramm.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
        .to_vec();
    let send = held_send_of(&org, "Wahlaufruf", raw).await;
    let content = format!("/held/{send}/content");

    let mut anna = org.signed_in("anna@example.org").await;
    let page = anna.get(&format!("/held/{send}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&format!("sandbox=\"\" src=\"{content}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Wahlprogramm.pdf (application/pdf, 9 Bytes)"),
        "{}",
        page.body
    );
    let framed = anna.get(&content).await;
    assert_eq!(framed.status, StatusCode::OK);
    assert!(
        framed.body.contains("Liebe <b>Mitglieder</b>"),
        "{}",
        framed.body
    );
    for gone in ["onclick", "<script", "alert(1)", "tracker.example"] {
        assert!(
            !framed.body.contains(gone),
            "{gone} reached the frame: {}",
            framed.body
        );
    }
    let header = |name: &str| {
        framed
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("sandbox;") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(header("x-frame-options"), "SAMEORIGIN");

    // Nobody else reads the message: not the member without office, not the sender here.
    for email in ["clara@example.org", "ben@example.org"] {
        let mut other = org.signed_in(email).await;
        assert_eq!(
            other.get(&content).await.status,
            StatusCode::NOT_FOUND,
            "{email}"
        );
    }
    // A text-only message has no frame.
    let plain = held_send(&org, "Haushalt").await;
    assert_eq!(
        anna.get(&format!("/held/{plain}/content")).await.status,
        StatusCode::NOT_FOUND
    );
}
