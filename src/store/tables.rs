//! Every redb table, in one place. Keys are fixed-width binary (UUIDs as
//! `u128`), values are [`codec`](super::codec) JSON records.
//!
//! Invariants:
//! - Every table is declared inside [`tables!`], which also lists it for
//!   [`each_table`]: start-up creates exactly those tables (`Store::open`), so
//!   readers never see "table does not exist", and a backup copies exactly
//!   those (`store::copy`), so a new table cannot be left out of backups.
//! - A table is never declared outside the macro.

use redb::{Key, TableDefinition, Value};

use super::StoreError;

/// Something done to every table: see [`each_table`].
pub trait TableVisitor {
    fn visit<K: Key + 'static, V: Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError>;
}

/// Declares the tables (doc comments kept) and [`each_table`], which visits
/// them all in the order declared.
macro_rules! tables {
    ($(
        $(#[$doc:meta])*
        pub const $name:ident: TableDefinition<$key:ty, $value:ty> = TableDefinition::new($file:literal);
    )*) => {
        $(
            $(#[$doc])*
            pub const $name: TableDefinition<$key, $value> = TableDefinition::new($file);
        )*

        /// Calls `visitor` with every table, in the order declared.
        pub fn each_table(visitor: &mut impl TableVisitor) -> Result<(), StoreError> {
            $(visitor.visit($name)?;)*
            Ok(())
        }

        /// The name of every table, in the order declared.
        pub const TABLE_NAMES: &[&str] = &[$($file),*];
    };
}

tables! {
/// `schema_version`, `next_ticket_number`, `settings`.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Agent id → `domain::Agent`.
pub const AGENTS: TableDefinition<u128, &[u8]> = TableDefinition::new("agents");
/// Inbox id → `domain::Inbox`.
pub const INBOXES: TableDefinition<u128, &[u8]> = TableDefinition::new("inboxes");
/// SHA-256 of a bearer token → `TokenRecord`. Tokens themselves are never stored.
pub const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens");
/// Ticket id → `domain::ticket::Ticket`.
pub const TICKETS: TableDefinition<u128, &[u8]> = TableDefinition::new("tickets");
/// Ticket number → ticket id.
pub const TICKET_NUMBERS: TableDefinition<u64, u128> = TableDefinition::new("ticket_numbers");
/// (ticket id, message id) → `domain::message::Message`; message ids are v7, so a
/// ticket's range is in creation order.
pub const MESSAGES: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("messages");
/// (ticket id, entry id v7) → `domain::history::HistoryEntry`, oldest first.
pub const HISTORY: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("history");
/// List index: `view key ‖ !updated_at (8 bytes BE) ‖ ticket id` → ().
/// See [`super::index`].
pub const TICKET_VIEWS: TableDefinition<&[u8], ()> = TableDefinition::new("ticket_views");

/// (ticket id, agent id, draft kind tag) → `domain::draft::Draft`.
pub const DRAFTS: TableDefinition<(u128, u128, u8), &[u8]> = TableDefinition::new("drafts");
/// Tickets with a hard lock (so start-up finds them without a scan).
pub const LOCKED_TICKETS: TableDefinition<u128, ()> = TableDefinition::new("locked_tickets");
/// (agent id, notification id v7) → `domain::notification::Notification`, oldest first.
pub const NOTIFICATIONS: TableDefinition<(u128, u128), &[u8]> =
    TableDefinition::new("notifications");

/// (agent id, ticket id) → (): the tickets shared with an agent ("Shared with me").
pub const SHARES: TableDefinition<(u128, u128), ()> = TableDefinition::new("shares");
/// Scheduled replies by due time: (send_at ms, ticket id, message id) → ().
pub const SCHEDULE: TableDefinition<(i64, u128, u128), ()> = TableDefinition::new("schedule");
/// Inverted index: (word, ticket id) → weight (see `domain::search`).
pub const SEARCH: TableDefinition<(&str, u128), u32> = TableDefinition::new("search");

/// Channel id → `domain::channel::Channel`.
pub const CHANNELS: TableDefinition<u128, &[u8]> = TableDefinition::new("channels");
/// Visitor id → `domain::visitor::Visitor`.
pub const VISITORS: TableDefinition<u128, &[u8]> = TableDefinition::new("visitors");
/// SHA-256 of a visitor token → visitor id. Tokens themselves are never stored.
pub const VISITOR_TOKENS: TableDefinition<&[u8], u128> = TableDefinition::new("visitor_tokens");
/// (channel id, verified identifier) → visitor id.
pub const VISITOR_IDENTITIES: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("visitor_identities");
/// (visitor id, ticket id) → (): a visitor's conversations, oldest first.
pub const VISITOR_TICKETS: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("visitor_tickets");
/// (scope, client_id) → (ticket id, message id): resends find the stored
/// message. The scope is a chat visitor's id, or an API channel's id for its
/// `external_message_id`s (`Ticket::client_scope`).
pub const CLIENT_IDS: TableDefinition<(u128, &str), (u128, u128)> =
    TableDefinition::new("client_ids");
/// (API channel id, external_id) → ticket id: the newest ticket of each of
/// an API channel's conversations.
pub const API_CONVERSATIONS: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("api_conversations");

/// Message-ID (without brackets) of every mail received or sent on a ticket
/// → (ticket id, message id): threading and exactly-once imports.
pub const EMAIL_IDS: TableDefinition<&str, (u128, u128)> = TableDefinition::new("email_ids");
/// (ticket id, attachment id) → the attachment's bytes.
pub const ATTACHMENTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("attachments");
/// Replies waiting to be sent by mail: message id → ticket id. A reply is
/// here exactly while its delivery is `queued`.
pub const OUTBOX: TableDefinition<u128, u128> = TableDefinition::new("outbox");
/// Channel id → `mail::cursor::Cursor`: where an e-mail channel's import stands.
pub const MAIL_CURSORS: TableDefinition<u128, &[u8]> = TableDefinition::new("mail_cursors");

/// Webhook id → `domain::webhook::Webhook`.
pub const WEBHOOKS: TableDefinition<u128, &[u8]> = TableDefinition::new("webhooks");
/// (webhook id, ticket id, sequence) → `domain::webhook::Pending`: events
/// waiting for delivery, a ticket's in the order they were committed.
pub const WEBHOOK_OUTBOX: TableDefinition<(u128, u128, u128), &[u8]> =
    TableDefinition::new("webhook_outbox");
/// (webhook id, attempt id v7) → `domain::webhook::Attempt`: the last
/// `limits::ATTEMPTS_KEPT` attempts of each webhook, oldest first.
pub const WEBHOOK_ATTEMPTS: TableDefinition<(u128, u128), &[u8]> =
    TableDefinition::new("webhook_attempts");
}

pub const SCHEMA_VERSION_KEY: &str = "schema_version";
pub const NEXT_TICKET_NUMBER_KEY: &str = "next_ticket_number";
pub const SETTINGS_KEY: &str = "settings";
/// Present once the search index covers every ticket (see `Store::open`).
pub const SEARCH_INDEX_KEY: &str = "search_index";

/// The on-disk layout this binary writes. Bump on incompatible changes (and
/// teach `upgrade` the step). 2: notifications store parameters, not text.
/// 3: chat channels, visitors, and the `chat` of tickets (an older binary
/// would drop those fields when it rewrites a record, so it must refuse).
/// 4: e-mail channels (tickets' `email`, messages' `email`, `attachments`
/// and `delivery`, and the tables behind them). 5: webhooks and their
/// outbox, API channels (channels' `api`, tickets' `api`, the conversations
/// table) and the `webhook_disabled` notification.
pub const SCHEMA_VERSION: u32 = 5;
