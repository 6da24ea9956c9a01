//! The one form that defines a list, for a new list and for an existing one: every field of
//! the definition, read into the store's `NewAudience` (the store then checks shape, scope and
//! caps) and shown again with the values entered when something was refused.

use super::errors::{Failure, Refusal};
use crate::session::CsrfField;
use verteiler_policies::{
    AudienceKind, AudienceSlug, Category, Channel, ReplyMode, RoleFunction, VisibleRecipientsMode,
};
use verteiler_store::{ApprovalSetting, Audience, NewAudience, Store};

/// The list form as posted: text as typed, checkbox groups as every value ticked.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub(crate) struct ListForm {
    pub csrf: String,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub subunits: bool,
    pub role: String,
    pub scope: String,
    pub category: String,
    pub senders: Vec<String>,
    pub subscribers_may_post: bool,
    pub channels: Vec<String>,
    pub email_and_sms: bool,
    pub approval: String,
    pub threshold: String,
    pub approvals_needed: String,
    pub approvers: Vec<String>,
    pub max_recipients: String,
    pub max_message_kb: String,
    pub sends_per_day: String,
    pub sender_address: String,
    pub open_to_public: bool,
    pub reply_mode: String,
    /// The definition the form was filled from ([`Audience::definition_tag`]): saving a form
    /// older than the list's last change is refused, so no admin undoes another's unseen.
    pub seen: String,
}

/// Checkbox groups post one pair per ticked box, which a struct of single values cannot take;
/// unknown names are ignored like any form field we do not read.
impl From<Vec<(String, String)>> for ListForm {
    fn from(pairs: Vec<(String, String)>) -> ListForm {
        let mut f = ListForm::default();
        for (key, value) in pairs {
            let text = match key.as_str() {
                "csrf" => &mut f.csrf,
                "slug" => &mut f.slug,
                "name" => &mut f.name,
                "kind" => &mut f.kind,
                "unit" => &mut f.unit,
                "role" => &mut f.role,
                "scope" => &mut f.scope,
                "category" => &mut f.category,
                "approval" => &mut f.approval,
                "threshold" => &mut f.threshold,
                "approvals_needed" => &mut f.approvals_needed,
                "max_recipients" => &mut f.max_recipients,
                "max_message_kb" => &mut f.max_message_kb,
                "sends_per_day" => &mut f.sends_per_day,
                "sender_address" => &mut f.sender_address,
                "reply_mode" => &mut f.reply_mode,
                "seen" => &mut f.seen,
                "senders" => {
                    f.senders.push(value);
                    continue;
                }
                "channels" => {
                    f.channels.push(value);
                    continue;
                }
                "approvers" => {
                    f.approvers.push(value);
                    continue;
                }
                "subunits" => {
                    f.subunits = true;
                    continue;
                }
                "subscribers_may_post" => {
                    f.subscribers_may_post = true;
                    continue;
                }
                "email_and_sms" => {
                    f.email_and_sms = true;
                    continue;
                }
                "open_to_public" => {
                    f.open_to_public = true;
                    continue;
                }
                _ => continue,
            };
            *text = value;
        }
        f
    }
}

impl CsrfField for ListForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn names<T: Copy + Into<&'static str>>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| (*v).into().to_string()).collect()
}

fn optional(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl ListForm {
    /// The form of a new list: a structural list its chair writes to, nothing to approve.
    pub fn blank() -> ListForm {
        ListForm {
            kind: AudienceKind::Structural.as_str().into(),
            category: Category::Announcement.as_str().into(),
            senders: vec![RoleFunction::Chair.as_str().into()],
            channels: vec![Channel::Email.as_str().into()],
            approval: "never".into(),
            approvals_needed: "1".into(),
            approvers: vec![RoleFunction::PressOffice.as_str().into()],
            reply_mode: ReplyMode::Sender.as_str().into(),
            ..ListForm::default()
        }
    }

    /// The form filled with a definition (units by their codes).
    pub fn of(a: &NewAudience, unit_code: &str, scope_code: &str) -> ListForm {
        let (approval, threshold) = match a.approval {
            ApprovalSetting::Never => ("never", String::new()),
            ApprovalSetting::AboveRecipients(n) => ("above", n.to_string()),
            ApprovalSetting::Always => ("always", String::new()),
        };
        ListForm {
            csrf: String::new(),
            slug: a.slug.to_string(),
            name: a.name.clone(),
            kind: a.kind.as_str().into(),
            unit: unit_code.into(),
            subunits: a.include_subunits,
            role: a.role_function.map_or("", |r| r.as_str()).into(),
            scope: scope_code.into(),
            category: a.category.as_str().into(),
            senders: names(&a.allowed_sender_functions),
            subscribers_may_post: a.subscribers_may_post,
            channels: names(&a.channels),
            email_and_sms: a.email_and_sms,
            approval: approval.into(),
            threshold,
            approvals_needed: a.approvals_needed.to_string(),
            approvers: names(&a.approver_functions),
            max_recipients: optional(a.max_recipients),
            max_message_kb: optional(a.max_message_bytes.map(|b| b / 1000)),
            sends_per_day: optional(a.sends_per_sender_per_day.map(u64::from)),
            sender_address: a.sender_address.clone().unwrap_or_default(),
            open_to_public: a.open_to_public,
            reply_mode: a.reply_mode.as_str().into(),
            seen: String::new(),
        }
    }

    /// The definition the form asks for. `base` is the list being edited: a template's list
    /// keeps its address and name (they follow its unit), and what the form does not show
    /// stays as it is.
    pub async fn definition(
        &self,
        store: &Store,
        base: Option<&Audience>,
    ) -> Result<NewAudience, Failure> {
        let (slug, name) = match base {
            Some(b) if b.template_id.is_some() => (b.slug.clone(), b.name.clone()),
            _ => {
                let given = self.slug.trim();
                let given = given.split('@').next().unwrap_or_default();
                let slug = AudienceSlug::parse(given)
                    .map_err(|_| Refusal::at("slug", "list_error_slug_invalid"))?;
                (slug, self.name.clone())
            }
        };
        let unit_id = unit_by_code(store, "unit", &self.unit).await?;
        let scope_unit_id = match self.scope.trim() {
            "" => unit_id,
            code => unit_by_code(store, "scope", code).await?,
        };
        let role_function = match self.role.trim() {
            "" => None,
            role => Some(choice("role", role)?),
        };
        Ok(NewAudience {
            slug,
            name,
            kind: choice("kind", &self.kind)?,
            unit_id,
            include_subunits: self.subunits,
            role_function,
            scope_unit_id,
            category: choice("category", &self.category)?,
            allowed_sender_functions: choices("senders", &self.senders)?,
            subscribers_may_post: self.subscribers_may_post,
            open_to_public: self.open_to_public,
            channels: choices("channels", &self.channels)?,
            approval: self.approval()?,
            approver_functions: choices("approvers", &self.approvers)?,
            approvals_needed: number("approvals_needed", &self.approvals_needed)?
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Refusal::at("approvals_needed", "admin_error_approvals_needed"))?,
            max_recipients: number("max_recipients", &self.max_recipients)?,
            max_message_bytes: number("max_message_kb", &self.max_message_kb)?
                .map(|kb| kb.saturating_mul(1000)),
            sends_per_sender_per_day: number("sends_per_day", &self.sends_per_day)?
                .map(u32::try_from)
                .transpose()
                .map_err(|_| Refusal::at("sends_per_day", "list_error_number"))?,
            reply_mode: choice("reply_mode", &self.reply_mode)?,
            visible_recipients_mode: base
                .map_or(VisibleRecipientsMode::Reject, |b| b.visible_recipients_mode),
            sender_address: Some(self.sender_address.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            email_and_sms: self.email_and_sms,
        })
    }

    fn approval(&self) -> Result<ApprovalSetting, Refusal> {
        match self.approval.as_str() {
            "never" => Ok(ApprovalSetting::Never),
            "always" => Ok(ApprovalSetting::Always),
            "above" => match number("threshold", &self.threshold)? {
                Some(n) => Ok(ApprovalSetting::AboveRecipients(n)),
                None => Err(Refusal::at("threshold", "admin_error_threshold")),
            },
            _ => Err(Refusal::at("approval", "admin_error_approval")),
        }
    }
}

async fn unit_by_code(store: &Store, field: &'static str, code: &str) -> Result<i64, Failure> {
    let code = code.trim();
    if code.is_empty() {
        return Err(Refusal::at(field, "list_error_unit_missing").into());
    }
    match store.unit_by_code(code).await? {
        Some(unit) => Ok(unit.id),
        None => Err(Refusal::at(field, "list_error_unknown_unit")
            .with("code", code)
            .into()),
    }
}

/// An empty field is no figure (the organisation's default); anything else must be one.
fn number(field: &'static str, text: &str) -> Result<Option<u64>, Refusal> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Refusal::at(field, "list_error_number")),
    }
}

fn choice<T: std::str::FromStr>(field: &'static str, text: &str) -> Result<T, Refusal> {
    text.parse()
        .map_err(|_| Refusal::at(field, "list_error_choice"))
}

fn choices<T: std::str::FromStr>(field: &'static str, texts: &[String]) -> Result<Vec<T>, Refusal> {
    texts.iter().map(|t| choice(field, t)).collect()
}
