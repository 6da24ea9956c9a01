//! Which character encoding an export is in, and the one pass over the file that checks it.
//!
//! German Excel saves "CSV (Trennzeichen-getrennt)" as Windows-1252, every other tool as
//! UTF-8. A file in the wrong encoding is refused as a whole, naming the first byte that
//! gives it away, instead of reporting every row with an umlaut as bad: the admin then
//! chooses the encoding once.

use super::ImportError;
use serde::Serialize;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// The encodings an export may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Encoding {
    /// UTF-8, with or without byte-order mark.
    #[default]
    Utf8,
    /// Windows-1252 (what German Excel calls "ANSI"; a superset of ISO-8859-1 "latin1").
    Windows1252,
}

impl Encoding {
    pub const ALL: [Encoding; 2] = [Encoding::Utf8, Encoding::Windows1252];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Encoding, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            // Decoders treat latin1 as windows-1252 (WHATWG): the bytes 0x80–0x9F are the
            // € and the quotes of Windows, never the control codes of ISO-8859-1.
            "windows-1252" | "windows1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
                Ok(Encoding::Windows1252)
            }
            other => Err(format!(
                "unknown encoding \"{other}\" (use utf-8 or windows-1252)"
            )),
        }
    }
}

/// What the pass over the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scan {
    /// Rows after the header line, counted as the CSV reader will count them (blank lines
    /// skipped, line breaks inside quotes not ending a row); the total progress is shown
    /// against.
    pub data_rows: u64,
}

/// Reads the whole file once: checks that it is in `encoding` and counts its rows.
pub(super) fn scan(path: &Path, shown: &str, encoding: Encoding) -> Result<Scan, ImportError> {
    let io = |source| ImportError::Io {
        path: shown.to_string(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0_u8; 64 * 1024];
    let mut utf8 = Utf8Check::default();
    let mut rows = RowCount::default();
    let mut offset = 0_u64;
    let mut first_bytes = Vec::with_capacity(3);
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        let chunk = &buf[..n];
        if first_bytes.len() < 3 {
            let want = (3 - first_bytes.len()).min(n);
            first_bytes.extend_from_slice(&chunk[..want]);
        }
        utf8.feed(chunk, offset, rows.line());
        rows.feed(chunk, offset, &mut utf8);
        offset += n as u64;
        if n == 0 {
            break;
        }
    }
    let bom = first_bytes == b"\xEF\xBB\xBF";
    match (encoding, utf8.first_invalid) {
        (Encoding::Utf8, Some(bad)) => Err(ImportError::NotUtf8 {
            path: shown.to_string(),
            line: bad.line,
            offset: bad.offset,
            byte: bad.byte,
        }),
        // Read as Windows-1252, UTF-8 text turns every "ü" into "Ã¼" without any error: a
        // file that is valid UTF-8 beyond ASCII was certainly not saved as Windows-1252.
        (Encoding::Windows1252, None) if bom || utf8.non_ascii => Err(ImportError::IsUtf8 {
            path: shown.to_string(),
        }),
        _ => Ok(Scan {
            data_rows: rows.finish().saturating_sub(1),
        }),
    }
}

/// The first byte that is not UTF-8: where it is, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invalid {
    line: u64,
    offset: u64,
    byte: u8,
}

/// UTF-8 validation across chunk boundaries.
#[derive(Default)]
struct Utf8Check {
    /// The start of a character the last chunk ended in the middle of.
    pending: Vec<u8>,
    first_invalid: Option<Invalid>,
    /// The offset of the first invalid byte, once known but before its line is.
    invalid_at: Option<(u64, u8)>,
    non_ascii: bool,
}

impl Utf8Check {
    /// Checks `chunk` (at `offset` in the file); an empty chunk is the end of the file.
    /// `line` is the line the chunk starts on, which is the line of a character cut in two
    /// by the previous chunk (such a character holds no line break).
    fn feed(&mut self, chunk: &[u8], offset: u64, line: u64) {
        if self.invalid_at.is_some() || self.first_invalid.is_some() {
            return;
        }
        self.non_ascii |= !chunk.is_ascii();
        let start = offset - self.pending.len() as u64;
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(chunk);
        if let Err(e) = std::str::from_utf8(&joined) {
            let at = e.valid_up_to();
            match e.error_len() {
                // Cut off by the chunk's end: the next chunk completes it (or the file ends).
                None if !chunk.is_empty() => self.pending = joined[at..].to_vec(),
                _ => {
                    let bad = (start + at as u64, joined[at]);
                    if bad.0 < offset {
                        self.first_invalid = Some(Invalid {
                            line,
                            offset: bad.0,
                            byte: bad.1,
                        });
                    } else {
                        self.invalid_at = Some(bad);
                    }
                }
            }
        }
    }
}

/// Counts lines as an editor shows them (LF, CRLF and a lone CR each end one) and rows as
/// the CSV reader reads them.
#[derive(Default)]
struct RowCount {
    breaks: u64,
    after_cr: bool,
    in_quotes: bool,
    line_has_text: bool,
    records: u64,
}

impl RowCount {
    /// The line the next byte is on.
    fn line(&self) -> u64 {
        self.breaks + 1
    }

    fn feed(&mut self, chunk: &[u8], offset: u64, utf8: &mut Utf8Check) {
        for (i, &b) in chunk.iter().enumerate() {
            if let Some((at, byte)) = utf8.invalid_at {
                if at == offset + i as u64 {
                    utf8.first_invalid = Some(Invalid {
                        line: self.line(),
                        offset: at,
                        byte,
                    });
                    utf8.invalid_at = None;
                }
            }
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.breaks += 1;
                    if !self.in_quotes && self.line_has_text {
                        self.records += 1;
                        self.line_has_text = false;
                    }
                }
                b'"' => {
                    // An escaped quote ("") toggles twice: only the parity matters.
                    self.in_quotes = !self.in_quotes;
                    self.line_has_text = true;
                }
                _ => self.line_has_text = true,
            }
        }
    }

    fn finish(&self) -> u64 {
        self.records + u64::from(self.line_has_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(bytes: &[u8], encoding: Encoding) -> Result<Scan, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, bytes).unwrap();
        scan(&path, "x.csv", encoding)
    }

    #[test]
    fn rows_are_counted_as_the_reader_counts_them() {
        let text = b"h;x\r\na;1\r\n\r\n\"b\r\nc\";2\n\"say \"\"hi\"\"\";3\rlast;4";
        assert_eq!(scanned(text, Encoding::Utf8).unwrap().data_rows, 4);
    }

    #[test]
    fn the_first_byte_that_is_not_utf8_is_named_with_its_line() {
        // Line 3 after a CRLF, a lone CR and an LF; 0xFC is "ü" in Windows-1252.
        let text = b"h;x\r\na;1\rGr\xFCn;2\n";
        match scanned(text, Encoding::Utf8) {
            Err(ImportError::NotUtf8 {
                line, offset, byte, ..
            }) => assert_eq!((line, offset, byte), (3, 11, 0xFC)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_character_cut_by_the_chunk_boundary_is_still_utf8() {
        let mut text = vec![b'a'; 64 * 1024 - 1];
        text.extend_from_slice("ü\n".as_bytes());
        assert!(scanned(&text, Encoding::Utf8).is_ok());
        // A lead byte at the very end with nothing after it is not.
        text.push(0xC3);
        match scanned(&text, Encoding::Utf8) {
            Err(ImportError::NotUtf8 { line, byte, .. }) => assert_eq!((line, byte), (2, 0xC3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utf8_text_is_not_taken_for_windows_1252() {
        assert!(matches!(
            scanned("h\nMüller\n".as_bytes(), Encoding::Windows1252),
            Err(ImportError::IsUtf8 { .. })
        ));
        assert!(scanned(b"h\nM\xFCller\n", Encoding::Windows1252).is_ok());
        assert!(scanned(b"h\nMueller\n", Encoding::Windows1252).is_ok());
    }

    #[test]
    fn encodings_are_named_as_people_know_them() {
        for name in ["utf-8", "UTF8"] {
            assert_eq!(name.parse(), Ok(Encoding::Utf8));
        }
        for name in ["windows-1252", "cp1252", "latin1", "ISO-8859-1"] {
            assert_eq!(name.parse(), Ok(Encoding::Windows1252));
        }
        assert!("ebcdic".parse::<Encoding>().is_err());
    }
}
