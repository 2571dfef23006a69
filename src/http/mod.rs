//! HTTP: routes (one file per resource family), the `Caller` extractor, the
//! error → response mapping, request tracing (`trace`), the client behind a
//! request (`client`), the WebSocket upgrade, the static console and the chat
//! widget (`widget`, `channels`), both served through `assets` (compressed,
//! with ETags).
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
pub mod notifications;
pub mod search;
pub mod tickets;
pub mod trace;
pub mod widget;
pub mod ws;

use actix_web::web;

/// One resource per path, so a path pattern is matched once per request
/// whatever its methods; a method it does not have is a 404 like any
/// unknown route.
fn one_path(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(error::not_found))
}

/// Registers every route. `max_body_bytes` bounds JSON bodies (413 past it).
pub fn routes(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .service(
        web::scope("/api")
            .route("/login", web::post().to(accounts::login))
            .route("/logout", web::post().to(accounts::logout))
            .route("/me", web::get().to(accounts::me))
            .route("/me/shared", web::get().to(tickets::shared_with_me))
            .route("/me/notifications", web::get().to(notifications::list))
            .route(
                "/me/notifications/read",
                web::post().to(notifications::mark_read),
            )
            .route("/colleagues", web::get().to(accounts::colleagues))
            .service(
                one_path("/agents")
                    .post(accounts::create_agent)
                    .get(accounts::list_agents),
            )
            .route("/agents/{id}", web::patch().to(accounts::patch_agent))
            .service(
                one_path("/inboxes")
                    .post(accounts::create_inbox)
                    .get(accounts::list_inboxes),
            )
            .route("/inboxes/{id}/tickets", web::get().to(tickets::list))
            .service(
                one_path("/settings")
                    .get(accounts::get_settings)
                    .patch(accounts::patch_settings),
            )
            .route("/search", web::get().to(search::search))
            .route("/admin/backup", web::get().to(backup::backup))
            .service(
                one_path("/channels")
                    .route(web::get().to(channels::list))
                    .route(web::post().to(channels::create)),
            )
            .service(
                one_path("/channels/{id}")
                    .route(web::get().to(channels::detail))
                    .route(web::patch().to(channels::patch))
                    .route(web::delete().to(channels::delete)),
            )
            .route(
                "/channels/{id}/rotate_secret",
                web::post().to(channels::rotate_secret),
            )
            .route("/channels/{id}/check", web::post().to(channels::check))
            .route("/tickets", web::post().to(tickets::create))
            .service(
                // The ticket id is matched once; the paths under it are static
                // (string compares) except the last ones.
                web::scope("/tickets/{id}")
                    .service(
                        one_path("")
                            .get(tickets::detail)
                            .patch(tickets::patch)
                            .delete(tickets::delete),
                    )
                    .route("/messages", web::post().to(tickets::post_message))
                    .route("/assign", web::post().to(tickets::assign))
                    .route("/transfer", web::post().to(tickets::transfer))
                    .route("/followers", web::post().to(tickets::add_follower))
                    .route("/shares", web::post().to(tickets::share))
                    .service(one_path("/lock").put(tickets::lock).delete(tickets::unlock))
                    .route("/history", web::get().to(tickets::history))
                    .route(
                        "/followers/{agent}",
                        web::delete().to(tickets::remove_follower),
                    )
                    .route("/shares/{agent}", web::delete().to(tickets::unshare))
                    .route(
                        "/attachments/{attachment}",
                        web::get().to(attachments::download),
                    )
                    .route(
                        "/messages/{message}",
                        web::delete().to(tickets::cancel_scheduled),
                    )
                    .route("/{step}", web::post().to(tickets::step)),
            ),
    )
    .route("/", web::get().to(console::index))
    .route("/console/{file}", web::get().to(console::file))
    .route("/healthz", web::get().to(health::healthz))
    .route("/metrics", web::get().to(health::metrics))
    .route("/ws", web::get().to(ws::upgrade))
    .route("/ws/visitor", web::get().to(ws::upgrade_visitor))
    .route("/widget.js", web::get().to(widget::script))
    .route("/demo/shop", web::get().to(widget::demo_shop))
    .default_service(web::to(error::not_found));
}
