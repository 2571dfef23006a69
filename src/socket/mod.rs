//! The WebSocket plumbing that is not an actor: what carries one socket's
//! bytes between the HTTP worker that accepted it and its
//! [`crate::actors::session::SessionActor`].
//!
//! - [`connection`]: the socket pump of one WebSocket (hello, heartbeats, rate
//!   limit, close); one local task on the accepting worker.
//! - [`inlet`]: the receiving side; decodes the client's frames from the
//!   request body and joins fragmented messages.
//! - [`outlet`]: the sending side; a bounded queue that sessions fill and the
//!   socket's response body drains.
//! - [`visitor`]: the socket pump of a chat visitor (its hello, then the
//!   same read loop, handing frames to its visitor actor).
//! - [`frame_guard`]: refuses an oversized frame from its header, before the
//!   inlet buffers any of it.
//!
//! Invariant: memory per socket is bounded in both directions (the outlet's
//! backlog limits outbound; the frame guard, the inlet's message limit and
//! one frame at a time handed to the session inbound).

pub mod connection;
pub mod frame_guard;
pub mod inlet;
pub mod outlet;
pub mod visitor;
