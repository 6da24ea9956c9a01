//! One SMTP transaction with PIPELINING (RFC 2920): MAIL, RCPT and DATA leave in one write and
//! their replies are read together, so a copy costs two round trips instead of four. lettre
//! speaks the protocol one command at a time; its public `command` writes any text and reads
//! one reply, and `read_response` reads the next, which is all a pipelined group needs.
//!
//! Every reply of the group is read before anything is decided, as RFC 2920 3.1 requires,
//! and the first refusal in command order is the answer: a refused MAIL makes the RCPT and
//! DATA refusals that follow meaningless. After any refusal the connection is not reused; the
//! server may have answered DATA with 354 and wait for a message that will not come.

use super::smtp_failure::SmtpFailure;
use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::fmt;

/// Asks the server (again) for its extensions and says whether PIPELINING is among them.
/// lettre reads the EHLO reply for the extensions it uses itself, not this one. Sent before
/// AUTH: a new EHLO after authentication may reset it on some servers.
pub(super) async fn offered(
    conn: &mut AsyncSmtpConnection,
    hello: &ClientId,
) -> Result<bool, SmtpFailure> {
    let reply = conn
        .command(Ehlo::new(hello.clone()))
        .await
        .map_err(|e| SmtpFailure::from_smtp(&e))?;
    let pipelines = reply.message().any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
    });
    Ok(pipelines)
}

/// Several commands written as one text: `command` sends what `Display` gives.
struct Group(String);

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a pipelined transaction left behind besides its result.
pub(super) struct Sent {
    pub result: Result<(), SmtpFailure>,
    /// The connection is between transactions and may carry the next message.
    pub reusable: bool,
}

/// Sends `message` (without its final CRLF) to the envelope's recipients in one pipelined
/// transaction on a connection whose server offered PIPELINING.
pub(super) async fn send(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Sent {
    let refused = |text: &str| Sent {
        result: Err(SmtpFailure::Refused(text.to_string())),
        reusable: true,
    };
    let mut parameters = Vec::new();
    let non_ascii_address = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|address| !AsRef::<str>::as_ref(address).is_ascii());
    if non_ascii_address {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return refused("the envelope has non-ASCII addresses and the server has no SMTPUTF8");
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return refused("the message has 8-bit text and the server has no 8BITMIME");
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mut group = Mail::new(envelope.from().cloned(), parameters).to_string();
    for to in envelope.to() {
        group.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    group.push_str(&Data.to_string());

    // One reply per command: MAIL's comes with the write, then each RCPT's and DATA's.
    let mut first_refusal = None;
    let mut replies = 1 + envelope.to().len() + 1;
    let mut reply = conn.command(Group(group)).await;
    loop {
        if let Err(e) = reply {
            if !e.is_permanent() && !e.is_transient() {
                // Not a reply but a broken connection or an unreadable answer: the rest of
                // the group cannot be read.
                return Sent {
                    result: Err(first_refusal.unwrap_or_else(|| SmtpFailure::from_smtp(&e))),
                    reusable: false,
                };
            }
            first_refusal.get_or_insert_with(|| SmtpFailure::from_smtp(&e));
        }
        replies -= 1;
        if replies == 0 {
            break;
        }
        reply = conn.read_response().await;
    }
    if let Some(refusal) = first_refusal {
        return Sent {
            result: Err(refusal),
            reusable: false,
        };
    }
    match conn.message(message).await {
        Ok(_) => Sent {
            result: Ok(()),
            reusable: true,
        },
        Err(e) => Sent {
            result: Err(SmtpFailure::from_smtp(&e)),
            // A refusal after the final dot leaves the session between transactions.
            reusable: e.is_permanent() || e.is_transient(),
        },
    }
}
