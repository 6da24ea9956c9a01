//! DATA and BDAT: streaming the message in under its size and time budget, then handing it
//! to the handler, whose reply is the final answer. The handler is called only with a whole,
//! in-limit message: a client that disconnects or times out mid-message leaves nothing
//! behind, and an oversized one is answered 552 5.3.4 without the handler seeing it.

use super::data::{BoundedBody, DotDecoder};
use super::handler::{Envelope, Reply};
use super::io::IoEnd;
use super::reply::plain_reply;
use super::session::{Session, Transaction};
use super::SessionHandler;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

impl<S, H> Session<'_, S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: SessionHandler,
{
    /// The reply for DATA or BDAT when the envelope is not complete, if it is not.
    fn envelope_incomplete(&self) -> Option<(&'static str, Reply)> {
        if self.tx.mail_from.is_none() {
            Some((
                "data_before_mail",
                Reply::new(503, (5, 5, 1), "Send MAIL FROM first"),
            ))
        } else if self.tx.rcpt_to.is_empty() {
            Some((
                "data_before_rcpt",
                Reply::new(503, (5, 5, 1), "Send RCPT TO first"),
            ))
        } else {
            None
        }
    }

    /// Deadline for the next read inside a message: the per-read timeout, capped by the
    /// budget of the whole transfer.
    fn message_read_deadline(&self, transfer_deadline: Instant) -> Instant {
        self.command_deadline().min(transfer_deadline)
    }

    fn transfer_deadline(&self) -> Instant {
        (Instant::now() + self.config().data_timeout).min(self.session_deadline)
    }

    pub(crate) async fn handle_data(&mut self) -> Result<(), IoEnd> {
        if let Some((reason, reply)) = self.envelope_incomplete() {
            self.refuse("smtp.bad_sequence", reason, reply);
            return Ok(());
        }
        if self.tx.bdat.is_some() {
            let reply = Reply::new(503, (5, 5, 1), "DATA cannot follow BDAT");
            self.refuse("smtp.bad_sequence", "data_after_bdat", reply);
            return Ok(());
        }
        self.accept(plain_reply(
            354,
            vec!["End data with <CR><LF>.<CR><LF>".to_string()],
        ));
        let transfer_deadline = self.transfer_deadline();
        let mut decoder = DotDecoder::new(self.config().max_message_bytes);
        loop {
            if self.io.buffered().is_empty() {
                let deadline = self.message_read_deadline(transfer_deadline);
                if let Err(end) = self.io.fill(deadline).await {
                    return Err(self.abort_message(end, decoder.is_over_limit()));
                }
            }
            let buffered = self.io.buffered();
            let available = buffered.len();
            match decoder.feed(buffered) {
                Some(used) => {
                    self.io.consume(used);
                    break;
                }
                None => self.io.consume(available),
            }
        }
        self.deliver(decoder.finish()).await;
        Ok(())
    }

    /// BDAT (RFC 3030): the chunk follows the command whatever the answer, so it is always
    /// read (and, when the answer is no, thrown away).
    pub(crate) async fn handle_bdat(&mut self, chunk_size: usize, last: bool) -> Result<(), IoEnd> {
        let incomplete = self.envelope_incomplete();
        let limit = self.config().max_message_bytes;
        let mut body = self
            .tx
            .bdat
            .take()
            .unwrap_or_else(|| BoundedBody::new(limit));
        let transfer_deadline = self.transfer_deadline();
        let mut remaining = chunk_size;
        while remaining > 0 {
            if self.io.buffered().is_empty() {
                let deadline = self.message_read_deadline(transfer_deadline);
                if let Err(end) = self.io.fill(deadline).await {
                    return Err(self.abort_message(end, body.is_over_limit()));
                }
            }
            let take = remaining.min(self.io.buffered().len());
            if incomplete.is_none() {
                body.push(&self.io.buffered()[..take]);
            }
            self.io.consume(take);
            remaining -= take;
        }
        if let Some((reason, reply)) = incomplete {
            self.refuse("smtp.bad_sequence", reason, reply);
            return Ok(());
        }
        if last {
            self.deliver(body.finish()).await;
        } else {
            self.tx.bdat = Some(body);
            self.accept(Reply::new(
                250,
                (2, 0, 0),
                format!("{chunk_size} octets received"),
            ));
        }
        Ok(())
    }

    /// Logs a message transfer that ended without its end marker; nothing is stored.
    fn abort_message(&mut self, end: IoEnd, over_limit: bool) -> IoEnd {
        tracing::info!(
            event = "smtp.message_aborted",
            peer = %self.info.peer,
            over_limit,
            reason = ?end,
            "client stopped sending mid-message"
        );
        self.tx = Transaction::default();
        end
    }

    /// Hands a complete message to the handler; its reply is the answer. The transaction is
    /// over either way (RFC 5321 §4.1.1.4).
    async fn deliver(&mut self, message: Result<Vec<u8>, u64>) {
        let transaction = std::mem::take(&mut self.tx);
        let message = match message {
            Ok(message) => message,
            Err(_size) => {
                let limit = self.config().max_message_bytes;
                let reply = Reply::new(
                    552,
                    (5, 3, 4),
                    format!("Message too big: the limit is {limit} bytes"),
                );
                self.refuse("smtp.too_big", "streamed_size", reply);
                return;
            }
        };
        let envelope = Envelope {
            mail_from: transaction.mail_from.unwrap_or_default(),
            rcpt_to: transaction.rcpt_to,
        };
        let reply = self
            .service
            .handler
            .accept_message(&self.info, &envelope, &message)
            .await;
        if reply.is_positive() {
            tracing::info!(
                event = "smtp.accepted",
                peer = %self.info.peer,
                bytes = message.len(),
                recipients = envelope.rcpt_to.len(),
                code = reply.code,
            );
            self.accept(reply);
        } else {
            self.refuse("smtp.message_refused", "handler", reply);
        }
    }
}
