//! The ticket list index: one key per (view, ticket), ordered newest activity
//! first, so a page is one range scan.
//!
//! Key layout: `inbox (16) ‖ view tag (1) ‖ [agent (16) for Mine] ‖
//! !updated_at_ms (8, big-endian) ‖ !ticket id (16, big-endian)`. Inverting
//! the timestamp makes ascending key order mean descending activity; inverting
//! the (time-ordered v7) id breaks ties newest first too.

use crate::domain::ticket::{Ticket, View};
use crate::domain::{InboxId, TicketId, Timestamp};

pub fn view_prefix(inbox: InboxId, view: View) -> Vec<u8> {
    let mut key = Vec::with_capacity(57);
    key.extend_from_slice(&inbox.as_u128().to_be_bytes());
    match view {
        View::Pending => key.push(1),
        View::WorkingOn => key.push(2),
        View::Resolved => key.push(3),
        View::All => key.push(4),
        View::Mine(agent) => {
            key.push(5);
            key.extend_from_slice(&agent.as_u128().to_be_bytes());
        }
    }
    key
}

/// The position of a ticket in a view; also the paging cursor.
pub fn entry_key(inbox: InboxId, view: View, updated_at: Timestamp, ticket: TicketId) -> Vec<u8> {
    let mut key = view_prefix(inbox, view);
    key.extend_from_slice(&(!(updated_at.millis() as u64)).to_be_bytes());
    key.extend_from_slice(&(!ticket.as_u128()).to_be_bytes());
    key
}

/// Every index key of a ticket in its current state.
pub fn keys_of(ticket: &Ticket) -> Vec<Vec<u8>> {
    ticket
        .views()
        .into_iter()
        .map(|view| entry_key(ticket.inbox, view, ticket.updated_at, ticket.id))
        .collect()
}

/// The ticket id at the end of an index key.
pub fn ticket_of(key: &[u8]) -> TicketId {
    let tail: [u8; 16] = key[key.len() - 16..]
        .try_into()
        .expect("index keys end in a ticket id");
    TicketId::from_u128(!u128::from_be_bytes(tail))
}
