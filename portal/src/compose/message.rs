//! The email the compose form builds, as a mail client would write it: text, the HTML as its
//! alternative, and the attachments. mail-builder gives it a `Date:`, and the `Message-ID:` is
//! set here in the list domain, as intake gives every submission (RFC 6409 8.2, 8.3); the
//! `From:` shows the directory's name, as a message by SMTP does after intake. And the
//! intake request it becomes.

use super::{Attachments, ComposeForm};
use crate::session::Member;
use crate::AppState;
use verteiler_policies::SmsText;
use verteiler_store::intake::{Arrival, IntakeRequest, Mode, Person};
use verteiler_store::{Origin, Store};

/// The message from `from` to the list address `to`.
pub(super) async fn build(
    store: &Store,
    member_id: i64,
    from: &str,
    to: &str,
    form: &ComposeForm,
    attachments: &Attachments,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let mut files = Vec::with_capacity(attachments.list.len());
    for a in &attachments.list {
        let content = attachments.read(a).await?;
        files.push(File {
            content_type: a.content_type.clone(),
            file_name: a.file_name.clone(),
            content,
        });
    }
    let content = Content {
        subject: form.subject.trim(),
        text: &form.text,
        html: Some(form.html.as_str()).filter(|h| !h.trim().is_empty()),
        files,
    };
    build_message(store, member_id, from, &[to.to_string()], content).await
}

/// One attached file.
pub(crate) struct File {
    pub content_type: String,
    pub file_name: String,
    pub content: Vec<u8>,
}

/// What a message written in a form (the compose page, the API's JSON) says.
pub(crate) struct Content<'a> {
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    pub files: Vec<File>,
}

/// The message from `from` to the list addresses `to`, as every form-written message is
/// built (the compose page's and the API's alike).
pub(crate) async fn build_message(
    store: &Store,
    member_id: i64,
    from: &str,
    to: &[String],
    content: Content<'_>,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let list_domain = to
        .first()
        .and_then(|t| t.rsplit_once('@'))
        .map_or("", |(_, domain)| domain);
    let name = store
        .from_display_name(member_id, from, to, list_domain)
        .await?;
    let id = format!(
        "{}.{}@{list_domain}",
        verteiler_store::now_ms(),
        &verteiler_store::new_secret()[..16],
    );
    // One list is one address (`To: <list@…>`), as a mail client writes it.
    let to_header: mail_builder::headers::address::Address<'_> = match to {
        [one] => one.as_str().into(),
        many => many.iter().map(String::as_str).collect::<Vec<_>>().into(),
    };
    let mut builder = mail_builder::MessageBuilder::new()
        .from((name.as_str(), from))
        .to(to_header)
        .subject(content.subject)
        .message_id(id)
        .text_body(content.text.replace("\r\n", "\n"));
    if let Some(html) = content.html {
        builder = builder.html_body(html.to_string());
    }
    for f in content.files {
        builder = builder.attachment(f.content_type, f.file_name, f.content);
    }
    Ok(builder.write_to_vec()?)
}

/// The request the form's message becomes, from the member's own address to the list
/// address `to`: checked only, or submitted when the form says "send".
pub(super) fn request(
    member: &Member,
    from: &str,
    form: &ComposeForm,
    to: String,
    raw: Vec<u8>,
    sms: &Option<SmsText>,
    state: &AppState,
) -> IntakeRequest {
    IntakeRequest {
        arrival: Arrival {
            origin: Origin::Portal,
            client_ip: None,
            client_name: None,
            tls: state.settings.secure_cookies,
            envelope_from: None,
        },
        person: Person {
            member_id: member.id(),
            login: from.to_string(),
            credential_id: None,
        },
        raw,
        addresses: vec![to],
        sms_text: sms.as_ref().map(|s| s.text().to_string()),
        mode: if form.action == "send" {
            Mode::Submit
        } else {
            Mode::Check
        },
    }
}
