//! MAIL FROM and RCPT TO: building the envelope of one transaction.
//!
//! MAIL needs no AUTH: the bounce address (an `open` recipient) must be reachable by any
//! MTA. Whether a recipient needs an authenticated session is the handler's answer
//! (`RcptOutcome::Accept { open }`); the session enforces it with 530 5.7.0, and on the
//! inbound listener, where nobody authenticates, with 550 5.7.1.

use super::address::{check_address, AddressProblem};
use super::handler::{ListenerRole, RcptOutcome, Reply};
use super::session::Session;
use super::SessionHandler;
use smtp_proto::{MailFrom, RcptTo, MAIL_BODY_BINARYMIME, MAIL_SMTPUTF8};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S, H> Session<'_, S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: SessionHandler,
{
    pub(crate) fn handle_mail(&mut self, from: MailFrom<String>) {
        if self.info.helo.is_none() {
            let reply = Reply::new(503, (5, 5, 1), "Send EHLO or HELO first");
            self.refuse("smtp.bad_sequence", "mail_before_ehlo", reply);
            return;
        }
        if self.tx.mail_from.is_some() {
            let reply = Reply::new(503, (5, 5, 1), "Sender already given; RSET to start over");
            self.refuse("smtp.bad_sequence", "mail_twice", reply);
            return;
        }
        let has_parameters = from.flags != 0 || from.size != 0;
        if has_parameters && !self.esmtp {
            let reply = Reply::new(501, (5, 5, 4), "Parameters need EHLO, not HELO");
            self.refuse("smtp.bad_command", "parameters_after_helo", reply);
            return;
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !from.address.is_empty() {
            if let Err(problem) = check_address(&from.address, smtputf8) {
                let reply = match problem {
                    AddressProblem::NeedsSmtpUtf8 => {
                        Reply::new(553, (5, 6, 7), "Non-ASCII address needs SMTPUTF8")
                    }
                    AddressProblem::ForbiddenCharacter | AddressProblem::Syntax => {
                        Reply::new(501, (5, 1, 7), "Bad sender address syntax")
                    }
                };
                self.refuse("smtp.bad_address", "sender", reply);
                return;
            }
        }
        if from.flags & MAIL_BODY_BINARYMIME != 0 {
            let reply = Reply::new(555, (5, 5, 4), "BODY=BINARYMIME is not supported");
            self.refuse("smtp.bad_command", "binarymime", reply);
            return;
        }
        let limit = self.config().max_message_bytes;
        if from.size > limit {
            let reply = Reply::new(
                552,
                (5, 3, 4),
                format!("Message too big: the limit is {limit} bytes"),
            );
            self.refuse("smtp.too_big", "declared_size", reply);
            return;
        }
        // 8BITMIME needs nothing from us: the body is stored as received.
        self.tx.mail_from = Some(from.address);
        self.tx.smtputf8 = smtputf8;
        self.accept(Reply::new(250, (2, 1, 0), "Sender OK"));
    }

    pub(crate) async fn handle_rcpt(&mut self, to: RcptTo<String>) {
        if self.tx.mail_from.is_none() {
            let reply = Reply::new(503, (5, 5, 1), "Send MAIL FROM first");
            self.refuse("smtp.bad_sequence", "rcpt_before_mail", reply);
            return;
        }
        let address = to.address;
        if address.is_empty() {
            let reply = Reply::new(501, (5, 1, 3), "Bad recipient address syntax");
            self.refuse("smtp.bad_address", "empty_recipient", reply);
            return;
        }
        if let Err(problem) = check_address(&address, self.tx.smtputf8) {
            let reply = match problem {
                AddressProblem::NeedsSmtpUtf8 => {
                    Reply::new(553, (5, 6, 7), "Non-ASCII address needs SMTPUTF8")
                }
                AddressProblem::ForbiddenCharacter | AddressProblem::Syntax => {
                    Reply::new(501, (5, 1, 3), "Bad recipient address syntax")
                }
            };
            self.refuse("smtp.bad_address", "recipient", reply);
            return;
        }
        if self
            .tx
            .rcpt_to
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&address))
        {
            // Already in the envelope: one copy is enough, and the answer stays positive.
            self.accept(Reply::new(250, (2, 1, 5), "Recipient OK (duplicate)"));
            return;
        }
        let max = self.config().max_recipients;
        if self.tx.rcpt_to.len() >= max {
            let reply = Reply::new(
                452,
                (4, 5, 3),
                format!("Too many recipients; at most {max} per message"),
            );
            self.refuse("smtp.rcpt_refused", "too_many_recipients", reply);
            return;
        }
        let outcome = self
            .service
            .handler
            .check_recipient(&self.info, &address)
            .await;
        match outcome {
            RcptOutcome::Accept { open } => {
                if !open && self.info.role == ListenerRole::Inbound {
                    // The handler should have said so itself; the port relays nothing anyway.
                    let reply = Reply::new(
                        550,
                        (5, 7, 1),
                        "Relay denied: this address takes no mail from outside",
                    );
                    self.refuse("smtp.rcpt_refused", "not_open", reply);
                    return;
                }
                if !open && self.info.identity.is_none() {
                    let reply = Reply::new(530, (5, 7, 0), "Authentication required");
                    self.refuse("smtp.auth_required", "closed_recipient", reply);
                    return;
                }
                self.tx.rcpt_to.push(address);
                self.accept(Reply::new(250, (2, 1, 5), "Recipient OK"));
            }
            RcptOutcome::Reject(reply) => self.refuse("smtp.rcpt_refused", "handler", reply),
        }
    }
}
