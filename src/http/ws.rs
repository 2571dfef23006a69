//! `GET /ws`: checks the browser `Origin`, upgrades, and hands the socket to
//! [`crate::actors::connection::serve`] on this worker.

use actix_web::{HttpRequest, HttpResponse, web};

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
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(connection::serve(core.into_inner(), session, stream));
    Ok(response)
}

/// No `Origin` (non-browser clients), the server's own origin, or a configured one.
fn origin_allowed(core: &Core, req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if core.config.ws.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let info = req.connection_info();
    let own = format!("{}://{}", if info.scheme() == "https" { "https" } else { "http" }, info.host());
    origin == own
}
