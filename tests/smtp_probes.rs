//! What a stranger can learn over SMTP, against the real binary over real sockets: without
//! AUTH, whether a list exists; with an address a member added but never verified, a login.

mod support;

use support::*;
use verteiler_store::PortalMail;

#[tokio::test]
async fn without_auth_an_existing_list_and_an_unknown_one_get_byte_identical_replies() {
    let Some((_env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let mut client = Raw::connect(&server.smtp()).await;
    assert!(client
        .cmd("EHLO probe.example.net")
        .await
        .starts_with("250"));
    let mut replies = Vec::new();
    for list in [
        "oldenfelde@lists.example.org",
        "gibtsnicht@lists.example.org",
        "approve+1@lists.example.org",
    ] {
        let mail = client.cmd("MAIL FROM:<probe@example.net>").await;
        assert!(mail.starts_with("250"), "{mail}");
        replies.push(client.cmd(&format!("RCPT TO:<{list}>")).await);
        assert!(client.cmd("RSET").await.starts_with("250"));
    }
    assert!(replies[0].starts_with("530 "), "{replies:?}");
    assert_eq!(
        replies[0], replies[1],
        "an existing list and an unknown one"
    );
    assert_eq!(replies[0], replies[2], "a list and a decision address");
}

/// The mails the portal would send; the test never reads them.
struct NoMail;

impl PortalMail for NoMail {
    fn sign_in(&self, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn confirm_subscription(&self, _: &str, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn verify_email(&self, _: &str, _: &str) -> (String, String) {
        (String::new(), String::new())
    }
    fn phone_code(&self, _: &str, _: &str) -> String {
        String::new()
    }
}

#[tokio::test]
async fn auth_with_an_address_the_member_added_but_never_verified_fails() {
    let Some((env, server)) = demo_server("python3", &[]).await else {
        return;
    };
    let store = &env.db.store;
    let chair = store
        .member_id_by_email(&verteiler_policies::EmailAddress::parse(CHAIR.0).unwrap())
        .await
        .unwrap()
        .unwrap();
    // The chair adds the state chair's address to his contact data; he cannot verify it.
    let unverified = "landesvorsitz@example.org";
    store.add_email(chair, unverified, &NoMail).await.unwrap();
    // A generated app password, which names its row, beside the demo's chosen one.
    let made = env.run(&["member", "set-password", CHAIR.0, "--name", "Laptop"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let generated = stdout(&made)
        .lines()
        .nth(1)
        .expect("the password on the second line")
        .trim()
        .to_string();
    assert!(generated.contains('_'), "{generated}");

    let smtp = server.smtp();
    let list = "oldenfelde@lists.example.org";
    for password in [CHAIR.1, generated.as_str()] {
        let r = smtplib_send(&smtp, CHAIR.0, password, CHAIR.0, list, &[]);
        assert_eq!((r.stage.as_str(), r.code), ("sent", 250), "{r:?}");
        let r = smtplib_send(&smtp, unverified, password, CHAIR.0, list, &[]);
        assert_eq!((r.stage.as_str(), r.code), ("auth", 535), "{r:?}");
    }
}
