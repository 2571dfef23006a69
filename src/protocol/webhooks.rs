//! The wire shapes of webhook administration (docs/protocol.md §9.8.1).

use serde::{Deserialize, Serialize};

use crate::domain::webhook::{Attempt, EventType, Webhook};
use crate::domain::{DeliveryId, TicketId, WebhookId};

/// `POST /api/webhooks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// `http` or `https`; not a loopback, private or link-local address
    /// unless the server allows them.
    pub url: String,
    /// Event types from the catalogue (§9.8.4), at least one.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /api/webhooks/{id}`: what is present changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhookRequest {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// An empty one removes it.
    #[serde(default)]
    pub description: Option<String>,
    /// `true` re-enables a webhook the server disabled.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A webhook. `secret` only in the answers of creation and rotation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDto {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub enabled: bool,
    /// Why the server disabled it (a 410; deliveries failing past the horizon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub created_at: String,
}

impl WebhookDto {
    /// The webhook without its secret.
    pub fn new(w: &Webhook) -> WebhookDto {
        WebhookDto {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            secret: None,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.clone(),
            created_at: w.created_at.to_rfc3339(),
        }
    }

    /// The webhook with its secret (creation, rotation).
    pub fn with_secret(w: &Webhook) -> WebhookDto {
        WebhookDto {
            secret: Some(w.secret.clone()),
            ..WebhookDto::new(w)
        }
    }
}

/// `GET /api/webhooks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhooksResponse {
    pub webhooks: Vec<WebhookDto>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryAttemptDto {
    /// The `Tandem-Delivery` id (the same on every attempt of a delivery).
    pub delivery: DeliveryId,
    pub event: EventType,
    pub ticket: TicketId,
    pub attempted_at: String,
    /// The receiver's HTTP status; absent if it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeliveryAttemptDto {
    pub fn new(a: &Attempt) -> DeliveryAttemptDto {
        DeliveryAttemptDto {
            delivery: a.delivery,
            event: a.event,
            ticket: a.ticket,
            attempted_at: a.at.to_rfc3339(),
            status_code: a.status,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
        }
    }
}

/// `GET /api/webhooks/{id}/deliveries`: the last attempts, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveriesResponse {
    pub deliveries: Vec<DeliveryAttemptDto>,
}

impl DeliveriesResponse {
    pub fn new(attempts: &[Attempt]) -> DeliveriesResponse {
        DeliveriesResponse {
            deliveries: attempts.iter().map(DeliveryAttemptDto::new).collect(),
        }
    }
}
