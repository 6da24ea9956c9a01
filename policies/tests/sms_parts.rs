//! Properties of SMS segmentation over random texts of GSM characters, extension characters,
//! umlauts and emoji: the parts are the text, each fits a concatenated part, and the count is
//! the number of parts.

use proptest::prelude::*;
use verteiler_policies::{decode_gsm_unpacked, encode_gsm_unpacked, SmsEncoding, SmsText};

fn texts() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec!['a', 'Z', ' ', '.', '7', 'ä', 'ß', '\n']),
            1 => prop::sample::select(vec!['€', '^', '{', '|', '\u{0C}']),
            1 => prop::sample::select(vec!['á', 'ж', '👍', '`']),
        ],
        0..500,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn the_parts_are_the_text_and_each_fits(text in texts()) {
        let sms = SmsText::new(&text);
        let parts = sms.parts();
        prop_assert_eq!(parts.concat(), text.clone());
        prop_assert_eq!(sms.segments() as usize, parts.len());
        if parts.len() > 1 {
            let limit = match sms.encoding() {
                SmsEncoding::Gsm7 => 153,
                SmsEncoding::Ucs2 => 67,
            };
            for part in &parts {
                // A part measured in the message's encoding (a GSM part alone is still GSM).
                let units = match sms.encoding() {
                    SmsEncoding::Gsm7 => SmsText::new(part).units(),
                    SmsEncoding::Ucs2 => part.encode_utf16().count(),
                };
                prop_assert!(units <= limit, "{} units in {:?}", units, part);
                prop_assert!(!part.is_empty());
            }
        }
        // What goes on the wire: a GSM part's septets are its units and read back as the part.
        if sms.encoding() == SmsEncoding::Gsm7 {
            for part in &parts {
                let septets = encode_gsm_unpacked(part);
                prop_assert!(septets.is_some(), "{:?}", part);
                let septets = septets.unwrap_or_default();
                prop_assert_eq!(septets.len(), SmsText::new(part).units());
                prop_assert_eq!(&decode_gsm_unpacked(&septets), part);
            }
        } else {
            prop_assert!(encode_gsm_unpacked(&text).is_none());
        }
    }
}
