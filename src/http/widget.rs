//! The chat widget's script (`GET /widget.js`) and, in demo mode, a demo
//! shop page that embeds it (`GET /demo/shop`). Both are embedded in the
//! binary; the widget needs no build step and no third-party code.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::core::Core;
use crate::error::Error;

const WIDGET: &str = include_str!("../widget/widget.js");
const DEMO_SHOP: &str = include_str!("../widget/demo-shop.html");

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        // Short: sites pick up a new widget soon after an upgrade.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(WIDGET)
}

/// The demo shop, with the demo chat channel's key; 404 unless `--demo`.
pub async fn demo_shop(core: web::Data<Core>) -> Result<HttpResponse, Error> {
    let key = core.demo_channel.get().ok_or(Error::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DEMO_SHOP.replace("{{CHANNEL_KEY}}", key)))
}
