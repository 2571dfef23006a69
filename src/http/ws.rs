//! `GET /ws`: checks the browser `Origin` and the sockets per client address
//! (`ws.max_sockets_per_address`, 429 past it), upgrades, and hands the socket to
//! [`crate::actors::connection::serve`] on this worker.

use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;

use super::frame_guard::FrameGuard;
use crate::actors::connection;
use crate::core::Core;
use crate::error::Error;

pub async fn upgrade(
    core: web::Data<Core>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    if !origin_allowed(&core, &req) {
        return Err(Error::forbidden("origin not allowed").into());
    }
    let core = core.into_inner();
    let address = req
        .peer_addr()
        .map(|peer| peer.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let slot = core.try_open_address(address).ok_or(Error::RateLimited {
        message: "too many sockets from this address",
        retry_after_s: 5,
    })?;
    // Oversized frames are refused from their header, before actix-ws buffers them.
    let guarded = FrameGuard::new(body, core.config.ws.max_frame_bytes);
    let guarded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(guarded);
    let mut guarded = actix_web::dev::Payload::from(guarded);
    let body = web::Payload::from_request(&req, &mut guarded).await?;
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        connection::serve(core, session, stream).await;
        drop(slot);
    });
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
    if core.config.ws.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let info = req.connection_info();
    let own = format!(
        "{}://{}",
        if info.scheme() == "https" {
            "https"
        } else {
            "http"
        },
        info.host()
    );
    origin == own
}
