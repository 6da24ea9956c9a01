use std::time::{SystemTime, UNIX_EPOCH};

/// An hour in milliseconds: the period of the volume counters.
pub const HOUR_MS: i64 = 3_600_000;

/// Unix time in milliseconds: the one timestamp format of every table (see the migrations).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The calendar month (UTC) of a timestamp as `YYYYMM`: the period of SMS budgets.
pub fn month_of(ms: i64) -> i64 {
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), month and year only.
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    year * 100 + month
}

#[cfg(test)]
mod tests {
    use super::month_of;

    #[test]
    fn months_turn_at_midnight_utc() {
        // 2026-12-01T00:00:00Z and the millisecond before it.
        assert_eq!(month_of(1_796_083_200_000), 202612);
        assert_eq!(month_of(1_796_083_200_000 - 1), 202611);
        assert_eq!(month_of(0), 197001);
        // 2024-02-29T12:00:00Z, a leap day.
        assert_eq!(month_of(1_709_208_000_000), 202402);
        assert_eq!(month_of(1_709_251_200_000), 202403);
    }
}
