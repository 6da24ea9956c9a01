//! Who a request comes from, for the limits that count per client: the peer's address, or,
//! only when the peer is one of `http.trusted_proxies`, the address that proxy says it
//! forwarded for. IPv6 addresses count per /64, the block one subscriber usually gets, so
//! nobody escapes a limit by stepping through the addresses of their own network.
//!
//! Which address a proxy vouches for is read from the right: `X-Forwarded-For` and `Forwarded`
//! are appended to by each proxy, and everything left of what our own proxies wrote is
//! whatever the client sent. The right-most address that is not itself a trusted proxy is the
//! client. When a request carries both headers and they name different clients, one of them
//! was written by the client (a proxy sets one of them, not both differently), so neither is
//! believed and the request counts as coming from the proxy itself: a forger lands in a bucket
//! nobody else uses, and cannot pick a fresh bucket per request.

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// The proxies whose forwarding headers are believed (`http.trusted_proxies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `http.trusted_proxies` that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadProxyEntry {
    /// 1-based position in the list.
    pub position: usize,
    pub entry: String,
}

impl std::fmt::Display for BadProxyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} ({:?}) is not an IP address or network like 10.0.0.1, 10.0.0.0/8 or fd00::/8",
            self.position, self.entry
        )
    }
}

impl TrustedProxies {
    /// Addresses (`10.0.0.1`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, BadProxyEntry> {
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let text = entry.as_ref().trim();
                text.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| text.parse::<IpAddr>().map(|ip| IpNet::from(canonical(ip))))
                    .map_err(|_| BadProxyEntry {
                        position: i + 1,
                        entry: entry.as_ref().to_string(),
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn none() -> TrustedProxies {
        TrustedProxies(Vec::new())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The key a per-client limit counts under: an IPv4 address, an IPv6 /64 (`2001:db8:1:2::/64`),
/// or `unknown` when the connection's address is not known (every such request shares it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the middleware put on the request (`unknown` on a request it did not see).
    pub fn of(extensions: &Extensions) -> ClientKey {
        extensions
            .get::<ClientKey>()
            .cloned()
            .unwrap_or_else(|| ClientKey("unknown".into()))
    }

    fn from_ip(ip: IpAddr) -> ClientKey {
        ClientKey(match canonical(ip) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientKey::of(&parts.extensions))
    }
}

/// Middleware: works out the request's [`ClientKey`] once and puts it on the request.
pub async fn identify(
    State(state): State<crate::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let key = client_key(peer, request.headers(), &state.settings.trusted_proxies);
    request.extensions_mut().insert(key);
    next.run(request).await
}

/// The client of a request that came from `peer` with `headers` (see the module's comment).
pub fn client_key(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> ClientKey {
    let Some(peer) = peer.map(canonical) else {
        return ClientKey("unknown".into());
    };
    if !trusted.contains(peer) {
        return ClientKey::from_ip(peer);
    }
    let by_xff = hops(headers, &X_FORWARDED_FOR, xff_hops)
        .map(|chain| ClientKey::from_ip(rightmost_untrusted(&chain, peer, trusted)));
    let by_forwarded = hops(headers, &FORWARDED, forwarded_hops)
        .map(|chain| ClientKey::from_ip(rightmost_untrusted(&chain, peer, trusted)));
    match (by_xff, by_forwarded) {
        (Some(a), Some(b)) if a != b => ClientKey::from_ip(peer),
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => ClientKey::from_ip(peer),
    }
}

/// IPv4 clients of a dual-stack listener arrive as `::ffff:a.b.c.d`; they are IPv4 clients
/// (as /64s they would all share one bucket).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Every hop the header lines of `name` list, left to right (several lines read as one
/// comma-separated list); `None` without such a header. A hop that names no address (`unknown`,
/// an obfuscated name) is `None`.
fn hops(
    headers: &HeaderMap,
    name: &HeaderName,
    parse: fn(&str) -> Vec<Option<IpAddr>>,
) -> Option<Vec<Option<IpAddr>>> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    Some(
        lines
            .flat_map(|line| match line.to_str() {
                Ok(text) => parse(text),
                // Bytes that are not text: a hop we cannot read.
                Err(_) => vec![None],
            })
            .collect(),
    )
}

fn xff_hops(line: &str) -> Vec<Option<IpAddr>> {
    line.split(',').map(address).collect()
}

/// `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"` (RFC 7239). Split on
/// commas without regard to quotes on purpose: a quote the client leaves open must not swallow
/// what our proxy appended after it.
fn forwarded_hops(line: &str) -> Vec<Option<IpAddr>> {
    line.split(',')
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| address(value))
        })
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]:443`, optionally in quotes.
fn address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Walks from our side outwards: each trusted proxy vouches for the hop before it, until one
/// that is not ours. A hop that names no address ends the walk at the last proxy that could be
/// believed (it is the one that could not say who its client was).
fn rightmost_untrusted(chain: &[Option<IpAddr>], peer: IpAddr, trusted: &TrustedProxies) -> IpAddr {
    let mut last = peer;
    for hop in chain.iter().rev() {
        match hop.map(canonical) {
            Some(ip) if !trusted.contains(ip) => return ip,
            Some(ip) => last = ip,
            None => return last,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8", "fd00::/8"]).unwrap()
    }

    fn key(peer: &str, headers: &[(&'static str, &str)]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        client_key(Some(peer.parse().unwrap()), &map, &proxies()).0
    }

    #[test]
    fn ipv4_counts_per_address_and_ipv6_per_64() {
        assert_eq!(key("203.0.113.7", &[]), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1", &[]), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9", &[]), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:203.0.113.7", &[]), "203.0.113.7");
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let xff = [("x-forwarded-for", "198.51.100.1")];
        assert_eq!(key("203.0.113.7", &xff), "203.0.113.7");
        assert_eq!(key("127.0.0.1", &xff), "198.51.100.1");
        assert_eq!(key("::ffff:127.0.0.1", &xff), "198.51.100.1");
        assert_eq!(key("127.0.0.1", &[]), "127.0.0.1");
    }

    #[test]
    fn the_rightmost_address_that_is_not_a_proxy_is_the_client() {
        // The client wrote the first entry; our two proxies appended the rest.
        let chain = [("x-forwarded-for", "192.0.2.66, 198.51.100.1, 10.1.2.3")];
        assert_eq!(key("127.0.0.1", &chain), "198.51.100.1");
        let lines = [
            ("x-forwarded-for", "192.0.2.66"),
            ("x-forwarded-for", "198.51.100.1:5555, 10.1.2.3"),
        ];
        assert_eq!(key("127.0.0.1", &lines), "198.51.100.1");
        let v6 = [("x-forwarded-for", "[2001:db8:5:6::1]:443")];
        assert_eq!(key("127.0.0.1", &v6), "2001:db8:5:6::/64");
        // A hop nobody can read: the proxy that wrote it is as far as we can see.
        let unknown = [("x-forwarded-for", "198.51.100.1, unknown, 10.1.2.3")];
        assert_eq!(key("127.0.0.1", &unknown), "10.1.2.3");
    }

    #[test]
    fn forwarded_is_read_like_x_forwarded_for() {
        let f = [(
            "forwarded",
            "for=192.0.2.66, for=\"[2001:db8:7:8::1]:4711\";proto=https",
        )];
        assert_eq!(key("127.0.0.1", &f), "2001:db8:7:8::/64");
        let open_quote = [("forwarded", "for=\"192.0.2.66, for=198.51.100.1")];
        assert_eq!(key("127.0.0.1", &open_quote), "198.51.100.1");
    }

    #[test]
    fn two_headers_naming_different_clients_count_as_the_proxy() {
        let agree = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
        ];
        assert_eq!(key("127.0.0.1", &agree), "198.51.100.1");
        let forged = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=192.0.2.99"),
        ];
        assert_eq!(key("127.0.0.1", &forged), "127.0.0.1");
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        assert!(TrustedProxies::parse(&["::1", "192.0.2.0/24", " 10.0.0.1 "]).is_ok());
        let bad = TrustedProxies::parse(&["10.0.0.1", "proxy.internal"]).unwrap_err();
        assert_eq!(bad.position, 2);
        assert!(bad.to_string().contains("\"proxy.internal\""), "{bad}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
