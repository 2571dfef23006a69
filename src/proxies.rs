//! Trusted reverse proxies (`[server] trusted_proxies`): which TCP peers'
//! `X-Forwarded-For` and `X-Forwarded-Proto` headers are believed, and the
//! client address and scheme they name. `http::client` applies this to
//! requests.
//!
//! Invariants:
//! - The forwarding headers of a peer that is not trusted are ignored: its
//!   client is the peer itself, its scheme the connection's.
//! - Behind a trusted peer the client is the right-most `X-Forwarded-For`
//!   address that is not itself a trusted proxy, walking back from the peer:
//!   every entry left of it was written by that client and is never
//!   believed. An entry that is not an address ends the walk at the last
//!   address believed (a trusted proxy).
//! - Addresses are compared canonically: an IPv4-mapped IPv6 address
//!   (`::ffff:192.0.2.1`, from a dual-stack listener) is its IPv4 address.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// An IP address block: `10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                mask(u32::from(a).into(), 32, self.prefix) == u128::from(u32::from(net))
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => mask(a.into(), 128, self.prefix) == net.into(),
            _ => false,
        }
    }
}

/// `bits` with only its first `prefix` bits (of `width`) kept.
fn mask(bits: u128, width: u8, prefix: u8) -> u128 {
    match width - prefix {
        0 => bits,
        host if host >= 128 => 0,
        host => bits >> host << host,
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{text:?} is not an IP address or block like 10.0.0.0/8"))?
            .to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={width}"))?,
        };
        let bits = match network {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => a.into(),
        };
        if mask(bits, width, prefix) != bits {
            return Err(format!(
                "{text:?} has bits set past its prefix length (a typo for a block?)"
            ));
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The scheme a client used, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The configured proxies; empty (the default) trusts no one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses the config list; the error names the first bad entry.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| entry.trim().parse())
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(address))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For`
    /// header values in order (see the module's invariants).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }

    /// The scheme the client used: a trusted peer's `X-Forwarded-Proto` (its
    /// last value, the one that peer wrote) when it is `http` or `https`,
    /// otherwise `connection`'s.
    pub fn scheme<'a>(
        &self,
        peer: IpAddr,
        forwarded_proto: impl IntoIterator<Item = &'a str>,
        connection: Scheme,
    ) -> Scheme {
        if !self.trusts(peer) {
            return connection;
        }
        let last = forwarded_proto
            .into_iter()
            .flat_map(|value| value.split(','))
            .last()
            .map(str::trim);
        match last {
            Some(p) if p.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(p) if p.eq_ignore_ascii_case("http") => Scheme::Http,
            _ => connection,
        }
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let address = hop
        .parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or("")
                .parse::<IpAddr>()
        })
        .ok()?;
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn blocks_and_single_addresses_parse_and_match() {
        let block: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains(ip("10.200.3.4")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!block.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12:3456::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        assert!(
            "::ffff:192.0.2.0/120".parse::<Cidr>().is_err(),
            "v4 prefix past 32"
        );
        assert_eq!(
            "::ffff:192.0.2.1".parse::<Cidr>().unwrap().to_string(),
            "192.0.2.1/32"
        );
    }

    #[test]
    fn bad_entries_are_refused_with_their_text() {
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/",
            "localhost",
            "",
            "::1/129",
        ] {
            let error = bad.parse::<Cidr>().unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
        let error = TrustedProxies::parse(&["127.0.0.1".into(), "nope".into()]).unwrap_err();
        assert!(error.contains("\"nope\""), "{error}");
    }

    #[test]
    fn an_untrusted_peer_is_its_own_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), ["203.0.113.7"]),
            ip("127.0.0.1")
        );
        let some = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            some.client(ip("198.51.100.2"), ["203.0.113.7"]),
            ip("198.51.100.2")
        );
        assert_eq!(
            some.client(ip("::ffff:198.51.100.2"), []),
            ip("198.51.100.2")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_rightmost_untrusted_hop() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let peer = ip("127.0.0.1");
        assert_eq!(trusted.client(peer, ["203.0.113.7"]), ip("203.0.113.7"));
        // What the client wrote itself (left) is not believed.
        assert_eq!(
            trusted.client(peer, ["6.6.6.6, 203.0.113.7"]),
            ip("203.0.113.7")
        );
        // A chain of trusted proxies is walked through; several headers are one list.
        assert_eq!(
            trusted.client(peer, ["6.6.6.6, 203.0.113.7, 10.1.1.1", "10.2.2.2"]),
            ip("203.0.113.7")
        );
        // Ports and brackets.
        assert_eq!(
            trusted.client(peer, ["203.0.113.7:4711"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            trusted.client(peer, ["[2001:db8::1]:4711"]),
            ip("2001:db8::1")
        );
        assert_eq!(trusted.client(peer, ["[2001:db8::1]"]), ip("2001:db8::1"));
        // No header: the proxy itself. Only trusted hops: the farthest one.
        assert_eq!(trusted.client(peer, []), peer);
        assert_eq!(trusted.client(peer, ["10.0.0.5"]), ip("10.0.0.5"));
        // Garbage ends the walk at the last believed hop.
        assert_eq!(
            trusted.client(peer, ["203.0.113.7, unknown, 10.0.0.5"]),
            ip("10.0.0.5")
        );
        assert_eq!(trusted.client(peer, ["  "]), peer);
    }

    #[test]
    fn the_scheme_is_a_trusted_peers_last_word() {
        let trusted = proxies(&["127.0.0.1"]);
        let (peer, other) = (ip("127.0.0.1"), ip("192.0.2.1"));
        assert_eq!(trusted.scheme(peer, ["https"], Scheme::Http), Scheme::Https);
        assert_eq!(trusted.scheme(peer, ["HTTPS"], Scheme::Http), Scheme::Https);
        assert_eq!(
            trusted.scheme(peer, ["https, http"], Scheme::Https),
            Scheme::Http
        );
        assert_eq!(trusted.scheme(peer, ["ftp"], Scheme::Http), Scheme::Http);
        assert_eq!(trusted.scheme(peer, [], Scheme::Https), Scheme::Https);
        assert_eq!(trusted.scheme(other, ["https"], Scheme::Http), Scheme::Http);
    }
}
