//! Addresses direct delivery does not connect to unless `delivery.mx.allow_private_addresses`
//! says so: anything that is not a public Internet address. A recipient domain is chosen by
//! whoever is a member (or imports one), and its MX records by whoever runs that domain; without
//! this check an MX pointing at 127.0.0.1, 10.0.0.5 or fd00::25 would make the gateway talk SMTP
//! to hosts inside our own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of non-public address `ip` is, or `None` for a public one. IPv6 forms that carry
/// an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that address.
pub(super) fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

/// IPv4 ranges that are not globally reachable (IANA special-purpose registry).
const V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this network"),
    ([10, 0, 0, 0], 8, "private (RFC 1918)"),
    (
        [100, 64, 0, 0],
        10,
        "shared address space (CGNAT, RFC 6598)",
    ),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private (RFC 1918)"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 168, 0, 0], 16, "private (RFC 1918)"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

/// IPv6 ranges that are not globally reachable and carry no IPv4 address to judge instead.
const V6: &[(u128, u8, &str)] = &[
    (
        0x0100_0000_0000_0000_0000_0000_0000_0000,
        64,
        "discard-only",
    ),
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        "local-use NAT64",
    ),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        "documentation",
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        "documentation",
    ),
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, "unique local"),
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local"),
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
];

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4.iter()
        .find(|(net, prefix, _)| bits >> (32 - prefix) == u32::from_be_bytes(*net) >> (32 - prefix))
        .map(|(_, _, kind)| *kind)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let within = |net: u128, prefix: u8| bits >> (128 - prefix) == net >> (128 - prefix);
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated) and 64:ff9b::a.b.c.d (NAT64)
    // reach the IPv4 address they carry.
    if within(0xffff_0000_0000, 96)
        || within(0, 96)
        || within(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96)
    {
        return non_public_v4(Ipv4Addr::from(bits as u32));
    }
    // 6to4: 2002:AABB:CCDD::/48 reaches the IPv4 address AA.BB.CC.DD.
    if within(0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        return non_public_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    V6.iter()
        .find(|(net, prefix, _)| within(*net, *prefix))
        .map(|(_, _, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        non_public(text.parse().unwrap())
    }

    #[test]
    fn every_internal_ipv4_range_is_refused() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private (RFC 1918)"),
            ("172.16.0.1", "private (RFC 1918)"),
            ("172.31.255.255", "private (RFC 1918)"),
            ("192.168.1.25", "private (RFC 1918)"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared address space (CGNAT, RFC 6598)"),
            ("100.127.255.255", "shared address space (CGNAT, RFC 6598)"),
            ("0.0.0.0", "this network"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("255.255.255.255", "reserved"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv4_addresses_next_to_the_ranges_are_allowed() {
        for ip in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "192.169.0.1",
            "11.0.0.1",
            "126.255.255.255",
            "223.255.255.255",
            "198.20.0.1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_internal_ipv6_range_and_embedded_ipv4_form_is_refused() {
        for (ip, expected) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "unique local"),
            ("fd12:3456::25", "unique local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::25", "documentation"),
            ("100::1", "discard-only"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private (RFC 1918)"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::192.168.0.1", "private (RFC 1918)"),
            ("2002:7f00:1::1", "loopback"),
            ("2002:0a00:0001::1", "private (RFC 1918)"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for ip in [
            "2a00:1450:4001:80b::201a",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }
}
