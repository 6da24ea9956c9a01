//! Where copies go. Every transport answers with an [`Outcome`]; whether a failure is worth
//! another attempt is decided where the failure is understood, in the transport.

use super::mx::Mx;
use super::outcome::Outcome;
use super::relay::Relay;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The configured transport.
#[derive(Debug, Clone)]
pub enum Transport {
    Outbox(Outbox),
    Relay(Relay),
    Mx(Mx),
}

impl Transport {
    /// Where copies go, as a delivery line names it: `outbox`, `relay=HOST:PORT`, `mx`.
    pub fn via(&self) -> String {
        match self {
            Transport::Outbox(_) => "outbox".into(),
            Transport::Relay(relay) => format!("relay={}", relay.address()),
            Transport::Mx(_) => "mx".into(),
        }
    }

    /// Hands one message to the transport. `name` identifies it uniquely and stably (the same
    /// delivery always has the same name), so a repeated attempt replaces, never duplicates.
    pub async fn send(
        &self,
        name: &str,
        return_path: &str,
        recipient: &str,
        message: Vec<u8>,
    ) -> Outcome {
        match self {
            Transport::Outbox(outbox) => outbox.send(name, return_path, recipient, message).await,
            Transport::Relay(relay) => relay.send(return_path, recipient, &message).await,
            Transport::Mx(mx) => mx.send(return_path, recipient, &message).await,
        }
    }
}

/// One `.eml` file per message in a directory, as a final delivery would store it (with
/// `Return-Path` and `Delivered-To` on top): the demo's and the tests' transport.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    async fn send(
        &self,
        name: &str,
        return_path: &str,
        recipient: &str,
        message: Vec<u8>,
    ) -> Outcome {
        let dir = self.dir.clone();
        let name = name.to_string();
        let head = format!("Return-Path: <{return_path}>\r\nDelivered-To: {recipient}\r\n");
        let written = tokio::task::spawn_blocking(move || {
            write_atomically(&dir, &format!("{name}.eml"), head.as_bytes(), &message)
        })
        .await;
        match written {
            Ok(Ok(())) => Outcome::Sent,
            // A full or unwritable disk is an operator's problem to fix, not the message's.
            Ok(Err(e)) => Outcome::Temporary(format!("writing to the outbox failed: {e}")),
            Err(e) => Outcome::Temporary(format!("the outbox writer stopped: {e}")),
        }
    }
}

/// Writes `file` whole or not at all: a temporary file, synced, then renamed into place.
pub(crate) fn write_atomically(
    dir: &Path,
    file: &str,
    head: &[u8],
    body: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{file}.tmp"));
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(head)?;
    out.write_all(body)?;
    out.sync_all()?;
    std::fs::rename(&tmp, dir.join(file))?;
    std::fs::File::open(dir)?.sync_all()
}
