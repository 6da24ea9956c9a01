//! The mails and text messages the portal sends, from the translation files: sign-in links,
//! confirmations of subscriptions and addresses, phone codes.

use crate::i18n::Lang;
use verteiler_store::{Invitation, InvitationMail, PortalMail};

/// Builds the portal's messages with links under its public base URL.
#[derive(Debug, Clone)]
pub struct Mails {
    base_url: String,
}

impl Mails {
    pub fn new(base_url: &str) -> Mails {
        Mails {
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    fn compose(&self, lang: &str, key: &str, args: &[(&str, &str)]) -> (String, String) {
        let lang = Lang::from_code(lang).unwrap_or(Lang::De);
        (
            lang.text_with(&format!("{key}_subject"), args),
            lang.text_with(&format!("{key}_body"), args),
        )
    }
}

impl PortalMail for Mails {
    fn sign_in(&self, token: &str, lang: &str) -> (String, String) {
        let link = format!("{}/signin/link/{token}", self.base_url);
        let minutes = (verteiler_store::SIGN_IN_LINK_TTL_MS / 60_000).to_string();
        self.compose(
            lang,
            "mail_sign_in",
            &[("link", &link), ("minutes", &minutes)],
        )
    }

    fn confirm_subscription(&self, token: &str, list: &str, lang: &str) -> (String, String) {
        let link = format!("{}/confirm/{token}", self.base_url);
        self.compose(
            lang,
            "mail_confirm_subscription",
            &[("link", &link), ("list", list)],
        )
    }

    fn verify_email(&self, token: &str, lang: &str) -> (String, String) {
        let link = format!("{}/confirm/{token}", self.base_url);
        self.compose(lang, "mail_verify_email", &[("link", &link)])
    }

    fn phone_code(&self, code: &str, lang: &str) -> String {
        Lang::from_code(lang)
            .unwrap_or(Lang::De)
            .text_with("sms_phone_code", &[("code", code)])
    }
}

impl InvitationMail for Mails {
    fn invitation(&self, token: &str, i: &Invitation<'_>, lang: &str) -> (String, String) {
        let link = format!("{}/signin/link/{token}", self.base_url);
        self.compose(
            lang,
            "mail_invitation",
            &[
                ("link", &link),
                ("name", i.name),
                ("unit", i.unit),
                ("login", i.login),
                ("host", i.smtp_host),
                ("port", &i.smtp_port.to_string()),
                ("days", &i.days.to_string()),
            ],
        )
    }
}
