//! `verteiler member deletions` and `member erase`: an admin completes what a member asked
//! for in the portal.

mod support;

use support::*;
use verteiler_policies::EmailAddress;

#[tokio::test]
async fn an_admin_lists_and_completes_deletion_requests() {
    let env = Env::new().await;
    assert!(env.run(&["demo", "--members", "600"]).status.success());
    let store = &env.db.store;
    let zoe = store
        .member_id_by_email(&EmailAddress::parse("zoe.nguyen@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    let none = env.run(&["member", "deletions"]);
    assert!(stdout(&none).contains("no open deletion requests"));
    let refused = env.run(&["member", "erase", &zoe.to_string()]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("no open deletion request"));

    assert!(store.request_deletion(zoe).await.unwrap());
    let listed = env.run(&["member", "deletions"]);
    assert!(listed.status.success());
    let line = stdout(&listed);
    assert!(
        line.contains(&zoe.to_string()) && line.contains("Nguyen"),
        "{line}"
    );
    let erased = env.run(&["member", "erase", &zoe.to_string()]);
    assert!(erased.status.success(), "{}", stderr(&erased));
    assert!(stdout(&erased).contains("membership database"));
    assert!(store.member_contacts(zoe).await.unwrap().is_empty());
    assert!(stdout(&env.run(&["member", "deletions"])).contains("no open deletion requests"));
}
