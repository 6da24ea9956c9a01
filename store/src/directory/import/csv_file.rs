//! Reading a CSV export the way spreadsheet programs write it.

use super::encoding::{scan, Encoding};
use super::{ImportError, ImportOptions};
use crate::progress::{Counter, Progress};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// An open export with its columns located by name (in any order, any case).
pub(super) struct CsvFile {
    pub path: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    columns: HashMap<String, usize>,
    lines: LineIndex,
    /// Rows read, reported from the first row on (not at opening: the file is opened before
    /// other phases run).
    counter: Option<Counter>,
    progress: (Progress, &'static str, u64),
}

/// One data row with the line it starts on.
pub(super) struct CsvRow {
    pub line: u64,
    record: csv::StringRecord,
}

impl CsvRow {
    pub fn get<'a>(&'a self, file: &CsvFile, column: &str) -> &'a str {
        file.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

impl CsvFile {
    /// Opens `path` in the options' encoding (refusing a file that is not in it), skips a
    /// UTF-8 byte-order mark, detects `;` or `,` from the header line and checks that every
    /// required column is present. Rows read are reported as `phase` of the options' progress.
    pub fn open(
        path: &Path,
        required: &[&str],
        options: &ImportOptions,
        phase: &'static str,
    ) -> Result<CsvFile, ImportError> {
        let shown = path.display().to_string();
        let scanned = scan(path, &shown, options.encoding)?;
        let io = |source| ImportError::Io {
            path: shown.clone(),
            source,
        };
        let mut raw = BufReader::new(File::open(path).map_err(io)?);
        let mut head = Vec::new();
        // Enough to see the whole header line of any export we know.
        raw.by_ref().take(4096).read_to_end(&mut head).map_err(io)?;
        let body = match options.encoding {
            Encoding::Utf8 => head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head),
            Encoding::Windows1252 => &head[..],
        }
        .to_vec();
        let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
        // Both separators are the same byte in either encoding.
        let delimiter = if first_line.contains(&b';') {
            b';'
        } else {
            b','
        };
        let bytes = std::io::Cursor::new(body).chain(raw);
        let text: Box<dyn Read + Send> = match options.encoding {
            Encoding::Utf8 => Box::new(bytes),
            Encoding::Windows1252 => Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding_rs::WINDOWS_1252))
                    .build(bytes),
            ),
        };
        let (line_ends, lines) = LineEnds::new(text);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(Box::new(line_ends) as Box<dyn Read + Send>);
        let headers = reader.headers().map_err(|e| ImportError::Malformed {
            path: shown.clone(),
            line: 1,
            reason: e.to_string(),
        })?;
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !columns.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns {
                path: shown,
                missing: missing.join(", "),
                found: headers.iter().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(CsvFile {
            path: shown,
            reader,
            columns,
            lines,
            counter: None,
            progress: (options.progress.clone(), phase, scanned.data_rows),
        })
    }

    /// The next readable row. Counts every row in `report.rows` and reports a row that is not
    /// CSV as a bad row with its line, then goes on with the next.
    pub fn next_counted(&mut self, report: &mut super::ImportReport) -> Option<CsvRow> {
        loop {
            report.rows += 1;
            match self.next_row() {
                None => {
                    report.rows -= 1;
                    return None;
                }
                Some(Ok(row)) => return Some(row),
                Some(Err((line, reason))) => report.errors.push(super::RowError {
                    line,
                    field: None,
                    reason,
                }),
            }
        }
    }

    /// The next row; a row that is not CSV is an `Err` naming its line, so the caller can
    /// report it like any other bad row and go on. Line breaks, tabs and other control
    /// characters inside a field become single spaces: every value we store is one line.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, (u64, String)>> {
        let mut record = csv::StringRecord::new();
        let result = self.reader.read_record(&mut record);
        let (progress, phase, total) = &self.progress;
        let counter = self
            .counter
            .get_or_insert_with(|| progress.counter(phase, Some(*total)));
        match result {
            Ok(false) => {
                counter.finish();
                None
            }
            Ok(true) => {
                counter.add(1);
                let line = record
                    .position()
                    .map_or(0, |p| self.lines.line_at(p.byte()));
                if record.iter().any(needs_one_line) {
                    record = record.iter().map(one_line).collect();
                }
                Some(Ok(CsvRow { line, record }))
            }
            Err(e) => {
                counter.add(1);
                let line = e.position().map_or(0, |p| self.lines.line_at(p.byte()));
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                    _ => e.to_string(),
                };
                Some(Err((line, reason)))
            }
        }
    }
}

fn breaks_lines(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn needs_one_line(field: &str) -> bool {
    field.chars().any(breaks_lines)
}

/// The field with every run of white space and control characters as one space.
fn one_line(field: &str) -> String {
    field
        .split(|c: char| c.is_whitespace() || breaks_lines(c))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the line breaks of the text the CSV reader reads are, so that a row is named with
/// the line a person sees in their editor. (The csv crate's own line count names the line
/// before a row that follows blank lines.)
struct LineIndex {
    /// Offsets of `\n` in the text, pushed by [`LineEnds`] as it reads ahead.
    breaks: Arc<Mutex<VecDeque<u64>>>,
    /// Breaks before the last row asked about.
    passed: u64,
}

impl LineIndex {
    /// The line of the row the reader reports at `byte`: the reader reports the end of the
    /// previous row, so the blank lines it skipped after that are counted here.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut breaks = self.breaks.lock().unwrap_or_else(PoisonError::into_inner);
        while breaks.front().is_some_and(|&at| at < byte) {
            breaks.pop_front();
            self.passed += 1;
        }
        let mut cursor = byte;
        while breaks.front() == Some(&cursor) {
            breaks.pop_front();
            self.passed += 1;
            cursor += 1;
        }
        self.passed + 1
    }
}

/// Turns CRLF and lone CR line ends into LF, and notes where each one is. The csv crate
/// counts CRLF files' lines one short and takes a lone CR (old Mac exports) for a line end
/// without counting it; after this, one `\n` is one line in the editor.
struct LineEnds<R> {
    inner: R,
    after_cr: bool,
    /// Bytes handed out so far.
    offset: u64,
    breaks: Arc<Mutex<VecDeque<u64>>>,
}

impl<R: Read> LineEnds<R> {
    fn new(inner: R) -> (Self, LineIndex) {
        let breaks = Arc::new(Mutex::new(VecDeque::new()));
        let reader = LineEnds {
            inner,
            after_cr: false,
            offset: 0,
            breaks: breaks.clone(),
        };
        (reader, LineIndex { breaks, passed: 0 })
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut breaks = self.breaks.lock().unwrap_or_else(PoisonError::into_inner);
            let mut out = 0;
            for i in 0..n {
                let b = buf[i];
                let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
                if b == b'\n' && after_cr {
                    // The CR before it already ended this line.
                    continue;
                }
                let b = if b == b'\r' { b'\n' } else { b };
                if b == b'\n' {
                    breaks.push_back(self.offset + out as u64);
                }
                buf[out] = b;
                out += 1;
            }
            self.offset += out as u64;
            if out > 0 {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{one_line, LineEnds};
    use std::io::Read;

    /// Reads through a reader that hands out `chunk` bytes at a time, to split CRLF pairs.
    fn normalise(input: &[u8], chunk: usize) -> (Vec<u8>, Vec<u64>) {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        let (mut reader, index) = LineEnds::new(Chunked(input, chunk));
        reader.read_to_end(&mut out).unwrap();
        let breaks = index.breaks.lock().unwrap().iter().copied().collect();
        (out, breaks)
    }

    #[test]
    fn every_line_end_becomes_one_lf_whatever_the_chunking() {
        let input = b"a;b\r\nc;\"x\r\ny\"\r\nlone\rcr\r\n\r";
        for chunk in 1..8 {
            let (text, breaks) = normalise(input, chunk);
            assert_eq!(text, b"a;b\nc;\"x\ny\"\nlone\ncr\n\n", "chunk {chunk}");
            assert_eq!(breaks, [3, 8, 11, 16, 19, 20], "chunk {chunk}");
        }
    }

    #[test]
    fn line_breaks_and_tabs_in_a_field_become_single_spaces() {
        assert_eq!(one_line("Am Markt\r\n 5"), "Am Markt 5");
        assert_eq!(one_line("Hof\t\tHaus\u{2028}B"), "Hof Haus B");
        assert_eq!(one_line("\nHamburg\n"), "Hamburg");
    }
}
