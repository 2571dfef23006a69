//! Integration tests: the real server in-process on port 0 with a fresh data
//! directory, real HTTP and WebSocket clients, real redb files.

mod accounts;
mod admin_cli;
mod assets;
mod authz_ws;
mod backup;
mod browser;
mod browser_chat;
mod cast;
mod chat;
mod claims;
mod cli;
mod collaboration;
mod console;
mod crash;
mod fuzz_corpus;
mod hostile;
mod lifecycle;
mod mentions;
mod persistence;
mod process;
mod proxies;
mod queues;
mod request_ids;
mod roles;
mod scheduled;
mod schema;
mod search;
mod sharing;
mod slow_clients;
mod support;
mod tickets;
mod tls;
mod tokens;
mod websocket;
mod workflow;
