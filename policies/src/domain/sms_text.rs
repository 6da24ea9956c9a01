//! The shape of a text message: which encoding it needs, how many parts it is sent in, and
//! the parts themselves (for concatenated sending).
//!
//! GSM 03.38's 7-bit alphabet is used whenever every character is in it or in its extension
//! table (the extension characters `^ { } \ [ ~ ] | €` and form feed cost two septets: an
//! escape and the character). Anything else — `á`, `` ` ``, an emoji — makes the whole message
//! UCS-2, counted in UTF-16 units as the networks do. A single part holds 160 septets or 70
//! units; a concatenated part loses room to its header and holds 153 or 67. A part never ends
//! between an escape and its character, nor between the halves of a surrogate pair.

/// GSM 03.38's basic table in code order (the escape, 0x1B, stands as a space and is never
/// matched: it is not a character of any text).
const GSM_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// GSM 03.38's extension table: each is sent as the escape and one more septet.
const GSM_EXTENSION: [char; 10] = ['\u{0C}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

/// The septet that follows the escape for each character of [`GSM_EXTENSION`].
const GSM_EXTENSION_CODES: [u8; 10] = [0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65];

/// Writes a text as GSM 03.38 septets, one per octet (SMPP's unpacked form of data_coding 0),
/// an extension character as the escape and its code; `None` when a character is in neither
/// table (the text needs UCS-2).
pub fn encode_gsm_unpacked(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{1B}' {
            return None;
        }
        if let Some(code) = GSM_BASIC.iter().position(|&b| b == c) {
            septets.push(code as u8);
        } else {
            let at = GSM_EXTENSION.iter().position(|&e| e == c)?;
            septets.extend([0x1B, GSM_EXTENSION_CODES[at]]);
        }
    }
    Some(septets)
}

/// Reads GSM 03.38 septets, one per octet (SMPP's unpacked form of data_coding 0), as a text;
/// a septet outside the tables reads as `?`, an unknown escape as a space (as 03.38 says).
pub fn decode_gsm_unpacked(septets: &[u8]) -> String {
    let mut text = String::with_capacity(septets.len());
    let mut escaped = false;
    for &s in septets {
        let s = s & 0x7F;
        if escaped {
            escaped = false;
            let at = GSM_EXTENSION_CODES.iter().position(|&c| c == s);
            text.push(at.map_or(' ', |i| GSM_EXTENSION[i]));
        } else if s == 0x1B {
            escaped = true;
        } else {
            text.push(GSM_BASIC[s as usize]);
        }
    }
    text
}

/// Marks a cut text. Three dots, not "…", and a hyphen, not a dash, in the renderings: either
/// of those would make the whole message UCS-2 and halve what fits.
const CUT: &str = "...";

/// A rendering of an email for SMS recipients points to the message, it does not replace it:
/// two parts at most. The policy engine counts an emailed send's texts at this size.
pub const SMS_RENDERING_SEGMENTS: u32 = 2;

const GSM_SINGLE: usize = 160;
const GSM_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// How a text message is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// GSM 03.38, 7 bits per character (two for the extension table).
    Gsm7,
    /// UCS-2 (UTF-16 on the wire), 16 bits per unit.
    Ucs2,
}

impl SmsEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "gsm7",
            SmsEncoding::Ucs2 => "ucs2",
        }
    }
}

/// A text message, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsText {
    text: String,
    encoding: SmsEncoding,
    /// Septets (GSM) or UTF-16 units (UCS-2).
    units: usize,
}

/// The cost of one character in the GSM alphabet, or `None` when it is not in it.
fn gsm_septets(c: char) -> Option<usize> {
    if c == '\u{1B}' {
        None
    } else if GSM_BASIC.contains(&c) {
        Some(1)
    } else if GSM_EXTENSION.contains(&c) {
        Some(2)
    } else {
        None
    }
}

impl SmsText {
    pub fn new(text: &str) -> SmsText {
        let gsm: Option<usize> = text.chars().map(gsm_septets).sum();
        let (encoding, units) = match gsm {
            Some(septets) => (SmsEncoding::Gsm7, septets),
            None => (SmsEncoding::Ucs2, text.encode_utf16().count()),
        };
        SmsText {
            text: text.to_string(),
            encoding,
            units,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn encoding(&self) -> SmsEncoding {
        self.encoding
    }

    /// Septets (GSM 7-bit) or UTF-16 units (UCS-2).
    pub fn units(&self) -> usize {
        self.units
    }

    fn limits(&self) -> (usize, usize) {
        match self.encoding {
            SmsEncoding::Gsm7 => (GSM_SINGLE, GSM_PART),
            SmsEncoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
        }
    }

    fn cost(&self, c: char) -> usize {
        match self.encoding {
            SmsEncoding::Gsm7 => gsm_septets(c).unwrap_or(1),
            SmsEncoding::Ucs2 => c.len_utf16(),
        }
    }

    /// The parts it is sent in: one when it fits a single message, else parts of a
    /// concatenated message, none split inside a character.
    pub fn parts(&self) -> Vec<String> {
        let (single, part) = self.limits();
        if self.units <= single {
            return vec![self.text.clone()];
        }
        let mut parts = Vec::new();
        let (mut current, mut used) = (String::new(), 0);
        for c in self.text.chars() {
            let cost = self.cost(c);
            if used + cost > part {
                parts.push(std::mem::take(&mut current));
                used = 0;
            }
            current.push(c);
            used += cost;
        }
        parts.push(current);
        parts
    }

    /// How many messages the networks bill: the number of parts.
    pub fn segments(&self) -> u32 {
        let (single, _) = self.limits();
        if self.units <= single {
            return 1;
        }
        // Counting by packing, not by division: a part cannot end inside a character.
        self.parts().len().min(u32::MAX as usize) as u32
    }

    /// The longest prefix of `text`, cut at a word boundary and ended with [`CUT`], that fits
    /// into `max_segments` parts; the text itself when it fits whole.
    pub fn fitting(text: &str, max_segments: u32) -> SmsText {
        let whole = SmsText::new(text);
        if whole.segments() <= max_segments.max(1) {
            return whole;
        }
        let words: Vec<&str> = text
            .char_indices()
            .filter(|(_, c)| c.is_whitespace())
            .map(|(i, _)| &text[..i])
            .collect();
        // The longest cut at a space that still fits; without one, cut by characters.
        let fits = |prefix: &str| {
            let candidate = SmsText::new(&format!("{}{CUT}", prefix.trim_end()));
            (candidate.segments() <= max_segments.max(1)).then_some(candidate)
        };
        if let Some(found) = words.iter().rev().find_map(|prefix| fits(prefix)) {
            return found;
        }
        let mut best = SmsText::new(CUT);
        for (i, _) in text.char_indices() {
            match fits(&text[..i]) {
                Some(candidate) => best = candidate,
                None => break,
            }
        }
        best
    }
}

/// What an SMS-preferring member receives of a message submitted by email: the list's short
/// name, the subject, the start of the text and the sender, within `max_segments` parts.
pub fn sms_rendering(
    list: &str,
    subject: &str,
    text: &str,
    sender: &str,
    max_segments: u32,
) -> SmsText {
    let signature = format!(" - {sender}");
    let head = format!("[{list}] {subject}: ");
    let body: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let whole = SmsText::new(&format!("{head}{body}{signature}"));
    if whole.segments() <= max_segments.max(1) {
        return whole;
    }
    // Cut the text, never the sender: the reader must know who wrote.
    let mut best = SmsText::new(&format!("{head}{CUT}{signature}"));
    let mut cut_at: Vec<usize> = body
        .char_indices()
        .filter(|(_, c)| *c == ' ')
        .map(|(i, _)| i)
        .collect();
    cut_at.push(body.len());
    for end in cut_at {
        let candidate = SmsText::new(&format!("{head}{}{CUT}{signature}", &body[..end]));
        if candidate.segments() > max_segments.max(1) {
            break;
        }
        best = candidate;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacked_septets_read_back_with_the_extension_table() {
        // "Preis: 5€ {x}" and "STOP" as an SMSC hands them over.
        let septets = [
            0x50, 0x72, 0x65, 0x69, 0x73, 0x3A, 0x20, 0x35, 0x1B, 0x65, 0x20, 0x1B, 0x28, 0x78,
            0x1B, 0x29,
        ];
        assert_eq!(decode_gsm_unpacked(&septets), "Preis: 5€ {x}");
        assert_eq!(decode_gsm_unpacked(b"STOP"), "STOP");
        assert_eq!(decode_gsm_unpacked(&[0x7B, 0x1B]), "ä");
        assert_eq!(encode_gsm_unpacked("Preis: 5€ {x}").unwrap(), septets);
        // Form feed is in the extension table too (rusmpp's encoder lacks it).
        assert_eq!(
            encode_gsm_unpacked("a\u{0C}b").unwrap(),
            [0x61, 0x1B, 0x0A, 0x62]
        );
        assert_eq!(encode_gsm_unpacked("Łódź"), None);
    }

    #[test]
    fn german_umlauts_and_eszett_are_gsm_characters() {
        let t = SmsText::new("Grüße aus Köln: Äpfel, Öl, Übung, ß");
        assert_eq!(t.encoding(), SmsEncoding::Gsm7);
        assert_eq!(t.units(), t.text().chars().count());
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        for c in ['€', '^', '{', '}', '[', ']', '~', '|', '\\'] {
            let t = SmsText::new(&c.to_string());
            assert_eq!((t.encoding(), t.units()), (SmsEncoding::Gsm7, 2), "{c}");
        }
        assert_eq!(SmsText::new("5 €").units(), 4);
    }

    #[test]
    fn one_character_outside_the_alphabet_makes_the_whole_message_ucs2() {
        let t = SmsText::new("Café á la carte");
        assert_eq!((t.encoding(), t.units()), (SmsEncoding::Ucs2, 15));
        // An emoji is a surrogate pair: two UTF-16 units.
        let t = SmsText::new("Danke 👍");
        assert_eq!((t.encoding(), t.units()), (SmsEncoding::Ucs2, 8));
        assert_eq!(SmsText::new("`").encoding(), SmsEncoding::Ucs2);
        // The escape itself is no character of a text.
        assert_eq!(SmsText::new("\u{1B}").encoding(), SmsEncoding::Ucs2);
    }

    #[test]
    fn exactly_160_gsm_characters_are_one_part_161_are_two() {
        assert_eq!(SmsText::new(&"a".repeat(160)).segments(), 1);
        let t = SmsText::new(&"a".repeat(161));
        assert_eq!(t.segments(), 2);
        let parts = t.parts();
        assert_eq!((parts[0].len(), parts[1].len()), (153, 8));
        assert_eq!(SmsText::new(&"a".repeat(306)).segments(), 2);
        assert_eq!(SmsText::new(&"a".repeat(307)).segments(), 3);
    }

    #[test]
    fn a_euro_sign_at_160_septets_tips_the_message_into_two_parts() {
        // 158 + 2 = 160 septets: still one part.
        assert_eq!(SmsText::new(&format!("{}€", "a".repeat(158))).segments(), 1);
        assert_eq!(SmsText::new(&format!("{}€", "a".repeat(159))).segments(), 2);
    }

    #[test]
    fn an_escape_and_its_character_stay_in_one_part() {
        // 152 septets, then € (2) would straddle the 153-septet boundary: it starts part two.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(20));
        let t = SmsText::new(&text);
        let parts = t.parts();
        assert_eq!(parts[0], "a".repeat(152));
        assert!(parts[1].starts_with('€'));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn exactly_70_ucs2_units_are_one_part_71_are_two() {
        assert_eq!(SmsText::new(&"ж".repeat(70)).segments(), 1);
        let t = SmsText::new(&"ж".repeat(71));
        assert_eq!(t.segments(), 2);
        assert_eq!(t.parts()[0].chars().count(), 67);
        assert_eq!(SmsText::new(&"ж".repeat(134)).segments(), 2);
        assert_eq!(SmsText::new(&"ж".repeat(135)).segments(), 3);
    }

    #[test]
    fn a_surrogate_pair_is_never_split() {
        // 66 units, then an emoji (2 units) that does not fit the 67-unit part.
        let text = format!("{}👍{}", "ж".repeat(66), "ж".repeat(10));
        let parts = SmsText::new(&text).parts();
        assert_eq!(parts[0], "ж".repeat(66));
        assert!(parts[1].starts_with('👍'));
    }

    #[test]
    fn fitting_cuts_at_a_word_boundary() {
        let text = "Die Mitgliederversammlung findet am Samstag statt. ".repeat(10);
        let t = SmsText::fitting(&text, 1);
        assert_eq!(t.segments(), 1);
        assert!(t.text().ends_with("..."));
        assert_eq!(t.encoding(), SmsEncoding::Gsm7);
        let without = t.text().trim_end_matches("...");
        assert!(text.starts_with(without) && text[without.len()..].starts_with(' '));
        assert_eq!(SmsText::fitting("kurz", 1).text(), "kurz");
    }

    #[test]
    fn the_rendering_of_an_email_keeps_list_subject_and_sender() {
        let text = "Liebe Mitglieder,\n\nwir laden herzlich ein. ".repeat(20);
        let t = sms_rendering("OV Oldenfelde", "Einladung", &text, "Ben Brandt", 2);
        assert_eq!(t.segments(), 2);
        assert!(t
            .text()
            .starts_with("[OV Oldenfelde] Einladung: Liebe Mitglieder, wir"));
        assert!(t.text().ends_with("... - Ben Brandt"), "{}", t.text());
        assert_eq!(t.encoding(), SmsEncoding::Gsm7, "a cut keeps the alphabet");
        assert!(
            t.units() > 153 + 140,
            "the second part is used: {}",
            t.units()
        );
        let short = sms_rendering("OV", "Treffen", "Heute 19 Uhr.", "Ben", 1);
        assert_eq!(short.text(), "[OV] Treffen: Heute 19 Uhr. - Ben");
    }
}
