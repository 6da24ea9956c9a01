//! The languages verteiler speaks, and how figures are written in each.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A language verteiler explains itself in. German is the organisation's language and the
/// default; English serves members who chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    /// Reads a language tag such as `de`, `en-GB` or `EN`; anything else is German.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::De
        }
    }

    /// The tag as files, links and the member record name it: `de`, `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    fn thousands_separator(self) -> char {
        match self {
            Lang::De => '.',
            Lang::En => ',',
        }
    }

    fn decimal_separator(self) -> char {
        match self {
            Lang::De => ',',
            Lang::En => '.',
        }
    }
}

impl FromStr for Lang {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Lang::from_tag(s))
    }
}

/// Writes a count with the language's thousands separator: 365.120 / 365,120.
pub fn format_count(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(lang.thousands_separator());
        }
        out.push(digit);
    }
    out
}

/// Which way a byte figure is rounded: a size over a limit is rounded up and the limit down,
/// so the sentence can never show the two as equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Up,
    Down,
}

/// An amount of euro cents the way the language writes money: `1.234,50 €`, `€1,234.50`.
pub fn format_euros(cents: u64, lang: Lang) -> String {
    let whole = format_count(cents / 100, lang);
    let sep = lang.decimal_separator();
    let fraction = cents % 100;
    match lang {
        Lang::De => format!("{whole}{sep}{fraction:02} €"),
        Lang::En => format!("€{whole}{sep}{fraction:02}"),
    }
}

/// Writes a byte size in decimal units as people read them: 812 Bytes, 640 kB, 12,5 MB.
pub fn format_bytes(bytes: u64, rounding: Rounding, lang: Lang) -> String {
    let divide = |n: u64, d: u64| match rounding {
        Rounding::Up => n.div_ceil(d),
        Rounding::Down => n / d,
    };
    if bytes >= 1_000_000 {
        let tenths = divide(bytes, 100_000);
        let (whole, fraction) = (tenths / 10, tenths % 10);
        let whole = format_count(whole, lang);
        if fraction == 0 {
            format!("{whole} MB")
        } else {
            format!("{whole}{}{fraction} MB", lang.decimal_separator())
        }
    } else if bytes >= 1_000 {
        format!("{} kB", divide(bytes, 1_000))
    } else {
        let unit = match lang {
            Lang::De => "Bytes",
            Lang::En => "bytes",
        };
        format!("{bytes} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_the_separator_of_the_language() {
        assert_eq!(format_count(365_120, Lang::De), "365.120");
        assert_eq!(format_count(365_120, Lang::En), "365,120");
        assert_eq!(format_count(1_493, Lang::De), "1.493");
        assert_eq!(format_count(212, Lang::De), "212");
        assert_eq!(format_count(0, Lang::En), "0");
        assert_eq!(format_count(1_000_000, Lang::En), "1,000,000");
    }

    #[test]
    fn money_is_written_the_way_each_language_writes_it() {
        assert_eq!(format_euros(123_450, Lang::De), "1.234,50 €");
        assert_eq!(format_euros(123_450, Lang::En), "€1,234.50");
        assert_eq!(format_euros(9, Lang::De), "0,09 €");
    }

    #[test]
    fn sizes_over_a_limit_never_look_equal_to_it() {
        assert_eq!(format_bytes(10_000_001, Rounding::Up, Lang::De), "10,1 MB");
        assert_eq!(format_bytes(10_000_001, Rounding::Down, Lang::De), "10 MB");
        assert_eq!(
            format_bytes(12_500_000, Rounding::Down, Lang::En),
            "12.5 MB"
        );
        assert_eq!(
            format_bytes(1_234_000_000, Rounding::Down, Lang::De),
            "1.234 MB"
        );
        assert_eq!(format_bytes(640_001, Rounding::Up, Lang::En), "641 kB");
        assert_eq!(format_bytes(812, Rounding::Up, Lang::De), "812 Bytes");
    }

    #[test]
    fn language_tags_fall_back_to_german() {
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("EN"), Lang::En);
        assert_eq!(Lang::from_tag("de_DE"), Lang::De);
        assert_eq!(Lang::from_tag("fr"), Lang::De);
        assert_eq!(Lang::default(), Lang::De);
    }
}
