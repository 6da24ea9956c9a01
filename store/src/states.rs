//! Where a stored thing stands: the closed sets of the `state` columns (and the like) as types.
//!
//! Each set is spelled exactly as the migrations' `CHECK` constraints allow. A row is parsed
//! once, where it is read; a value the set does not know is an error naming the column and the
//! value ([`parse`]), never a default — an unknown state must not pass for a known one.
//! The SQL keeps the literal values: that is the mapping between the two.

use sqlx::Row;
use verteiler_policies::text_enum;
pub use verteiler_policies::SubscriptionState;

text_enum!(
    /// Where a send (one list's share of a submission) stands: `sends.state`.
    SendState, "send state" {
        /// Refused by the policy engine; nothing goes out.
        Rejected = "rejected",
        /// Waits for approval (or for the circuit breaker to be lifted).
        Held = "held",
        /// Released; in its undo window or waiting to be expanded.
        Scheduled = "scheduled",
        /// Expanded (or being expanded) into copies that are being handed over.
        Sending = "sending",
        /// Every copy handed over or given up on.
        Complete = "complete",
        /// Stopped after release; copies not yet handed over were cancelled.
        Cancelled = "cancelled",
        /// Stopped by its sender (or their erasure) while held.
        Withdrawn = "withdrawn",
        /// Held past its approval window.
        Expired = "expired",
    }
);

text_enum!(
    /// Where one copy of a send stands: `deliveries.state`.
    DeliveryState, "delivery state" {
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        Bounced = "bounced",
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// A provider's verdict on a text or one of its parts: `sms_outbox.receipt`,
    /// `sms_parts.receipt`.
    TextReceipt, "text receipt" {
        Delivered = "delivered",
        Failed = "failed",
    }
);

text_enum!(
    /// What the store still holds of a submitted message: `submissions.raw_state`.
    RawState, "raw state" {
        Whole = "whole",
        /// Every list refused it: its header block only.
        Headers = "headers",
        /// The retention period of its finished sends ran out.
        Purged = "purged",
        /// Its sender was erased.
        Erased = "erased",
    }
);

impl SendState {
    /// Copies are being handed over or about to be: released and not yet finished.
    pub fn running(self) -> bool {
        matches!(self, SendState::Scheduled | SendState::Sending)
    }

    /// Running or waiting for approval: its sender may still stop it.
    pub fn stoppable(self) -> bool {
        self.running() || self == SendState::Held
    }
}

/// Where a send stands that an operation expected to find held: its state, or why there is
/// none to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(into = "&'static str")]
pub enum StateNow {
    Is(SendState),
    /// The send no longer exists.
    Gone,
    /// Somebody else decided on it between the look and the change.
    DecidedMeanwhile,
}

impl StateNow {
    pub fn as_str(self) -> &'static str {
        match self {
            StateNow::Is(state) => state.as_str(),
            StateNow::Gone => "gone",
            StateNow::DecidedMeanwhile => "decided meanwhile",
        }
    }
}

impl From<SendState> for StateNow {
    fn from(state: SendState) -> Self {
        StateNow::Is(state)
    }
}

impl From<StateNow> for &'static str {
    fn from(state: StateNow) -> Self {
        state.as_str()
    }
}

impl std::fmt::Display for StateNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of the text column `column` of `row` as one of a closed set; a value the set
/// does not know is a decode error naming the column and the value.
pub(crate) fn parse<T>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = verteiler_policies::UnknownValue>,
{
    let text: String = row.try_get(column)?;
    text_as(&text, column)
}

/// `text`, read from `column`, as one of a closed set (see [`parse`]).
pub(crate) fn text_as<T>(text: &str, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = verteiler_policies::UnknownValue>,
{
    text.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

/// Like [`parse`], for a column that may be `NULL`.
pub(crate) fn parse_optional<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error>
where
    T: std::str::FromStr<Err = verteiler_policies::UnknownValue>,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| text_as(&t, column)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Debug;
    use std::str::FromStr;

    /// The values `CHECK (column IN (…))` in `sql` allows.
    fn allowed(sql: &str, column: &str) -> Vec<String> {
        let start = sql
            .find(&format!("CHECK ({column} IN ("))
            .unwrap_or_else(|| panic!("no CHECK on {column}"));
        let rest = &sql[start..];
        let list = &rest[rest.find("IN (").unwrap() + 4..rest.find(')').unwrap()];
        list.split(',')
            .map(|v| v.trim().trim_matches('\'').to_string())
            .collect()
    }

    /// Every value the constraint allows parses, prints back the same, and the set has no
    /// value more: a state added to a migration but not here (or the other way) fails.
    fn matches_constraint<T>(all: &[T], sql: &str, column: &str)
    where
        T: FromStr<Err = verteiler_policies::UnknownValue> + Copy + Debug + PartialEq,
        T: Into<&'static str>,
    {
        let allowed = allowed(sql, column);
        for value in &allowed {
            let parsed: T = value.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.into(), value.as_str());
        }
        let ours: Vec<&str> = all.iter().map(|v| (*v).into()).collect();
        assert_eq!(
            ours, allowed,
            "{column}: the enum and the constraint differ"
        );
    }

    #[test]
    fn every_state_the_migrations_allow_round_trips() {
        for sql in [
            include_str!("../../migrations/sqlite/20261123000004_submissions.sql"),
            include_str!("../../migrations/postgres/20261123000004_submissions.sql"),
        ] {
            matches_constraint(SendState::ALL, sql, "state");
        }
        for sql in [
            include_str!("../../migrations/sqlite/20261123000007_deliveries.sql"),
            include_str!("../../migrations/postgres/20261123000007_deliveries.sql"),
        ] {
            matches_constraint(DeliveryState::ALL, sql, "state");
        }
        for sql in [
            include_str!("../../migrations/sqlite/20261123000002_audiences.sql"),
            include_str!("../../migrations/postgres/20261123000002_audiences.sql"),
        ] {
            matches_constraint(SubscriptionState::ALL, sql, "state");
        }
        for sql in [
            include_str!("../../migrations/sqlite/20261123000038_submission_raw_state.sql"),
            include_str!("../../migrations/postgres/20261123000038_submission_raw_state.sql"),
        ] {
            matches_constraint(RawState::ALL, sql, "raw_state");
        }
    }

    #[test]
    fn every_receipt_round_trips() {
        assert_eq!(TextReceipt::ALL.len(), 2);
        for r in TextReceipt::ALL {
            assert_eq!(r.as_str().parse::<TextReceipt>().unwrap(), *r);
        }
    }

    #[test]
    fn an_unknown_stored_value_is_an_error_naming_column_and_value() {
        let err = text_as::<SendState>("paused", "state").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("state") && text.contains("\"paused\""),
            "{text}"
        );
    }

    #[test]
    fn running_and_stoppable() {
        assert!(SendState::Sending.running() && SendState::Scheduled.running());
        assert!(!SendState::Held.running() && SendState::Held.stoppable());
        assert!(!SendState::Complete.stoppable());
    }
}
