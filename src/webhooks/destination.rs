//! Where deliveries may go (docs/protocol.md §9.8.3): unless
//! `[webhooks] allow_private` is on, a destination on a loopback, private,
//! shared, link-local, multicast or unspecified address is refused, so a
//! webhook cannot be pointed at the server's own network.
//!
//! Checked when a webhook is saved (a literal address) and before every
//! attempt (what the host resolves to then). The connection resolves the
//! host again; a DNS answer that changes in between is not caught here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use actix_web::http::Uri;

/// Whether `ip` is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared
        || a == 0)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// The host and port of a validated webhook URL.
fn host_port(url: &str) -> Result<(String, u16), String> {
    let uri: Uri = url
        .parse()
        .map_err(|_| "the url does not parse".to_owned())?;
    let authority = uri.authority().ok_or("the url has no host")?;
    let default = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    Ok((host.to_owned(), authority.port_u16().unwrap_or(default)))
}

/// Refuses a URL whose host is a literal non-public address.
pub fn check_literal(url: &str, allow_private: bool) -> Result<(), String> {
    let (host, _) = host_port(url)?;
    match host.parse::<IpAddr>() {
        Ok(ip) if !allow_private && !is_public(ip) => Err(refused(&host, ip)),
        _ => Ok(()),
    }
}

/// Resolves the URL's host and refuses it if any address is not public.
pub async fn check(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let (host, port) = host_port(url)?;
    let addresses = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for address in addresses {
        if !is_public(address.ip()) {
            return Err(refused(&host, address.ip()));
        }
    }
    Ok(())
}

fn refused(host: &str, ip: IpAddr) -> String {
    format!("{host} is {ip}, not a public address (see [webhooks] allow_private)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn literal_addresses_are_checked_when_saved() {
        assert!(check_literal("http://127.0.0.1:9/x", false).is_err());
        assert!(check_literal("http://[::1]/x", false).is_err());
        assert!(check_literal("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_literal("https://example.com/x", false).is_ok());
    }
}
