//! Which hosts take mail for a domain, and at which addresses (RFC 5321 5.1), with hickory's
//! resolver and its cache: answers are kept for their TTL, so a fan-out to 10,000 members at
//! one provider asks DNS once, not 10,000 times.

use super::super::smtp_failure::SmtpFailure;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::Name;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};
use rand::seq::SliceRandom;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Answers kept in hickory's cache (MX and address answers together). Its default of 32 would
/// forget a big provider's MX between two copies of a fan-out over many domains.
const CACHE_ENTRIES: usize = 4096;

/// One mail exchanger of a domain, ready to be looked up and connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MailHost {
    /// Without the trailing dot, as used for TLS SNI and in texts.
    pub name: String,
    pub preference: u16,
    /// The domain itself, standing in for a missing MX (RFC 5321 5.1).
    pub implicit: bool,
}

pub(super) struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// `nameservers` empty: the system's (/etc/resolv.conf); else these, over UDP and TCP.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Dns, ResolveError> {
        let mut builder = if nameservers.is_empty() {
            TokioResolver::builder_tokio()?
        } else {
            let mut config = ResolverConfig::new();
            for address in nameservers {
                // TCP too: hickory falls back to it for answers truncated over UDP, as a big
                // provider's MX set with addresses can be.
                config.add_name_server(NameServerConfig::new(*address, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*address, Protocol::Tcp));
            }
            TokioResolver::builder_with_config(config, Default::default())
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = timeout;
        options.attempts = 2;
        options.cache_size = CACHE_ENTRIES;
        // Mail goes where DNS says, like Postfix's smtp_host_lookup = dns: an /etc/hosts entry
        // on the gateway must not redirect a recipient domain's mail.
        options.use_hosts_file = ResolveHosts::Never;
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        Ok(Dns {
            resolver: builder.build(),
        })
    }

    /// The domain's mail hosts, most preferred first; hosts of equal preference in random
    /// order (RFC 5321 5.1), so that load spreads over them.
    pub async fn mail_hosts(&self, domain: &str) -> Result<Vec<MailHost>, SmtpFailure> {
        let name = fqdn(domain)?;
        match self.resolver.mx_lookup(name.clone()).await {
            Ok(lookup) => {
                let records: Vec<(u16, Name)> = lookup
                    .iter()
                    .map(|mx| (mx.preference(), mx.exchange().clone()))
                    .collect();
                order_mail_hosts(domain, records, &mut rand::thread_rng())
            }
            Err(e) => match negative(&e) {
                // RFC 5321 5.1: no MX records, so the domain itself is the one mail host
                // ("implicit MX") — provided it has an address, checked when connecting.
                Some(ResponseCode::NoError) => Ok(vec![MailHost {
                    name: domain.trim_end_matches('.').to_string(),
                    preference: 0,
                    implicit: true,
                }]),
                Some(ResponseCode::NXDomain) => Err(SmtpFailure::NoSuchDomain(domain.into())),
                _ => Err(SmtpFailure::Dns(format!("MX of {domain}: {e}"))),
            },
        }
    }

    /// The host's IPv4 and then IPv6 addresses. `implicit` marks the domain itself standing in for a
    /// missing MX, where having no address at all means the domain takes no mail.
    pub async fn addresses(&self, host: &str, implicit: bool) -> Result<Vec<IpAddr>, SmtpFailure> {
        let name = fqdn(host)?;
        match self.resolver.lookup_ip(name).await {
            Ok(lookup) => {
                let mut addresses: Vec<IpAddr> = lookup.iter().collect();
                // IPv4 first (stable): a gateway without an IPv6 route would otherwise spend
                // its few attempts per copy on addresses it cannot reach.
                addresses.sort_by_key(IpAddr::is_ipv6);
                if addresses.is_empty() {
                    Err(no_address(host, implicit))
                } else {
                    Ok(addresses)
                }
            }
            Err(e) => match negative(&e) {
                Some(ResponseCode::NoError | ResponseCode::NXDomain) => {
                    Err(no_address(host, implicit))
                }
                _ => Err(SmtpFailure::Dns(format!("address of {host}: {e}"))),
            },
        }
    }
}

fn no_address(host: &str, implicit: bool) -> SmtpFailure {
    if implicit {
        SmtpFailure::NoMailHost(host.into())
    } else {
        // An MX naming a host without address is the domain's misconfiguration, often fixed
        // within hours; the next host or a later attempt may do.
        SmtpFailure::Dns(format!("the MX host {host} has no address record"))
    }
}

/// The response code of an answer that carried no records (NOERROR: none of this type,
/// NXDOMAIN: no such name, SERVFAIL and the like: the server failed), or `None` when no answer
/// came at all (timeout, network).
fn negative(e: &ResolveError) -> Option<ResponseCode> {
    match e.kind() {
        ResolveErrorKind::Proto(proto) => match proto.kind() {
            ProtoErrorKind::NoRecordsFound { response_code, .. } => Some(*response_code),
            _ => None,
        },
        _ => None,
    }
}

/// An absolute name, so that resolv.conf's search domains are never appended to a recipient
/// domain. IDNs become their A-labels.
fn fqdn(domain: &str) -> Result<Name, SmtpFailure> {
    let trimmed = domain.trim_end_matches('.');
    if trimmed.is_empty() || trimmed.starts_with('[') {
        return Err(SmtpFailure::BadRecipient(format!(
            "{domain:?} is not a domain name this gateway delivers to"
        )));
    }
    let mut name = Name::from_utf8(trimmed)
        .map_err(|e| SmtpFailure::BadRecipient(format!("{domain:?} is not a domain name: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

/// Sorts MX records by preference, shuffling equal ones; recognises the null MX.
fn order_mail_hosts(
    domain: &str,
    records: Vec<(u16, Name)>,
    rng: &mut impl rand::Rng,
) -> Result<Vec<MailHost>, SmtpFailure> {
    // RFC 7505: a single MX whose exchange is the root says "no mail here". A root exchange
    // next to real ones is a misconfiguration; the real ones are used.
    if records.len() == 1 && records[0].1.is_root() {
        return Err(SmtpFailure::NullMx(domain.into()));
    }
    let mut hosts: Vec<MailHost> = records
        .into_iter()
        .filter(|(_, exchange)| !exchange.is_root())
        .map(|(preference, exchange)| MailHost {
            name: exchange.to_ascii().trim_end_matches('.').to_string(),
            preference,
            implicit: false,
        })
        .collect();
    if hosts.is_empty() {
        return Err(SmtpFailure::NullMx(domain.into()));
    }
    hosts.shuffle(rng);
    // Stable: the shuffled order survives among equal preferences.
    hosts.sort_by_key(|host| host.preference);
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn hosts_come_by_preference_and_equal_ones_in_every_order() {
        let records = vec![
            (20, name("c.example.org.")),
            (10, name("a.example.org.")),
            (10, name("b.example.org.")),
            (5, name("first.example.org.")),
        ];
        let mut firsts_after_best = std::collections::BTreeSet::new();
        for seed in 0..32 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let hosts = order_mail_hosts("example.org", records.clone(), &mut rng).unwrap();
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            assert_eq!(names[0], "first.example.org");
            assert_eq!(names[3], "c.example.org");
            firsts_after_best.insert(names[1].to_string());
        }
        assert_eq!(firsts_after_best.len(), 2, "{firsts_after_best:?}");
    }

    #[test]
    fn a_single_root_exchange_is_a_null_mx() {
        let mut rng = rand::thread_rng();
        let failure = order_mail_hosts("example.org", vec![(0, Name::root())], &mut rng);
        assert_eq!(failure, Err(SmtpFailure::NullMx("example.org".into())));
        let mixed = vec![(0, Name::root()), (10, name("mx.example.org."))];
        let hosts = order_mail_hosts("example.org", mixed, &mut rng).unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "mx.example.org");
    }

    #[test]
    fn names_are_absolute_and_literals_are_refused() {
        assert!(fqdn("example.org").unwrap().is_fqdn());
        assert_eq!(
            fqdn("bücher.example").unwrap().to_ascii(),
            "xn--bcher-kva.example."
        );
        assert!(matches!(
            fqdn("[192.0.2.1]"),
            Err(SmtpFailure::BadRecipient(_))
        ));
        assert!(matches!(fqdn(""), Err(SmtpFailure::BadRecipient(_))));
    }
}
