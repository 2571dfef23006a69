//! The API channel (docs/protocol.md §9.9): an integration holding the
//! channel's key opens conversations and posts its customers' messages,
//! idempotently; agents' public replies go to its `callback_url`, signed.

mod callback;
mod integration;

use serde_json::{Value, json};

use crate::support::{Api, Resp, TestServer};

/// An API channel as its creator got it (with its key, shown this once).
pub struct ApiChannel {
    pub id: String,
    pub key: String,
    pub secret: String,
    pub json: Value,
}

impl ApiChannel {
    /// Creates an API channel in `inbox` (a callback to `callback_url` if any).
    pub async fn create(admin: &Api, inbox: &str, callback_url: Option<&str>) -> ApiChannel {
        let mut body = json!({"kind": "api", "inbox": inbox, "name": "SMS bridge"});
        if let Some(url) = callback_url {
            body["callback_url"] = json!(url);
        }
        let resp = admin.post("/api/channels", body).await;
        assert_eq!(resp.status, 201, "{}", resp.body);
        let text = |field: &str| resp.body[field].as_str().unwrap().to_owned();
        ApiChannel {
            id: text("id"),
            key: text("api_key"),
            secret: text("secret"),
            json: resp.body.clone(),
        }
    }

    /// The integration: a client sending the channel's key.
    pub fn client(&self, server: &TestServer) -> Api {
        server.anonymous().with_token(&self.key)
    }

    pub fn path(&self, tail: &str) -> String {
        format!("/api/channels/{}{tail}", self.id)
    }
}

/// `POST …/conversations` for `external_id` with `integration`'s key.
pub async fn open(integration: &Api, channel: &ApiChannel, external_id: &str) -> Resp {
    let body = json!({
        "external_id": external_id,
        "contact": {"name": "Ada", "identifier": "+4915112345678"},
    });
    integration.post(channel.path("/conversations"), body).await
}

/// `POST …/conversations/{external_id}/messages` with `integration`'s key.
pub async fn send(
    integration: &Api,
    channel: &ApiChannel,
    external_id: &str,
    external_message_id: &str,
    body: &str,
) -> Resp {
    let path = channel.path(&format!("/conversations/{external_id}/messages"));
    let body = json!({"body": body, "external_message_id": external_message_id});
    integration.post(path, body).await
}

/// The API-channel config: loopback callbacks allowed, quick retries.
pub async fn setup() -> (TestServer, Api, String) {
    crate::webhooks::setup().await
}
