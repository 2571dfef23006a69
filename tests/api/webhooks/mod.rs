//! Webhooks (docs/protocol.md §9.8): administration, and deliveries to a
//! real HTTP receiver (signed, ordered per ticket, retried, disabled on
//! 410 or past the horizon with the admins notified, redelivered, durable
//! across a restart and a `kill -9` mid-delivery), and `claim.changed`.

mod admin;
mod claims;
mod delivery;
mod disabled;
pub mod receiver;

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Api, TestServer};

/// Loopback receivers allowed; quick retries.
pub const CONFIG: &str = "[webhooks]
allow_private = true
timeout_s = 2
retry_min_s = 0.2
retry_max_s = 0.4
";

/// Creates a webhook for `events` at `url`; the created webhook.
pub async fn create_webhook(admin: &Api, url: &str, events: &[&str]) -> Value {
    let resp = admin
        .post("/api/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.body
}

/// A server allowing loopback receivers, its admin and an inbox.
pub async fn setup() -> (TestServer, Api, String) {
    let server = TestServer::start_with(CONFIG).await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    (server, admin, inbox)
}

/// Polls `GET path` until `done` holds for its body (at most 10 s): for
/// what the server records just after the receiver answered.
pub async fn poll(admin: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + receiver::DELIVERY_WAIT;
    loop {
        let body = admin.get(path).await.body;
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} stayed {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
