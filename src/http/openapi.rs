//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every route in
//! `http::routes`, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` derives (docs/protocol.md §6.11).
//! It needs no token: it describes the API, never its data.
//!
//! Invariant: every (method, path) of [`super::route_table`] is described
//! here and nothing else is (tests/api/openapi.rs checks both directions).
//!
//! The error answers are shared components, one per HTTP status of
//! docs/protocol.md §5, each with the `ErrorResponse` body; a route lists the
//! ones it can answer by name (`responses(..., doc::NotFound, ...)`: each is
//! also an `IntoResponses` of its status, referring to the component).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder, response::Response};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, attachments, backup, channels, console, health, integrations, notifications, search,
    tickets, webhooks, widget, ws,
};
use crate::protocol::rest::ErrorResponse;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem",
        description = "Tandem's REST API (docs/protocol.md §6 and §9). Errors answer \
            `{\"error\": {\"code\", \"message\", ...}}` (§5). Requests need \
            `Authorization: Bearer <token>` from `POST /api/login`, except where an \
            operation says otherwise."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(
        schemas(ErrorResponse),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            RateLimited,
            Internal,
            Unavailable
        )
    ),
    paths(
        document,
        accounts::login,
        accounts::logout,
        accounts::me,
        tickets::shared_with_me,
        notifications::list,
        notifications::mark_read,
        accounts::colleagues,
        accounts::create_agent,
        accounts::list_agents,
        accounts::patch_agent,
        accounts::create_inbox,
        accounts::list_inboxes,
        tickets::list,
        accounts::get_settings,
        accounts::patch_settings,
        search::search,
        backup::backup,
        channels::list,
        channels::create,
        channels::detail,
        channels::patch,
        channels::delete,
        channels::rotate_secret,
        channels::check,
        channels::rotate_key,
        channels::deliveries,
        integrations::create_conversation,
        integrations::post_message,
        webhooks::list,
        webhooks::create,
        webhooks::detail,
        webhooks::patch,
        webhooks::delete,
        webhooks::rotate_secret,
        webhooks::deliveries,
        webhooks::redeliver,
        tickets::create,
        tickets::detail,
        tickets::patch,
        tickets::delete,
        tickets::post_message,
        tickets::assign,
        tickets::transfer,
        tickets::add_follower,
        tickets::share,
        tickets::lock,
        tickets::unlock,
        tickets::history,
        tickets::remove_follower,
        tickets::unshare,
        attachments::download,
        tickets::cancel_scheduled,
        tickets::step,
        console::index,
        console::file,
        health::healthz,
        health::metrics,
        ws::upgrade,
        ws::upgrade_visitor,
        widget::script,
        widget::demo_shop,
    )
)]
pub struct ApiDoc;

/// The `bearer` scheme that the document's default `security` names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `POST /api/login` (docs/protocol.md §6.2)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API channel's key, shown when the channel is created or its key \
                         rotated (docs/protocol.md §9.9); it opens only that channel's \
                         conversations",
                    ))
                    .build(),
            ),
        );
    }
}

/// One shared error answer per status: `name`, its status, the codes it carries.
macro_rules! error_responses {
    ($($name:ident $status:literal: $description:literal;)*) => {$(
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let reference = Ref::from_response_name(stringify!($name));
                BTreeMap::from([($status.to_string(), RefOr::Ref(reference))])
            }
        }

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let body = Content::new(Some(Ref::from_schema_name("ErrorResponse")));
                let response = ResponseBuilder::new()
                    .description($description)
                    .content("application/json", body)
                    .build();
                (stringify!($name), response.into())
            }
        }
    )*};
}

error_responses! {
    BadRequest 400: "`bad_request`: a malformed or invalid body, query or value";
    Unauthorized 401: "`unauthorized`: a missing, invalid, expired or revoked token";
    Forbidden 403: "`forbidden`: the caller's role may not do this";
    NotFound 404: "`not_found`: no such thing, or the caller may not know it exists \
        (a malformed id in the path too)";
    Conflict 409: "`ticket_claimed` or `ticket_locked` (with `holder`), `stale` (with \
        `newer`), `sharing_disabled`, or `conflict`: the state does not allow it";
    PayloadTooLarge 413: "`payload_too_large`: the body is over `server.max_body_bytes`";
    RateLimited 429: "`rate_limited` (with `retry_after_s`)";
    Internal 500: "`internal`: an unexpected server error (logged)";
    Unavailable 503: "`unavailable`: the server is shutting down";
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the document serializes")
});

/// The document, built at first use.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)",
        content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
