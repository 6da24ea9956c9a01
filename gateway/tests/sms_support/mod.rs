//! Shared by the SMS loop's tests (`sms.rs`, `smpp.rs`): a member whose phone codes are the
//! texts a test wants in the SMS outbox.

use verteiler_policies::{EmailAddress, UnitKind};
use verteiler_store::{ContactChange, NewMember, NewUnit, PortalMail, Store};

/// The portal's mails, of which only the phone code's text matters here: the template with
/// `{code}` filled in.
pub struct CodeText(pub String);

impl PortalMail for CodeText {
    fn sign_in(&self, _: &str, _: &str) -> (String, String) {
        Default::default()
    }
    fn confirm_subscription(&self, _: &str, _: &str, _: &str) -> (String, String) {
        Default::default()
    }
    fn verify_email(&self, _: &str, _: &str) -> (String, String) {
        Default::default()
    }
    fn phone_code(&self, code: &str, _: &str) -> String {
        self.0.replace("{code}", code)
    }
}

/// Zoë adds `numbers` (German notation): one text `template` per number waits in the SMS
/// outbox.
pub async fn member_adds_numbers(store: &Store, numbers: &[&str], template: &str) {
    let unit = store
        .create_unit(&NewUnit {
            code: "HH".into(),
            name: "Hamburg".into(),
            kind: UnitKind::State,
            parent_code: None,
        })
        .await
        .unwrap();
    let member = store
        .create_member(&NewMember {
            external_id: Some("1".into()),
            first_name: "Zoë".into(),
            last_name: "Nguyen".into(),
            unit_id: unit,
            email: Some(EmailAddress::parse("zoe@example.org").unwrap()),
        })
        .await
        .unwrap();
    let texts = CodeText(template.into());
    for number in numbers {
        let added = store.add_phone(member, number, "DE", &texts).await.unwrap();
        assert!(matches!(added, ContactChange::Done), "{added:?}");
    }
}
