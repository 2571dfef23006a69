//! The client behind a request: its address and the scheme it used, read
//! through the trusted proxies of `[server] trusted_proxies` (see
//! [`crate::proxies`]).
//!
//! Invariant: whatever keys on a client address (login throttling, sockets
//! per address, the request logs) or on the request's scheme (the server's
//! own origin) takes it from here, never from the TCP peer directly, so a
//! trusted proxy's forwarding is believed everywhere alike and an
//! untrusted peer's nowhere.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderName};

use crate::proxies::{Scheme, TrustedProxies};

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The client's IP address (`0.0.0.0` when the peer is unknown, as in unit tests).
pub fn client_address(req: &HttpRequest, proxies: &TrustedProxies) -> IpAddr {
    proxies.client(peer(req), values(req, &X_FORWARDED_FOR))
}

/// The scheme the client used: `https` on a TLS listener, or as a trusted
/// proxy forwards it.
pub fn client_scheme(req: &HttpRequest, proxies: &TrustedProxies) -> Scheme {
    let connection = if req.app_config().secure() {
        Scheme::Https
    } else {
        Scheme::Http
    };
    proxies.scheme(peer(req), values(req, &X_FORWARDED_PROTO), connection)
}

/// The origin of the server's own pages as this client reached them: its
/// scheme and the request's `Host` (which a proxy must pass on unchanged).
pub fn own_origin(req: &HttpRequest, proxies: &TrustedProxies) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    format!("{}://{host}", client_scheme(req, proxies).as_str())
}

fn peer(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|peer| peer.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The values of header `name`, in order; one that is not text reads as
/// empty, which is not an address (it ends a walk through the proxies).
fn values<'a>(req: &'a HttpRequest, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    req.headers()
        .get_all(name)
        .map(|value| value.to_str().unwrap_or(""))
}
