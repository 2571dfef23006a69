//! HTTP: routes (one file per resource family), the `Caller` extractor, the
//! error → response mapping, the WebSocket upgrade, and the static console.
//!
//! Invariant: handlers never write tickets themselves; they validate shape,
//! then ask the ticket's actor (see `actors::ticket`).

pub mod accounts;
pub mod auth;
pub mod console;
pub mod error;
pub mod frame_guard;
pub mod health;
pub mod notifications;
pub mod search;
pub mod tickets;
pub mod ws;

use actix_web::web;

/// Registers every route. `max_body_bytes` bounds JSON bodies (413 past it).
pub fn routes(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .route("/", web::get().to(console::index))
    .route("/console/{file}", web::get().to(console::file))
    .route("/healthz", web::get().to(health::healthz))
    .route("/metrics", web::get().to(health::metrics))
    .route("/ws", web::get().to(ws::upgrade))
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
            .route("/agents", web::post().to(accounts::create_agent))
            .route("/agents", web::get().to(accounts::list_agents))
            .route("/agents/{id}", web::patch().to(accounts::patch_agent))
            .route("/inboxes", web::post().to(accounts::create_inbox))
            .route("/inboxes", web::get().to(accounts::list_inboxes))
            .route("/inboxes/{id}/tickets", web::get().to(tickets::list))
            .route("/settings", web::get().to(accounts::get_settings))
            .route("/settings", web::patch().to(accounts::patch_settings))
            .route("/search", web::get().to(search::search))
            .route("/tickets", web::post().to(tickets::create))
            .route("/tickets/{id}", web::get().to(tickets::detail))
            .route("/tickets/{id}", web::patch().to(tickets::patch))
            .route("/tickets/{id}", web::delete().to(tickets::delete))
            .route("/tickets/{id}/assign", web::post().to(tickets::assign))
            .route("/tickets/{id}/transfer", web::post().to(tickets::transfer))
            .route(
                "/tickets/{id}/followers",
                web::post().to(tickets::add_follower),
            )
            .route(
                "/tickets/{id}/followers/{agent}",
                web::delete().to(tickets::remove_follower),
            )
            .route("/tickets/{id}/shares", web::post().to(tickets::share))
            .route(
                "/tickets/{id}/shares/{agent}",
                web::delete().to(tickets::unshare),
            )
            .route("/tickets/{id}/lock", web::put().to(tickets::lock))
            .route("/tickets/{id}/lock", web::delete().to(tickets::unlock))
            .route("/tickets/{id}/history", web::get().to(tickets::history))
            .route(
                "/tickets/{id}/messages",
                web::post().to(tickets::post_message),
            )
            .route(
                "/tickets/{id}/messages/{message}",
                web::delete().to(tickets::cancel_scheduled),
            )
            .route("/tickets/{id}/{step}", web::post().to(tickets::step)),
    )
    .default_service(web::to(error::not_found));
}
