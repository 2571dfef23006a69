//! `GET /healthz` and `GET /metrics` (no token; bind to a private address in production).

use actix_web::{HttpResponse, web};

use crate::core::Core;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

pub async fn metrics(core: web::Data<Core>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(core.metrics.render())
}
