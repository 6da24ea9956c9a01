//! Every metric family `/metrics` serves, with its help line (the README's "Metrics" section
//! says the same for operators). The counters themselves are incremented in the library
//! crates; naming them all here keeps the vocabulary in one place.

use metrics::{describe_counter, describe_gauge, Unit};

/// Counters: what happened since the process started.
pub const COUNTERS: &[(&str, &str)] = &[
    (
        "verteiler_smtp_sessions_total",
        "SMTP connections accepted on the submission listeners.",
    ),
    (
        "verteiler_smtp_refusals_total",
        "SMTP replies 4xx/5xx, by reply code and enhanced status code.",
    ),
    (
        "verteiler_decisions_total",
        "Stored policy decisions per addressed list, by outcome (release, hold, reject).",
    ),
    (
        "verteiler_decision_reasons_total",
        "Reasons given with holds and rejections, by outcome and reason code.",
    ),
    (
        "verteiler_intake_refusals_total",
        "Messages refused before any list was asked (unfit, unreadable, from_not_yours) or throttled.",
    ),
    (
        "verteiler_delivery_attempts_total",
        "Delivery attempts of copies, by outcome (sent, deferred, bounced, failed).",
    ),
    (
        "verteiler_sms_texts_total",
        "Texts handed to the SMS provider, by outcome (sent, deferred, failed).",
    ),
    (
        "verteiler_sms_parts_sent_total",
        "SMS parts (segments) of texts the provider took.",
    ),
    (
        "verteiler_sms_receipts_total",
        "SMS delivery receipts, by status (delivered, failed).",
    ),
];

/// Gauges: where things stand at the scrape.
pub const GAUGES: &[(&str, &str)] = &[
    (
        "verteiler_copies_queued",
        "Queued copies, by stage (due, deferred, in_flight).",
    ),
    (
        "verteiler_queue_oldest_copy_age_seconds",
        "Age of the oldest queued copy; 0 when none waits.",
    ),
    (
        "verteiler_sends",
        "Sends by state (scheduled, sending, held).",
    ),
    (
        "verteiler_approvals_waiting",
        "Held sends waiting for approvals or an admin.",
    ),
    (
        "verteiler_approvals_oldest_age_seconds",
        "Age of the oldest held send; 0 when none is held.",
    ),
    (
        "verteiler_breaker_holds",
        "Held sends the circuit breaker holds (an admin releases them).",
    ),
    (
        "verteiler_breaker_recipients_last_hour",
        "Recipients of the organisation's sends in the current and the previous hour.",
    ),
    (
        "verteiler_breaker_limit_recipients_per_hour",
        "The circuit breaker's limit (limits.org_recipients_per_hour).",
    ),
    (
        "verteiler_breaker_level_ratio",
        "Recipients of the last hour over the breaker's limit; at 1 new sends are held.",
    ),
    (
        "verteiler_sms_parts_this_month",
        "SMS parts the units' sends produced this calendar month (UTC).",
    ),
    (
        "verteiler_sms_spent_this_month_cents",
        "SMS parts this month times sms.cost_per_segment_cents.",
    ),
    (
        "verteiler_sms_texts_waiting",
        "Texts in the SMS outbox not yet handed to the provider.",
    ),
    (
        "verteiler_delivery_paused",
        "The kill switch: 1 while all delivery is paused.",
    ),
    (
        "verteiler_db_pool_connections",
        "Database pool connections, by state (idle, in_use).",
    ),
    (
        "verteiler_db_pool_max_connections",
        "The pool's size limit (database.max_connections).",
    ),
];

/// Gives every family its help line (and the unit where the name carries one).
pub fn describe() {
    for &(name, help) in COUNTERS {
        describe_counter!(name, Unit::Count, help);
    }
    for &(name, help) in GAUGES {
        let unit = if name.ends_with("_seconds") {
            Unit::Seconds
        } else {
            Unit::Count
        };
        describe_gauge!(name, unit, help);
    }
}

/// Registers the counters whose labels are a small fixed set at 0, so a dashboard's rate()
/// has a series from the first scrape on instead of one appearing with the first event.
pub fn start_at_zero() {
    use metrics::counter;
    counter!("verteiler_smtp_sessions_total").absolute(0);
    counter!("verteiler_sms_parts_sent_total").absolute(0);
    for outcome in ["release", "hold", "reject"] {
        counter!("verteiler_decisions_total", "outcome" => outcome).absolute(0);
    }
    for outcome in ["sent", "deferred", "bounced", "failed"] {
        counter!("verteiler_delivery_attempts_total", "outcome" => outcome).absolute(0);
    }
    for outcome in ["sent", "deferred", "failed"] {
        counter!("verteiler_sms_texts_total", "outcome" => outcome).absolute(0);
    }
    for status in ["delivered", "failed"] {
        counter!("verteiler_sms_receipts_total", "status" => status).absolute(0);
    }
    for reason in ["unfit", "unreadable", "from_not_yours", "throttled"] {
        counter!("verteiler_intake_refusals_total", "reason" => reason).absolute(0);
    }
}
