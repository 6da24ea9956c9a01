//! Reading a CSV export the way spreadsheet programs write it.

use super::ImportError;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// An open export with its columns located by name (in any order, any case).
pub(super) struct CsvFile {
    pub path: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    columns: HashMap<String, usize>,
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
    /// Opens `path`, skips a UTF-8 byte-order mark, detects `;` or `,` from the header line and
    /// checks that every required column is present.
    pub fn open(path: &Path, required: &[&str]) -> Result<CsvFile, ImportError> {
        let shown = path.display().to_string();
        let io = |source| ImportError::Io {
            path: shown.clone(),
            source,
        };
        let mut raw = BufReader::new(File::open(path).map_err(io)?);
        let mut head = Vec::new();
        // Enough to see the whole header line of any export we know.
        raw.by_ref().take(4096).read_to_end(&mut head).map_err(io)?;
        let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head).to_vec();
        let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
        let delimiter = if first_line.contains(&b';') {
            b';'
        } else {
            b','
        };
        let chained: Box<dyn Read + Send> =
            Box::new(CrlfToLf::new(std::io::Cursor::new(body).chain(raw)));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(chained);
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
        })
    }

    /// The next readable row. Counts every row in `report.rows` and reports a row that is not
    /// UTF-8 or not CSV as a bad row with its line, then goes on with the next.
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

    /// The next row; a row that is not valid UTF-8 or not CSV is an `Err` naming its line, so
    /// the caller can report it like any other bad row and go on.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, (u64, String)>> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                Some(Ok(CsvRow { line, record }))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "not UTF-8 text (save the export as UTF-8)".to_string()
                    }
                    _ => e.to_string(),
                };
                Some(Err((line, reason)))
            }
        }
    }
}

/// Turns CRLF line ends into LF. The csv crate counts the lines of CRLF files one short, and
/// every bad row must be named with the line a person sees in their editor.
struct CrlfToLf<R> {
    inner: R,
    /// A `\r` at the end of the last chunk, not yet known to precede `\n`.
    pending_cr: bool,
}

impl<R: Read> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 2 {
            return self.inner.read(buf);
        }
        loop {
            let start = usize::from(self.pending_cr);
            if self.pending_cr {
                buf[0] = b'\r';
            }
            let n = self.inner.read(&mut buf[start..])?;
            if n == 0 {
                self.pending_cr = false;
                return Ok(start);
            }
            let filled = start + n;
            let mut out = 0;
            let mut i = 0;
            while i < filled {
                let b = buf[i];
                if b == b'\r' && i + 1 < filled && buf[i + 1] == b'\n' {
                    i += 1;
                    continue;
                }
                buf[out] = b;
                out += 1;
                i += 1;
            }
            // A trailing \r may be the first half of a CRLF split across reads: hold it back.
            self.pending_cr = out > 0 && buf[out - 1] == b'\r';
            if self.pending_cr {
                out -= 1;
            }
            if out > 0 {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CrlfToLf;
    use std::io::Read;

    /// Reads through a reader that hands out `chunk` bytes at a time, to split CRLF pairs.
    fn normalise(input: &[u8], chunk: usize) -> Vec<u8> {
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
        CrlfToLf::new(Chunked(input, chunk))
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn crlf_becomes_lf_whatever_the_chunking() {
        let input = b"a;b\r\nc;\"x\r\ny\"\r\nlone\rcr\r\n\r";
        for chunk in 1..8 {
            assert_eq!(
                normalise(input, chunk),
                b"a;b\nc;\"x\ny\"\nlone\rcr\n\r",
                "chunk {chunk}"
            );
        }
    }
}
