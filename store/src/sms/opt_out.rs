//! Texts coming back: delivery receipts, and inbound texts. A "STOP" (or "STOPP",
//! "ABMELDEN") from a number ends texts to it for every kind of mail but statutory notice, and
//! is confirmed once. Numbers are compared in E.164.

use crate::{now_ms, Store, StoreError};
use verteiler_policies::PhoneNumber;

/// The words that end texts to a number (compared case-insensitively, alone in the message).
const STOP_WORDS: [&str; 3] = ["STOP", "STOPP", "ABMELDEN"];

/// The confirmation sent once per number: one bilingual text, German first, as the
/// organisation writes (the catalogue holds the same text in every language).
fn confirmation() -> &'static str {
    verteiler_texts::text(verteiler_policies::Lang::De, "sms_stop.confirmation")
}

/// What an inbound text did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// The number is opted out now; a confirmation is on its way.
    OptedOut { number: String },
    /// It was already; nothing is sent again.
    AlreadyOptedOut { number: String },
    /// Not a stop word: nothing to do (replies are not read by anybody).
    Ignored,
    /// The sender's number cannot be read as a phone number.
    BadNumber(String),
}

/// Whether `text` is a stop word and nothing else ("stop", "Stopp!", " ABMELDEN ").
pub fn is_stop(text: &str) -> bool {
    let word = text
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation())
        .to_uppercase();
    STOP_WORDS.contains(&word.as_str())
}

/// An SMSC gives numbers as digits with the country code and no `+` ("4915123456789").
fn e164(from: &str) -> Result<String, String> {
    let trimmed = from.trim();
    let international = if trimmed.starts_with('+') || trimmed.starts_with('0') {
        trimmed.to_string()
    } else {
        format!("+{trimmed}")
    };
    PhoneNumber::parse(&international, "DE")
        .map(|n| n.as_str().to_string())
        .map_err(|e| e.reason)
}

impl Store {
    /// Handles a text received from `from` through `source` (`smpp`, `http`, `cli`).
    pub async fn receive_text(
        &self,
        from: &str,
        text: &str,
        source: &str,
    ) -> Result<Inbound, StoreError> {
        if !is_stop(text) {
            return Ok(Inbound::Ignored);
        }
        let number = match e164(from) {
            Ok(n) => n,
            Err(reason) => return Ok(Inbound::BadNumber(reason)),
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO sms_opt_outs (number, at, source) VALUES ($1, $2, $3) \
             ON CONFLICT (number) DO NOTHING",
        )
        .bind(&number)
        .bind(now)
        .bind(source)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 0 {
            tx.rollback().await?;
            return Ok(Inbound::AlreadyOptedOut { number });
        }
        sqlx::query(
            "INSERT INTO sms_outbox (to_number, kind, body, created_at) \
             VALUES ($1, 'sms.opted_out', $2, $3)",
        )
        .bind(&number)
        .bind(confirmation())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[crate::AuditEvent::new("sms.opted_out", source.to_string())
                .details(serde_json::json!({ "number_hash": self.value_hash(&number) }))],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Inbound::OptedOut { number })
    }

    /// Which of `numbers` (E.164) answered STOP.
    pub(crate) async fn opted_out(
        &self,
        numbers: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut out = std::collections::HashSet::new();
        for chunk in numbers.chunks(500) {
            let sql = format!(
                "SELECT number FROM sms_opt_outs WHERE number IN ({})",
                crate::db::sql::Placeholders::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for n in chunk {
                query = query.bind(n.clone());
            }
            out.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stop_word_alone_stops() {
        for yes in ["STOP", "stop", " Stopp! ", "ABMELDEN", "abmelden."] {
            assert!(is_stop(yes), "{yes}");
        }
        for no in ["Stop the war", "bitte stop", "", "STOPPEN"] {
            assert!(!is_stop(no), "{no}");
        }
    }

    #[test]
    fn numbers_from_the_network_become_e164() {
        assert_eq!(e164("4915123456789").as_deref(), Ok("+4915123456789"));
        assert_eq!(e164("+49 151 23456789").as_deref(), Ok("+4915123456789"));
        assert_eq!(e164("0151 23456789").as_deref(), Ok("+4915123456789"));
        assert!(e164("hallo").is_err());
    }
}
