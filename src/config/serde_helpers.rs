//! Field (de)serialisers that give operators readable messages and keep secrets out of output.

use std::fmt;
use std::net::SocketAddr;

use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// What an operator should write for a socket address; used in error messages.
const SOCKET_ADDR_EXAMPLE: &str = "a socket address like 127.0.0.1:2525";

struct SocketAddrVisitor;

impl Visitor<'_> for SocketAddrVisitor {
    type Value = SocketAddr;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(SOCKET_ADDR_EXAMPLE)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SocketAddr, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("{v:?} is not {SOCKET_ADDR_EXAMPLE}")))
    }
}

/// A `SocketAddr` written as a string, with an error message that shows an example.
pub(super) fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    d.deserialize_str(SocketAddrVisitor)
}

/// Like [`socket_addr`] for optional keys (a missing key is handled by `#[serde(default)]`).
pub(super) fn opt_socket_addr<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SocketAddr>, D::Error> {
    socket_addr(d).map(Some)
}

/// Serialises a secret as `"<redacted>"`, so rendered configurations never contain it.
pub(super) fn redacted<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "socket_addr")]
        listen: SocketAddr,
    }

    #[test]
    fn socket_addr_parses_ipv4_and_ipv6() {
        let p: Probe = toml::from_str(r#"listen = "[::1]:25""#).unwrap();
        assert_eq!(p.listen, "[::1]:25".parse().unwrap());
        let p: Probe = toml::from_str(r#"listen = "0.0.0.0:2525""#).unwrap();
        assert_eq!(p.listen.port(), 2525);
    }

    #[test]
    fn socket_addr_error_shows_an_example() {
        let e = toml::from_str::<Probe>(r#"listen = "nonsense""#).unwrap_err();
        assert!(
            e.message()
                .contains(r#""nonsense" is not a socket address like 127.0.0.1:2525"#),
            "{e}"
        );
        let e = toml::from_str::<Probe>("listen = 25").unwrap_err();
        assert!(e.message().contains("socket address like"), "{e}");
    }
}
