//! Decoding the DATA stream: dot-unstuffing, line endings, end-of-data, and a size limit
//! that holds while the bytes stream in.
//!
//! Rules (documented here because clients differ):
//! - The message ends at a line that is exactly `.` CRLF and follows a CRLF (or starts the
//!   data). `<LF>.<LF>`, `<LF>.<CRLF>` and `<CRLF>.<LF>` do not end it: accepting them is
//!   what made SMTP smuggling possible, and a client that sends them is broken anyway.
//! - A leading dot is removed from every line (RFC 5321 §4.5.2).
//! - A bare LF inside the message is stored as CRLF, so the stored message has one kind of
//!   line ending; a bare CR is stored as it came (it is not a line ending).
//! - Past the limit, decoding goes on to find the end of the data, but nothing more is
//!   kept, and what was kept is freed: memory never holds more than the limit.

/// Collects a message body up to a limit, then only counts.
pub(crate) struct BoundedBody {
    bytes: Vec<u8>,
    size: u64,
    limit: usize,
}

impl BoundedBody {
    pub(crate) fn new(limit: usize) -> Self {
        BoundedBody {
            bytes: Vec::new(),
            size: 0,
            limit,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let was_within = self.size <= self.limit as u64;
        self.size += chunk.len() as u64;
        if self.size <= self.limit as u64 {
            // Grow by doubling as usual, but never past the limit: capacity counts as held.
            let needed = self.bytes.len() + chunk.len();
            if needed > self.bytes.capacity() {
                let target = (self.bytes.capacity() * 2)
                    .max(needed)
                    .max(4096)
                    .min(self.limit);
                self.bytes.reserve_exact(target - self.bytes.len());
            }
            self.bytes.extend_from_slice(chunk);
        } else if was_within {
            self.bytes = Vec::new();
        }
    }

    pub(crate) fn is_over_limit(&self) -> bool {
        self.size > self.limit as u64
    }

    /// The message, or its size when it was over the limit.
    pub(crate) fn finish(self) -> Result<Vec<u8>, u64> {
        if self.is_over_limit() {
            Err(self.size)
        } else {
            Ok(self.bytes)
        }
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.bytes.capacity()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line; `after_crlf` if the previous line ended in CRLF.
    LineStart {
        after_crlf: bool,
    },
    /// A dot at the start of a line that follows CRLF: a stuffed dot or the end.
    Dot,
    /// `.` CR at the start of such a line: the end if LF follows.
    DotCr,
    Text,
    /// A CR inside a line, not yet known to be a line ending.
    Cr,
}

/// Incremental DATA decoder; feed it whatever arrives.
pub(crate) struct DotDecoder {
    state: State,
    body: BoundedBody,
}

impl DotDecoder {
    pub(crate) fn new(limit: usize) -> Self {
        DotDecoder {
            state: State::LineStart { after_crlf: true },
            body: BoundedBody::new(limit),
        }
    }

    /// Decodes `input`. Returns how many bytes belonged to the data when the end was found
    /// (the rest is the next command), or `None` when more data is needed.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Option<usize> {
        let mut index = 0;
        while index < input.len() {
            if self.state == State::Text {
                // The hot path: copy plain text up to the next CR or LF in one go.
                let rest = &input[index..];
                let run = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                self.body.push(&rest[..run]);
                index += run;
                if index == input.len() {
                    break;
                }
            }
            let byte = input[index];
            index += 1;
            if self.step(byte) {
                return Some(index);
            }
        }
        None
    }

    /// One byte through the state machine; true at the end of the data.
    fn step(&mut self, byte: u8) -> bool {
        self.state = match (self.state, byte) {
            (State::LineStart { after_crlf: true }, b'.') => State::Dot,
            // A dot after a bare LF is unstuffed too, but cannot start the end marker.
            (State::LineStart { after_crlf: false }, b'.') => State::Text,
            (State::Dot, b'\r') => State::DotCr,
            (State::DotCr, b'\n') => return true,
            (State::DotCr, other) => {
                // `.` CR then not LF: the dot was stuffing, the CR is content.
                self.state = State::Cr;
                return self.step(other);
            }
            (State::Cr, b'\n') => {
                self.body.push(b"\r\n");
                State::LineStart { after_crlf: true }
            }
            (State::Cr, b'\r') => {
                self.body.push(b"\r");
                State::Cr
            }
            (State::Cr, other) => {
                self.body.push(&[b'\r', other]);
                State::Text
            }
            (_, b'\r') => State::Cr,
            (_, b'\n') => {
                self.body.push(b"\r\n");
                State::LineStart { after_crlf: false }
            }
            (_, other) => {
                self.body.push(&[other]);
                State::Text
            }
        };
        false
    }

    pub(crate) fn is_over_limit(&self) -> bool {
        self.body.is_over_limit()
    }

    /// The decoded message, or its size when it was over the limit.
    pub(crate) fn finish(self) -> Result<Vec<u8>, u64> {
        self.body.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes; returns (message, bytes left after the end).
    fn decode(input: &[u8], piece: usize, limit: usize) -> (Result<Vec<u8>, u64>, usize) {
        let mut decoder = DotDecoder::new(limit);
        let mut offset = 0;
        for chunk in input.chunks(piece) {
            if let Some(used) = decoder.feed(chunk) {
                return (decoder.finish(), input.len() - offset - used);
            }
            offset += chunk.len();
        }
        panic!("no end of data in {:?}", String::from_utf8_lossy(input));
    }

    fn text(input: &str) -> String {
        let mut outputs = Vec::new();
        for piece in [1, 2, 3, 7, input.len()] {
            let (message, _) = decode(input.as_bytes(), piece, 1 << 20);
            outputs.push(String::from_utf8(message.unwrap()).unwrap());
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "split-dependent: {outputs:?}"
        );
        outputs.pop().unwrap()
    }

    #[test]
    fn dots_are_unstuffed_and_the_end_found() {
        assert_eq!(
            text("Subject: x\r\n\r\n..hidden\r\n.\r\n"),
            "Subject: x\r\n\r\n.hidden\r\n"
        );
        assert_eq!(text("a\r\n..\r\n.\r\n"), "a\r\n.\r\n");
        assert_eq!(text(".\r\n"), "");
        assert_eq!(text(".x\r\n.\r\n"), "x\r\n");
    }

    #[test]
    fn bare_lf_is_normalised_and_cannot_end_the_data() {
        assert_eq!(text("a\nb\r\n.\r\n"), "a\r\nb\r\n");
        assert_eq!(
            text("a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n"),
            "a\r\n\r\nMAIL FROM:<x@y>\r\n"
        );
        assert_eq!(text("a\r\n.\nb\r\n.\r\n"), "a\r\n\r\nb\r\n");
    }

    #[test]
    fn bare_cr_stays_content() {
        assert_eq!(text("a\rb\r\n.\r\n"), "a\rb\r\n");
        assert_eq!(text("a\r\r\n.\r\n"), "a\r\r\n");
        assert_eq!(text("a\r\n.\rb\r\n.\r\n"), "a\r\n\rb\r\n");
    }

    #[test]
    fn bytes_after_the_end_are_left_for_the_next_command() {
        let (message, left) = decode(b"hi\r\n.\r\nQUIT\r\n", 4, 100);
        assert_eq!(message.unwrap(), b"hi\r\n");
        assert_eq!(left, 6);
    }

    #[test]
    fn over_the_limit_only_the_size_is_kept() {
        let mut input = b"x".repeat(10_000);
        input.extend_from_slice(b"\r\n.\r\n");
        let mut decoder = DotDecoder::new(1000);
        let mut max_held = 0;
        let mut done = false;
        for chunk in input.chunks(100) {
            done = decoder.feed(chunk).is_some();
            max_held = max_held.max(decoder.body.held());
        }
        assert!(done);
        assert!(max_held <= 1000, "held {max_held} bytes");
        assert_eq!(decoder.finish(), Err(10_002));
    }

    #[test]
    fn exactly_at_the_limit_is_accepted() {
        let (message, _) = decode(b"12345678\r\n.\r\n", 3, 10);
        assert_eq!(message.unwrap().len(), 10);
        let (message, _) = decode(b"123456789\r\n.\r\n", 3, 10);
        assert_eq!(message, Err(11));
    }
}
