//! The delivery loops: one expands released sends into deliveries, `workers` loops hand the
//! copies to the transport, one sends notifications to senders. All state lives in the store,
//! so any of them may stop at any point and another (or the next start) carries on.

use super::attempt_log::{log_attempt, CopyAttempt};
use super::copy::{build_copy, header_text, CopySpec, ReplyTo, ToHeader, Unsubscribe};
use super::dkim::CurrentSigner;
use super::outcome::Outcome;
use super::pacing::{Pacing, PacingLimits};
use super::transport::Transport;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use verteiler_policies::{Category, ReplyMode};
use verteiler_store::{
    now_ms, Attempt, ClaimedDelivery, ClaimedNotification, Expansion, ExpansionSettings,
    SendContent, Store,
};

/// How the delivery loops behave.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub list_domain: String,
    /// Local-part prefix of the VERP bounce address (`bounce+TOKEN@<list domain>`).
    pub bounce_prefix: String,
    /// Base of unsubscribe and preference links (`https://portal.example.org`).
    pub portal_base_url: String,
    /// Concurrent copy senders.
    pub workers: usize,
    /// How long to wait when there is nothing to do.
    pub idle_poll: Duration,
    /// A claim runs out after this: a crashed worker's deliveries come back.
    pub lease: Duration,
    /// Temporary failures are retried until a delivery is this old, then it fails.
    pub max_age: Duration,
    /// First retry after this; doubled per attempt up to `retry_max`.
    pub retry_first: Duration,
    pub retry_max: Duration,
    /// Recipients expanded per transaction.
    pub expansion_batch: usize,
    /// How long a send held at expansion (its list grew) waits for approval:
    /// `limits.approval_window_hours`, as for sends held at submission.
    pub approval_window: Duration,
    pub pacing: PacingLimits,
    /// Signs every copy and notification; empty sends them unsigned. Swapped on reload.
    pub dkim: CurrentSigner,
    /// Delivery lines name the recipient's address, not its keyed hash (`log.recipient_addresses`).
    pub log_recipient_addresses: bool,
}

impl DeliverySettings {
    pub fn new(list_domain: &str, portal_base_url: &str, workers: usize) -> DeliverySettings {
        DeliverySettings {
            list_domain: list_domain.to_string(),
            bounce_prefix: "bounce".into(),
            portal_base_url: portal_base_url.trim_end_matches('/').to_string(),
            workers: workers.max(1),
            idle_poll: Duration::from_millis(500),
            lease: Duration::from_secs(300),
            max_age: Duration::from_secs(3 * 24 * 3600),
            retry_first: Duration::from_secs(60),
            retry_max: Duration::from_secs(4 * 3600),
            expansion_batch: 1_000,
            approval_window: Duration::from_secs(72 * 3600),
            pacing: PacingLimits {
                per_second: None,
                per_domain_per_second: None,
                per_domain_in_flight: 8,
            },
            dkim: CurrentSigner::default(),
            log_recipient_addresses: false,
        }
    }
}

/// How old a worker's knowledge that a send is still sending may be (the cancel promise).
const LIVENESS_CHECK: Duration = Duration::from_millis(500);
/// Claimed per round trip by one worker.
const CLAIM: usize = 16;

/// Runs every delivery loop until `stop` turns true, then lets each finish its current item.
pub async fn run_delivery(
    store: Store,
    transport: Transport,
    settings: DeliverySettings,
    stop: watch::Receiver<bool>,
) {
    let (outcomes, recorded) = mpsc::channel(1_024);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(record_outcomes(store.clone(), recorded));
    let engine = Arc::new(Engine {
        store,
        via: transport.via(),
        transport,
        pacing: Pacing::new(settings.pacing),
        outcomes,
        settings,
    });
    tasks.spawn(Arc::clone(&engine).expand_loop(stop.clone()));
    tasks.spawn(Arc::clone(&engine).notification_loop(stop.clone()));
    for worker in 0..engine.settings.workers {
        tasks.spawn(Arc::clone(&engine).copy_loop(worker, stop.clone()));
    }
    // The recorder ends when the last loop has dropped its handle to the engine.
    drop(engine);
    while tasks.join_next().await.is_some() {}
}

/// An outcome on its way to the store, and who waits for it to be recorded.
type Recording = (i64, Attempt, oneshot::Sender<()>);

/// Records the workers' outcomes in shared transactions (group commit); each worker waits for
/// its copy's record, so a crash can repeat at most one copy per worker.
async fn record_outcomes(store: Store, mut recorded: mpsc::Receiver<Recording>) {
    let mut group = Vec::with_capacity(256);
    while recorded.recv_many(&mut group, 256).await > 0 {
        let outcomes: Vec<(i64, Attempt)> =
            group.iter().map(|(id, a, _)| (*id, a.clone())).collect();
        if let Err(e) = store.finish_deliveries(&outcomes).await {
            // Unrecorded copies come back when their lease runs out and are sent again.
            tracing::error!(event = "delivery.record_failed", copies = outcomes.len(), error = %e);
        }
        for (.., done) in group.drain(..) {
            let _ = done.send(());
        }
    }
}

struct Engine {
    store: Store,
    transport: Transport,
    /// The transport as delivery lines name it.
    via: String,
    pacing: Pacing,
    outcomes: mpsc::Sender<Recording>,
    settings: DeliverySettings,
}

fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or(address, |(_, domain)| domain)
}

/// Sleeps for `idle`, or less if `stop` turns true; returns whether to stop.
pub(crate) async fn idle(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(pause) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

impl Engine {
    async fn expand_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let worked = match self.expand_due().await {
                Ok(worked) => worked,
                Err(e) => {
                    tracing::error!(event = "delivery.expand_failed", error = %e);
                    false
                }
            };
            if let Err(e) = self.store.complete_finished_sends().await {
                tracing::error!(event = "delivery.complete_failed", error = %e);
            }
            let pause = if worked {
                Duration::ZERO
            } else {
                self.settings.idle_poll
            };
            if idle(&mut stop, pause).await {
                return;
            }
        }
    }

    /// Expands one batch of each due send; returns whether there was anything to do.
    async fn expand_due(&self) -> Result<bool, verteiler_store::StoreError> {
        let lease = self.settings.lease.as_millis() as i64;
        let due = self.store.claim_due_sends(now_ms(), lease, 16).await?;
        let checks = ExpansionSettings {
            approval_window_secs: self.settings.approval_window.as_secs(),
            portal_base_url: self.settings.portal_base_url.clone(),
        };
        for send in &due {
            match self
                .store
                .expand_send(send.send_id, self.settings.expansion_batch, &checks)
                .await?
            {
                Expansion::Done { queued } => {
                    tracing::info!(
                        event = "delivery.expanded",
                        send = send.send_id,
                        submission = send.submission_id,
                        last_batch = queued
                    );
                }
                Expansion::Held(reasons) => {
                    let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
                    tracing::warn!(event = "delivery.held_at_expansion", send = send.send_id, reasons = ?codes);
                }
                Expansion::Refused(reasons) => {
                    let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
                    tracing::warn!(event = "delivery.refused_at_expansion", send = send.send_id, reasons = ?codes);
                }
                Expansion::Progress { .. } | Expansion::NotScheduled => {}
            }
        }
        Ok(!due.is_empty())
    }

    async fn copy_loop(self: Arc<Self>, worker: usize, mut stop: watch::Receiver<bool>) {
        // Sends whose copies this worker is building: the raw message is read once per send.
        let mut contents: HashMap<i64, Option<Arc<SendContent>>> = HashMap::new();
        // When each send was last seen still sending: a cancel must stop this worker's claimed
        // copies within a second, without a look-up per copy.
        let mut live: HashMap<i64, (Instant, bool)> = HashMap::new();
        loop {
            let lease = self.settings.lease.as_millis() as i64;
            let claimed = match self.store.claim_deliveries(now_ms(), lease, CLAIM).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(event = "delivery.claim_failed", worker, error = %e);
                    Vec::new()
                }
            };
            for delivery in &claimed {
                if contents.len() > 64 {
                    contents.clear();
                    live.clear();
                }
                if !self.still_sending(delivery.send_id, &mut live).await {
                    // Cancelled meanwhile: the store already marked this delivery cancelled.
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    contents.entry(delivery.send_id)
                {
                    match self.store.send_content(delivery.send_id).await {
                        Ok(content) => {
                            slot.insert(content.map(Arc::new));
                        }
                        Err(e) => {
                            // The lease runs out and the delivery comes back.
                            tracing::error!(event = "delivery.read_failed", error = %e);
                            continue;
                        }
                    }
                }
                let content = contents.get(&delivery.send_id).cloned().flatten();
                let attempt = self.deliver(delivery, content.as_deref()).await;
                log_attempt(
                    &self.store,
                    &CopyAttempt {
                        send_id: delivery.send_id,
                        copy_id: delivery.id,
                        recipient: &delivery.address,
                        via: &self.via,
                        attempt: delivery.attempts,
                        queued_at: delivery.created_at,
                    },
                    &attempt,
                    self.settings.log_recipient_addresses,
                    now_ms(),
                );
                let (done, recorded) = oneshot::channel();
                if self
                    .outcomes
                    .send((delivery.id, attempt, done))
                    .await
                    .is_ok()
                {
                    let _ = recorded.await;
                }
            }
            let pause = if claimed.is_empty() {
                self.settings.idle_poll
            } else {
                Duration::ZERO
            };
            if idle(&mut stop, pause).await {
                return;
            }
        }
    }

    async fn still_sending(&self, send_id: i64, live: &mut HashMap<i64, (Instant, bool)>) -> bool {
        if let Some((seen, sending)) = live.get(&send_id) {
            if seen.elapsed() < LIVENESS_CHECK {
                return *sending;
            }
        }
        let sending = match self.store.send_record(send_id).await {
            // A send still expanding is scheduled while its first batches go out.
            Ok(send) => send.is_some_and(|s| s.state.running()),
            Err(e) => {
                // Unsure: do not send; the lease runs out and the delivery comes back.
                tracing::error!(event = "delivery.read_failed", error = %e);
                false
            }
        };
        live.insert(send_id, (Instant::now(), sending));
        sending
    }

    async fn deliver(&self, d: &ClaimedDelivery, content: Option<&SendContent>) -> Attempt {
        let Some(content) = content else {
            return Attempt::Failed {
                error: "the send or its list no longer exists".into(),
            };
        };
        let s = &self.settings;
        let audience = &content.audience;
        let list_address = format!("{}@{}", audience.slug.as_str(), s.list_domain);
        let list_id = format!("{}.{}", audience.slug.as_str(), s.list_domain);
        let return_path = format!("{}+{}@{}", s.bounce_prefix, d.token, s.list_domain);
        let message_id = format!("d{}.{}@{}", d.id, &d.token[..8], s.list_domain);
        let send_ref = format!(
            "s{}.{}@{}",
            content.send_id, content.submission_id, s.list_domain
        );
        let spec = CopySpec {
            list_address: &list_address,
            list_name: &audience.name,
            list_id: &list_id,
            recipient: &d.address,
            to: if content.rewrite_to {
                ToHeader::Recipient
            } else {
                ToHeader::List
            },
            reply_to: match audience.reply_mode {
                ReplyMode::Sender => ReplyTo::Sender,
                ReplyMode::List => ReplyTo::List,
                ReplyMode::NoReply => ReplyTo::NoReply(format!("no-reply@{}", s.list_domain)),
            },
            // Statutory mail cannot be left with a click; the member chooses channels instead,
            // on the portal's channel page. Every list that can be left keeps RFC 8058.
            unsubscribe: match audience.category {
                Category::Statutory => {
                    Unsubscribe::Preferences(format!("{}/me/subscriptions", s.portal_base_url))
                }
                Category::Announcement | Category::Discussion => {
                    Unsubscribe::OneClick(format!("{}/unsubscribe/{}", s.portal_base_url, d.token))
                }
            },
            message_id: &message_id,
            send_ref: &send_ref,
            return_path: &return_path,
        };
        let copy = match build_copy(&content.raw, &spec) {
            Ok(copy) => copy,
            Err(e) => {
                return Attempt::Failed {
                    error: format!("no copy can be built: {e}"),
                }
            }
        };
        let copy = match self.sign(copy).await {
            Ok(copy) => copy,
            Err(outcome) => return self.attempt(outcome, d.attempts, d.created_at),
        };
        let _in_flight = self.pacing.admit(domain_of(&d.address)).await;
        let outcome = self
            .transport
            .send(&format!("d{}", d.id), &return_path, &d.address, copy)
            .await;
        self.attempt(outcome, d.attempts, d.created_at)
    }

    /// Adds the DKIM signatures when keys are configured. A failure holds the message back
    /// for a later attempt: with keys configured, nothing leaves unsigned.
    async fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, Outcome> {
        let Some(signer) = self.settings.dkim.current() else {
            return Ok(message);
        };
        signer.sign_off_runtime(message).await.map_err(|e| {
            tracing::error!(event = "delivery.sign_failed", error = %e);
            Outcome::Temporary(e.to_string())
        })
    }

    /// Turns a transport outcome into what the store records, with backoff for retries.
    fn attempt(&self, outcome: Outcome, attempts: u32, created_at: i64) -> Attempt {
        let s = &self.settings;
        let retry = Retry {
            first: s.retry_first,
            max: s.retry_max,
            max_age: s.max_age,
        };
        retry.attempt(outcome, attempts, created_at)
    }

    async fn notification_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let lease = self.settings.lease.as_millis() as i64;
            let claimed = match self.store.claim_notifications(now_ms(), lease, CLAIM).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(event = "notification.claim_failed", error = %e);
                    Vec::new()
                }
            };
            // The outcomes of a claim are recorded together: one write per claim instead of
            // one per notice, so a burst of notices does not queue for SQLite's write lock
            // against the submissions. A crash before the record sends the claim's notices
            // again when their lease runs out (at most CLAIM repeats).
            let mut outcomes = Vec::with_capacity(claimed.len());
            for n in &claimed {
                let return_path = format!(
                    "{}-notices@{}",
                    self.settings.bounce_prefix, self.settings.list_domain
                );
                let outcome = match self.sign(self.notice(n)).await {
                    Ok(notice) => {
                        let _in_flight = self.pacing.admit(domain_of(&n.to_address)).await;
                        self.transport
                            .send(&format!("n{}", n.id), &return_path, &n.to_address, notice)
                            .await
                    }
                    Err(outcome) => outcome,
                };
                outcomes.push((n.id, self.attempt(outcome, n.attempts, n.created_at)));
            }
            if let Err(e) = self.store.finish_notifications(&outcomes).await {
                tracing::error!(event = "notification.record_failed", notices = outcomes.len(), error = %e);
            }
            let pause = if claimed.is_empty() {
                self.settings.idle_poll
            } else {
                Duration::ZERO
            };
            if idle(&mut stop, pause).await {
                return;
            }
        }
    }

    /// A notification as a plain-text message.
    fn notice(&self, n: &ClaimedNotification) -> Vec<u8> {
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        let body = n.body.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "From: verteiler <no-reply@{domain}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
             Date: {date}\r\nMessage-ID: <n{id}@{domain}>\r\nAuto-Submitted: auto-generated\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            domain = self.settings.list_domain,
            to = n.to_address,
            subject = header_text(&n.subject),
            id = n.id,
        )
        .into_bytes()
    }
}

/// Exponential backoff with ±20 % jitter, so retries of one outage do not arrive together.
/// How temporary failures are retried: the first wait, doubling up to `max`, until the item is
/// `max_age` old.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub first: Duration,
    pub max: Duration,
    pub max_age: Duration,
}

impl Retry {
    /// What the store records for an outcome of an item tried `attempts` times.
    pub(crate) fn attempt(self, outcome: Outcome, attempts: u32, created_at: i64) -> Attempt {
        match outcome {
            Outcome::Sent => Attempt::Sent,
            Outcome::Permanent(error) => Attempt::Failed { error },
            Outcome::Temporary(error) => {
                let now = now_ms();
                if now - created_at >= self.max_age.as_millis() as i64 {
                    Attempt::Failed {
                        error: format!("{error} (gave up after {attempts} attempts)"),
                    }
                } else {
                    Attempt::Retry {
                        at: now + backoff_ms(attempts, self.first, self.max),
                        error,
                    }
                }
            }
        }
    }
}

fn backoff_ms(attempts: u32, first: Duration, max: Duration) -> i64 {
    let first = first.as_millis().min(i64::MAX as u128) as i64;
    let max = max.as_millis().min(i64::MAX as u128) as i64;
    let base = first
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(20))
        .min(max);
    let jitter = rand::thread_rng().gen_range(-base / 5..=base / 5);
    base + jitter
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let (first, max) = (Duration::from_secs(60), Duration::from_secs(4 * 3600));
        let one = backoff_ms(1, first, max);
        assert!((48_000..=72_000).contains(&one), "{one}");
        let third = backoff_ms(3, first, max);
        assert!((192_000..=288_000).contains(&third), "{third}");
        let late = backoff_ms(40, first, max);
        assert!(late <= 4 * 3_600_000 * 6 / 5, "{late}");
    }

    #[test]
    fn backoff_follows_the_configured_first_wait_and_cap() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(4));
        let one = backoff_ms(1, first, max);
        assert!((800..=1_200).contains(&one), "{one}");
        let late = backoff_ms(10, first, max);
        assert!((3_200..=4_800).contains(&late), "{late}");
    }
}
