//! The shared state of one running server: configuration, store, directory,
//! metrics, and the registry of live actors. Handlers and actors hold an
//! `Arc<Core>`; nothing here blocks.
//!
//! Invariants:
//! - There is one `Core` per server, built by [`crate::app::App::build`]
//!   before any actor or handler exists; actors and handlers reach each other
//!   only through it ([`Core::ticket`], [`Core::inbox`], [`Core::ask_ticket`]).
//! - The scheduler handle is set once, after start-up work (bootstrap, actors
//!   of locked tickets) and before the server accepts requests. A reply
//!   scheduled before that is not lost: the schedule is in the store, and the
//!   scheduler reads it when it starts.
//! - The registry finds live actors; it does not keep them alive: sessions
//!   are held weakly, and ticket and inbox actors remove their own entries
//!   when they stop (see [`crate::actors::registry`]).
//! - Sockets are counted per agent and per client address; a socket's
//!   [`AddressSlot`] gives its place back when it is dropped.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use actix::{Actor, Addr, Handler, MailboxError, Message};

use crate::accounts::Directory;
use crate::actors::inbox::InboxActor;
use crate::actors::registry::Registry;
use crate::actors::scheduler::{Scheduled, Scheduler};
use crate::actors::ticket::{TicketActor, Traced, ticket_span};
use crate::actors::visitor::{Availability, VisitorActor};
use crate::actors::visitors::Visitors;
use crate::channels::Channels;
use crate::config::Config;
use crate::domain::SessionId;
use crate::domain::visitor::Visitor;
use crate::domain::{InboxId, TicketId, Timestamp};
use crate::error::{Error, InternalError};
use crate::metrics::Metrics;
use crate::store::Store;

pub struct Core {
    pub config: Config,
    pub store: Arc<Store>,
    pub directory: Directory,
    pub channels: Channels,
    pub visitors: Visitors,
    /// E-mail channels: fetchers, imports in flight, the outbox.
    pub mail: crate::mail::Mail,
    /// The webhook dispatcher.
    pub webhooks: crate::webhooks::Webhooks,
    /// API channels' conversations and messages being stored.
    pub integrations: crate::channels::api::Integrations,
    pub metrics: Arc<Metrics>,
    pub registry: Registry,
    /// Set once at start-up, before serving (see the module invariants).
    pub scheduler: OnceLock<Addr<Scheduler>>,
    /// The demo chat channel's key, set by `--demo` (serves `/demo/shop`).
    pub demo_channel: OnceLock<String>,
}

impl Core {
    /// The live actor of ticket `id`, spawned (and loaded from the store) if needed.
    pub fn ticket(self: &Arc<Self>, id: TicketId) -> Addr<TicketActor> {
        self.registry.ticket(id, |arbiter| {
            let core = self.clone();
            TicketActor::start_in_arbiter(arbiter, move |_| TicketActor::new(id, core))
        })
    }

    /// The actor of inbox `id`, spawned if needed.
    pub fn inbox(self: &Arc<Self>, id: InboxId) -> Addr<InboxActor> {
        self.registry.inbox(id, |arbiter| {
            let core = self.clone();
            InboxActor::start_in_arbiter(arbiter, move |_| InboxActor::new(id, core))
        })
    }

    /// Sends `msg` to the ticket's actor and awaits its decision, retrying on a
    /// fresh actor if the one found stopped before handling it. The actor
    /// decides inside a `ticket` span under the caller's (see `ticket::traced`).
    pub async fn ask_ticket<M, R>(self: &Arc<Self>, id: TicketId, msg: M) -> Result<R, Error>
    where
        M: Message<Result = Result<R, Error>> + Clone + Send + 'static,
        R: Send + 'static,
        TicketActor: Handler<Traced<M>>,
    {
        let span = ticket_span(id);
        for _ in 0..3 {
            let traced = Traced::new(msg.clone(), &span);
            match self.ticket(id).send(traced).await {
                Ok(result) => return result,
                Err(MailboxError::Closed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Internal(InternalError::ActorKeepsStopping))
    }

    /// The live actor of `visitor`, spawned if needed.
    pub fn visitor(self: &Arc<Self>, visitor: &Visitor) -> Addr<VisitorActor> {
        let arbiter = self.registry.arbiter_for(visitor.id);
        self.visitors
            .actor(visitor.id, visitor.channel, arbiter, |arbiter| {
                let core = self.clone();
                let visitor = visitor.clone();
                VisitorActor::start_in_arbiter(arbiter, move |_| VisitorActor::new(core, visitor))
            })
    }

    /// Session `session` attends `inbox` now (or none): the visitors of
    /// every inbox that became (un)answerable hear of it.
    pub fn attend(&self, session: SessionId, inbox: Option<InboxId>) {
        for (inbox, online) in self.visitors.attend(session, inbox) {
            for channel in self.channels.of_inbox(inbox) {
                for visitor in self.visitors.of_channel(channel.id) {
                    visitor.do_send(Availability(online));
                }
            }
        }
    }

    /// Counts a socket from `address` if it has fewer than `ws.max_sockets_per_address`.
    pub fn try_open_address(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        self.registry
            .try_open_address(address, self.config.ws.max_sockets_per_address)
            .then(|| AddressSlot {
                core: self.clone(),
                address,
            })
    }

    /// Counts a visitor socket from `address` if it has fewer than
    /// `visitor.max_sockets_per_address`.
    pub fn try_open_visitor_address(
        self: &Arc<Self>,
        address: IpAddr,
    ) -> Option<VisitorAddressSlot> {
        self.visitors
            .try_open_address(address, self.config.visitor.max_sockets_per_address)
            .then(|| VisitorAddressSlot {
                core: self.clone(),
                address,
            })
    }

    /// Tells the scheduler a reply is due at `at`.
    pub fn scheduled(&self, at: Timestamp) {
        if let Some(scheduler) = self.scheduler.get() {
            scheduler.do_send(Scheduled { at });
        }
    }
}

/// One socket's place in its client address's count, given back on drop.
pub struct AddressSlot {
    core: Arc<Core>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        self.core.registry.close_address(&self.address);
    }
}

/// One visitor socket's place in its client address's count, given back on drop.
pub struct VisitorAddressSlot {
    core: Arc<Core>,
    address: IpAddr,
}

impl Drop for VisitorAddressSlot {
    fn drop(&mut self) {
        self.core.visitors.close_address(&self.address);
    }
}
