//! Finds or spawns the actor of a ticket or inbox, and keeps the live sessions
//! of every agent.
//!
//! Invariants:
//! - At most one live actor per ticket and per inbox: lookup-or-spawn happens
//!   under the map's lock, and an actor removes its own entry (and only its
//!   own) when it stops.
//! - Ticket and inbox actors run on a fixed pool of arbiters, placed by id, so
//!   work spreads over cores and a ticket always lands on the same thread.
//! - A message sent to an actor that stopped before handling it fails with
//!   `MailboxError::Closed`; [`crate::core::Core::ask_ticket`] then retries on
//!   a fresh actor, which is safe because a stopped actor handled nothing it
//!   did not answer.
//! - The registry does not build actors: whoever looks one up passes how to
//!   start it (see [`crate::core::Core::ticket`]), so it needs no core.
//! - Sessions are held weakly (a strong address costs an allocation per
//!   session): what keeps a session running is its socket's pump, its inbox
//!   and ticket, or its reconnect grace timer; the registry only finds it.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;

use actix::{Actor, Addr, ArbiterHandle, WeakAddr};

use super::inbox::InboxActor;
use super::mailslot::Mailslot;
use super::session::SessionActor;
use super::ticket::TicketActor;
use crate::domain::{AgentId, InboxId, SessionId, TicketId};

struct Registered {
    agent: AgentId,
    addr: WeakAddr<SessionActor>,
    mailslot: Mailslot,
}

#[derive(Default)]
struct Sessions {
    /// Weak (see the module invariants); lookups upgrade.
    by_id: HashMap<SessionId, Registered>,
    /// Live sockets per agent and per client address.
    sockets: HashMap<AgentId, usize>,
    addresses: HashMap<IpAddr, usize>,
}

/// Takes one of at most `max` slots of `key` in `counts`.
pub(super) fn try_take<K: Hash + Eq>(counts: &mut HashMap<K, usize>, key: K, max: usize) -> bool {
    let count = counts.entry(key).or_default();
    if *count >= max {
        return false;
    }
    *count += 1;
    true
}

/// Gives back a slot taken with [`try_take`].
pub(super) fn give_back<K: Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

pub struct Registry {
    arbiters: Vec<ArbiterHandle>,
    tickets: Mutex<HashMap<TicketId, Addr<TicketActor>>>,
    inboxes: Mutex<HashMap<InboxId, Addr<InboxActor>>>,
    sessions: Mutex<Sessions>,
}

impl Registry {
    pub fn new(arbiters: Vec<ArbiterHandle>) -> Registry {
        assert!(
            !arbiters.is_empty(),
            "the registry needs at least one arbiter"
        );
        Registry {
            arbiters,
            tickets: Mutex::default(),
            inboxes: Mutex::default(),
            sessions: Mutex::default(),
        }
    }

    pub fn arbiter_for(&self, id: impl Hash) -> &ArbiterHandle {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        &self.arbiters[(hasher.finish() % self.arbiters.len() as u64) as usize]
    }

    /// The live actor of ticket `id`, or the one `start` starts on the
    /// ticket's arbiter.
    pub fn ticket(
        &self,
        id: TicketId,
        start: impl FnOnce(&ArbiterHandle) -> Addr<TicketActor>,
    ) -> Addr<TicketActor> {
        self.find_or_start(&self.tickets, id, start)
    }

    /// The live actor of inbox `id`, or the one `start` starts on the
    /// inbox's arbiter.
    pub fn inbox(
        &self,
        id: InboxId,
        start: impl FnOnce(&ArbiterHandle) -> Addr<InboxActor>,
    ) -> Addr<InboxActor> {
        self.find_or_start(&self.inboxes, id, start)
    }

    /// Looks up and starts under the map's lock: at most one live actor per id.
    fn find_or_start<K: Hash + Eq + Copy, A: Actor>(
        &self,
        actors: &Mutex<HashMap<K, Addr<A>>>,
        id: K,
        start: impl FnOnce(&ArbiterHandle) -> Addr<A>,
    ) -> Addr<A> {
        let mut actors = actors.lock().expect("registry lock");
        if let Some(addr) = actors.get(&id).filter(|a| a.connected()) {
            return addr.clone();
        }
        let addr = start(self.arbiter_for(id));
        actors.insert(id, addr.clone());
        addr
    }

    /// The actor of ticket `id` if it is running, without spawning one.
    pub fn live_ticket(&self, id: TicketId) -> Option<Addr<TicketActor>> {
        self.tickets
            .lock()
            .expect("registry lock")
            .get(&id)
            .filter(|a| a.connected())
            .cloned()
    }

    /// The actor of `id` if it is running (it has subscribers), without spawning one.
    pub fn live_inbox(&self, id: InboxId) -> Option<Addr<InboxActor>> {
        self.inboxes
            .lock()
            .expect("registry lock")
            .get(&id)
            .filter(|a| a.connected())
            .cloned()
    }

    pub(super) fn forget_ticket(&self, id: TicketId, addr: &Addr<TicketActor>) {
        let mut tickets = self.tickets.lock().expect("registry lock");
        if tickets.get(&id) == Some(addr) {
            tickets.remove(&id);
        }
    }

    pub(super) fn forget_inbox(&self, id: InboxId, addr: &Addr<InboxActor>) {
        let mut inboxes = self.inboxes.lock().expect("registry lock");
        if inboxes.get(&id) == Some(addr) {
            inboxes.remove(&id);
        }
    }

    /// Every live ticket actor (for flushing at shutdown).
    pub fn all_tickets(&self) -> Vec<Addr<TicketActor>> {
        self.tickets
            .lock()
            .expect("registry lock")
            .values()
            .cloned()
            .collect()
    }

    // ---- sessions ------------------------------------------------------

    pub(super) fn register_session(
        &self,
        id: SessionId,
        agent: AgentId,
        addr: WeakAddr<SessionActor>,
        mailslot: Mailslot,
    ) {
        self.sessions.lock().expect("registry lock").by_id.insert(
            id,
            Registered {
                agent,
                addr,
                mailslot,
            },
        );
    }

    pub(super) fn unregister_session(&self, id: SessionId) {
        self.sessions
            .lock()
            .expect("registry lock")
            .by_id
            .remove(&id);
    }

    /// A live (possibly detached) session and its agent.
    pub fn session(&self, id: SessionId) -> Option<(AgentId, Addr<SessionActor>)> {
        let sessions = self.sessions.lock().expect("registry lock");
        let session = sessions.by_id.get(&id)?;
        Some((session.agent, session.addr.upgrade()?))
    }

    /// Every live session of `agent`.
    pub fn sessions_of(&self, agent: AgentId) -> Vec<Addr<SessionActor>> {
        self.of_agent(agent, |session| session.addr.upgrade())
    }

    /// Where to put frames for every live session of `agent`.
    pub fn mailslots_of(&self, agent: AgentId) -> Vec<Mailslot> {
        self.of_agent(agent, |session| Some(session.mailslot.clone()))
    }

    /// `pick` of every registered session of `agent` (where it gives something).
    fn of_agent<T>(&self, agent: AgentId, pick: impl Fn(&Registered) -> Option<T>) -> Vec<T> {
        let sessions = self.sessions.lock().expect("registry lock");
        sessions
            .by_id
            .values()
            .filter(|session| session.agent == agent)
            .filter_map(pick)
            .collect()
    }

    pub fn all_sessions(&self) -> Vec<Addr<SessionActor>> {
        let sessions = self.sessions.lock().expect("registry lock");
        sessions
            .by_id
            .values()
            .filter_map(|session| session.addr.upgrade())
            .collect()
    }

    /// Counts a new socket of `agent`; `false` (and nothing counted) if it has `max` already.
    pub fn try_open_socket(&self, agent: AgentId, max: usize) -> bool {
        try_take(
            &mut self.sessions.lock().expect("registry lock").sockets,
            agent,
            max,
        )
    }

    /// Gives back a socket counted with [`Registry::try_open_socket`].
    pub fn close_socket(&self, agent: AgentId) {
        give_back(
            &mut self.sessions.lock().expect("registry lock").sockets,
            &agent,
        );
    }

    /// Counts a new socket from `address`; `false` (and nothing counted) if it has `max` already.
    pub fn try_open_address(&self, address: IpAddr, max: usize) -> bool {
        try_take(
            &mut self.sessions.lock().expect("registry lock").addresses,
            address,
            max,
        )
    }

    /// Gives back a socket counted with [`Registry::try_open_address`].
    pub fn close_address(&self, address: &IpAddr) {
        give_back(
            &mut self.sessions.lock().expect("registry lock").addresses,
            address,
        );
    }
}
