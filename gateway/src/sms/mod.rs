//! Text messages out: the SMS loop claims due texts from the store's SMS outbox (list texts
//! written by fan-out, the portal's phone codes), hands each to the configured provider and
//! records the outcome, retrying temporary failures with the delivery's backoff.
//!
//! Providers sit behind [`SmsProvider`]. The `outbox` provider (the demo's default) writes one
//! JSON file per text; the SMPP and HTTP providers implement the same trait.

mod http;
pub mod smpp;

pub use http::{outcome_of, HttpProvider, HttpSettings};
pub use smpp::{SmppProvider, SmppSettings, SmscEvent, SmscEvents};

use crate::delivery::engine::{idle, Retry};
use crate::delivery::transport::write_atomically;
use crate::delivery::Outcome;
use futures::StreamExt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use verteiler_policies::SmsText;
use verteiler_store::{now_ms, ClaimedText, Store};

/// One text on its way to a provider, measured for the network.
#[derive(Debug, Clone)]
pub struct OutgoingText {
    /// The outbox row's id: the provider's reference for receipts.
    pub id: i64,
    /// E.164.
    pub to: String,
    pub kind: String,
    pub text: SmsText,
    pub send_id: Option<i64>,
}

impl OutgoingText {
    pub fn from_claimed(c: &ClaimedText) -> OutgoingText {
        OutgoingText {
            id: c.id,
            to: c.to_number.clone(),
            kind: c.kind.clone(),
            text: SmsText::new(&c.body),
            send_id: c.send_id,
        }
    }
}

/// What became of a text handed to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub outcome: Outcome,
    /// The provider's ids of the text's parts, which its delivery receipts name.
    pub provider_ids: Vec<String>,
}

impl From<Outcome> for Submitted {
    fn from(outcome: Outcome) -> Submitted {
        Submitted {
            outcome,
            provider_ids: Vec::new(),
        }
    }
}

/// Something that takes text messages for delivery.
pub trait SmsProvider: Send + Sync + 'static {
    /// Hands one text over; `Outcome::Sent` once the provider has taken it.
    fn submit(&self, text: &OutgoingText) -> impl Future<Output = Submitted> + Send;

    /// How many texts may be on their way to the provider at once.
    fn window(&self) -> usize {
        1
    }
}

/// Writes each text as `{id}.json` into a directory: what a provider would have been given.
#[derive(Debug, Clone)]
pub struct SmsOutbox {
    dir: PathBuf,
}

impl SmsOutbox {
    pub fn new(dir: impl Into<PathBuf>) -> SmsOutbox {
        SmsOutbox { dir: dir.into() }
    }
}

impl SmsProvider for SmsOutbox {
    async fn submit(&self, text: &OutgoingText) -> Submitted {
        let json = serde_json::json!({
            "id": text.id,
            "to": text.to,
            "kind": text.kind,
            "send_id": text.send_id,
            "text": text.text.text(),
            "encoding": text.text.encoding().as_str(),
            "segments": text.text.segments(),
            "parts": text.text.parts(),
        });
        let body = match serde_json::to_vec_pretty(&json) {
            Ok(body) => body,
            Err(e) => return Outcome::Permanent(format!("the text cannot be written: {e}")).into(),
        };
        let dir = self.dir.clone();
        let file = format!("{}.json", text.id);
        let written =
            tokio::task::spawn_blocking(move || write_atomically(&dir, &file, b"", &body)).await;
        match written {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(e)) => Outcome::Temporary(format!("writing to the SMS outbox failed: {e}")),
            Err(e) => Outcome::Temporary(format!("the SMS outbox writer stopped: {e}")),
        }
        .into()
    }
}

/// How the SMS loop paces itself and retries.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    pub lease: Duration,
    pub idle_poll: Duration,
    pub retry_first: Duration,
    pub retry_max: Duration,
    /// A text older than this fails instead of being retried once more.
    pub max_age: Duration,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            retry_first: Duration::from_secs(60),
            retry_max: Duration::from_secs(3_600),
            // A text is news: after a day it is not worth sending any more.
            max_age: Duration::from_secs(86_400),
        }
    }
}

/// A receipt no text claimed is kept this long (its text's ids may still be on their way)…
const UNMATCHED_KEPT: Duration = Duration::from_secs(7 * 86_400);
/// … and looked for this often, when the loop is idle.
const UNMATCHED_PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// Texts claimed per round trip, at least: a provider with a wide window gets four windows'
/// worth, so the window stays full while a batch is recorded.
const CLAIM: usize = 50;

/// Runs the SMS loop until `stop` turns true.
pub async fn run_texts<P: SmsProvider>(
    store: Store,
    provider: P,
    settings: SmsSettings,
    mut stop: watch::Receiver<bool>,
) {
    let retry = Retry {
        first: settings.retry_first,
        max: settings.retry_max,
        max_age: settings.max_age,
    };
    let window = provider.window().max(1);
    let claim = CLAIM.max(window * 4);
    let mut pruned_at = tokio::time::Instant::now();
    loop {
        let lease = settings.lease.as_millis() as i64;
        let claimed = match store.claim_texts(now_ms(), lease, claim).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(event = "sms.claim_failed", error = %e);
                Vec::new()
            }
        };
        let texts: Vec<OutgoingText> = claimed.iter().map(OutgoingText::from_claimed).collect();
        let segments: Vec<u32> = texts.iter().map(|t| t.text.segments()).collect();
        // The batch must be recorded before its lease runs out, or another claim would send
        // its texts again: what is not handed over by then waits for the next round.
        let deadline = tokio::time::Instant::now() + settings.lease.mul_f32(0.75);
        let submitted = submit_all(&provider, texts, window, deadline).await;
        let mut outcomes = Vec::with_capacity(submitted.len());
        let mut provider_ids = Vec::new();
        for ((c, s), segments) in claimed.iter().zip(submitted).zip(segments) {
            count_text(&s.outcome, segments);
            // Only a text sent whole has parts whose receipts speak for it; the parts a failed
            // attempt got through are sent again with the text.
            if s.outcome == Outcome::Sent {
                provider_ids.extend(s.provider_ids.into_iter().map(|id| (c.id, id)));
            }
            outcomes.push((c.id, retry.attempt(s.outcome, c.attempts, c.created_at)));
        }
        if let Err(e) = store.finish_texts(&outcomes, &provider_ids).await {
            // Unrecorded texts come back when their lease runs out.
            tracing::error!(event = "sms.record_failed", texts = outcomes.len(), error = %e);
        }
        let pause = if claimed.is_empty() {
            settings.idle_poll
        } else {
            Duration::ZERO
        };
        if claimed.is_empty() && pruned_at.elapsed() > UNMATCHED_PRUNE_EVERY {
            pruned_at = tokio::time::Instant::now();
            let before = now_ms() - UNMATCHED_KEPT.as_millis() as i64;
            match store.prune_unmatched_receipts(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(event = "sms.unmatched_receipts_pruned", receipts = n),
                Err(e) => tracing::warn!(event = "sms.prune_failed", error = %e),
            }
        }
        if idle(&mut stop, pause).await {
            return;
        }
    }
}

/// Counts a text handed over (or not) and, once sent, its parts: what the provider bills.
fn count_text(outcome: &Outcome, segments: u32) {
    let label = match outcome {
        Outcome::Sent => "sent",
        Outcome::Temporary(_) => "deferred",
        Outcome::Permanent(_) => "failed",
    };
    metrics::counter!("verteiler_sms_texts_total", "outcome" => label).increment(1);
    if *outcome == Outcome::Sent {
        metrics::counter!("verteiler_sms_parts_sent_total").increment(segments.into());
    }
}

/// Submits the texts with up to `window` on their way at once; the results in the texts' order.
/// A text not handed over by `deadline` is a temporary failure.
async fn submit_all<P: SmsProvider>(
    provider: &P,
    texts: Vec<OutgoingText>,
    window: usize,
    deadline: tokio::time::Instant,
) -> Vec<Submitted> {
    let late = || {
        Submitted::from(Outcome::Temporary(
            "not handed over within the lease".into(),
        ))
    };
    let mut results: Vec<Submitted> = vec![late(); texts.len()];
    let mut pending = futures::stream::FuturesUnordered::new();
    let mut queue = texts.into_iter().enumerate();
    loop {
        while pending.len() < window {
            let Some((at, text)) = queue.next() else {
                break;
            };
            pending.push(submit_one(provider, at, text));
        }
        match tokio::time::timeout_at(deadline, pending.next()).await {
            Ok(Some((at, submitted))) => results[at] = submitted,
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    event = "sms.batch_late",
                    unfinished = pending.len() + queue.len()
                );
                break;
            }
        }
    }
    results
}

async fn submit_one<P: SmsProvider>(
    provider: &P,
    at: usize,
    text: OutgoingText,
) -> (usize, Submitted) {
    (at, provider.submit(&text).await)
}
