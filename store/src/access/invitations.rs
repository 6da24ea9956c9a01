//! Bringing officers on board: each officer of a function (in a unit's subtree, or everywhere)
//! gets a sign-in link with a short text on making an app password and setting up their mail
//! client. Officers who already have an app password are skipped, so the invitation can be run
//! again after every import; officers without an email address are named, never skipped unseen.

use crate::access::sessions::new_sign_in_link;
use crate::audit::log::{self as audit, AuditEvent};
use crate::{now_ms, Store, StoreError};
use serde::Serialize;
use verteiler_policies::RoleFunction;

/// An invitation link is valid this long: officers read their mail over days, not minutes.
pub const INVITE_LINK_TTL_MS: i64 = 7 * 24 * 3_600 * 1000;

/// What the invitation mail says besides the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation<'a> {
    /// The officer's first and last name.
    pub name: &'a str,
    /// The unit they hold the function in.
    pub unit: &'a str,
    /// Their login in the mail client: the address the mail goes to.
    pub login: &'a str,
    /// The submission server their mail client talks to.
    pub smtp_host: &'a str,
    pub smtp_port: u16,
    /// Days the link is valid.
    pub days: u32,
}

/// Writes the invitation mail (subject, body) in a language; the portal's texts do.
pub trait InvitationMail: Send + Sync {
    fn invitation(&self, token: &str, invitation: &Invitation<'_>, lang: &str) -> (String, String);
}

/// Where the mail clients send: host and port of the submission listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailClientSetup {
    pub smtp_host: String,
    pub smtp_port: u16,
}

/// An officer, as the invitation saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Officer {
    pub member_id: i64,
    pub name: String,
    pub unit_code: String,
    pub email: Option<String>,
}

/// Whom an invitation run mailed, skipped, or could not reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InviteReport {
    pub invited: Vec<Officer>,
    /// Officers with an app password already.
    pub skipped: Vec<Officer>,
    /// Officers invited earlier whose link is unused and still valid: not mailed again.
    pub pending: Vec<Officer>,
    /// Officers without a verified, deliverable email address: to be added in the membership
    /// database (the next import brings it).
    pub without_email: Vec<Officer>,
}

/// member id, first name, last name, language, unit code, unit name, email, app passwords,
/// valid unused invitations
type OfficerRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

impl Store {
    /// Invites the active holders of `function` (in `unit_id`'s subtree, or everywhere).
    pub async fn invite_officers(
        &self,
        function: RoleFunction,
        unit_id: Option<i64>,
        setup: &MailClientSetup,
        mail: &dyn InvitationMail,
    ) -> Result<InviteReport, StoreError> {
        let within = match unit_id {
            Some(_) => {
                "r.unit_id IN (WITH RECURSIVE below(id, depth) AS (SELECT id, 0 FROM units WHERE id = $2 \
                 UNION ALL SELECT u.id, b.depth + 1 FROM units u JOIN below b ON u.parent_id = b.id \
                 WHERE b.depth < 64) SELECT id FROM below)"
            }
            None => "$2 IS NULL",
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // One row per office, the officer's first unit by code first: an officer of two
        // units is invited once, named with that unit (its code and its name together).
        let offices: Vec<OfficerRow> = sqlx::query_as(&format!(
            "SELECT m.id, m.first_name, m.last_name, m.language, u.code, u.name, \
               (SELECT c.value FROM contact_points c WHERE c.member_id = m.id AND c.kind = 'email' \
                AND c.verified AND NOT c.undeliverable ORDER BY c.is_primary DESC, c.id LIMIT 1), \
               CAST((SELECT COUNT(*) FROM app_passwords a WHERE a.member_id = m.id \
                AND a.revoked_at IS NULL) AS BIGINT), \
               CAST((SELECT COUNT(*) FROM sign_in_links l WHERE l.member_id = m.id \
                AND l.used_at IS NULL AND l.expires_at > $3 \
                AND l.expires_at - l.created_at >= $4) AS BIGINT) \
             FROM roles r JOIN members m ON m.id = r.member_id JOIN units u ON u.id = r.unit_id \
             WHERE r.function = $1 AND m.status = 'active' AND {within} \
             ORDER BY m.id, u.code"
        ))
        .bind(function.as_str())
        .bind(unit_id)
        .bind(now)
        .bind(INVITE_LINK_TTL_MS)
        .fetch_all(&mut *tx)
        .await?;
        let mut rows: Vec<OfficerRow> = Vec::with_capacity(offices.len());
        for office in offices {
            if rows.last().is_none_or(|last| last.0 != office.0) {
                rows.push(office);
            }
        }
        rows.sort_by(|a, b| (&a.4, &a.2, &a.1, a.0).cmp(&(&b.4, &b.2, &b.1, b.0)));
        let days = (INVITE_LINK_TTL_MS / 86_400_000) as u32;
        let mut report = InviteReport::default();
        for (member_id, first, last, language, code, unit_name, email, passwords, invites) in rows {
            let officer = Officer {
                member_id,
                name: format!("{first} {last}"),
                unit_code: code,
                email: email.clone(),
            };
            let Some(email) = email else {
                report.without_email.push(officer);
                continue;
            };
            if passwords > 0 {
                report.skipped.push(officer);
                continue;
            }
            if invites > 0 {
                report.pending.push(officer);
                continue;
            }
            let token =
                new_sign_in_link(&mut tx, member_id, &email, INVITE_LINK_TTL_MS, now).await?;
            let invitation = Invitation {
                name: &officer.name,
                unit: &unit_name,
                login: &email,
                smtp_host: &setup.smtp_host,
                smtp_port: setup.smtp_port,
                days,
            };
            let (subject, body) = mail.invitation(&token, &invitation, &language);
            crate::notices::queue(
                &mut tx,
                &crate::notices::Outgoing {
                    member_id: Some(member_id),
                    to: &email,
                    kind: "portal.invitation",
                    subject: &subject,
                    body: &body,
                    submission_id: None,
                },
                now,
            )
            .await?;
            report.invited.push(officer);
        }
        let ids = |v: &[Officer]| v.iter().map(|o| o.member_id).collect::<Vec<_>>();
        let event =
            AuditEvent::new("members.invited", self.actor.to_string()).details(serde_json::json!({
                "function": function.as_str(),
                "unit_id": unit_id,
                "invited": ids(&report.invited),
                "skipped": ids(&report.skipped),
                "pending": ids(&report.pending),
                "without_email": ids(&report.without_email),
            }));
        audit::append(&mut tx, self.backend, &[event], now).await?;
        tx.commit().await?;
        Ok(report)
    }
}
