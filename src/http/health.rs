//! `GET /healthz` and `GET /metrics` (no token; bind to a private address in production).

use actix_web::{HttpResponse, web};

use crate::core::Core;

#[utoipa::path(get, path = "/healthz", tag = "health",
    security(()),
    responses(
        (status = 200, description = "`ok`", content_type = "text/plain", body = String, example = "ok"),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

#[utoipa::path(get, path = "/metrics", tag = "health",
    security(()),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format (docs/protocol.md §8.5)", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(core: web::Data<Core>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(core.metrics.render())
}
