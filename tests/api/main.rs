//! Integration tests: the real server in-process on port 0 with a fresh data
//! directory, real HTTP and WebSocket clients, real redb files.

mod accounts;
mod claims;
mod cli;
mod collaboration;
mod console;
mod fuzz_corpus;
mod mentions;
mod persistence;
mod queues;
mod roles;
mod scheduled;
mod search;
mod sharing;
mod support;
mod tickets;
mod websocket;
mod workflow;
