//! A raw SMTP client for the end-to-end tests: every reply exactly as the server sent it, for
//! what smtplib hides (the EHLO keywords, a refused AUTH, byte-identical refusals).

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A raw SMTP client: every reply exactly as the server sent it.
pub struct Raw(BufReader<TcpStream>);

impl Raw {
    pub async fn connect(smtp: &str) -> Raw {
        let mut raw = Raw(BufReader::new(TcpStream::connect(smtp).await.unwrap()));
        assert!(raw.reply().await.starts_with("220"));
        raw
    }

    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.0.read_line(&mut line).await.unwrap();
            assert!(line.ends_with("\r\n"), "{all}{line:?}");
            all.push_str(&line);
            if line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        let stream = self.0.get_mut();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}
