//! The actors (ticket, inbox, session, scheduler), and how they find each other.
//!
//! - [`ticket::TicketActor`]: one per live ticket; decides every mutation of
//!   its ticket, one at a time, and publishes the outcome.
//! - [`inbox::InboxActor`]: one per inbox with subscribers; fans the same
//!   serialized bytes out to every subscribed session.
//! - [`session::SessionActor`]: one per agent session (browser tab); survives
//!   a lost socket for the reconnect grace period.
//! - [`connection`]: the socket pump of one WebSocket (hello, heartbeats, rate
//!   limit, close); not an actor, one local task. It reads client frames from
//!   the socket's [`inlet`]; sessions send through its [`outlet`], a bounded
//!   queue that the socket's response body drains.
//! - [`scheduler::Scheduler`]: fires scheduled replies when due (the schedule is in the store).
//! - [`registry::Registry`]: finds or spawns ticket and inbox actors, and finds
//!   every live session of an agent.

pub mod connection;
pub mod inbox;
pub mod inlet;
pub mod outlet;
pub mod registry;
pub mod scheduler;
pub mod session;
pub mod ticket;
