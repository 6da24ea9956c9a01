//! One SMTP session: the command loop, the state of the transaction, and the verbs too small
//! for a file of their own (RSET, NOOP, VRFY, HELP, QUIT). Generic over the stream so the
//! same code runs on TCP, after the STARTTLS upgrade, and over in-memory transcripts.
//!
//! Line endings: a command line may end in CRLF or in a bare LF; both are understood, as
//! most servers do, because a client only ever confuses itself with them. A bare CR inside
//! a command line is refused (501 for MAIL/RCPT, 500 otherwise): `smtp-proto` would drop it
//! silently, and it is the classic way to hide a second line in an envelope address.

use super::handler::{Reply, SessionInfo};
use super::io::{IoEnd, Line, SmtpIo};
use super::reply::plain_reply;
use super::service::SmtpService;
use super::SessionHandler;
use smtp_proto::{Error as ParseError, Request};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long we try to deliver a last 421 before closing anyway.
const LAST_WORDS: Duration = Duration::from_secs(5);

/// The mail transaction between MAIL FROM and the end of DATA (or RSET).
#[derive(Default)]
pub(crate) struct Transaction {
    pub(crate) mail_from: Option<String>,
    /// SMTPUTF8 was given on MAIL FROM: UTF-8 addresses are allowed.
    pub(crate) smtputf8: bool,
    pub(crate) rcpt_to: Vec<String>,
    /// Chunks received so far by BDAT.
    pub(crate) bdat: Option<super::data::BoundedBody>,
}

/// What the command loop does after a command.
pub(crate) enum Flow {
    Continue,
    Quit,
    StartTls,
}

/// How a session ended: closed, or handing its stream over for the TLS handshake.
pub(crate) enum Outcome<S> {
    Closed,
    StartTls { stream: S, bytes_read: u64 },
}

pub(crate) struct Session<'a, S, H> {
    pub(crate) io: SmtpIo<S>,
    pub(crate) service: &'a SmtpService<H>,
    pub(crate) info: SessionInfo,
    pub(crate) tx: Transaction,
    /// EHLO (not HELO) was used; ESMTP parameters are allowed.
    pub(crate) esmtp: bool,
    errors: u32,
    pub(crate) session_deadline: Instant,
    shutdown: watch::Receiver<bool>,
}

impl<'a, S, H> Session<'a, S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: SessionHandler,
{
    pub(crate) fn new(
        service: &'a SmtpService<H>,
        io: SmtpIo<S>,
        info: SessionInfo,
        session_deadline: Instant,
    ) -> Self {
        Session {
            io,
            info,
            tx: Transaction::default(),
            esmtp: false,
            errors: 0,
            session_deadline,
            shutdown: service.subscribe_shutdown(),
            service,
        }
    }

    pub(crate) fn config(&self) -> &super::SmtpConfig {
        &self.service.config
    }

    /// Runs the command loop until QUIT, an IO end, too many errors or STARTTLS.
    pub(crate) async fn run(mut self, greet: bool) -> Outcome<S> {
        if greet {
            let text = format!("{} ESMTP verteiler ready", self.config().hostname);
            self.io.queue_reply(&plain_reply(220, vec![text]));
        }
        let end = loop {
            if self.errors >= self.config().max_errors {
                tracing::info!(event = "smtp.too_many_errors", peer = %self.info.peer, errors = self.errors);
                let reply = Reply::new(421, (4, 7, 0), "Too many errors, closing connection");
                self.io
                    .close_with(Some(&reply), Instant::now() + LAST_WORDS)
                    .await;
                return Outcome::Closed;
            }
            let flow = match self.read_command().await {
                Ok(Line::TooLong) => {
                    let reply = Reply::new(500, (5, 5, 2), "Line too long");
                    self.refuse("smtp.bad_command", "line_too_long", reply);
                    Ok(Flow::Continue)
                }
                Ok(Line::Complete(line)) => self.dispatch(&line).await,
                Err(end) => Err(end),
            };
            match flow {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => {
                    self.io.close_with(None, Instant::now() + LAST_WORDS).await;
                    tracing::debug!(event = "smtp.closed", peer = %self.info.peer, reason = "quit");
                    return Outcome::Closed;
                }
                Ok(Flow::StartTls) => match self.io.flush(self.command_deadline()).await {
                    Ok(()) => {
                        let bytes_read = self.io.bytes_read();
                        let stream = self.io.into_stream();
                        return Outcome::StartTls { stream, bytes_read };
                    }
                    Err(end) => break end,
                },
                Err(end) => break end,
            }
        };
        self.finish(end).await;
        Outcome::Closed
    }

    /// The deadline for the next read while waiting for a command or a short response.
    pub(crate) fn command_deadline(&self) -> Instant {
        (Instant::now() + self.config().command_timeout).min(self.session_deadline)
    }

    async fn read_command(&mut self) -> Result<Line, IoEnd> {
        let max = self.config().max_line_length;
        let deadline = self.command_deadline();
        let shutdown = &mut self.shutdown;
        tokio::select! {
            line = self.io.read_line(max, deadline) => line,
            () = wait_for_shutdown(shutdown) => Err(IoEnd::Shutdown),
        }
    }

    async fn dispatch(&mut self, line: &[u8]) -> Result<Flow, IoEnd> {
        if has_bare_cr(line) {
            self.refuse_bare_cr(line);
            return Ok(Flow::Continue);
        }
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request.into_owned(),
            Err(error) => {
                self.refuse_parse_error(error);
                return Ok(Flow::Continue);
            }
        };
        match request {
            Request::Ehlo { host } => self.handle_ehlo(host, true),
            Request::Helo { host } => self.handle_ehlo(host, false),
            Request::StartTls => return Ok(self.handle_starttls()),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(mechanism, initial_response).await?,
            Request::Mail { from } => self.handle_mail(from),
            Request::Rcpt { to } => self.handle_rcpt(to).await,
            Request::Data => self.handle_data().await?,
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.handle_bdat(chunk_size, is_last).await?,
            Request::Rset => {
                self.tx = Transaction::default();
                self.accept(Reply::new(250, (2, 0, 0), "Reset OK"));
            }
            Request::Noop { .. } => self.accept(Reply::new(250, (2, 0, 0), "OK")),
            Request::Vrfy { .. } => self.accept(Reply::new(
                252,
                (2, 5, 0),
                "Cannot VRFY; send the message and the gateway will decide",
            )),
            Request::Help { .. } => self.accept(Reply::new(
                214,
                (2, 0, 0),
                "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
            )),
            Request::Quit => {
                self.io.queue_reply(&Reply::new(221, (2, 0, 0), "Bye"));
                return Ok(Flow::Quit);
            }
            // EXPN would reveal list members; the others are for relays, not submission.
            Request::Expn { .. }
            | Request::Lhlo { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                let reply = Reply::new(502, (5, 5, 1), "Command not implemented");
                self.refuse("smtp.bad_command", "not_implemented", reply);
            }
        }
        Ok(Flow::Continue)
    }

    /// Sends a positive (or intermediate) reply; a success ends a run of errors.
    pub(crate) fn accept(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.errors = 0;
        }
        self.io.queue_reply(&reply);
    }

    /// Sends a refusal and logs it once, under a fixed event name, with a short reason.
    pub(crate) fn refuse(&mut self, event: &'static str, reason: &'static str, reply: Reply) {
        tracing::info!(event, reason, peer = %self.info.peer, code = reply.code, "refused");
        self.errors += 1;
        self.io.queue_reply(&reply);
    }

    fn refuse_bare_cr(&mut self, line: &[u8]) {
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase());
        let reply = match verb.as_deref() {
            Some(b"MAIL") => Reply::new(501, (5, 1, 7), "Bad sender address: bare CR"),
            Some(b"RCPT") => Reply::new(501, (5, 1, 3), "Bad recipient address: bare CR"),
            _ => Reply::new(500, (5, 5, 2), "Bare CR in command line"),
        };
        self.refuse("smtp.bad_command", "bare_cr", reply);
    }

    fn refuse_parse_error(&mut self, error: ParseError) {
        let (reason, reply) = match error {
            ParseError::UnknownCommand => (
                "unknown_command",
                Reply::new(500, (5, 5, 2), "Command unrecognized"),
            ),
            ParseError::InvalidSenderAddress => (
                "bad_sender",
                Reply::new(501, (5, 1, 7), "Bad sender address syntax"),
            ),
            ParseError::InvalidRecipientAddress => (
                "bad_recipient",
                Reply::new(501, (5, 1, 3), "Bad recipient address syntax"),
            ),
            ParseError::SyntaxError { syntax } => (
                "syntax",
                Reply::new(501, (5, 5, 4), format!("Syntax: {syntax}")),
            ),
            ParseError::InvalidParameter { param } => (
                "bad_parameter",
                Reply::new(501, (5, 5, 4), format!("Invalid {param} parameter")),
            ),
            ParseError::UnsupportedParameter { .. } => (
                "unsupported_parameter",
                Reply::new(555, (5, 5, 4), "Unsupported parameter"),
            ),
            ParseError::NeedsMoreData { .. }
            | ParseError::ResponseTooLong
            | ParseError::InvalidResponse { .. } => {
                ("syntax", Reply::new(500, (5, 5, 2), "Syntax error"))
            }
        };
        self.refuse("smtp.bad_command", reason, reply);
    }

    /// Says goodbye where the protocol allows one, and logs why the session ended.
    async fn finish(mut self, end: IoEnd) {
        let peer = self.info.peer;
        let last_words = Instant::now() + LAST_WORDS;
        let (reply, reason) = match &end {
            IoEnd::Eof => (None, "eof"),
            IoEnd::Io(_) => (None, "io_error"),
            IoEnd::Timeout => {
                tracing::info!(event = "smtp.timeout", %peer, "client too slow");
                (
                    Some(Reply::new(421, (4, 4, 2), "Timeout, closing connection")),
                    "timeout",
                )
            }
            IoEnd::Budget => {
                tracing::info!(event = "smtp.budget_exhausted", %peer, "session byte budget used up");
                (
                    Some(Reply::new(
                        421,
                        (4, 7, 0),
                        "Session limit reached, closing connection",
                    )),
                    "budget",
                )
            }
            IoEnd::Shutdown => (
                Some(Reply::new(
                    421,
                    (4, 3, 2),
                    "Server shutting down, try again later",
                )),
                "shutdown",
            ),
        };
        self.io.close_with(reply.as_ref(), last_words).await;
        match end {
            IoEnd::Io(error) => tracing::debug!(event = "smtp.closed", %peer, reason, %error),
            _ => tracing::debug!(event = "smtp.closed", %peer, reason),
        }
    }
}

/// Resolves once shutdown begins; never, if the service is gone (nobody can begin it then).
async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|&stopping| stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A CR that is not part of the line's CRLF ending.
fn has_bare_cr(line: &[u8]) -> bool {
    let content = line.strip_suffix(b"\n").unwrap_or(line);
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    content.contains(&b'\r')
}

#[cfg(test)]
mod tests {
    use super::has_bare_cr;

    #[test]
    fn bare_cr_is_only_a_cr_inside_the_line() {
        assert!(!has_bare_cr(b"MAIL FROM:<a@b>\r\n"));
        assert!(!has_bare_cr(b"MAIL FROM:<a@b>\n"));
        assert!(has_bare_cr(b"MAIL FROM:<a@b>\rBcc: x\r\n"));
        assert!(has_bare_cr(b"NOOP\r\r\n"));
    }
}
