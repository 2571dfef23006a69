//! `GET /ws`: checks the browser `Origin` and the sockets per client address
//! (`ws.max_sockets_per_address`, 429 past it; the address and the server's
//! own origin as `http::client` reads them through trusted proxies), upgrades, and hands the socket to
//! [`crate::socket::connection::serve`] on this worker: its frames are read from
//! the request body (through [`FrameGuard`]) and written by the response body.
//! The socket is served in its upgrade request's span (see `http::trace`).
//!
//! `GET /ws/visitor`: the same for a chat visitor's socket, with its own
//! limits (`[visitor]`) and origin rule (the channels' allowed origins).

use super::openapi as doc;
use actix_web::body::{BodyStream, MessageBody};
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::Instrument;

use super::client::{client_address, own_origin};
use crate::core::Core;
use crate::error::Error;
use crate::socket::frame_guard::FrameGuard;
use crate::socket::inlet::Inlet;
use crate::socket::visitor::PageOrigin;
use crate::socket::{self, connection, outlet};

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
    body: web::Payload,
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
    let mut response = actix_http::ws::handshake(req.head())?;
    let ws = &core.config.ws;
    let (outlet, outbound, watch) = outlet::open(
        ws.max_backlog_frames,
        ws.max_backlog_bytes,
        core.metrics.events_sent.clone(),
    );
    // Oversized frames are refused from their header, before they are buffered.
    let guarded = FrameGuard::new(body, ws.max_frame_bytes);
    let inlet = Inlet::new(
        guarded,
        ws.max_frame_bytes,
        ws.max_frame_bytes,
        watch.clone(),
    );
    // In the upgrade request's span: the socket's logs, and its session's, carry its id.
    let serve = connection::serve(core, slot, outlet, watch, inlet);
    actix_web::rt::spawn(serve.instrument(tracing::Span::current()));
    Ok(response
        .message_body(BodyStream::new(outbound).boxed())?
        .into())
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
    body: web::Payload,
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
    let mut response = actix_http::ws::handshake(req.head())?;
    let (ws, visitor) = (&core.config.ws, &core.config.visitor);
    let (outlet, outbound, watch) = outlet::open(
        ws.max_backlog_frames,
        ws.max_backlog_bytes,
        core.metrics.events_sent.clone(),
    );
    let guarded = FrameGuard::new(body, visitor.max_frame_bytes);
    let inlet = Inlet::new(
        guarded,
        visitor.max_frame_bytes,
        visitor.max_frame_bytes,
        watch.clone(),
    );
    let serve = socket::visitor::serve(core, slot, outlet, watch, inlet, origin);
    actix_web::rt::spawn(serve.instrument(tracing::Span::current()));
    Ok(response
        .message_body(BodyStream::new(outbound).boxed())?
        .into())
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
