//! Buffered reading and writing for one session, with a deadline on every read and write
//! and a byte budget. Replies are collected and written in one go right before the session
//! would wait for more input: that is what makes PIPELINING cheap (RFC 2920 lets the server
//! batch replies) and it can never deadlock, because we flush before every blocking read.

use super::handler::Reply;
use super::reply::encode_reply;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

const READ_CHUNK: usize = 16 * 1024;

/// Why the connection cannot go on. Only these (and QUIT) end a session.
#[derive(Debug)]
pub(crate) enum IoEnd {
    /// The client closed the connection.
    Eof,
    Io(std::io::Error),
    /// A read or write deadline passed.
    Timeout,
    /// The session's byte budget is used up.
    Budget,
    /// The server is shutting down (only while waiting for a command).
    Shutdown,
}

/// One command line as read from the client.
pub(crate) enum Line {
    /// The line including its LF (and CR, if any).
    Complete(Vec<u8>),
    /// Longer than allowed; it was read to its end and thrown away.
    TooLong,
}

pub(crate) struct SmtpIo<S> {
    stream: S,
    /// Unread input is `input[start..]`.
    input: Vec<u8>,
    start: usize,
    output: Vec<u8>,
    bytes_read: u64,
    byte_budget: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> SmtpIo<S> {
    /// `bytes_read` carries the budget use over a STARTTLS upgrade.
    pub(crate) fn new(stream: S, bytes_read: u64, byte_budget: u64) -> Self {
        SmtpIo {
            stream,
            input: Vec::with_capacity(READ_CHUNK),
            start: 0,
            output: Vec::with_capacity(1024),
            bytes_read,
            byte_budget,
        }
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Input that arrived but was not consumed yet (pipelined commands, message bytes).
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.input[self.start..]
    }

    pub(crate) fn consume(&mut self, count: usize) {
        self.start = (self.start + count).min(self.input.len());
    }

    pub(crate) fn discard_buffered(&mut self) {
        self.input.clear();
        self.start = 0;
    }

    /// Queues a reply; it is sent at the next flush.
    pub(crate) fn queue_reply(&mut self, reply: &Reply) {
        encode_reply(reply, &mut self.output);
    }

    pub(crate) async fn flush(&mut self, deadline: Instant) -> Result<(), IoEnd> {
        if self.output.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.output).await?;
            self.stream.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => {
                self.output.clear();
                Ok(())
            }
            Ok(Err(error)) => Err(IoEnd::Io(error)),
            Err(_) => Err(IoEnd::Timeout),
        }
    }

    /// Sends what is queued and reads more input. Returns how many bytes arrived (never 0).
    pub(crate) async fn fill(&mut self, deadline: Instant) -> Result<usize, IoEnd> {
        self.flush(deadline).await?;
        if self.bytes_read >= self.byte_budget {
            return Err(IoEnd::Budget);
        }
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        } else if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        let old_len = self.input.len();
        let room = (self.byte_budget - self.bytes_read).min(READ_CHUNK as u64) as usize;
        self.input.resize(old_len + room, 0);
        let read = timeout_at(deadline, self.stream.read(&mut self.input[old_len..])).await;
        let count = match read {
            Ok(Ok(count)) => count,
            Ok(Err(error)) => {
                self.input.truncate(old_len);
                return Err(IoEnd::Io(error));
            }
            Err(_) => {
                self.input.truncate(old_len);
                return Err(IoEnd::Timeout);
            }
        };
        self.input.truncate(old_len + count);
        if count == 0 {
            return Err(IoEnd::Eof);
        }
        self.bytes_read += count as u64;
        Ok(count)
    }

    /// Reads one line ending in LF. A line longer than `max_len` (without its line ending)
    /// is read to its end, dropped and reported as [`Line::TooLong`], so the next command is
    /// understood again. Never buffers more than `max_len` plus one read chunk.
    pub(crate) async fn read_line(
        &mut self,
        max_len: usize,
        deadline: Instant,
    ) -> Result<Line, IoEnd> {
        let limit = max_len + 2;
        let mut too_long = false;
        loop {
            let buffered = self.buffered();
            if let Some(pos) = buffered.iter().position(|&b| b == b'\n') {
                let line_len = pos + 1;
                let content_len = if pos > 0 && buffered[pos - 1] == b'\r' {
                    pos - 1
                } else {
                    pos
                };
                let line = if too_long || content_len > max_len {
                    Line::TooLong
                } else {
                    Line::Complete(buffered[..line_len].to_vec())
                };
                self.consume(line_len);
                return Ok(line);
            }
            if buffered.len() > limit {
                // Keep reading to the end of the line, but not its bytes.
                too_long = true;
                self.discard_buffered();
            }
            self.fill(deadline).await?;
        }
    }

    /// Best-effort last words (421 on timeout or shutdown) and an orderly close.
    pub(crate) async fn close_with(&mut self, reply: Option<&Reply>, deadline: Instant) {
        if let Some(reply) = reply {
            self.queue_reply(reply);
        }
        let _ = self.flush(deadline).await;
        let _ = timeout_at(deadline, self.stream.shutdown()).await;
    }

    pub(crate) fn into_stream(self) -> S {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::duplex;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn lines_split_over_reads_and_pipelined_lines() {
        let (mut client, server) = duplex(1024);
        let mut io = SmtpIo::new(server, 0, u64::MAX);
        client.write_all(b"NOOP\r\nRS").await.unwrap();
        let Line::Complete(first) = io.read_line(64, soon()).await.unwrap() else {
            panic!()
        };
        assert_eq!(first, b"NOOP\r\n");
        client.write_all(b"ET\nQUIT\r\n").await.unwrap();
        let Line::Complete(second) = io.read_line(64, soon()).await.unwrap() else {
            panic!()
        };
        assert_eq!(second, b"RSET\n");
        assert_eq!(io.buffered(), b"QUIT\r\n");
    }

    #[tokio::test]
    async fn a_long_line_is_dropped_and_the_next_one_understood() {
        let (mut client, server) = duplex(64 * 1024);
        let mut io = SmtpIo::new(server, 0, u64::MAX);
        let mut long = vec![b'A'; 40_000];
        long.extend_from_slice(b"\r\nNOOP\r\n");
        client.write_all(&long).await.unwrap();
        assert!(matches!(
            io.read_line(512, soon()).await.unwrap(),
            Line::TooLong
        ));
        let Line::Complete(next) = io.read_line(512, soon()).await.unwrap() else {
            panic!()
        };
        assert_eq!(next, b"NOOP\r\n");
    }

    #[tokio::test]
    async fn budget_and_eof_end_the_session() {
        let (mut client, server) = duplex(1024);
        let mut io = SmtpIo::new(server, 0, 8);
        client.write_all(b"NOOP NOOP NOOP\r\n").await.unwrap();
        assert!(matches!(
            io.read_line(512, soon()).await,
            Err(IoEnd::Budget)
        ));
        drop(client);
        let (client, server) = duplex(1024);
        let mut io = SmtpIo::new(server, 0, u64::MAX);
        drop(client);
        assert!(matches!(io.read_line(512, soon()).await, Err(IoEnd::Eof)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_times_out() {
        let (_client, server) = duplex(1024);
        let mut io = SmtpIo::new(server, 0, u64::MAX);
        let deadline = Instant::now() + Duration::from_secs(300);
        assert!(matches!(
            io.read_line(512, deadline).await,
            Err(IoEnd::Timeout)
        ));
    }
}
