//! `/audiences`: a chair sees the lists they may write to, sized by channel, with their rules,
//! and never a recipient; nobody sees a list they may not use.

mod support;

use axum::http::StatusCode;
use support::org;
use support::staff::make_chair;

#[tokio::test]
async fn a_chair_sees_their_lists_by_channel_and_nobody_else_does() {
    let org = org().await;
    make_chair(&org).await;

    let mut ben = org.signed_in("ben@example.org").await;
    let list = ben.get("/audiences").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("href=\"/audiences/oldenfelde\""),
        "{}",
        list.body
    );
    assert!(list.body.contains("oldenfelde@lists.example.org"));
    assert!(
        !list.body.contains("/audiences/volksdorf-rad"),
        "another branch's list is not offered"
    );
    let page = ben.get("/audiences/oldenfelde").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Empfänger nach Kanal"));
    // Anna and Ben, both reachable by email (the default channel).
    assert!(
        page.body.contains("data-label=\"E-Mail\">2<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Vorsitz"),
        "who may write: {}",
        page.body
    );
    for address in ["anna@example.org", "ben@example.org", "Albers"] {
        assert!(
            !page.body.contains(address),
            "a recipient is named: {address}"
        );
    }
    for path in [
        "/audiences/volksdorf-rad",
        "/audiences/gibtsnicht",
        "/audiences/NOT%20A%20SLUG",
    ] {
        assert_eq!(ben.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Anna holds no office: nothing to write to, and the chair's list is not found.
    let mut anna = org.signed_in("anna@example.org").await;
    let none = anna.get("/audiences").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.contains("keinen Verteiler"));
    assert_eq!(
        anna.get("/audiences/oldenfelde").await.status,
        StatusCode::NOT_FOUND
    );

    ben.get("/lang/en?back=/audiences").await;
    let english = ben.get("/audiences/oldenfelde").await;
    assert!(
        english.body.contains("Recipients by channel") && english.body.contains("Who may write")
    );
}
