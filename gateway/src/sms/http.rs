//! The `http` SMS provider: one JSON POST per text to the provider's API, with a bearer token.
//!
//! Providers differ in field names, so the request's fields are configured; our outbox id goes
//! along as the reference the provider echoes in its delivery receipts (the portal's webhook).
//! The answer decides the outcome: 2xx taken; 408, 429 and 5xx (and no answer at all) are
//! temporary, retried with backoff; any other 4xx is permanent — the request itself is wrong
//! and sending it again would not help.

use super::{OutgoingText, SmsProvider, Submitted};
use crate::delivery::Outcome;
use std::time::Duration;

/// Where and how texts are posted.
#[derive(Clone)]
pub struct HttpSettings {
    pub url: String,
    /// Sent as `Authorization: Bearer …`; never logged.
    pub token: Option<String>,
    pub to_field: String,
    pub text_field: String,
    pub reference_field: String,
    /// The answer's field holding the provider's id of the text, which receipts may name.
    pub id_field: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("to_field", &self.to_field)
            .field("text_field", &self.text_field)
            .field("reference_field", &self.reference_field)
            .field("id_field", &self.id_field)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HttpSettings {
    pub fn new(url: &str) -> HttpSettings {
        HttpSettings {
            url: url.to_string(),
            token: None,
            to_field: "to".into(),
            text_field: "text".into(),
            reference_field: "reference".into(),
            id_field: "id".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpProvider {
    client: reqwest::Client,
    settings: HttpSettings,
}

impl HttpProvider {
    pub fn new(settings: HttpSettings) -> Result<HttpProvider, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("verteiler/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpProvider { client, settings })
    }
}

/// What an answer's status means for the text.
pub fn outcome_of(status: reqwest::StatusCode, body: &str) -> Outcome {
    let detail = || {
        let body: String = body.chars().take(200).collect();
        format!("the SMS provider answered {status}: {}", body.trim())
    };
    if status.is_success() {
        Outcome::Sent
    } else if status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Outcome::Temporary(detail())
    } else {
        Outcome::Permanent(detail())
    }
}

/// The provider's id of the text in its answer, if it gave one (a string or a number).
fn provider_id(answer: &str, field: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(answer).ok()?;
    match json.get(field)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl SmsProvider for HttpProvider {
    async fn submit(&self, text: &OutgoingText) -> Submitted {
        let s = &self.settings;
        let mut body = serde_json::Map::new();
        body.insert(s.to_field.clone(), text.to.clone().into());
        body.insert(s.text_field.clone(), text.text.text().into());
        body.insert(s.reference_field.clone(), text.id.to_string().into());
        let mut request = self.client.post(&s.url).json(&body);
        if let Some(token) = &s.token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let answer = response.text().await.unwrap_or_default();
                let outcome = outcome_of(status, &answer);
                let provider_ids = match outcome {
                    Outcome::Sent => provider_id(&answer, &s.id_field).into_iter().collect(),
                    _ => Vec::new(),
                };
                Submitted {
                    outcome,
                    provider_ids,
                }
            }
            // No answer: the provider may be down or the network gone; the text waits.
            // The URL stays out of the message: a provider's key may sit in its query.
            Err(e) => Outcome::Temporary(format!(
                "the SMS provider did not answer: {}",
                e.without_url()
            ))
            .into(),
        }
    }
    fn window(&self) -> usize {
        // A few requests at once hide the round trip without flooding the provider's API.
        4
    }
}
