//! The egress rule of the `http` capability: a plugin's request may reach
//! only public addresses, so that a tenant's allow-list cannot point a
//! plugin at the platform's own loopback services or the internal network.
//! An operator who runs back ends on a private network turns the rule off
//! with `allow_private_networks`.
//!
//! The rule runs at connect time. [`PublicOnlyResolver`] resolves host names
//! and drops blocked addresses, so a name that resolves to a private address
//! (or is rebound to one later) cannot be reached. reqwest 0.12 does not call
//! the resolver for a URL whose host is an IP literal, so [`check_host`]
//! checks those literals, and `localhost` names, before the request is sent.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The setting that lifts the rule, as it reads in the platform settings file.
pub const ALLOW_PRIVATE_SETTING: &str = "[http] allow_private_networks = true";

/// Kind of a range of addresses that plugins may not reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeKind {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    SharedAddressSpace,
    Benchmarking,
    Multicast,
    Reserved,
}

/// A blocked range of addresses: its kind and its CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockedRange {
    pub kind: RangeKind,
    pub cidr: &'static str,
}

impl fmt::Display for BlockedRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            RangeKind::Unspecified => "unspecified",
            RangeKind::Loopback => "loopback",
            RangeKind::Private => "private",
            RangeKind::LinkLocal => "link-local",
            RangeKind::SharedAddressSpace => "carrier-grade NAT",
            RangeKind::Benchmarking => "benchmarking",
            RangeKind::Multicast => "multicast",
            RangeKind::Reserved => "reserved or broadcast",
        };
        write!(formatter, "{kind} range {}", self.cidr)
    }
}

const fn range(kind: RangeKind, cidr: &'static str) -> BlockedRange {
    BlockedRange { kind, cidr }
}

/// Blocked IPv4 ranges as (network, prefix length, range).
const IPV4_BLOCKED: [(u32, u32, BlockedRange); 11] = [
    (0x0000_0000, 8, range(RangeKind::Unspecified, "0.0.0.0/8")),
    (0x0A00_0000, 8, range(RangeKind::Private, "10.0.0.0/8")),
    (0x6440_0000, 10, range(RangeKind::SharedAddressSpace, "100.64.0.0/10")),
    (0x7F00_0000, 8, range(RangeKind::Loopback, "127.0.0.0/8")),
    (0xA9FE_0000, 16, range(RangeKind::LinkLocal, "169.254.0.0/16")),
    (0xAC10_0000, 12, range(RangeKind::Private, "172.16.0.0/12")),
    (0xC000_0000, 24, range(RangeKind::Reserved, "192.0.0.0/24")),
    (0xC0A8_0000, 16, range(RangeKind::Private, "192.168.0.0/16")),
    (0xC612_0000, 15, range(RangeKind::Benchmarking, "198.18.0.0/15")),
    (0xE000_0000, 4, range(RangeKind::Multicast, "224.0.0.0/4")),
    (0xF000_0000, 4, range(RangeKind::Reserved, "240.0.0.0/4")),
];

/// Blocked IPv6 ranges as (network, prefix length, range). Ranges that
/// embed an IPv4 address are handled by [`embedded_ipv4`] first.
const IPV6_BLOCKED: [(u128, u32, BlockedRange); 6] = [
    (0, 128, range(RangeKind::Unspecified, "::/128")),
    (1, 128, range(RangeKind::Loopback, "::1/128")),
    (0xFC00 << 112, 7, range(RangeKind::Private, "fc00::/7")),
    (0xFEC0 << 112, 10, range(RangeKind::Private, "fec0::/10")),
    (0xFE80 << 112, 10, range(RangeKind::LinkLocal, "fe80::/10")),
    (0xFF00 << 112, 8, range(RangeKind::Multicast, "ff00::/8")),
];

/// Returns the blocked range that contains `address`, or `None` for an
/// address plugins may reach. An IPv6 address that embeds an IPv4 address
/// (IPv4-mapped, IPv4-compatible or NAT64 `64:ff9b::/96`) gets the range of
/// the IPv4 address, because connecting to it reaches that IPv4 host.
pub fn blocked_range(address: IpAddr) -> Option<BlockedRange> {
    match address {
        IpAddr::V4(v4) => blocked_ipv4(v4),
        IpAddr::V6(v6) => blocked_ipv6(v6),
    }
}

fn blocked_ipv4(address: Ipv4Addr) -> Option<BlockedRange> {
    let bits = u32::from(address);
    IPV4_BLOCKED
        .iter()
        .find(|(network, prefix, _)| bits >> (32 - prefix) == network >> (32 - prefix))
        .map(|(_, _, blocked)| *blocked)
}

fn blocked_ipv6(address: Ipv6Addr) -> Option<BlockedRange> {
    let bits = u128::from(address);
    let exact = IPV6_BLOCKED
        .iter()
        .find(|(network, prefix, _)| bits >> (128 - prefix) == network >> (128 - prefix));
    if let Some((_, _, blocked)) = exact {
        return Some(*blocked);
    }

    embedded_ipv4(bits).and_then(blocked_ipv4)
}

/// Returns the IPv4 address in the low 32 bits of an IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-compatible (`::/96`) or NAT64 (`64:ff9b::/96`) address.
fn embedded_ipv4(bits: u128) -> Option<Ipv4Addr> {
    let prefix = bits >> 32;
    let is_embedding = prefix == 0xFFFF || prefix == 0 || prefix == 0x0064_FF9B << 64;
    is_embedding.then(|| Ipv4Addr::from(bits as u32))
}

/// Returns whether `host` is `localhost` or a name under `.localhost`,
/// which resolve to loopback by convention whatever DNS returns.
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A plugin request that the egress rule blocked, or a host name that did not resolve.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("address {address} is in the {range}, which plugins may not reach; use a public address, or ask the operator to set {ALLOW_PRIVATE_SETTING}")]
    BlockedAddress { address: IpAddr, range: BlockedRange },
    #[error("host '{host}' is a localhost name, which plugins may not reach; use a public host, or ask the operator to set {ALLOW_PRIVATE_SETTING}")]
    LocalhostName { host: String },
    #[error("host '{host}' resolves only to addresses plugins may not reach ({addresses}); use a public host, or ask the operator to set {ALLOW_PRIVATE_SETTING}")]
    NoPublicAddress { host: String, addresses: String },
    #[error("failed to resolve host '{host}': {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
}

/// Checks the host of a URL before the request is sent: an IP literal
/// must be public, and a domain must not be a `localhost` name. Other
/// domains are checked when [`PublicOnlyResolver`] resolves them.
pub fn check_host(host: &url::Host<&str>) -> Result<(), EgressError> {
    let address = match host {
        url::Host::Domain(name) if is_localhost_name(name) => {
            return Err(EgressError::LocalhostName { host: name.to_string() });
        }
        url::Host::Domain(_) => return Ok(()),
        url::Host::Ipv4(v4) => IpAddr::V4(*v4),
        url::Host::Ipv6(v6) => IpAddr::V6(*v6),
    };

    match blocked_range(address) {
        Some(range) => Err(EgressError::BlockedAddress { address, range }),
        None => Ok(()),
    }
}

/// DNS resolver of the plugin HTTP client that resolves with Tokio and
/// returns only the addresses plugins may reach.
#[derive(Debug, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve_public(&host).await?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Resolves `host` and keeps its public addresses, with port 0 for the
/// client to replace.
async fn resolve_public(host: &str) -> Result<Vec<std::net::SocketAddr>, EgressError> {
    if is_localhost_name(host) {
        return Err(EgressError::LocalhostName { host: host.to_string() });
    }

    let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|source| EgressError::Resolve { host: host.to_string(), source })?
        .collect();

    let (public, blocked): (Vec<_>, Vec<_>) = resolved.into_iter().partition(|socket| blocked_range(socket.ip()).is_none());
    if public.is_empty() {
        let addresses = blocked.iter().map(|socket| socket.ip().to_string()).collect::<Vec<_>>().join(", ");
        return Err(EgressError::NoPublicAddress { host: host.to_string(), addresses });
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(address: &str) -> Option<RangeKind> {
        let address: IpAddr = address.parse().unwrap_or_else(|error| panic!("{address}: {error}"));
        blocked_range(address).map(|blocked| blocked.kind)
    }

    #[test]
    fn blocked_range_classifies_addresses() {
        let cases: &[(&str, Option<RangeKind>)] = &[
            ("127.0.0.1", Some(RangeKind::Loopback)),
            ("127.255.255.254", Some(RangeKind::Loopback)),
            ("0.0.0.0", Some(RangeKind::Unspecified)),
            ("10.0.0.5", Some(RangeKind::Private)),
            ("172.16.0.1", Some(RangeKind::Private)),
            ("172.31.255.255", Some(RangeKind::Private)),
            ("192.168.1.1", Some(RangeKind::Private)),
            ("169.254.169.254", Some(RangeKind::LinkLocal)),
            ("100.64.0.1", Some(RangeKind::SharedAddressSpace)),
            ("100.127.255.255", Some(RangeKind::SharedAddressSpace)),
            ("198.18.0.1", Some(RangeKind::Benchmarking)),
            ("224.0.0.1", Some(RangeKind::Multicast)),
            ("239.255.255.250", Some(RangeKind::Multicast)),
            ("255.255.255.255", Some(RangeKind::Reserved)),
            ("192.0.0.170", Some(RangeKind::Reserved)),
            ("::", Some(RangeKind::Unspecified)),
            ("::1", Some(RangeKind::Loopback)),
            ("fc00::1", Some(RangeKind::Private)),
            ("fd12:3456:789a::1", Some(RangeKind::Private)),
            ("fe80::1", Some(RangeKind::LinkLocal)),
            ("febf::1", Some(RangeKind::LinkLocal)),
            ("ff02::1", Some(RangeKind::Multicast)),
            ("::ffff:127.0.0.1", Some(RangeKind::Loopback)),
            ("::ffff:10.1.2.3", Some(RangeKind::Private)),
            ("::ffff:169.254.169.254", Some(RangeKind::LinkLocal)),
            ("::127.0.0.1", Some(RangeKind::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(RangeKind::LinkLocal)),
            ("8.8.8.8", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("169.253.255.255", None),
            ("93.184.216.34", None),
            ("2606:4700:4700::1111", None),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
            ("fbff::1", None),
        ];

        for (address, expected) in cases {
            assert_eq!(kind_of(address), *expected, "address {address}");
        }
    }

    #[test]
    fn blocked_range_names_cidr() {
        let blocked = blocked_range("::ffff:169.254.169.254".parse().unwrap()).unwrap();

        assert_eq!(blocked.cidr, "169.254.0.0/16");
        assert_eq!(blocked.to_string(), "link-local range 169.254.0.0/16");
    }

    #[test]
    fn localhost_names_detected() {
        assert!(is_localhost_name("localhost"));
        assert!(is_localhost_name("LocalHost."));
        assert!(is_localhost_name("admin.localhost"));
        assert!(!is_localhost_name("localhost.example.gov"));
        assert!(!is_localhost_name("notlocalhost"));
    }

    #[test]
    fn check_host_rejects_literals_and_localhost() {
        let metadata = url::Url::parse("http://169.254.169.254/latest").unwrap();
        let mapped = url::Url::parse("http://[::ffff:7f00:1]:8080/").unwrap();
        let decimal = url::Url::parse("http://2130706433/").unwrap();
        let localhost = url::Url::parse("http://LOCALHOST:8080/").unwrap();
        let public = url::Url::parse("https://api.viewpermit.example/x").unwrap();

        let error = check_host(&metadata.host().unwrap()).unwrap_err().to_string();
        assert!(error.contains("address 169.254.169.254 "), "{error}");
        assert!(error.contains("link-local range 169.254.0.0/16"), "{error}");
        assert!(error.contains(ALLOW_PRIVATE_SETTING), "{error}");
        assert!(matches!(check_host(&mapped.host().unwrap()), Err(EgressError::BlockedAddress { .. })));
        assert!(matches!(check_host(&decimal.host().unwrap()), Err(EgressError::BlockedAddress { .. })));
        assert!(matches!(check_host(&localhost.host().unwrap()), Err(EgressError::LocalhostName { .. })));
        assert!(check_host(&public.host().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn resolver_drops_loopback_addresses() {
        let error = resolve_public("127.0.0.1").await.unwrap_err();

        let EgressError::NoPublicAddress { host, addresses } = &error else {
            panic!("expected NoPublicAddress, got {error}");
        };
        assert_eq!(host, "127.0.0.1");
        assert_eq!(addresses, "127.0.0.1");
    }

    #[tokio::test]
    async fn resolver_rejects_localhost_name() {
        let error = resolve_public("localhost").await.unwrap_err();

        assert!(matches!(error, EgressError::LocalhostName { .. }), "{error}");
    }
}
