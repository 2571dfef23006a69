//! HTTP: routes (one file per resource family), the `Caller` extractor, the
//! error → response mapping, request tracing (`trace`), the client behind a
//! request (`client`), the WebSocket upgrade, the static console and the chat
//! widget (`widget`, `channels`), both served through `assets` (compressed,
//! with ETags), and the OpenAPI document of all of them (`openapi`).
//!
//! Invariant: handlers never write tickets themselves; they validate shape,
//! then ask the ticket's actor (see `actors::ticket`).

pub mod accounts;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod backup;
pub mod channels;
pub mod client;
pub mod console;
pub mod error;
pub mod health;
pub mod integrations;
pub mod notifications;
pub mod openapi;
pub mod search;
pub mod tickets;
pub mod trace;
pub mod upgrade;
pub mod webhooks;
pub mod widget;
pub mod ws;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Resource, Responder, web};

/// Every route the server answers: (method, path pattern), actix's
/// `{name}` segments included. `routes` registers exactly these: both come
/// from the same calls (see [`RouteTable`]), so the OpenAPI test can compare
/// the document with the app and neither can drift silently.
pub fn route_table() -> Vec<(Method, String)> {
    let mut table = RouteTable::default();
    services(&mut table);
    table.0
}

/// Registers every route. `max_body_bytes` bounds JSON bodies (413 past it).
pub fn routes(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error));
    let (api, root) = services(&mut RouteTable::default());
    cfg.service(api);
    for resource in root {
        cfg.service(resource);
    }
    cfg.default_service(web::to(error::not_found));
}

/// The (method, path) of each route as it is built.
#[derive(Default)]
struct RouteTable(Vec<(Method, String)>);

impl RouteTable {
    /// One resource per path, so a path pattern is matched once per request
    /// whatever its methods; a method it does not have is a 404 like any
    /// unknown route. `scope` is the prefix of the scope it goes in.
    fn at(&mut self, scope: &str, path: &str) -> Methods<'_> {
        Methods {
            table: self,
            path: format!("{scope}{path}"),
            resource: web::resource(path).default_service(web::to(error::not_found)),
        }
    }
}

/// A resource being built: each method added is recorded in the table.
struct Methods<'t> {
    table: &'t mut RouteTable,
    path: String,
    resource: Resource,
}

impl Methods<'_> {
    /// `method` on this path answers with `handler`.
    fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.0.push((method.clone(), self.path.clone()));
        self.resource = self.resource.route(web::method(method).to(handler));
        self
    }

    /// The resource, to register.
    fn done(self) -> Resource {
        self.resource
    }
}

const API: &str = "/api";
const TICKET: &str = "/api/tickets/{id}";

/// The `/api` scope and the resources outside it, in matching order.
fn services(t: &mut RouteTable) -> (actix_web::Scope, Vec<Resource>) {
    use Method as M;
    let api = web::scope(API)
        .service(
            t.at(API, "/openapi.json")
                .on(M::GET, openapi::document)
                .done(),
        )
        .service(t.at(API, "/login").on(M::POST, accounts::login).done())
        .service(t.at(API, "/logout").on(M::POST, accounts::logout).done())
        .service(t.at(API, "/me").on(M::GET, accounts::me).done())
        .service(
            t.at(API, "/me/shared")
                .on(M::GET, tickets::shared_with_me)
                .done(),
        )
        .service(
            t.at(API, "/me/notifications")
                .on(M::GET, notifications::list)
                .done(),
        )
        .service(
            t.at(API, "/me/notifications/read")
                .on(M::POST, notifications::mark_read)
                .done(),
        )
        .service(
            t.at(API, "/colleagues")
                .on(M::GET, accounts::colleagues)
                .done(),
        )
        .service(
            t.at(API, "/agents")
                .on(M::POST, accounts::create_agent)
                .on(M::GET, accounts::list_agents)
                .done(),
        )
        .service(
            t.at(API, "/agents/{id}")
                .on(M::PATCH, accounts::patch_agent)
                .done(),
        )
        .service(
            t.at(API, "/inboxes")
                .on(M::POST, accounts::create_inbox)
                .on(M::GET, accounts::list_inboxes)
                .done(),
        )
        .service(
            t.at(API, "/inboxes/{id}/tickets")
                .on(M::GET, tickets::list)
                .done(),
        )
        .service(
            t.at(API, "/settings")
                .on(M::GET, accounts::get_settings)
                .on(M::PATCH, accounts::patch_settings)
                .done(),
        )
        .service(t.at(API, "/search").on(M::GET, search::search).done())
        .service(t.at(API, "/admin/backup").on(M::GET, backup::backup).done())
        .service(
            t.at(API, "/channels")
                .on(M::GET, channels::list)
                .on(M::POST, channels::create)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}")
                .on(M::GET, channels::detail)
                .on(M::PATCH, channels::patch)
                .on(M::DELETE, channels::delete)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/rotate_secret")
                .on(M::POST, channels::rotate_secret)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/check")
                .on(M::POST, channels::check)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/rotate_key")
                .on(M::POST, channels::rotate_key)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/deliveries")
                .on(M::GET, channels::deliveries)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/conversations")
                .on(M::POST, integrations::create_conversation)
                .done(),
        )
        .service(
            t.at(API, "/channels/{id}/conversations/{external_id}/messages")
                .on(M::POST, integrations::post_message)
                .done(),
        )
        .service(
            t.at(API, "/webhooks")
                .on(M::GET, webhooks::list)
                .on(M::POST, webhooks::create)
                .done(),
        )
        .service(
            t.at(API, "/webhooks/{id}")
                .on(M::GET, webhooks::detail)
                .on(M::PATCH, webhooks::patch)
                .on(M::DELETE, webhooks::delete)
                .done(),
        )
        .service(
            t.at(API, "/webhooks/{id}/rotate_secret")
                .on(M::POST, webhooks::rotate_secret)
                .done(),
        )
        .service(
            t.at(API, "/webhooks/{id}/deliveries")
                .on(M::GET, webhooks::deliveries)
                .done(),
        )
        .service(
            t.at(API, "/webhooks/{id}/deliveries/{delivery}/redeliver")
                .on(M::POST, webhooks::redeliver)
                .done(),
        )
        .service(t.at(API, "/tickets").on(M::POST, tickets::create).done())
        .service(
            // The ticket id is matched once; the paths under it are static
            // (string compares) except the last ones.
            web::scope(&TICKET[API.len()..])
                .service(
                    t.at(TICKET, "")
                        .on(M::GET, tickets::detail)
                        .on(M::PATCH, tickets::patch)
                        .on(M::DELETE, tickets::delete)
                        .done(),
                )
                .service(
                    t.at(TICKET, "/messages")
                        .on(M::POST, tickets::post_message)
                        .done(),
                )
                .service(t.at(TICKET, "/assign").on(M::POST, tickets::assign).done())
                .service(
                    t.at(TICKET, "/transfer")
                        .on(M::POST, tickets::transfer)
                        .done(),
                )
                .service(
                    t.at(TICKET, "/followers")
                        .on(M::POST, tickets::add_follower)
                        .done(),
                )
                .service(t.at(TICKET, "/shares").on(M::POST, tickets::share).done())
                .service(
                    t.at(TICKET, "/lock")
                        .on(M::PUT, tickets::lock)
                        .on(M::DELETE, tickets::unlock)
                        .done(),
                )
                .service(t.at(TICKET, "/history").on(M::GET, tickets::history).done())
                .service(
                    t.at(TICKET, "/followers/{agent}")
                        .on(M::DELETE, tickets::remove_follower)
                        .done(),
                )
                .service(
                    t.at(TICKET, "/shares/{agent}")
                        .on(M::DELETE, tickets::unshare)
                        .done(),
                )
                .service(
                    t.at(TICKET, "/attachments/{attachment}")
                        .on(M::GET, attachments::download)
                        .done(),
                )
                .service(
                    t.at(TICKET, "/messages/{message}")
                        .on(M::DELETE, tickets::cancel_scheduled)
                        .done(),
                )
                .service(t.at(TICKET, "/{step}").on(M::POST, tickets::step).done()),
        );
    let root = vec![
        t.at("", "/").on(M::GET, console::index).done(),
        t.at("", "/console/{file}").on(M::GET, console::file).done(),
        t.at("", "/healthz").on(M::GET, health::healthz).done(),
        t.at("", "/metrics").on(M::GET, health::metrics).done(),
        t.at("", "/ws").on(M::GET, ws::upgrade).done(),
        t.at("", "/ws/visitor")
            .on(M::GET, ws::upgrade_visitor)
            .done(),
        t.at("", "/widget.js").on(M::GET, widget::script).done(),
        t.at("", "/demo/shop").on(M::GET, widget::demo_shop).done(),
    ];
    (api, root)
}
