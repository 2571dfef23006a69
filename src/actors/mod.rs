//! The actors, and how they find each other. The socket plumbing they talk
//! to (pump, inlet, outlet) is in [`crate::socket`].
//!
//! - [`ticket::TicketActor`]: one per live ticket; decides every mutation of
//!   its ticket, one at a time, and publishes the outcome.
//! - [`inbox::InboxActor`]: one per inbox with subscribers; fans the same
//!   serialized bytes out to every subscribed session.
//! - [`session::SessionActor`]: one per agent session (browser tab); survives
//!   a lost socket for the reconnect grace period.
//! - [`mailslot::Mailslot`]: a session's frames from everyone else, put
//!   straight into its socket's outlet (not a message to the session).
//! - [`scheduler::Scheduler`]: fires scheduled replies when due (the schedule is in the store).
//! - [`visitor::VisitorActor`]: one per chat visitor with a socket; serializes
//!   its messages (exactly once) and fans out what reaches it to its sockets.
//! - [`visitors::Visitors`]: finds visitor actors, counts visitor sockets,
//!   keeps visitors' live states and which inboxes can answer chats now.
//! - [`registry::Registry`]: finds the live ticket and inbox actors (the core
//!   starts missing ones through it), and every live session of an agent.

pub mod inbox;
pub mod mailslot;
pub mod registry;
pub mod scheduler;
pub mod session;
pub mod ticket;
pub mod visitor;
pub mod visitors;
