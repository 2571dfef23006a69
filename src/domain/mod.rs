//! Pure domain types and rules: no actix, no I/O, no wire formats.
//!
//! Everything here is deterministic and unit-tested in place. The types derive
//! serde only so the store can persist them (see `store::codec`); the JSON
//! shapes clients see are built in `protocol`, never here.

pub mod access;
pub mod agent;
pub mod draft;
pub mod history;
pub mod ids;
pub mod mention;
pub mod message;
pub mod notification;
pub mod presence;
pub mod search;
pub mod settings;
pub mod ticket;
pub mod time;

pub use agent::{Agent, Inbox, Role};
pub use ids::{AgentId, InboxId, MessageId, SessionId, TicketId};
pub use time::Timestamp;
