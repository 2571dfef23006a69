//! The wire contract: the only module that knows the JSON shapes clients see
//! (docs/protocol.md). Domain values are converted here into wire objects;
//! only the domain's plain enums (status, role, message and draft kinds,
//! release and skip reasons) go out as they are, under their serde names,
//! which are the names the store keeps too.
//!
//! - [`dto`]: objects (Agent, Ticket, Message, …) built from domain values.
//! - [`rest`]: REST request bodies and the error body.
//! - [`responses`]: REST response bodies that wrap dto objects.
//! - [`frames`]: WebSocket client and server frames.
//! - [`changes`]: the names of what changed (ticket actions, moves, presence kinds).
//! - [`notification`]: a notification's wire kind and the sentence it shows.
//! - [`close`]: the WebSocket close codes and reason texts.
//! - [`cursor`]: the opaque list cursors.
//! - [`visitor`], [`webhooks`], [`api_channel`]: what chat visitors, webhook
//!   admins and API channels' integrations see.

pub mod api_channel;
pub mod changes;
pub mod close;
pub mod cursor;
pub mod dto;
pub mod frames;
pub mod notification;
pub mod responses;
pub mod rest;
pub mod visitor;
pub mod webhooks;
