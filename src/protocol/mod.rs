//! The wire contract: the only module that knows the JSON shapes clients see
//! (PROTOCOL.md). Domain types never serialize themselves onto the wire; they
//! are converted here.
//!
//! - [`dto`]: objects (Agent, Ticket, Message, …) built from domain values.
//! - [`rest`]: REST request bodies.
//! - [`responses`]: REST response bodies that wrap dto objects.
//! - [`frames`]: WebSocket client and server frames.
//! - [`notification`]: a notification's wire kind and the sentence it shows.
//! - [`cursor`]: the opaque list cursors.

pub mod cursor;
pub mod dto;
pub mod frames;
pub mod notification;
pub mod responses;
pub mod rest;
