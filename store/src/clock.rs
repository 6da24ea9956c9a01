use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds: the one timestamp format of every table (see the migrations).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
