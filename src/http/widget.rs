//! The chat widget's script (`GET /widget.js`) and, in demo mode, a demo
//! shop page that embeds it (`GET /demo/shop`). Both are embedded in the
//! binary; the widget needs no build step and no third-party code.

use super::openapi as doc;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::assets::Embedded;
use crate::core::Core;
use crate::error::Error;

static WIDGET: Embedded = Embedded::new(
    "application/javascript; charset=utf-8",
    include_bytes!("../widget/widget.js"),
);
const DEMO_SHOP: &str = include_str!("../widget/demo-shop.html");

/// `GET /widget.js`, compressed when the browser accepts it, with an ETag
/// (see `http::assets`).
#[utoipa::path(get, path = "/widget.js", tag = "widget",
    security(()),
    responses(
        (status = 200, description = "The chat widget's script (docs/protocol.md §9.3)", content_type = "application/javascript", body = String),
        (status = 304, description = "Not modified (`If-None-Match` named its ETag)"),
    )
)]
pub async fn script(req: HttpRequest) -> HttpResponse {
    let mut response = WIDGET.asset().respond(&req);
    // Short: sites pick up a new widget soon after an upgrade (and then
    // revalidate with the ETag).
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The demo shop, with the demo chat channel's key; 404 unless `--demo`.
#[utoipa::path(get, path = "/demo/shop", tag = "widget",
    security(()),
    responses(
        (status = 200, description = "A demo shop page that embeds the widget", content_type = "text/html", body = String),
        doc::NotFound,
    )
)]
pub async fn demo_shop(core: web::Data<Core>) -> Result<HttpResponse, Error> {
    let key = core.demo_channel.get().ok_or(Error::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DEMO_SHOP.replace("{{CHANNEL_KEY}}", key)))
}
