//! The WebSocket plumbing that is not an actor: what carries one socket's
//! bytes between the connection that the HTTP worker accepted and its
//! [`crate::actors::session::SessionActor`].
//!
//! A socket is served off the HTTP dispatcher: `http::upgrade` takes the raw
//! connection from actix-http once `http::ws` accepted the handshake, and
//! [`wire`] runs the socket on it (one local task per socket: its pump and its
//! writer).
//!
//! - [`wire`]: the socket's task on the raw connection: reads the client's
//!   bytes into the inlet and writes the outlet's frames out, holding no
//!   buffer while idle; counts the live sockets for the shutdown.
//! - [`connection`]: the socket pump of one WebSocket (hello, heartbeats, rate
//!   limit, close).
//! - [`inlet`]: the receiving side; decodes the client's frames from the
//!   connection's bytes and joins fragmented messages.
//! - [`outlet`]: the sending side; a bounded queue that sessions fill and the
//!   socket's writer drains.
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
pub mod wire;
