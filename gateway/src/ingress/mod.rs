//! The gateway's decisions behind the SMTP session: who is logging in, which list an address
//! names, and what becomes of a message. Every message is decided by the policy engine over
//! the facts the store gathers, and stored with its decisions before the reply.

mod approval;
mod bounce;
mod outcome;
mod texts;
mod world;

pub use bounce::{classify_bounce, BounceReport};
pub use verteiler_store::intake::{summarise, MessageError, MessageSummary};

use crate::smtp::{
    AuthOutcome, Envelope, Identity, ListenerRole, RcptOutcome, Reply, SessionHandler, SessionInfo,
};
use verteiler_policies::{Lang, OrgLimits};
use verteiler_store::intake::{Arrival, Intake, IntakeRequest, Mode, Person};
use verteiler_store::{Origin, Store};

/// What the ingress needs to know about the organisation.
#[derive(Debug, Clone)]
pub struct IngressSettings {
    pub list_domain: String,
    /// Local-part prefix of the VERP bounce address (`bounce+TOKEN@<list domain>`).
    pub bounce_prefix: String,
    pub undo_window_secs: u64,
    /// A held send waits this long for approvals, then expires.
    pub approval_window_secs: u64,
    /// Hard bounces after which an email address is no longer used.
    pub hard_bounce_limit: u32,
    pub limits: OrgLimits,
    /// Base of the links in notifications (`https://portal.example.org`).
    pub portal_base_url: String,
}

/// The [`SessionHandler`] over the store and the policy engine.
#[derive(Clone)]
pub struct Ingress {
    store: Store,
    /// The store's intake, shared with every other way in (one submission writer for all).
    intake: Intake,
    settings: IngressSettings,
}

impl Ingress {
    pub fn new(intake: Intake, settings: IngressSettings) -> Ingress {
        Ingress {
            store: intake.store().clone(),
            intake,
            settings,
        }
    }

    /// The approval settings the store's four-eyes operations take.
    fn approval_settings(&self) -> verteiler_store::ApprovalSettings {
        verteiler_store::ApprovalSettings {
            list_domain: self.settings.list_domain.clone(),
            limits: self.settings.limits.clone(),
            undo_window_secs: self.settings.undo_window_secs,
            approval_window_secs: self.settings.approval_window_secs,
            portal_base_url: self.settings.portal_base_url.clone(),
        }
    }

    fn is_bounce_address(&self, address: &str) -> bool {
        self.bounce_token(address).is_some()
    }

    /// The VERP token of a bounce address (`bounce+TOKEN@<list domain>`).
    fn bounce_token<'a>(&self, address: &'a str) -> Option<&'a str> {
        let (local, domain) = address.rsplit_once('@')?;
        let prefix = &self.settings.bounce_prefix;
        // `get`, not slicing: a local part with a multi-byte character at the boundary must
        // not end the session in a panic.
        let token = local.get(prefix.len() + 1..)?;
        (domain.eq_ignore_ascii_case(&self.settings.list_domain)
            && local.get(..prefix.len())?.eq_ignore_ascii_case(prefix)
            && local.as_bytes()[prefix.len()] == b'+')
            .then_some(token)
    }

    /// Records a bounce for each VERP address of the envelope.
    async fn record_bounces(
        &self,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<Reply, verteiler_store::StoreError> {
        let report = classify_bounce(raw);
        for address in &envelope.rcpt_to {
            let Some(token) = self.bounce_token(address) else {
                continue;
            };
            let outcome = self
                .store
                .record_bounce(
                    &token.to_ascii_lowercase(),
                    report.hard,
                    report.status.as_deref(),
                    &report.diagnostic,
                    self.settings.hard_bounce_limit,
                )
                .await?;
            tracing::info!(
                event = "delivery.bounce",
                hard = report.hard,
                status = ?report.status,
                delivery = ?outcome.as_ref().map(|o| o.delivery_id),
                address_given_up = outcome.as_ref().is_some_and(|o| o.address_given_up),
            );
        }
        Ok(Reply::new(250, (2, 0, 0), texts::bounce_recorded()))
    }

    /// Hands one message of an authenticated person to the store's intake, which decides
    /// and stores it before the reply.
    async fn submit(
        &self,
        session: &SessionInfo,
        identity: &Identity,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<Reply, verteiler_store::StoreError> {
        let addresses: Vec<String> = envelope
            .rcpt_to
            .iter()
            .filter(|a| !self.is_bounce_address(a))
            .cloned()
            .collect();
        let request = IntakeRequest {
            arrival: Arrival {
                origin: Origin::Smtp,
                client_ip: Some(session.peer.ip().to_string()),
                client_name: session.helo.clone(),
                tls: session.tls,
                envelope_from: Some(envelope.mail_from.clone()),
            },
            person: Person {
                member_id: identity.member_id,
                login: identity.login.clone(),
                credential_id: Some(identity.credential_id),
            },
            raw: raw.to_vec(),
            addresses,
            sms_text: None,
            mode: Mode::Submit,
        };
        let answer = self.intake.take(request).await?;
        Ok(outcome::reply(
            &answer,
            identity.member_id,
            self.settings.undo_window_secs,
        ))
    }
}

impl Ingress {
    /// An approver's decision sent to `approve+ID@…` or `reject+ID@…`: the same store
    /// operations as the portal and the CLI, as the authenticated person.
    async fn decide_by_mail(
        &self,
        identity: &Identity,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<Reply, verteiler_store::StoreError> {
        let lang = Lang::from_tag(
            &self
                .store
                .sender_profile(identity.member_id)
                .await?
                .language,
        );
        let actor = verteiler_store::Actor {
            member_id: identity.member_id,
            label: identity.login.clone(),
            ingress: Origin::Smtp,
        };
        let settings = self.approval_settings();
        let mut lines = Vec::new();
        let mut refused = false;
        for address in &envelope.rcpt_to {
            let Some((verdict, send_id)) =
                approval::decision_address(address, &self.settings.list_domain)
            else {
                continue;
            };
            let (ok, line) = match verdict {
                approval::Verdict::Approve => {
                    let outcome = self
                        .store
                        .approve_send(send_id, &actor, None, None, &settings)
                        .await?;
                    approval::approve_line(send_id, &outcome, self.settings.undo_window_secs, lang)
                }
                approval::Verdict::Reject => {
                    let comment = approval::comment(raw);
                    let outcome = self
                        .store
                        .reject_send(send_id, &actor, &comment, &settings)
                        .await?;
                    approval::stop_line(send_id, &outcome, lang)
                }
            };
            refused |= !ok;
            lines.push(line);
        }
        tracing::info!(
            event = "smtp.decision",
            member = identity.member_id,
            refused
        );
        Ok(if refused {
            Reply::multiline(550, (5, 7, 1), lines)
        } else {
            Reply::multiline(250, (2, 0, 0), lines)
        })
    }
}

impl SessionHandler for Ingress {
    async fn authenticate(
        &self,
        session: &SessionInfo,
        login: &str,
        password: &str,
    ) -> AuthOutcome {
        match self.store.verify_app_password(login, password).await {
            Ok(Some((member_id, credential_id))) => {
                tracing::info!(event = "smtp.authenticated", member = member_id, credential = credential_id, peer = %session.peer);
                AuthOutcome::Authenticated(Identity {
                    member_id,
                    credential_id,
                    login: login.to_string(),
                })
            }
            Ok(None) => AuthOutcome::Invalid,
            Err(e) => {
                // Fail closed: a database problem is never a successful login.
                tracing::error!(event = "smtp.auth_error", error = %e);
                AuthOutcome::Invalid
            }
        }
    }

    async fn check_recipient(&self, session: &SessionInfo, address: &str) -> RcptOutcome {
        if let Some(outcome) = self.world_recipient(address).await {
            return outcome;
        }
        if session.role == ListenerRole::Inbound {
            // Port 25 takes only what the world may send us; nothing is looked up, so the
            // answer is the same for a list, an unknown address and another domain.
            return RcptOutcome::Reject(Reply::new(550, (5, 7, 1), texts::no_outside_mail()));
        }
        if session.identity.is_none() {
            // Without AUTH nothing but the bounce address is looked up: an existing list, an
            // unknown one and a decision address all get the session's 530, so the answer
            // (and the time it takes) tells a stranger nothing about which lists exist.
            return RcptOutcome::Accept { open: false };
        }
        if approval::decision_address(address, &self.settings.list_domain).is_some() {
            // Only an authenticated approver may decide; the store checks who they are.
            return RcptOutcome::Accept { open: false };
        }
        match self
            .store
            .audience_for_address(address, &self.settings.list_domain)
            .await
        {
            Ok(Some(_)) => RcptOutcome::Accept { open: false },
            Ok(None) => {
                RcptOutcome::Reject(Reply::new(550, (5, 1, 1), texts::unknown_list(address)))
            }
            Err(e) => {
                tracing::error!(event = "smtp.rcpt_error", error = %e);
                RcptOutcome::Reject(Reply::new(451, (4, 3, 0), texts::storage_failed()))
            }
        }
    }

    async fn accept_message(
        &self,
        session: &SessionInfo,
        envelope: &Envelope,
        message: &[u8],
    ) -> Reply {
        let bounces = envelope
            .rcpt_to
            .iter()
            .filter(|a| self.is_bounce_address(a))
            .count();
        if bounces == envelope.rcpt_to.len() {
            return match self.record_bounces(envelope, message).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(event = "smtp.bounce_store_failed", error = %e);
                    Reply::new(451, (4, 3, 0), texts::storage_failed())
                }
            };
        }
        if bounces > 0 {
            // A bounce and a list message in one transaction is no client's doing; refuse it
            // whole rather than guess which part was meant.
            return Reply::new(550, (5, 5, 3), texts::bounce_mixed());
        }
        let Some(identity) = &session.identity else {
            // Unreachable: list addresses need AUTH at RCPT. Fail closed all the same.
            return Reply::new(530, (5, 7, 0), texts::auth_required());
        };
        let decisions = envelope
            .rcpt_to
            .iter()
            .filter(|a| approval::decision_address(a, &self.settings.list_domain).is_some())
            .count();
        if decisions > 0 {
            if decisions != envelope.rcpt_to.len() {
                // A decision and a list message in one transaction: refuse it whole.
                return Reply::new(550, (5, 5, 3), texts::decision_mixed());
            }
            return match self.decide_by_mail(identity, envelope, message).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(event = "smtp.decision_failed", error = %e);
                    Reply::new(451, (4, 3, 0), texts::storage_failed())
                }
            };
        }
        match self.submit(session, identity, envelope, message).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!(event = "smtp.store_failed", error = %e);
                Reply::new(451, (4, 3, 0), texts::storage_failed())
            }
        }
    }
}
