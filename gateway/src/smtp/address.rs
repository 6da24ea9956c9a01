//! Envelope address checks on top of `smtp-proto`'s grammar. The parser is generous (it
//! drops CRs inside an address, unquotes quoted local parts, accepts DEL); envelope
//! addresses end up in stored submissions, logs, notifications and Return-Path headers, so
//! we accept only the plain `local@domain` shape and refuse anything that could smuggle a
//! control character or a second header into those places.

/// Why an envelope address is refused; the session turns it into 501 5.1.7 (sender) or
/// 501 5.1.3 (recipient), or 553 5.6.7 for [`AddressProblem::NeedsSmtpUtf8`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressProblem {
    /// A control character, space or a character that has no place in a plain address.
    ForbiddenCharacter,
    /// Not `local@domain` with a dot-atom local part and a domain name or address literal.
    Syntax,
    /// Non-ASCII without the SMTPUTF8 parameter on MAIL FROM (RFC 6531).
    NeedsSmtpUtf8,
}

/// RFC 5321 limits a path to 256 octets including the angle brackets.
const MAX_ADDRESS_LEN: usize = 254;

/// Checks a non-empty envelope address. `smtputf8` says whether the transaction declared
/// SMTPUTF8, which allows UTF-8 in both parts.
pub(crate) fn check_address(address: &str, smtputf8: bool) -> Result<(), AddressProblem> {
    if address
        .chars()
        .any(|ch| ch.is_control() || ch.is_whitespace())
    {
        return Err(AddressProblem::ForbiddenCharacter);
    }
    if address.chars().any(|ch| "<>()[],;:\\\"".contains(ch)) && !is_literal_domain(address) {
        return Err(AddressProblem::ForbiddenCharacter);
    }
    if address.len() > MAX_ADDRESS_LEN {
        return Err(AddressProblem::Syntax);
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(AddressProblem::Syntax);
    };
    if !is_dot_atom(local) || !(is_domain(domain) || is_address_literal(domain)) {
        return Err(AddressProblem::Syntax);
    }
    if !smtputf8 && !address.is_ascii() {
        return Err(AddressProblem::NeedsSmtpUtf8);
    }
    Ok(())
}

/// The only place brackets and colons may appear: `user@[192.0.2.1]`, `user@[IPv6:...]`.
fn is_literal_domain(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(local, domain)| is_dot_atom(local) && is_address_literal(domain))
}

fn is_atext(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(ch) || !ch.is_ascii()
}

fn is_dot_atom(local: &str) -> bool {
    !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || !ch.is_ascii())
        })
}

fn is_address_literal(domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) else {
        return false;
    };
    if let Some(v6) = inner.strip_prefix("IPv6:") {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    inner.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_pass() {
        for address in [
            "chair@oldenfelde.example",
            "first.last+tag@lists.example.org",
            "o'neil@example.com",
            "x@[192.0.2.1]",
            "x@[IPv6:2001:db8::1]",
            "bounce@localhost",
        ] {
            assert_eq!(check_address(address, false), Ok(()), "{address}");
        }
    }

    #[test]
    fn control_characters_and_header_injection_are_refused() {
        for address in [
            "a\r@b.example",
            "a@b.example\nBcc: all@lists.example",
            "a\u{0}@b.example",
            "a\u{7f}@b.example",
            "a b@c.example",
            "a>Bcc:x@c.example",
            "\"quoted\"@c.example",
            "a,b@c.example",
        ] {
            assert_eq!(
                check_address(address, true),
                Err(AddressProblem::ForbiddenCharacter),
                "{address:?}"
            );
        }
    }

    #[test]
    fn malformed_shapes_are_syntax_errors() {
        for address in [
            "nodomain",
            "@b.example",
            "a..b@c.example",
            "a@-b.example",
            "a@",
            "a@b..c",
        ] {
            assert_eq!(
                check_address(address, true),
                Err(AddressProblem::Syntax),
                "{address}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(check_address(&long, true), Err(AddressProblem::Syntax));
    }

    #[test]
    fn utf8_needs_smtputf8() {
        assert_eq!(
            check_address("jörg@straße.example", false),
            Err(AddressProblem::NeedsSmtpUtf8)
        );
        assert_eq!(check_address("jörg@straße.example", true), Ok(()));
    }
}
