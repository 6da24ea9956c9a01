//! Name material for the demo organisation: the mix of a German city's membership lists.

pub const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Ayşe",
    "Björn",
    "Claudia",
    "Dennis",
    "Elif",
    "Fatma",
    "Friederike",
    "Gregor",
    "Hans-Peter",
    "Ilse",
    "Jörg",
    "Jonas",
    "Käthe",
    "Karl-Heinz",
    "Lea",
    "Łukasz",
    "Mehmet",
    "Nina",
    "Ole",
    "Paul",
    "Renée",
    "Sören",
    "Svetlana",
    "Thi Mai",
    "Ursula",
    "Volker",
    "Wiebke",
    "Yusuf",
    "Zoë",
];

pub const LAST_NAMES: &[&str] = &[
    "Bahr",
    "Brandt",
    "Çelik",
    "Dąbrowski",
    "Demir",
    "Fischer",
    "Großmann",
    "Hansen",
    "Hoffmann",
    "Jensen",
    "Kaya",
    "Kowalski",
    "Lüdemann",
    "Meißner",
    "Müller",
    "Nguyen",
    "Öztürk",
    "Petersen",
    "Quast",
    "Richter",
    "Schröder",
    "Schulz-Löwe",
    "Stein",
    "Thomsen",
    "Vogt",
    "Weiß",
    "Wendt",
    "Yılmaz",
    "Zimmermann",
    "Ahrens",
];

pub const STREETS: &[&str] = &[
    "Oldenfelder Straße",
    "Höltigbaum",
    "Berner Heerweg",
    "Am Knill",
    "Große Bergstraße",
    "Elbchaussee",
    "Bramfelder Chaussee",
    "Rahlstedter Weg",
    "Ottenser Hauptstraße",
    "Blankeneser Landstraße",
];

/// Places after which generated branches are named, beyond the fixed ones.
pub const PLACES: &[&str] = &[
    "Tonndorf",
    "Jenfeld",
    "Farmsen",
    "Berne",
    "Sasel",
    "Poppenbüttel",
    "Hummelsbüttel",
    "Wellingsbüttel",
    "Volksdorf",
    "Bergstedt",
    "Duvenstedt",
    "Lemsahl",
    "Marienthal",
    "Eilbek",
    "Hohenhorst",
    "Meiendorf",
    "Bahrenfeld",
    "Lurup",
    "Osdorf",
    "Iserbrook",
    "Sülldorf",
    "Rissen",
    "Nienstedten",
    "Othmarschen",
    "Eimsbüttel",
    "Stellingen",
    "Eidelstedt",
    "Schnelsen",
    "Niendorf",
    "Lokstedt",
    "Harvestehude",
    "Barmbek",
    "Winterhude",
    "Eppendorf",
    "Hoheluft",
    "Fuhlsbüttel",
    "Langenhorn",
    "Ohlsdorf",
    "Alsterdorf",
    "St. Georg",
    "Hamm",
    "Horn",
    "Billstedt",
    "Rothenburgsort",
    "Veddel",
    "Wilhelmsburg",
    "Finkenwerder",
    "Lohbrügge",
    "Curslack",
    "Allermöhe",
    "Neuallermöhe",
    "Kirchwerder",
    "Heimfeld",
    "Eißendorf",
    "Marmstorf",
    "Neugraben",
    "Fischbek",
    "Sinstorf",
    "Wilstorf",
    "Moorburg",
];

/// ASCII form of a name for an email local part (ä → ae, ß → ss, ł → l, …).
pub fn ascii(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.to_lowercase().chars() {
        match ch {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'ë' | 'è' => out.push('e'),
            'ç' => out.push('c'),
            'ş' => out.push('s'),
            'ł' => out.push('l'),
            'ą' => out.push('a'),
            'ı' => out.push('i'),
            'a'..='z' | '0'..='9' => out.push(ch),
            '-' | ' ' => out.push('-'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_ascii_local_parts() {
        assert_eq!(super::ascii("Schulz-Löwe"), "schulz-loewe");
        assert_eq!(super::ascii("Łukasz"), "lukasz");
        assert_eq!(super::ascii("Yılmaz"), "yilmaz");
        assert_eq!(super::ascii("Thi Mai"), "thi-mai");
    }
}
