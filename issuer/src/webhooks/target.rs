//! Where a webhook may point: not at the issuer's own network.
//!
//! A webhook makes the issuer send requests to a URL an admin chose, from inside its network:
//! pointed at `169.254.169.254` it would read a cloud metadata service, at `127.0.0.1` or a
//! private address the issuer's neighbours (server-side request forgery). So a target address
//! must be public unicast: refused are the unspecified, loopback, private (RFC 1918), shared
//! (CGNAT, RFC 6598), link-local (the metadata services' 169.254/16 and fe80::/10), multicast,
//! broadcast, documentation, benchmarking and reserved ranges, IPv6 unique-local (fc00::/7,
//! AWS's metadata `fd00:ec2::254`), site-local, and every IPv6 address outside global unicast
//! 2000::/3 (IPv4-mapped and -compatible, NAT64 and discard-only included); 6to4 addresses are
//! judged by the IPv4 address they carry. Host names are refused when they are a metadata
//! service's (`metadata.google.internal`, `instance-data`, …) or end in `.internal`.
//!
//! An IP address however written (`2130706433`, `0x7f.1`, `017700000001`) is normalised by the
//! URL parser first, so it is judged as the address it is. A name is judged by what it
//! resolves to, at registration and again at every connection: the delivery client's resolver
//! ([`CheckedResolver`]) refuses a name that resolves to any refused address, and the client
//! connects to the addresses it checked, so a DNS answer that changes between registration
//! and delivery (DNS rebinding) meets the same check.
//!
//! `[webhooks] allow_private` lists CIDR blocks that are allowed anyway (a receiver on the
//! issuer's own network, a test's loopback receiver, an egress proxy on a private address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why a target is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The address (or one the name resolves to) is not public; why, without the address.
    #[error("the host is {0}")]
    Address(&'static str),
    /// The name does not resolve.
    #[error("the host name does not resolve")]
    Unresolved,
}

/// CIDR blocks allowed although private, loopback or link-local.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<(IpAddr, u8)>);

impl AllowList {
    /// Parse `a.b.c.d/n` and `x::y/n` entries (a bare address is a /32 or /128). The error
    /// names the entry's position, not the entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| parse_cidr(entry).ok_or(format!("entry {i} is not a CIDR block")))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` lies in one of the blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0
            .iter()
            .any(|(net, prefix)| in_block(ip, *net, *prefix))
    }
}

fn parse_cidr(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match entry.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry.trim(), None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((canonical(addr), prefix))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_block(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// IPv4 blocks that are not public unicast (IANA special-purpose registry).
const V4_REFUSED: [([u8; 4], u8); 16] = [
    ([0, 0, 0, 0], 8),          // "this network", 0.0.0.0 included
    ([10, 0, 0, 0], 8),         // private
    ([100, 64, 0, 0], 10),      // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),        // loopback
    ([169, 254, 0, 0], 16),     // link-local: the metadata services
    ([172, 16, 0, 0], 12),      // private
    ([192, 0, 0, 0], 24),       // IETF protocol assignments
    ([192, 0, 2, 0], 24),       // documentation
    ([192, 88, 99, 0], 24),     // 6to4 relay anycast
    ([192, 168, 0, 0], 16),     // private
    ([198, 18, 0, 0], 15),      // benchmarking
    ([198, 51, 100, 0], 24),    // documentation
    ([203, 0, 113, 0], 24),     // documentation
    ([224, 0, 0, 0], 4),        // multicast
    ([240, 0, 0, 0], 4),        // reserved, broadcast included
    ([100, 100, 100, 200], 32), // Alibaba Cloud's metadata service (inside CGNAT anyway)
];

/// Why `ip` may not be a webhook's target (`None`: a public unicast address). An
/// IPv4-mapped IPv6 address is refused whatever it maps to (no receiver needs one).
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_REFUSED
        .iter()
        .any(|(net, prefix)| in_block(IpAddr::V4(ip), IpAddr::V4(Ipv4Addr::from(*net)), *prefix))
        .then_some("a private, loopback, link-local or reserved address")
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let block =
        |net: u128, prefix: u8| in_block(IpAddr::V6(ip), IpAddr::V6(Ipv6Addr::from(net)), prefix);
    // 6to4 (2002::/16) carries an IPv4 address in bits 16..48: judge that one.
    if block(0x2002 << 112, 16) {
        let v4 = Ipv4Addr::from(((bits >> 80) & 0xFFFF_FFFF) as u32);
        return refused_v4(v4);
    }
    let not_global_unicast = !block(0x2000 << 112, 3);
    let special = block(0x2001_0db8 << 96, 32) // documentation
        || block(0x2001 << 112, 23) // IETF protocol assignments (Teredo, ORCHID, …)
        || block(0x3fff << 112, 20); // documentation (RFC 9637)
    (not_global_unicast || special)
        .then_some("a loopback, unique-local, link-local, mapped or reserved IPv6 address")
}

/// Host names of cloud metadata services, refused whatever they resolve to.
const METADATA_NAMES: [&str; 6] = [
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
];

/// Whether the host name `host` (lower case, no trailing dot) is refused by name.
pub fn refused_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    METADATA_NAMES.contains(&host.as_str()) || host.ends_with(".internal") || host == "internal"
}

/// What a URL's host is: an address (judged as it stands) or a name (judged by resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP literal, as the URL parser normalised it.
    Ip(IpAddr),
    /// A domain name.
    Name(String),
}

/// The host of a parsed URL.
pub fn host_of(url: &reqwest::Url) -> Option<Host> {
    let text = url.host_str()?;
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    Some(match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(text.to_ascii_lowercase()),
    })
}

/// Refuse `ip` unless it is public or `allow` lists it.
pub fn check_ip(ip: IpAddr, allow: &AllowList) -> Result<(), Refused> {
    match refused(ip) {
        Some(why) if !allow.contains(ip) => Err(Refused::Address(why)),
        _ => Ok(()),
    }
}

/// Resolve `name` and check every address it resolves to; the addresses, all allowed.
pub async fn resolve_checked(
    name: &str,
    port: u16,
    allow: &AllowList,
) -> Result<Vec<SocketAddr>, Refused> {
    if refused_name(name) {
        return Err(Refused::Address("a metadata service's host name"));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|_| Refused::Unresolved)?
        .collect();
    if addrs.is_empty() {
        return Err(Refused::Unresolved);
    }
    for addr in &addrs {
        check_ip(addr.ip(), allow)?;
    }
    Ok(addrs)
}

/// The delivery client's DNS resolver: the system's, through [`resolve_checked`], so that the
/// client only ever connects to checked addresses.
#[derive(Debug, Clone)]
pub struct CheckedResolver(pub Arc<AllowList>);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = Arc::clone(&self.0);
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&name, 0, &allow).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_public_ones_not() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "100::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(refused(ip(bad)).is_some(), "{bad}");
        }
        for good in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "2002:5db8:d70e::1",
        ] {
            assert!(refused(ip(good)).is_none(), "{good}");
        }
    }

    #[test]
    fn the_allow_list_lets_its_blocks_through() {
        let allow = AllowList::parse(&["127.0.0.1/32".into(), "fd00::/8".into()]).unwrap();
        assert!(check_ip(ip("127.0.0.1"), &allow).is_ok());
        assert!(check_ip(ip("::ffff:127.0.0.1"), &allow).is_ok());
        assert!(check_ip(ip("fd00:ec2::254"), &allow).is_ok());
        assert!(check_ip(ip("127.0.0.2"), &allow).is_err());
        assert!(check_ip(ip("169.254.169.254"), &allow).is_err());
        assert!(AllowList::parse(&["127.0.0.1/33".into()]).is_err());
        assert!(AllowList::parse(&["localhost".into()]).is_err());
        assert_eq!(
            AllowList::parse(&["10.0.0.0/8".into()]).unwrap(),
            AllowList(vec![(ip("10.0.0.0"), 8)])
        );
    }

    #[test]
    fn numeric_spellings_are_judged_as_the_address_they_are() {
        for spelled in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://0/",
            "http://[::ffff:7f00:1]/",
            "http://[fd00:ec2::254]/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            let url = reqwest::Url::parse(spelled).unwrap();
            let Some(Host::Ip(address)) = host_of(&url) else {
                panic!("{spelled} should be an IP literal");
            };
            assert!(refused(address).is_some(), "{spelled}");
        }
        assert_eq!(
            host_of(&reqwest::Url::parse("https://Platform.Example/x").unwrap()),
            Some(Host::Name("platform.example".into()))
        );
        assert!(refused_name("metadata.google.internal."));
        assert!(refused_name("anything.internal"));
        assert!(!refused_name("platform.example"));
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let none = AllowList::default();
        assert!(matches!(
            resolve_checked("localhost", 80, &none).await,
            Err(Refused::Address(_))
        ));
        let loopback = AllowList::parse(&["127.0.0.0/8".into(), "::1/128".into()]).unwrap();
        assert!(resolve_checked("localhost", 80, &loopback).await.is_ok());
    }
}
