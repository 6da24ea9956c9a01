//! Gathering the facts of a submission for the policy engine.
//!
//! Every ingress (SMTP, portal, API, the simulator) calls [`Store::gather_facts`], so the engine
//! always sees the same picture of the same submission. Anything the store cannot establish is
//! reported as such (an unknown audience, a failed resolution), never replaced by a guess.

use crate::intake::fact_cache::AudienceEntry;
use crate::{ApprovalSetting, Audience, Store, StoreError};
use std::sync::Arc;
use verteiler_policies::{
    ApprovalRule, AudienceFacts, AudiencePolicy, AudienceSlug, Channel, Facts, FromAddress,
    MessageFacts, ResolutionSummary, RoleGrant, SenderFacts,
};

/// What a decision needs to know about the person sending, read together and cached briefly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderProfile {
    /// `de` or `en`: the language of replies and notifications.
    pub language: String,
    /// Email addresses with their verified flag, primary first.
    pub emails: Vec<(String, bool)>,
    /// Roles of an active member (none once the member has left).
    pub roles: Vec<RoleGrant>,
}

impl SenderProfile {
    /// Whether `address` is one of the person's verified addresses.
    pub fn owns_verified(&self, address: &str) -> bool {
        self.emails
            .iter()
            .any(|(a, verified)| *verified && a.eq_ignore_ascii_case(address))
    }
}

/// What an ingress knows about a submission before asking the store for the rest.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub sender_member_id: i64,
    /// The address as given (`oldenfelde@lists.example.org`) or a bare slug.
    pub audience_address: &'a str,
    pub channel: Channel,
    pub message: MessageFacts,
    /// The message's `From:` address, weighed list by list ([`verteiler_policies::FromAddress`]);
    /// `None` when there is none to weigh (a simulation without one, a held send decided
    /// again: its `From:` was weighed when it came in).
    pub from: Option<&'a str>,
}

impl Store {
    /// The audience a list address names, if it names one in our list domain.
    pub async fn audience_for_address(
        &self,
        address: &str,
        list_domain: &str,
    ) -> Result<Option<Audience>, StoreError> {
        Ok(self
            .audience_entry(address, list_domain)
            .await?
            .as_ref()
            .as_ref()
            .map(|e| e.audience.clone()))
    }

    /// The cached audience entry behind a list address (the slug alone is also accepted).
    async fn audience_entry(
        &self,
        address: &str,
        list_domain: &str,
    ) -> Result<Arc<Option<AudienceEntry>>, StoreError> {
        let (local, domain) = match address.trim().rsplit_once('@') {
            Some((local, domain)) => (local, Some(domain)),
            None => (address.trim(), None),
        };
        if domain.is_some_and(|d| !d.eq_ignore_ascii_case(list_domain)) {
            return Ok(Arc::new(None));
        }
        let Ok(slug) = AudienceSlug::parse(local) else {
            return Ok(Arc::new(None));
        };
        let key = slug.as_str().to_ascii_lowercase();
        let generation = self.facts.generation.current();
        if let Some(hit) = self.facts.audiences.get(&key, generation, self.facts.ttl) {
            return Ok(hit);
        }
        let entry = match self.audience_by_slug(&slug).await? {
            Some(audience) => Some(AudienceEntry {
                facts: self.audience_facts(&audience).await?,
                audience,
            }),
            None => None,
        };
        let entry = Arc::new(entry);
        self.facts
            .audiences
            .put(key, generation, Arc::clone(&entry));
        Ok(entry)
    }

    /// The roles a member holds, as the engine sees them.
    pub async fn role_grants(&self, member_id: i64) -> Result<Vec<RoleGrant>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT r.function, r.unit_id, CAST(CASE WHEN r.covers_subtree THEN 1 ELSE 0 END AS BIGINT) \
             FROM roles r JOIN members m ON m.id = r.member_id \
             WHERE r.member_id = $1 AND m.status = 'active' ORDER BY r.id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(function, unit_id, subtree)| {
                Ok(RoleGrant {
                    function: function
                        .parse()
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    unit_id,
                    covers_subtree: subtree != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The sender's language, addresses and roles (cached for [`crate::FACT_CACHE_TTL`]).
    pub async fn sender_profile(&self, member_id: i64) -> Result<Arc<SenderProfile>, StoreError> {
        let generation = self.facts.generation.current();
        if let Some(hit) = self
            .facts
            .senders
            .get(&member_id, generation, self.facts.ttl)
        {
            return Ok(hit);
        }
        let profile = Arc::new(SenderProfile {
            language: self.member_language(member_id).await?,
            emails: self.member_emails(member_id).await?,
            roles: self.role_grants(member_id).await?,
        });
        self.facts
            .senders
            .put(member_id, generation, Arc::clone(&profile));
        Ok(profile)
    }

    /// The audience's definition and policy in the engine's terms.
    pub async fn audience_facts(&self, a: &Audience) -> Result<AudienceFacts, StoreError> {
        Ok(AudienceFacts {
            id: a.id,
            slug: a.slug.clone(),
            display_name: a.name.clone(),
            kind: a.kind,
            active: a.active,
            scope_unit_id: a.scope_unit_id,
            scope_path: self.unit_path(a.scope_unit_id).await?,
            category: a.category,
            policy: AudiencePolicy {
                sender_functions: a.allowed_sender_functions.clone(),
                subscribers_may_post: a.subscribers_may_post,
                approval: match a.approval {
                    ApprovalSetting::Never => ApprovalRule::Never,
                    ApprovalSetting::AboveRecipients(n) => ApprovalRule::AboveRecipients(n),
                    ApprovalSetting::Always => ApprovalRule::Always,
                },
                approver_functions: a.approver_functions.clone(),
                approvals_needed: a.approvals_needed,
                max_recipients: a.max_recipients,
                max_message_bytes: a.max_message_bytes,
                sender_sends_per_day: a.sends_per_sender_per_day.map(u64::from),
                visible_recipients: a.visible_recipients_mode,
                ..AudiencePolicy::default()
            },
            usual_size: a.usual_size,
        })
    }

    /// Counts the audience now. A failed query becomes a resolution error, which the engine
    /// refuses: a broken resolution must never look like an empty or a whole one.
    pub async fn resolution_summary(&self, a: &Audience) -> ResolutionSummary {
        let generation = self.facts.generation.current();
        if let Some(hit) = self.facts.counts.get(&a.id, generation, self.facts.ttl) {
            return (*hit).clone();
        }
        // The split by channel resolves the audience once per cache lifetime: the decision
        // text names it ("180 by email, 25 by SMS, 7 by post").
        let counted = async {
            Ok::<_, StoreError>((
                self.count(a).await?,
                self.count_outside_scope(a).await?,
                self.channel_counts(a).await?,
            ))
        };
        match counted.await {
            Ok((recipients, outside_scope, by_channel)) => {
                let summary = ResolutionSummary {
                    recipients,
                    outside_scope,
                    error: None,
                    by_channel,
                };
                self.facts
                    .counts
                    .put(a.id, generation, Arc::new(summary.clone()));
                summary
            }
            Err(e) => {
                tracing::error!(event = "audience.resolution_failed", audience = %a.slug, error = %e);
                ResolutionSummary {
                    error: Some(e.to_string()),
                    ..ResolutionSummary::default()
                }
            }
        }
    }

    /// Everything the policy engine needs about one submission.
    pub async fn gather_facts(
        &self,
        submission: &Submission<'_>,
        list_domain: &str,
    ) -> Result<Facts, StoreError> {
        let entry = self
            .audience_entry(submission.audience_address, list_domain)
            .await?;
        let audience = entry.as_ref().as_ref();
        let profile = self.sender_profile(submission.sender_member_id).await?;
        let (volume, confirmed_subscriber) = self
            .sender_standing(
                submission.sender_member_id,
                audience.map(|a| a.audience.id),
                crate::now_ms(),
            )
            .await?;
        let sender = SenderFacts {
            member_id: submission.sender_member_id,
            roles: profile.roles.clone(),
            confirmed_subscriber,
        };
        let from_address = match submission.from {
            Some(from) => {
                self.weigh_from_address(&profile, from, audience.map(|a| &a.audience))
                    .await?
            }
            None => FromAddress::Own,
        };
        let (audience_facts, resolution) = match audience {
            Some(a) => (
                Some(a.facts.clone()),
                self.resolution_summary(&a.audience).await,
            ),
            None => (None, ResolutionSummary::default()),
        };
        Ok(Facts {
            sender,
            channel: submission.channel,
            audience_address: submission.audience_address.to_string(),
            audience: audience_facts,
            resolution,
            message: submission.message.clone(),
            volume,
            approvals: Vec::new(),
            circuit_breaker_lifted_by: None,
            from_address,
            audience_redefined: false,
        })
    }
}
