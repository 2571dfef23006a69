//! # Tandem
//!
//! A self-hosted, single-binary, real-time server for helpdesk teams: every
//! agent sees, live, which tickets colleagues are working on, so no two people
//! answer the same customer. See `README.md` for running it and
//! `docs/protocol.md` for the wire contract.
//!
//! # Layout
//!
//! - [`config`]: embedded defaults + file + env + flags → validated [`config::Config`].
//! - [`app`]: [`app::App::build`] wires everything and binds; used by main, tests, benches.
//! - [`core`]: the shared state handlers and actors hold, and how they reach actors.
//! - [`domain`]: pure types and rules (ids, roles and access, ticket status rules,
//!   the claim state machine, mentions, search words, drafts, notifications);
//!   [`domain::decisions`] decides everything about a ticket.
//! - [`protocol`]: the JSON wire shapes, and nothing else knows them.
//! - [`accounts`]: agents, inboxes, tokens, settings (the in-memory directory).
//! - [`channels`]: chat channels (the in-memory directory) and visitor admission.
//! - [`actors`]: ticket, inbox and session actors, the scheduler of replies,
//!   the registry.
//! - [`socket`]: the WebSocket plumbing that is not an actor: the socket pump,
//!   its inlet and outlet, the frame guard.
//! - [`store`]: redb tables, codec, list and search indexes, paging snapshots,
//!   typed reads/writes, the group-commit writer.
//! - [`http`]: routes, auth extractor, error mapping, request ids and spans,
//!   the client behind a request, WebSocket upgrade, the embedded web
//!   console and widget (compressed, with ETags).
//! - [`mail`]: e-mail channels: IMAP fetchers, MIME parsing, threading, the SMTP outbox.
//! - [`webhooks`]: signed webhooks: events of ticket changes, their durable outbox, the dispatcher.
//! - [`proxies`]: trusted reverse proxies and the client address and scheme they forward.
//! - [`tls`]: the optional TLS listener's certificate and key.
//! - [`error`]: the error vocabulary of the contract (mapped to HTTP in `http::error`).
//! - [`bootstrap`]: first-start admin and `--demo` data.
//! - [`backup`]: consistent snapshots, the backup file format, restores, and
//!   scheduled backups.
//! - [`cli`]: the subcommands besides `serve`: `backup` (an HTTP client),
//!   `restore`, `admin` and `check` (on a data directory no server holds).
//! - [`metrics`]: Prometheus counters and gauges.
//! - [`signals`]: SIGTERM/Ctrl-C → clean shutdown; a second one or the deadline → exit.
//!
//! # Invariants
//!
//! - Only a ticket's actor decides anything about that ticket; REST handlers
//!   send it commands and await the answer.
//! - Everything a user typed or decided is durable before it is acknowledged
//!   (group commit with `Durability::Immediate`); presence is memory only.
//! - An event is serialized once; the same bytes go to every subscriber.
//! - Nothing blocks an actor thread on storage writes; per-socket memory is bounded.

pub mod accounts;
pub mod actors;
pub mod app;
pub mod backup;
pub mod bootstrap;
pub mod channels;
pub mod cli;
pub mod config;
pub mod core;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod protocol;
pub mod proxies;
pub mod signals;
pub mod socket;
pub mod store;
pub mod tls;
pub mod webhooks;
