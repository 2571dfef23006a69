//! Pure domain types and rules: no actix, no I/O, no wire formats.
//!
//! Everything here is deterministic and unit-tested in place. The types derive
//! serde so the store can persist them (see `store::codec`); the JSON shapes
//! clients see are built in `protocol`, which sends the plain enums as they
//! are (a renamed variant is a wire change).
//!
//! Every rule about a ticket is a decision in [`decisions`]: the ticket actor
//! asks, commits and publishes, but never decides itself.
//!
//! Files: `ids`, `time`, `agent` (agents, roles, inboxes, the [`agent::Roster`]
//! decisions look names up in), `access` (who may do what), `ticket` (tickets,
//! status rules, input limits), `message`, `mention`, `draft`, `history`,
//! `notification`, `settings`, `search` (search words), `presence` (the claim
//! and viewer state machine), `channel` (chat, e-mail and API channels;
//! identity verification), `api_channel` (API keys, conversations),
//! `visitor` (customers of a channel), `decisions`.

pub mod access;
pub mod agent;
pub mod api_channel;
pub mod channel;
pub mod decisions;
pub mod draft;
pub mod email;
pub mod history;
pub mod ids;
pub mod mail_account;
pub mod mention;
pub mod message;
pub mod notification;
pub mod presence;
pub mod search;
pub mod settings;
pub mod ticket;
pub mod time;
pub mod visitor;
pub mod webhook;

pub use agent::{Agent, Inbox, Role};
pub use ids::{
    AgentId, AttachmentId, ChannelId, DeliveryId, InboxId, MessageId, SessionId, TicketId,
    VisitorId, WebhookId,
};
pub use time::Timestamp;
