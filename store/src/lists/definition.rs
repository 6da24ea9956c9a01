//! What makes a list definition acceptable, whoever makes it: a template, the CLI or an admin
//! page. A list that could reach outside its scope, exceed the organisation's caps, or take an
//! address that is already somebody's is refused with a reason naming the field.

use crate::{ApprovalSetting, NewAudience, Store, StoreError};
use verteiler_policies::{AudienceKind, EmailAddress, OrgLimits};

/// Local parts verteiler answers itself under the list domain; no list may take them.
pub const RESERVED_SLUGS: &[&str] = &[
    "approve",
    "reject",
    "bounce",
    "noreply",
    "no-reply",
    "postmaster",
    "abuse",
    "mailer-daemon",
    "hostmaster",
    "webmaster",
];

/// Why a list operation was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("unknown list {0}")]
    UnknownList(String),
    #[error("unknown unit {0}")]
    UnknownUnit(String),
    #[error("the address {slug} is already taken by the list {owner}")]
    SlugTaken { slug: String, owner: String },
    #[error(
        "the address {0} is reserved for verteiler's own mail (approvals, bounces, postmaster)"
    )]
    SlugReserved(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "the list's unit {unit} is outside its scope {scope}: the scope must be the unit itself \
         or a unit above it"
    )]
    OutsideScope { unit: String, scope: String },
    #[error("{field} {value} is above the organisation's cap of {cap} ({key})")]
    AboveCap {
        field: &'static str,
        value: u64,
        cap: u64,
        key: &'static str,
    },
    #[error(
        "the list {slug} has had {sends} send(s); a list with sends is kept for the record: \
         deactivate it instead"
    )]
    HasSends { slug: String, sends: u64 },
    #[error("{0} is the address of the list itself, not an alias")]
    NotAnAlias(String),
    #[error(
        "the list {0} was changed by somebody else since you looked at it; look at it again \
         and make your change there"
    )]
    ChangedMeanwhile(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ListError {
    fn from(e: sqlx::Error) -> Self {
        ListError::Store(e.into())
    }
}

/// The organisation's caps a list's own policy may tighten but never exceed.
pub fn check_caps(a: &NewAudience, caps: &OrgLimits) -> Result<(), ListError> {
    let above = |field, value: u64, cap: u64, key| {
        if value > cap {
            Err(ListError::AboveCap {
                field,
                value,
                cap,
                key,
            })
        } else {
            Ok(())
        }
    };
    if let Some(n) = a.max_recipients {
        above(
            "max_recipients",
            n,
            caps.max_recipients,
            "limits.max_recipients_per_send",
        )?;
    }
    if let Some(n) = a.max_message_bytes {
        above(
            "max_message_bytes",
            n,
            caps.max_message_bytes,
            "limits.max_message_bytes",
        )?;
    }
    if let Some(n) = a.sends_per_sender_per_day {
        above(
            "sends_per_sender_per_day",
            u64::from(n),
            caps.sender_sends_per_day.reject_above,
            "limits.sends_per_sender_per_day",
        )?;
    }
    if let ApprovalSetting::AboveRecipients(n) = a.approval {
        above(
            "approval_above",
            n,
            caps.max_recipients,
            "limits.max_recipients_per_send",
        )?;
    }
    Ok(())
}

/// The checks that need no database: shape, numbers, the address, the official sender.
pub fn check_shape(a: &NewAudience) -> Result<(), ListError> {
    let invalid = |field, reason: &str| {
        Err(ListError::Invalid {
            field,
            reason: reason.to_string(),
        })
    };
    if RESERVED_SLUGS.contains(&a.slug.as_str()) {
        return Err(ListError::SlugReserved(a.slug.to_string()));
    }
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return invalid("name", "give the list a name of 1 to 200 characters");
    }
    if a.kind == AudienceKind::Functional && a.role_function.is_none() {
        return invalid(
            "role",
            "a functional list needs the role function whose holders it reaches",
        );
    }
    if a.kind != AudienceKind::Functional && a.role_function.is_some() {
        return invalid(
            "role",
            "only a functional list reaches the holders of a role",
        );
    }
    if a.allowed_sender_functions.is_empty() && !a.subscribers_may_post {
        return invalid(
            "senders",
            "name at least one role function that may send (or let subscribers post)",
        );
    }
    if a.channels.is_empty() {
        return invalid("channels", "name at least one channel");
    }
    if !(1..=5).contains(&a.approvals_needed) {
        return invalid("approvals_needed", "must be from 1 to 5");
    }
    if a.approval == ApprovalSetting::AboveRecipients(0) {
        return invalid("approval", "approval above 0 recipients is approval always");
    }
    if a.max_recipients == Some(0) || a.max_message_bytes == Some(0) {
        return invalid(
            "limits",
            "a limit of 0 would refuse every send; leave it unset",
        );
    }
    if a.sends_per_sender_per_day == Some(0) {
        return invalid(
            "sends_per_sender_per_day",
            "a limit of 0 would refuse every send; leave it unset",
        );
    }
    if a.open_to_public && a.kind != AudienceKind::Topic {
        return invalid(
            "open_to_public",
            "only a topic list can be open to the public",
        );
    }
    if let Some(address) = &a.sender_address {
        if EmailAddress::parse(address).is_err() {
            return invalid(
                "sender_address",
                &format!("{address:?} is not an email address"),
            );
        }
    }
    Ok(())
}

impl Store {
    /// An official sender address is the list's own, never a person's: an address a member
    /// has (as a contact point) would let the list's senders write as that person.
    pub(crate) async fn check_sender_address(&self, a: &NewAudience) -> Result<(), ListError> {
        let Some(address) = &a.sender_address else {
            return Ok(());
        };
        let Ok(parsed) = EmailAddress::parse(address) else {
            return Ok(());
        };
        let owners: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM contact_points \
             WHERE kind = 'email' AND value_key = $1",
        )
        .bind(parsed.key())
        .fetch_one(&self.pool)
        .await?;
        if owners > 0 {
            return Err(ListError::Invalid {
                field: "sender_address",
                reason: format!(
                    "{address} is a member's own address: a list's official address must be the \
                     list's, so that nobody writes in a person's name"
                ),
            });
        }
        Ok(())
    }

    /// Whether `scope_unit_id` is the list's unit or a unit above it, so that resolving the
    /// list can never reach outside its scope by definition.
    pub(crate) async fn check_scope(&self, a: &NewAudience) -> Result<(), ListError> {
        let path = self.unit_path(a.unit_id).await?;
        if path.contains(&a.scope_unit_id) {
            return Ok(());
        }
        let code = |id| async move {
            Ok::<_, StoreError>(
                self.unit_by_id(id)
                    .await?
                    .map_or_else(|| format!("#{id}"), |u| u.code),
            )
        };
        Err(ListError::OutsideScope {
            unit: code(a.unit_id).await?,
            scope: code(a.scope_unit_id).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verteiler_policies::{AudienceSlug, RoleFunction};

    fn list() -> NewAudience {
        NewAudience::structural(
            AudienceSlug::parse("oldenfelde").unwrap(),
            "Oldenfelde",
            1,
            false,
        )
    }

    #[test]
    fn the_caps_bound_a_lists_own_limits() {
        let caps = OrgLimits::default();
        let mut a = list();
        a.max_recipients = Some(caps.max_recipients + 1);
        let e = check_caps(&a, &caps).unwrap_err().to_string();
        assert!(e.contains("limits.max_recipients_per_send"), "{e}");
        a.max_recipients = Some(caps.max_recipients);
        check_caps(&a, &caps).unwrap();
        a.max_message_bytes = Some(caps.max_message_bytes * 2);
        assert!(matches!(
            check_caps(&a, &caps),
            Err(ListError::AboveCap {
                field: "max_message_bytes",
                ..
            })
        ));
    }

    #[test]
    fn shapes_that_cannot_work_are_named() {
        let field = |a: &NewAudience| match check_shape(a) {
            Err(ListError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut a = list();
        a.kind = AudienceKind::Functional;
        assert_eq!(field(&a), "role");
        a.role_function = Some(RoleFunction::Board);
        check_shape(&a).unwrap();
        a.channels.clear();
        assert_eq!(field(&a), "channels");
        let mut a = list();
        a.approvals_needed = 6;
        assert_eq!(field(&a), "approvals_needed");
        let mut a = list();
        a.sender_address = Some("presse at example".into());
        assert_eq!(field(&a), "sender_address");
        let mut a = list();
        a.open_to_public = true;
        assert_eq!(field(&a), "open_to_public");
        let mut a = list();
        a.slug = AudienceSlug::parse("postmaster").unwrap();
        assert!(matches!(check_shape(&a), Err(ListError::SlugReserved(_))));
    }
}
