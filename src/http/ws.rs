//! `GET /ws`: checks the browser `Origin` and the sockets per client address
//! (`ws.max_sockets_per_address`, 429 past it; the address and the server's
//! own origin as `http::client` reads them through trusted proxies), and
//! answers the handshake: a `101 Switching Protocols` carrying, in its
//! extensions, the socket's [`Starter`]. Upgrade requests reach these handlers
//! through `http::upgrade`, which writes the 101 and starts the socket on the
//! raw connection ([`crate::socket::wire`]); a refused upgrade is an ordinary
//! error answer. The socket is served in its upgrade request's span (see
//! `http::trace`).
//!
//! `GET /ws/visitor`: the same for a chat visitor's socket, with its own
//! limits (`[visitor]`) and origin rule (the channels' allowed origins).
//!
//! Invariant: a 101 always carries a [`Starter`], and only a 101 does.

use std::sync::Arc;

use super::openapi as doc;
use actix_web::body::BoxBody;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::client::{client_address, own_origin};
use super::upgrade::Upgraded;
use crate::core::Core;
use crate::error::Error;
use crate::socket::outlet;
use crate::socket::visitor::PageOrigin;
use crate::socket::wire::{Kind, Starter};

#[utoipa::path(get, path = "/ws", tag = "sockets",
    security(()),
    responses(
        (status = 101, description = "Switching Protocols: the socket speaks the frames of docs/protocol.md §7"),
        (status = 400, description = "Not a WebSocket handshake (a plain-text answer)"),
        doc::Forbidden, doc::RateLimited,
    )
)]
pub async fn upgrade(
    core: web::Data<Core>,
    req: HttpRequest,
) -> Result<HttpResponse, actix_web::Error> {
    if !origin_allowed(&core, &req) {
        return Err(Error::forbidden("origin not allowed").into());
    }
    let core = core.into_inner();
    let slot = core
        .try_open_address(client_address(&req, &core.config.trusted_proxies))
        .ok_or(Error::RateLimited {
            message: "too many sockets from this address",
            retry_after_s: 5,
        })?;
    accept(&req, core, Kind::Agent(slot))
}

/// `GET /ws/visitor`: a chat visitor's socket (docs/protocol.md §9.6). The
/// page's `Origin` must be one some enabled channel allows (the hello then
/// checks its own channel), or the server's own; each address holds at most
/// `visitor.max_sockets_per_address` visitor sockets.
#[utoipa::path(get, path = "/ws/visitor", tag = "sockets",
    security(()),
    responses(
        (status = 101, description = "Switching Protocols: the socket speaks the frames of docs/protocol.md §9.6"),
        (status = 400, description = "Not a WebSocket handshake (a plain-text answer)"),
        doc::Forbidden, doc::RateLimited,
    )
)]
pub async fn upgrade_visitor(
    core: web::Data<Core>,
    req: HttpRequest,
) -> Result<HttpResponse, actix_web::Error> {
    let origin = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let origin = match origin {
        Some(o) if o == own_origin(&req, &core.config.trusted_proxies) => PageOrigin::Own,
        Some(o) if core.channels.any_allows(&o) => PageOrigin::Other(o),
        _ => return Err(Error::forbidden("origin not allowed").into()),
    };
    let core = core.into_inner();
    let slot = core
        .try_open_visitor_address(client_address(&req, &core.config.trusted_proxies))
        .ok_or(Error::RateLimited {
            message: "too many chat sockets from this address",
            retry_after_s: 5,
        })?;
    accept(&req, core, Kind::Visitor(slot, origin))
}

/// Answers the WebSocket handshake: a 101 carrying the socket's [`Starter`]
/// (its outlet opened here) for `http::upgrade`. The request must also have
/// come the upgrade way, or there is no connection to take over (e.g.
/// `Upgrade: h2c, websocket`, which actix-http does not treat as an upgrade).
fn accept(
    req: &HttpRequest,
    core: Arc<Core>,
    kind: Kind,
) -> Result<HttpResponse, actix_web::Error> {
    let mut response = actix_http::ws::handshake(req.head())?;
    if !req.extensions().contains::<Upgraded>() {
        return Err(actix_http::ws::HandshakeError::NoWebsocketUpgrade.into());
    }
    let ws = &core.config.ws;
    let (outlet, outbound, watch) = outlet::open(
        ws.max_backlog_frames,
        ws.max_backlog_bytes,
        core.metrics.events_sent.clone(),
    );
    let starter = Starter {
        core,
        kind,
        outlet,
        outbound,
        watch,
        // The socket's logs, and its session's, carry the upgrade request's id.
        span: tracing::Span::current(),
    };
    let mut response: HttpResponse = response.message_body(BoxBody::new(()))?.into();
    response.extensions_mut().insert(starter);
    Ok(response)
}

/// No `Origin` (non-browser clients), the server's own origin, or a configured one.
fn origin_allowed(core: &Core, req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    core.config.ws.allowed_origins.iter().any(|o| o == origin)
        || origin == own_origin(req, &core.config.trusted_proxies)
}
