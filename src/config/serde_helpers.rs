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

/// What an operator should write for a DNS server; used in error messages.
const NAMESERVER_EXAMPLE: &str = "a name server address like 192.0.2.53:53 or 192.0.2.53";

struct NameserversVisitor;

impl<'de> Visitor<'de> for NameserversVisitor {
    type Value = Vec<SocketAddr>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {NAMESERVER_EXAMPLE}")
    }

    /// One string of addresses separated by commas or spaces: how an environment variable
    /// (`VERTEILER_DELIVERY__MX__NAMESERVERS`) writes a list.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<SocketAddr>, E> {
        v.split([',', ' ', '\t'])
            .filter(|part| !part.is_empty())
            .map(nameserver)
            .collect()
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<SocketAddr>, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = seq.next_element::<String>()? {
            out.push(nameserver(&entry)?);
        }
        Ok(out)
    }
}

fn nameserver<E: de::Error>(text: &str) -> Result<SocketAddr, E> {
    let text = text.trim();
    text.parse::<SocketAddr>()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .map_err(|_| E::custom(format!("{text:?} is not {NAMESERVER_EXAMPLE}")))
}

/// DNS servers as a TOML array of strings or one string of them separated by commas.
pub(super) fn nameservers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    d.deserialize_any(NameserversVisitor)
}

struct StringListVisitor;

impl<'de> Visitor<'de> for StringListVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of strings, or one string of entries separated by commas")
    }

    /// How an environment variable (`VERTEILER_HTTP__TRUSTED_PROXIES`) writes a list.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        Ok(v.split([',', ' ', '\t'])
            .filter(|part| !part.is_empty())
            .map(str::to_string)
            .collect())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = seq.next_element::<String>()? {
            out.push(entry);
        }
        Ok(out)
    }
}

/// A list of strings as a TOML array or one string separated by commas (entries are checked
/// by the validation, which names the bad one).
pub(super) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(StringListVisitor)
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

    #[derive(Debug, Deserialize)]
    struct Servers {
        #[serde(deserialize_with = "nameservers")]
        servers: Vec<SocketAddr>,
    }

    #[test]
    fn nameservers_from_an_array_or_one_string_with_port_53_by_default() {
        let expected: Vec<SocketAddr> = vec![
            "192.0.2.53:53".parse().unwrap(),
            "[2001:db8::53]:5353".parse().unwrap(),
        ];
        let p: Servers =
            toml::from_str(r#"servers = ["192.0.2.53", "[2001:db8::53]:5353"]"#).unwrap();
        assert_eq!(p.servers, expected);
        let p: Servers =
            toml::from_str(r#"servers = "192.0.2.53:53, [2001:db8::53]:5353""#).unwrap();
        assert_eq!(p.servers, expected);
        let p: Servers = toml::from_str(r#"servers = []"#).unwrap();
        assert!(p.servers.is_empty());
        let e =
            toml::from_str::<Servers>(r#"servers = ["192.0.2.53", "dns.example"]"#).unwrap_err();
        assert!(
            e.message()
                .contains(r#""dns.example" is not a name server address like"#),
            "{e}"
        );
        let e = toml::from_str::<Servers>("servers = 53").unwrap_err();
        assert!(e.message().contains("name server address like"), "{e}");
    }

    #[derive(Debug, Deserialize)]
    struct Strings {
        #[serde(deserialize_with = "string_list")]
        entries: Vec<String>,
    }

    #[test]
    fn string_lists_from_an_array_or_one_string() {
        let p: Strings = toml::from_str(r#"entries = ["10.0.0.1", "fd00::/8"]"#).unwrap();
        assert_eq!(p.entries, ["10.0.0.1", "fd00::/8"]);
        let p: Strings = toml::from_str(r#"entries = "10.0.0.1, fd00::/8""#).unwrap();
        assert_eq!(p.entries, ["10.0.0.1", "fd00::/8"]);
        assert!(toml::from_str::<Strings>("entries = 5").is_err());
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
