//! Finds the live actor of each chat visitor, counts visitor sockets, keeps
//! visitors' live states, and knows which inboxes can answer chats now.
//!
//! Invariants:
//! - At most one live actor per visitor: lookup-or-spawn happens under the
//!   map's lock, and an actor removes its own entry (and only its own) when
//!   it stops.
//! - A visitor's live state is written here before its tickets are told,
//!   and a ticket actor registers before it reads the state, so a viewer
//!   never keeps a stale state (see `actors::ticket::chat`).
//! - An inbox is online while at least one session attends it (subscribed,
//!   attached, visible); only the changes between "nobody" and "somebody"
//!   are reported, and they are reported in the order they happen.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

use actix::{Addr, ArbiterHandle};

use super::visitor::VisitorActor;
use crate::domain::visitor::Live;
use crate::domain::{ChannelId, InboxId, SessionId, VisitorId};

#[derive(Default)]
struct Counts {
    sockets: HashMap<VisitorId, usize>,
    addresses: HashMap<IpAddr, usize>,
}

#[derive(Default)]
pub struct Visitors {
    actors: Mutex<HashMap<VisitorId, (ChannelId, Addr<VisitorActor>)>>,
    counts: Mutex<Counts>,
    live: Mutex<HashMap<VisitorId, Live>>,
    /// Sessions attending each inbox (see the module invariants).
    attending: Mutex<HashMap<InboxId, HashSet<SessionId>>>,
}

impl Visitors {
    /// The live actor of `id`, or the one `start` starts.
    pub fn actor(
        &self,
        id: VisitorId,
        channel: ChannelId,
        arbiter: &ArbiterHandle,
        start: impl FnOnce(&ArbiterHandle) -> Addr<VisitorActor>,
    ) -> Addr<VisitorActor> {
        let mut actors = self.actors.lock().expect("visitors lock poisoned");
        if let Some((_, addr)) = actors.get(&id).filter(|(_, a)| a.connected()) {
            return addr.clone();
        }
        let addr = start(arbiter);
        actors.insert(id, (channel, addr.clone()));
        addr
    }

    pub fn live_actor(&self, id: VisitorId) -> Option<Addr<VisitorActor>> {
        let actors = self.actors.lock().expect("visitors lock poisoned");
        actors
            .get(&id)
            .map(|(_, a)| a.clone())
            .filter(Addr::connected)
    }

    /// The live actors of `channel`'s visitors.
    pub fn of_channel(&self, channel: ChannelId) -> Vec<Addr<VisitorActor>> {
        let actors = self.actors.lock().expect("visitors lock poisoned");
        actors
            .values()
            .filter(|(c, _)| *c == channel)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Removes `addr` as the actor of `id` (not a newer one).
    pub fn forget(&self, id: VisitorId, addr: &Addr<VisitorActor>) {
        let mut actors = self.actors.lock().expect("visitors lock poisoned");
        if actors.get(&id).is_some_and(|(_, a)| a == addr) {
            actors.remove(&id);
        }
        self.live
            .lock()
            .expect("visitors lock poisoned")
            .remove(&id);
    }

    pub fn set_live(&self, id: VisitorId, live: Live) {
        self.live
            .lock()
            .expect("visitors lock poisoned")
            .insert(id, live);
    }

    /// The visitor's live state (gone if it has no actor).
    pub fn live(&self, id: VisitorId) -> Live {
        let live = self.live.lock().expect("visitors lock poisoned");
        live.get(&id).copied().unwrap_or_default()
    }

    /// Takes one of `max` socket slots of `visitor`.
    pub fn try_open_socket(&self, visitor: VisitorId, max: usize) -> bool {
        let mut counts = self.counts.lock().expect("visitors lock poisoned");
        super::registry::try_take(&mut counts.sockets, visitor, max)
    }

    pub fn close_socket(&self, visitor: VisitorId) {
        let mut counts = self.counts.lock().expect("visitors lock poisoned");
        super::registry::give_back(&mut counts.sockets, &visitor);
    }

    /// Takes one of `max` visitor-socket slots of a client address.
    pub fn try_open_address(&self, address: IpAddr, max: usize) -> bool {
        let mut counts = self.counts.lock().expect("visitors lock poisoned");
        super::registry::try_take(&mut counts.addresses, address, max)
    }

    pub fn close_address(&self, address: &IpAddr) {
        let mut counts = self.counts.lock().expect("visitors lock poisoned");
        super::registry::give_back(&mut counts.addresses, address);
    }

    /// Session `session` now attends `inbox` (or none). Returns the inboxes
    /// whose availability changed, with whether they are online now; the
    /// caller tells their visitors in this order.
    pub fn attend(&self, session: SessionId, inbox: Option<InboxId>) -> Vec<(InboxId, bool)> {
        let mut attending = self.attending.lock().expect("visitors lock poisoned");
        let mut changes = Vec::new();
        let left = attending
            .iter_mut()
            .filter(|(i, _)| Some(**i) != inbox)
            .find_map(|(i, sessions)| {
                sessions
                    .remove(&session)
                    .then_some((*i, sessions.is_empty()))
            });
        if let Some((left, true)) = left {
            attending.remove(&left);
            changes.push((left, false));
        }
        if let Some(inbox) = inbox {
            let sessions = attending.entry(inbox).or_default();
            if sessions.insert(session) && sessions.len() == 1 {
                changes.push((inbox, true));
            }
        }
        changes
    }

    /// Whether someone can answer `inbox`'s chats now.
    pub fn online(&self, inbox: InboxId) -> bool {
        let attending = self.attending.lock().expect("visitors lock poisoned");
        attending.contains_key(&inbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_reports_only_nobody_somebody_changes() {
        let visitors = Visitors::default();
        let (a, b) = (SessionId::new(), SessionId::new());
        let (x, y) = (InboxId::new(), InboxId::new());
        assert_eq!(visitors.attend(a, Some(x)), vec![(x, true)]);
        assert_eq!(visitors.attend(b, Some(x)), vec![]);
        assert_eq!(visitors.attend(a, Some(x)), vec![]);
        assert_eq!(visitors.attend(a, Some(y)), vec![(y, true)]);
        assert_eq!(visitors.attend(b, None), vec![(x, false)]);
        assert!(!visitors.online(x) && visitors.online(y));
        assert_eq!(visitors.attend(a, None), vec![(y, false)]);
        assert_eq!(visitors.attend(a, None), vec![]);
    }
}
