//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every route in
//! `http::routes`, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` derives (docs/protocol.md §6.12).
//!
//! Invariant: every (method, path) of [`super::route_table`] is described
//! here and nothing else is (tests/api/openapi.rs checks both directions).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tandem", description = "The REST API of docs/protocol.md §6."),
    paths(document)
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the document serializes")
});

/// The document, built at first use.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
