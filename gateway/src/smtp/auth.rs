//! AUTH PLAIN and AUTH LOGIN (RFC 4954), with the lockout checked before the handler is
//! asked: a locked client (IP, or IPv6 /64) is refused before credentials are even read, a
//! locked login before the password is checked, so a locked account cannot be probed further.
//!
//! Credentials never reach a log line: events carry the peer and the outcome only.

use super::handler::{AuthOutcome, ListenerRole, Reply};
use super::io::{IoEnd, Line};
use super::reply::plain_reply;
use super::session::Session;
use super::SessionHandler;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};
use tokio::io::{AsyncRead, AsyncWrite};

/// "Username:" and "Password:" in base64, the challenges every LOGIN client expects.
const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// A client response to a challenge, or the reason there is none (already answered).
type Response = Option<Vec<u8>>;

impl<S, H> Session<'_, S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: SessionHandler,
{
    pub(crate) async fn handle_auth(
        &mut self,
        mechanism: u64,
        initial: String,
    ) -> Result<(), IoEnd> {
        let ip = self.info.peer.ip();
        if self.info.role == ListenerRole::Inbound {
            // Port 25 is for other mail servers: no login exists here, so nothing can be
            // guessed here either.
            let reply = Reply::new(503, (5, 5, 1), "AUTH is not available on this port");
            self.refuse("smtp.bad_command", "auth_on_inbound", reply);
            return Ok(());
        }
        if self.info.helo.is_none() {
            let reply = Reply::new(503, (5, 5, 1), "Send EHLO first");
            self.refuse("smtp.bad_sequence", "auth_before_ehlo", reply);
            return Ok(());
        }
        if self.info.identity.is_some() {
            let reply = Reply::new(503, (5, 5, 1), "Already authenticated");
            self.refuse("smtp.bad_sequence", "auth_twice", reply);
            return Ok(());
        }
        if self.tx.mail_from.is_some() {
            let reply = Reply::new(
                503,
                (5, 5, 1),
                "AUTH is not allowed during a mail transaction",
            );
            self.refuse("smtp.bad_sequence", "auth_in_transaction", reply);
            return Ok(());
        }
        if !self.config().auth_allowed(self.info.tls, ip) {
            let reply = Reply::new(530, (5, 7, 0), "Must issue a STARTTLS command first");
            self.refuse("smtp.auth_failed", "auth_without_tls", reply);
            return Ok(());
        }
        if self.service.limits.client_locked(ip) {
            self.refuse_locked();
            return Ok(());
        }
        let credentials = match mechanism {
            AUTH_PLAIN => self.read_plain(initial).await?,
            AUTH_LOGIN => self.read_login(initial).await?,
            _ => {
                let reply = Reply::new(
                    504,
                    (5, 5, 4),
                    "Mechanism not supported; use PLAIN or LOGIN",
                );
                self.refuse("smtp.auth_failed", "unsupported_mechanism", reply);
                return Ok(());
            }
        };
        let Some((login, password)) = credentials else {
            return Ok(());
        };
        if self.service.limits.login_locked(&login) {
            self.refuse_locked();
            return Ok(());
        }
        let handler = &self.service.handler;
        match handler.authenticate(&self.info, &login, &password).await {
            AuthOutcome::Authenticated(identity) => {
                tracing::info!(
                    event = "smtp.authenticated",
                    peer = %self.info.peer,
                    member_id = identity.member_id,
                    credential_id = identity.credential_id,
                );
                self.info.identity = Some(identity);
                self.accept(Reply::new(235, (2, 7, 0), "Authentication successful"));
            }
            AuthOutcome::Invalid => {
                let locked = self.service.limits.record_auth_failure(ip, &login);
                // The failure that reaches the limit says so in the log; the client is told
                // on its next attempt (454), so one reply stays one answer to one AUTH.
                let reason = if locked {
                    "invalid_now_locked"
                } else {
                    "invalid"
                };
                let reply = Reply::new(535, (5, 7, 8), "Authentication credentials invalid");
                self.refuse("smtp.auth_failed", reason, reply);
            }
        }
        Ok(())
    }

    fn refuse_locked(&mut self) {
        let minutes = self.config().auth_lockout.as_secs().div_ceil(60).max(1);
        let text = format!("Too many failed logins; try again in {minutes} minutes");
        let reply = Reply::new(454, (4, 7, 0), text);
        self.refuse("smtp.auth_locked", "locked", reply);
    }

    /// PLAIN: one response `authzid NUL authcid NUL password`. Proxy authorisation is not
    /// supported: a non-empty authzid must equal the login.
    async fn read_plain(&mut self, initial: String) -> Result<Option<(String, String)>, IoEnd> {
        let response = if initial.is_empty() {
            self.challenge("").await?
        } else {
            self.decode_response(initial.as_bytes())
        };
        let Some(response) = response else {
            return Ok(None);
        };
        let mut parts = response.split(|&b| b == 0);
        let (Some(authzid), Some(login), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            self.refuse_malformed("Malformed PLAIN credentials");
            return Ok(None);
        };
        if !authzid.is_empty() && authzid != login {
            let reply = Reply::new(
                535,
                (5, 7, 8),
                "Authorization identity must be empty or the login",
            );
            self.refuse("smtp.auth_failed", "authzid", reply);
            return Ok(None);
        }
        Ok(self.utf8_credentials(login, password))
    }

    /// LOGIN: username and password in two challenges; the username may come with AUTH.
    async fn read_login(&mut self, initial: String) -> Result<Option<(String, String)>, IoEnd> {
        let login = if initial.is_empty() {
            self.challenge(LOGIN_USERNAME).await?
        } else {
            self.decode_response(initial.as_bytes())
        };
        let Some(login) = login else {
            return Ok(None);
        };
        let Some(password) = self.challenge(LOGIN_PASSWORD).await? else {
            return Ok(None);
        };
        Ok(self.utf8_credentials(&login, &password))
    }

    /// Sends a 334 challenge and reads the client's base64 line.
    async fn challenge(&mut self, challenge: &str) -> Result<Response, IoEnd> {
        self.io
            .queue_reply(&plain_reply(334, vec![challenge.to_string()]));
        let max = self.config().max_line_length;
        let deadline = self.command_deadline();
        match self.io.read_line(max, deadline).await? {
            Line::TooLong => {
                let reply = Reply::new(500, (5, 5, 2), "Line too long");
                self.refuse("smtp.bad_command", "line_too_long", reply);
                Ok(None)
            }
            Line::Complete(line) => {
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line == b"*" {
                    let reply = Reply::new(501, (5, 7, 0), "Authentication cancelled");
                    self.refuse("smtp.auth_failed", "cancelled", reply);
                    return Ok(None);
                }
                Ok(self.decode_response(line))
            }
        }
    }

    /// Base64 of a response; `=` is the empty response (RFC 4954 §4).
    fn decode_response(&mut self, encoded: &[u8]) -> Response {
        if encoded == b"=" {
            return Some(Vec::new());
        }
        match STANDARD.decode(encoded) {
            Ok(decoded) => Some(decoded),
            Err(_) => {
                self.refuse_malformed("Invalid base64 data");
                None
            }
        }
    }

    fn utf8_credentials(&mut self, login: &[u8], password: &[u8]) -> Option<(String, String)> {
        match (std::str::from_utf8(login), std::str::from_utf8(password)) {
            (Ok(login), Ok(password)) if !login.is_empty() => {
                Some((login.to_string(), password.to_string()))
            }
            _ => {
                self.refuse_malformed("Login and password must be non-empty UTF-8");
                None
            }
        }
    }

    fn refuse_malformed(&mut self, text: &'static str) {
        self.refuse(
            "smtp.auth_failed",
            "malformed",
            Reply::new(501, (5, 5, 2), text),
        );
    }
}
