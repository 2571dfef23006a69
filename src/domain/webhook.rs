//! Webhooks (docs/protocol.md §9.8): where events are POSTed, which ones,
//! signed with which secret; the deliveries waiting in the outbox and the
//! log of recent attempts.
//!
//! Invariants:
//! - A webhook's `url` is `http` or `https` with a host and no user info;
//!   its `events` are from the catalogue ([`EventType`]), at least one, each
//!   once.
//! - The secret leaves the server only in the answers that create or rotate it.
//! - A webhook with a `channel` is that API channel's reply callback
//!   (docs/protocol.md §9.9): it exists while the channel has a
//!   `callback_url`, is changed only with the channel, receives only the
//!   events addressed to that channel, and only those reach it.
//! - A delivery keeps its [`DeliveryId`] (the `Tandem-Delivery` header) and
//!   its body on every attempt: receivers deduplicate on it.

use serde::{Deserialize, Serialize};

use super::channel::Channel;
use super::email::DeliveryState;
use super::{ChannelId, DeliveryId, MessageId, TicketId, Timestamp, WebhookId};

pub mod limits {
    pub const URL_CHARS: usize = 2000;
    pub const DESCRIPTION_CHARS: usize = 500;
    /// Attempts kept per webhook in its deliveries log (the oldest go first).
    pub const ATTEMPTS_KEPT: usize = 50;
    /// Characters of an attempt's error kept.
    pub const ERROR_CHARS: usize = 300;
}

/// The event catalogue (docs/protocol.md §9.8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    #[serde(rename = "ticket.deleted")]
    TicketDeleted,
    /// A customer message or a public reply (`kind` says which).
    #[serde(rename = "message.created")]
    MessageCreated,
    /// An internal note: only to webhooks that ask for it.
    #[serde(rename = "note.created")]
    NoteCreated,
    #[serde(rename = "claim.changed")]
    ClaimChanged,
    #[serde(rename = "message.delivery")]
    MessageDelivery,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::TicketCreated,
        EventType::TicketUpdated,
        EventType::TicketDeleted,
        EventType::MessageCreated,
        EventType::NoteCreated,
        EventType::ClaimChanged,
        EventType::MessageDelivery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TicketCreated => "ticket.created",
            EventType::TicketUpdated => "ticket.updated",
            EventType::TicketDeleted => "ticket.deleted",
            EventType::MessageCreated => "message.created",
            EventType::NoteCreated => "note.created",
            EventType::ClaimChanged => "claim.changed",
            EventType::MessageDelivery => "message.delivery",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default)]
    pub description: Option<String>,
    /// The HMAC-SHA256 key of `Tandem-Signature`.
    pub secret: String,
    pub enabled: bool,
    /// Why the server disabled it (a 410, or deliveries failing past the horizon).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    /// Set on an API channel's reply callback (see the module invariants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelId>,
}

impl Webhook {
    /// Whether this is an admin's webhook (no channel's callback) that gets
    /// events of type `event` now.
    pub fn wants(&self, event: EventType) -> bool {
        self.enabled && self.channel.is_none() && self.events.contains(&event)
    }

    /// Whether `event` is delivered to this webhook now.
    pub fn receives(&self, event: &Event) -> bool {
        self.enabled && self.channel == event.channel && self.events.contains(&event.event)
    }

    /// The reply callback of API channel `channel`, if it has a
    /// `callback_url`: its id is the channel's, its secret the channel's,
    /// and it is enabled while the channel is.
    pub fn callback_of(channel: &Channel) -> Option<Webhook> {
        let url = channel.api.as_ref()?.callback_url.clone()?;
        Some(Webhook {
            id: WebhookId::from_u128(channel.id.as_u128()),
            url,
            events: vec![EventType::MessageCreated],
            description: None,
            secret: channel.secret.clone(),
            enabled: channel.enabled,
            disabled_reason: None,
            created_at: channel.created_at,
            channel: Some(channel.id),
        })
    }
}

/// Something that happened, to be delivered to every enabled webhook that
/// subscribed to its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event: EventType,
    pub ticket: TicketId,
    pub news: News,
    pub created_at: Timestamp,
    /// The body's `data`.
    pub data: serde_json::Value,
    /// `None`: for the webhooks subscribed to its type; `Some`: for that
    /// API channel's reply callback alone.
    pub channel: Option<ChannelId>,
}

/// Whether an event is news depends, for some, on what was stored before
/// its change; that is decided where the store is at hand
/// (`store::webhooks::enqueue`, before the change's messages are stored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum News {
    Always,
    /// Unless the message was already stored as sent (the change only
    /// updates it: a delivery report).
    NewMessage(MessageId),
    /// If the message was stored with a delivery in another state.
    DeliveryState(MessageId, DeliveryState),
}

impl Event {
    /// The body POSTed for `delivery`: `{id, type, created_at, data}`.
    pub fn body(&self, delivery: DeliveryId) -> String {
        serde_json::json!({
            "id": delivery,
            "type": self.event,
            "created_at": self.created_at.to_rfc3339(),
            "data": self.data,
        })
        .to_string()
    }
}

/// One event waiting in the outbox for one webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub delivery: DeliveryId,
    pub event: EventType,
    /// The exact bytes POSTed (and signed) on every attempt.
    pub body: String,
    pub queued_at: Timestamp,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
}

/// One attempt at a delivery, as the deliveries log shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery: DeliveryId,
    pub event: EventType,
    pub ticket: TicketId,
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The body, kept for `redeliver`.
    pub body: String,
}

/// A webhook's URL: `http(s)://host[:port][/path][?query]`, at most
/// [`limits::URL_CHARS`], no user info.
pub fn validate_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let bad = || "url must be an http or https URL with a host".to_owned();
    if url.is_empty() || url.chars().count() > limits::URL_CHARS {
        return Err(format!("url must be 1-{} characters", limits::URL_CHARS));
    }
    let uri: actix_web::http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let authority = uri.authority().ok_or_else(bad)?;
    if !scheme_ok || authority.host().is_empty() || authority.as_str().contains('@') {
        return Err(bad());
    }
    Ok(url.to_owned())
}

/// Event names from the catalogue: at least one, duplicates dropped.
pub fn validate_events(names: &[String]) -> Result<Vec<EventType>, String> {
    let mut events = Vec::new();
    for name in names {
        let event = EventType::parse(name).ok_or_else(|| format!("unknown event type {name}"))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err("events must name at least one event type".to_owned());
    }
    Ok(events)
}

/// A description: trimmed, at most [`limits::DESCRIPTION_CHARS`]; empty is none.
pub fn validate_description(text: Option<String>) -> Result<Option<String>, String> {
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > limits::DESCRIPTION_CHARS)
    {
        return Err(format!(
            "description must be at most {} characters",
            limits::DESCRIPTION_CHARS
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(validate_url("https://example.com/hooks?x=1").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "/relative",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_come_from_the_catalogue() {
        let names = ["ticket.created", "note.created", "ticket.created"].map(String::from);
        assert_eq!(
            validate_events(&names).unwrap(),
            vec![EventType::TicketCreated, EventType::NoteCreated]
        );
        assert!(validate_events(&["ticket.exploded".to_owned()]).is_err());
        assert!(validate_events(&[]).is_err());
        for event in EventType::ALL {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(json, format!("\"{}\"", event.as_str()));
        }
    }
}
