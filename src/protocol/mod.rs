//! The wire contract: the only module that knows the JSON shapes clients see
//! (PROTOCOL.md). Domain types never serialize themselves onto the wire; they
//! are converted here.
//!
//! - [`dto`]: objects (Agent, Ticket, Message, …) built from domain values.
//! - [`rest`]: REST request bodies.
//! - [`frames`]: WebSocket client and server frames.
//! - [`close`]: the WebSocket close codes and reason texts.
//! - [`cursor`]: the opaque list cursors.

pub mod close;
pub mod cursor;
pub mod dto;
pub mod frames;
pub mod rest;
