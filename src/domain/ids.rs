//! Typed identifiers. Every id is a UUID (v7 for new ones, so ids sort by
//! creation time); the newtypes keep an agent id from being passed as a ticket id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_u128(self) -> u128 {
                self.0.as_u128()
            }

            pub fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type! {
    /// A file attached to a message (e-mail attachments).
    AttachmentId;
    /// An agent (any role).
    AgentId;
    /// An inbox.
    InboxId;
    /// A ticket; people see its `number` instead.
    TicketId;
    /// A message of a ticket (customer message, reply or note).
    MessageId;
    /// One WebSocket session (a browser tab); survives a reconnect within the grace period.
    SessionId;
    /// A channel customers reach an inbox through (the chat widget).
    ChannelId;
    /// A customer known to a chat channel (anonymous or verified).
    VisitorId;
    /// A webhook: where events are POSTed (see `domain::webhook`).
    WebhookId;
    /// One event for one webhook: the `Tandem-Delivery` header, the same on every retry.
    DeliveryId;
}
