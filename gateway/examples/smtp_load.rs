//! SMTP load client for the ingress benchmark (`ops/bench/ingress.sh`).
//!
//! Postfix's `smtp-source` speaks no AUTH, and the gateway takes list submissions only from
//! authenticated people, so the gateway side of the benchmark uses this client: N parallel
//! sessions over plain TCP (the demo server allows AUTH PLAIN without TLS from loopback), each
//! logged in as its own person, sending small list submissions until a shared message budget
//! is used up. MAIL, RCPT and DATA are pipelined (RFC 2920).
//!
//! Run `cargo run --release -p verteiler-gateway --example smtp_load -- --help`.

use base64::Engine as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const HELP: &str = "\
smtp_load: AUTH-capable SMTP load client for the verteiler ingress benchmark

Usage: smtp_load --server HOST:PORT --logins FILE [options]

  --server HOST:PORT   the SMTP server (required)
  --logins FILE        lines \"email password\"; session i logs in with line i % n and sends
                       with that email as envelope and header sender (required)
  --sessions N         parallel sessions (default 20)
  --messages TOTAL     messages to send over all sessions (default 20000)
  --to ADDRESS         list address every session sends to
                       (default oldenfelde@lists.example.org)
  --to-file FILE       one list address per line; session i sends to line i % n
                       (e.g. each login's own list); overrides --to
  --size BYTES         body size of each message (default 1000)
  --help               this text

Prints one summary line (replies counted by first digit: 2xx accepted, of which `held`
said \"held\", 4xx temp, 5xx perm; `errors` are messages lost to connection failures;
`rate` is 2xx replies per second, `replied_rate` all replies per second) and the first
three non-2xx replies with distinct reasons. Exits 0 once every message has an outcome.";

struct Options {
    server: String,
    sessions: usize,
    messages: u64,
    logins: Vec<(String, String)>,
    to: Vec<String>,
    size: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut server = None;
    let mut sessions = 20usize;
    let mut messages = 20_000u64;
    let mut logins_file = None;
    let mut to = "oldenfelde@lists.example.org".to_string();
    let mut to_file = None;
    let mut size = 1000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{HELP}");
            std::process::exit(0);
        }
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => server = Some(value()?),
            "--sessions" => sessions = parse_number(&arg, &value()?)?,
            "--messages" => messages = parse_number(&arg, &value()?)?,
            "--logins" => logins_file = Some(value()?),
            "--to" => to = value()?,
            "--to-file" => to_file = Some(value()?),
            "--size" => size = parse_number(&arg, &value()?)?,
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    let server = server.ok_or("--server is required (see --help)")?;
    let logins_file = logins_file.ok_or("--logins is required (see --help)")?;
    if sessions == 0 {
        return Err("--sessions must be at least 1".into());
    }
    let logins = read_lines(&logins_file)?
        .into_iter()
        .map(|line| {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(email), Some(password)) => Ok((email.to_string(), password.to_string())),
                _ => Err(format!(
                    "{logins_file}: expected \"email password\", got {line:?}"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if logins.is_empty() {
        return Err(format!("{logins_file} holds no logins"));
    }
    let to = match to_file {
        Some(file) => {
            let lines = read_lines(&file)?;
            if lines.is_empty() {
                return Err(format!("{file} holds no addresses"));
            }
            lines
        }
        None => vec![to],
    };
    Ok(Options {
        server,
        sessions,
        messages,
        logins,
        to,
        size,
    })
}

fn parse_number<T: std::str::FromStr>(arg: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{arg}: {value:?} is not a number"))
}

/// The non-empty lines of a file, trimmed.
fn read_lines(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Counters shared by all sessions.
#[derive(Default)]
struct Stats {
    accepted: AtomicU64,
    held: AtomicU64,
    temp: AtomicU64,
    perm: AtomicU64,
    errors: AtomicU64,
    /// The first three distinct non-2xx replies (or connection problems).
    samples: Mutex<Vec<String>>,
}

impl Stats {
    fn count(&self, reply: &Reply) {
        match reply.code / 100 {
            2 => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
                let text = reply.text.to_lowercase();
                if text.contains("held") || text.contains("zurückgehalten") {
                    self.held.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            4 => self.temp.fetch_add(1, Ordering::Relaxed),
            _ => self.perm.fetch_add(1, Ordering::Relaxed),
        };
        self.sample(&reply.text);
    }

    fn error(&self, messages: u64, problem: &str) {
        self.errors.fetch_add(messages, Ordering::Relaxed);
        self.sample(&format!("connection: {problem}"));
    }

    /// Keeps a reply if its last line (the reason, in a multi-line refusal) is new: the first
    /// line often only names the list, which differs per session.
    fn sample(&self, text: &str) {
        let reason = |t: &str| t.rsplit(" | ").next().unwrap_or_default().to_string();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() < 3 && !samples.iter().any(|s| reason(s) == reason(text)) {
            samples.push(text.to_string());
        }
    }
}

/// One SMTP reply: its code and all its lines joined with " | ".
struct Reply {
    code: u16,
    text: String,
}

struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: String,
}

impl Connection {
    async fn read_reply(&mut self) -> Result<Reply, String> {
        let mut lines = Vec::new();
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_line(&mut self.line)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(if lines.is_empty() {
                    "closed by the server".to_string()
                } else {
                    format!("closed by the server after {}", lines.join(" | "))
                });
            }
            let line = self.line.trim_end().to_string();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| format!("not an SMTP reply: {line:?}"))?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return Ok(Reply {
                    code,
                    text: lines.join(" | "),
                });
            }
        }
    }

    async fn send(&mut self, data: &[u8]) -> Result<(), String> {
        self.writer
            .write_all(data)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// Sends a command and expects a reply of the given class.
    async fn command(&mut self, command: &str, class: u16) -> Result<Reply, String> {
        self.send(command.as_bytes()).await?;
        let reply = self.read_reply().await?;
        if reply.code / 100 != class {
            return Err(format!("{} -> {}", command.trim_end(), reply.text));
        }
        Ok(reply)
    }
}

/// Connects, reads the greeting, says EHLO and logs in with AUTH PLAIN.
async fn open(server: &str, login: &str, password: &str) -> Result<Connection, String> {
    let stream = TcpStream::connect(server)
        .await
        .map_err(|e| format!("connect to {server}: {e}"))?;
    stream.set_nodelay(true).ok();
    let (read, write) = stream.into_split();
    let mut conn = Connection {
        reader: BufReader::new(read),
        writer: write,
        line: String::new(),
    };
    let greeting = conn.read_reply().await?;
    if greeting.code != 220 {
        return Err(format!("greeting: {}", greeting.text));
    }
    conn.command("EHLO smtp-load.example.org\r\n", 2).await?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{login}\0{password}"));
    conn.command(&format!("AUTH PLAIN {token}\r\n"), 2)
        .await
        .map_err(|e| format!("AUTH as {login}: {e}"))?;
    Ok(conn)
}

/// A small list submission with its headers; `body` is already dot-stuffed and CRLF-ended.
fn message(from: &str, to: &str, n: u64, run: u128, body: &str) -> String {
    let date = rfc5322_date();
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Benchmark message {n}\r\n\
         Message-ID: <bench.{run}.{n}@smtp-load.example.org>\r\nDate: {date}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}.\r\n"
    )
}

/// An RFC 5322 date in UTC.
fn rfc5322_date() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

/// A body of about `size` bytes in lines of 76 characters.
fn body(size: usize) -> String {
    let line = "The quick brown fox jumps over the lazy dog; benchmark text for verteiler.\r\n";
    let mut body = String::with_capacity(size + line.len());
    while body.len() + line.len() <= size {
        body.push_str(line);
    }
    let rest = size.saturating_sub(body.len());
    if rest > 0 {
        body.push_str(&"x".repeat(rest.saturating_sub(2).max(1)));
        body.push_str("\r\n");
    }
    body
}

/// Takes the next message number from the shared budget, if any is left.
fn next_message(next: &AtomicU64, total: u64) -> Option<u64> {
    let n = next.fetch_add(1, Ordering::Relaxed);
    (n < total).then_some(n)
}

/// One session: log in, then send until the shared budget is used up. A dropped connection
/// counts the message in flight as an error and logs in again (at most 5 times in a row).
async fn session(
    opts: Arc<Options>,
    index: usize,
    next: Arc<AtomicU64>,
    stats: Arc<Stats>,
    run: u128,
) {
    let (login, password) = &opts.logins[index % opts.logins.len()];
    let to = &opts.to[index % opts.to.len()];
    let body = body(opts.size);
    let mut failures = 0;
    let mut conn: Option<Connection> = None;
    let mut pending = None;
    loop {
        let n = match pending.take() {
            Some(n) => n,
            None => match next_message(&next, opts.messages) {
                Some(n) => n,
                None => break,
            },
        };
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match open(&opts.server, login, password).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    failures += 1;
                    if failures >= 5 {
                        // Give up this session: the message it holds is lost.
                        stats.error(1, &e);
                        return;
                    }
                    stats.sample(&format!("connection: {e}"));
                    pending = Some(n);
                    tokio::time::sleep(Duration::from_millis(200 * failures)).await;
                    continue;
                }
            },
        };
        match transaction(c, login, to, n, run, &body).await {
            Ok(reply) => {
                failures = 0;
                stats.count(&reply);
            }
            Err(e) => {
                stats.error(1, &e);
                conn = None;
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = c.command("QUIT\r\n", 2).await;
    }
}

/// MAIL, RCPT and DATA pipelined, then the message; returns the reply that decides the
/// message's fate (the first refusal, or the final reply after the data).
async fn transaction(
    c: &mut Connection,
    from: &str,
    to: &str,
    n: u64,
    run: u128,
    body: &str,
) -> Result<Reply, String> {
    c.send(format!("MAIL FROM:<{from}>\r\nRCPT TO:<{to}>\r\nDATA\r\n").as_bytes())
        .await?;
    let mail = c.read_reply().await?;
    let rcpt = c.read_reply().await?;
    let data = c.read_reply().await?;
    let refusal = [mail, rcpt].into_iter().find(|r| r.code / 100 != 2);
    if data.code == 354 {
        c.send(message(from, to, n, run, body).as_bytes()).await?;
        let last = c.read_reply().await?;
        return Ok(refusal.unwrap_or(last));
    }
    // No data phase: end whatever part of the transaction was opened.
    c.command("RSET\r\n", 2).await?;
    Ok(refusal.unwrap_or(data))
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("smtp_load: {e}");
            std::process::exit(2);
        }
    };
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let next = Arc::new(AtomicU64::new(0));
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let tasks: Vec<_> = (0..opts.sessions)
        .map(|i| {
            tokio::spawn(session(
                Arc::clone(&opts),
                i,
                Arc::clone(&next),
                Arc::clone(&stats),
                run,
            ))
        })
        .collect();
    for task in tasks {
        if let Err(e) = task.await {
            eprintln!("smtp_load: a session failed: {e}");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let accepted = stats.accepted.load(Ordering::Relaxed);
    let replies =
        accepted + stats.temp.load(Ordering::Relaxed) + stats.perm.load(Ordering::Relaxed);
    let answered = replies + stats.errors.load(Ordering::Relaxed);
    // Messages no session could send (every session gave up) count as errors too.
    stats
        .errors
        .fetch_add(opts.messages.saturating_sub(answered), Ordering::Relaxed);
    let seconds = seconds.max(1e-9);
    println!(
        "sessions={} messages={} accepted={} held={} temp={} perm={} errors={} seconds={:.2} \
         rate={:.1}/s replied_rate={:.1}/s",
        opts.sessions,
        opts.messages,
        accepted,
        stats.held.load(Ordering::Relaxed),
        stats.temp.load(Ordering::Relaxed),
        stats.perm.load(Ordering::Relaxed),
        stats.errors.load(Ordering::Relaxed),
        seconds,
        accepted as f64 / seconds,
        replies as f64 / seconds,
    );
    let samples = stats.samples.lock().unwrap_or_else(|e| e.into_inner());
    for sample in samples.iter() {
        println!("  non-2xx: {sample}");
    }
}
