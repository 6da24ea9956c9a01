//! Codes by SMS and links by mail for a member's new contact data are limited per destination
//! and per member, and the contact page says which limit was reached.

mod support;

use axum::http::StatusCode;
use support::{org, Browser};

async fn resend(anna: &mut Browser, id: i64) -> (StatusCode, String) {
    anna.get("/me/contact").await;
    let page = anna.post(&format!("/me/contact/{id}/resend"), &[]).await;
    (page.status, page.body)
}

async fn add_phone(anna: &mut Browser, number: &str) -> (StatusCode, String) {
    anna.get("/me/contact").await;
    let page = anna.post("/me/contact/phone", &[("phone", number)]).await;
    (page.status, page.body)
}

#[tokio::test]
async fn the_contact_page_says_which_verification_limit_was_reached() {
    let org = org().await;
    let mut anna = org.signed_in("anna@example.org").await;
    anna.accept_language = Some("en".into());
    assert_eq!(
        add_phone(&mut anna, "040 1234567").await.0,
        StatusCode::SEE_OTHER
    );
    let phone = org
        .store()
        .member_contacts(org.anna)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "phone")
        .unwrap()
        .id;
    assert_eq!(resend(&mut anna, phone).await.0, StatusCode::SEE_OTHER);
    assert_eq!(resend(&mut anna, phone).await.0, StatusCode::SEE_OTHER);
    let (status, body) = resend(&mut anna, phone).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body.contains(
            "This number or address has been sent 3 codes or confirmation links in the last hour"
        ),
        "{body}"
    );
    let texts = org.store().sms_outbox_for("+49401234567").await.unwrap();
    assert_eq!(texts.len(), 3);

    for number in ["040 2000001", "040 2000002"] {
        assert_eq!(add_phone(&mut anna, number).await.0, StatusCode::SEE_OTHER);
    }
    let (status, body) = add_phone(&mut anna, "040 2000003").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body.contains("You have asked for 5 codes or confirmation links in the last hour"),
        "{body}"
    );
    assert!(org
        .store()
        .sms_outbox_for("+49402000003")
        .await
        .unwrap()
        .is_empty());
    anna.accept_language = Some("de".into());
    let page = anna.get("/me/contact").await;
    assert!(!page.body.contains("+49402000003"), "nothing was added");
    let (_, body) = add_phone(&mut anna, "040 2000003").await;
    assert!(
        body.contains(
            "Sie haben in der letzten Stunde schon 5 Codes oder Bestätigungslinks angefordert"
        ),
        "{body}"
    );
}
