//! The inbox actor: the subscribers of one inbox, the live presence of its
//! tickets (for snapshots), and the fan-out to both.
//!
//! Invariants:
//! - An event is serialized once by its publisher; the same bytes (a shared
//!   `ByteString`) go to every recipient. Fan-out never builds per-session JSON.
//!   Only `unread` in `ticket` frames differs per agent; such events carry both
//!   encodings and the set of agents who have read the ticket ([`Payload::ByReadState`]).
//! - A recipient gets an event once, even if it both subscribes and views the ticket.
//! - Frames go straight into the recipients' [`Mailslot`]s (their sockets'
//!   outlets), not through the session actors: the frames of one `Publish`
//!   reach each socket as one batch (one lock, at most one wake-up).
//! - Every frame a ticket sends passes through its inbox actor, those for
//!   single recipients too ([`Publish::direct`]): actor mailboxes are FIFO,
//!   so each session gets one ticket's frames in the order they were decided.
//! - The presence cache holds the newest state of every ticket with a claim,
//!   viewer or lock. Presence updates carry a process-wide increasing version;
//!   an update older than the known one is dropped with its frames, so a late
//!   (forwarded) update can never overwrite a newer state. A ticket whose
//!   presence emptied leaves a version tombstone for `idle_stop_s`, then is
//!   forgotten, so memory follows live tickets, not every ticket ever opened.
//! - An idle actor (no subscribers, nothing cached) retires: it leaves the
//!   registry at once but keeps running for `idle_stop_s`, forwarding anything
//!   still addressed to it to its successor, so no message is lost to a stop.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::value::RawValue;

use super::mailslot::Mailslot;
use crate::core::Core;
use crate::domain::{AgentId, InboxId, SessionId, TicketId};

/// What an inbox publishes: the same bytes for all, or one of two by read state.
#[derive(Clone, Debug)]
pub enum Payload {
    All(ByteString),
    ByReadState {
        read: ByteString,
        unread: ByteString,
        readers: Arc<BTreeSet<AgentId>>,
    },
}

impl Payload {
    pub fn for_agent(&self, agent: AgentId) -> &ByteString {
        match self {
            Payload::All(bytes) => bytes,
            Payload::ByReadState {
                read,
                unread,
                readers,
            } => {
                if readers.contains(&agent) {
                    read
                } else {
                    unread
                }
            }
        }
    }
}

static PRESENCE_VERSION: AtomicU64 = AtomicU64::new(1);

/// The new presence of a ticket (its `PresenceDto`, serialized); `state:
/// None` means nothing live is left.
#[derive(Clone, Debug)]
pub struct PresenceUpdate {
    pub ticket: TicketId,
    pub version: u64,
    pub state: Option<Box<RawValue>>,
}

impl PresenceUpdate {
    pub fn new(ticket: TicketId, state: Option<Box<RawValue>>) -> PresenceUpdate {
        PresenceUpdate {
            ticket,
            version: PRESENCE_VERSION.fetch_add(1, Ordering::Relaxed),
            state,
        }
    }
}

/// A tab (session) with a ticket open, and how to reach it: it gets the
/// ticket's events even when not subscribed to the inbox.
#[derive(Clone)]
pub struct Tab {
    pub session: SessionId,
    pub agent: AgentId,
    pub mailslot: Mailslot,
}

/// Subscribe a session; answers the inbox's current presence (for the snapshot).
#[derive(Message, Clone)]
#[rtype(result = "Vec<Box<RawValue>>")]
pub struct Subscribe {
    pub session: SessionId,
    pub agent: AgentId,
    pub mailslot: Mailslot,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session: SessionId,
}

/// Frames for single recipients, each with its own copy of a frame.
pub type Direct = Vec<(Mailslot, ByteString)>;

/// Delivers `payloads` (in order) to every subscriber and every listed
/// viewer, then `direct` frames to their recipients.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Publish {
    pub payloads: Vec<Payload>,
    pub viewers: Vec<Tab>,
    pub presence: Option<PresenceUpdate>,
    pub direct: Direct,
}

impl Publish {
    /// Whether the inbox actor must be spawned for it: someone is to be
    /// reached, or a live presence is to be cached.
    pub fn must_reach(&self) -> bool {
        !self.viewers.is_empty()
            || !self.direct.is_empty()
            || self.presence.as_ref().is_some_and(|p| p.state.is_some())
    }

    /// Sends the frames for single recipients.
    pub fn deliver_direct(direct: Direct) {
        for (mailslot, frame) in direct {
            mailslot.put(frame);
        }
    }
}

struct Subscriber {
    agent: AgentId,
    mailslot: Mailslot,
}

pub struct InboxActor {
    id: InboxId,
    core: Arc<Core>,
    subscribers: HashMap<SessionId, Subscriber>,
    presence: HashMap<TicketId, (u64, Box<RawValue>)>,
    /// Versions of recently emptied presences, with when they emptied.
    tombstones: HashMap<TicketId, (u64, Instant)>,
    idle_since: Instant,
    retired: bool,
}

impl InboxActor {
    pub fn new(id: InboxId, core: Arc<Core>) -> InboxActor {
        InboxActor {
            id,
            core,
            subscribers: HashMap::new(),
            presence: HashMap::new(),
            tombstones: HashMap::new(),
            idle_since: Instant::now(),
            retired: false,
        }
    }

    fn successor(&self) -> Addr<InboxActor> {
        self.core.inbox(self.id)
    }

    fn touch(&mut self) {
        self.idle_since = Instant::now();
    }
}

impl Actor for InboxActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.metrics.inbox_actors.inc();
        let idle_stop = self.core.config.idle_stop;
        ctx.run_interval(idle_stop / 2, move |act, ctx| {
            act.tombstones
                .retain(|_, (_, since)| since.elapsed() < idle_stop);
            let idle = act.subscribers.is_empty() && act.presence.is_empty();
            if !act.retired && idle && act.idle_since.elapsed() >= idle_stop {
                act.retired = true;
                act.core.registry.forget_inbox(act.id, &ctx.address());
                ctx.run_later(idle_stop, |_, ctx| ctx.stop());
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.core.registry.forget_inbox(self.id, &ctx.address());
        self.core.metrics.inbox_actors.dec();
        self.core
            .metrics
            .subscriptions
            .dec_by(self.subscribers.len() as i64);
    }
}

impl Handler<Subscribe> for InboxActor {
    type Result = ResponseFuture<Vec<Box<RawValue>>>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            let successor = self.successor();
            return Box::pin(async move { successor.send(msg).await.unwrap_or_default() });
        }
        self.touch();
        let previous = self.subscribers.insert(
            msg.session,
            Subscriber {
                agent: msg.agent,
                mailslot: msg.mailslot,
            },
        );
        if previous.is_none() {
            self.core.metrics.subscriptions.inc();
        }
        let snapshot = self
            .presence
            .values()
            .map(|(_, state)| state.clone())
            .collect();
        Box::pin(std::future::ready(snapshot))
    }
}

impl Handler<Unsubscribe> for InboxActor {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        if self.subscribers.remove(&msg.session).is_some() {
            self.core.metrics.subscriptions.dec();
            self.touch();
        }
    }
}

impl Handler<Publish> for InboxActor {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        if self.retired {
            return self.successor().do_send(msg);
        }
        self.touch();
        let Publish {
            payloads,
            viewers,
            presence,
            direct,
        } = msg;
        if let Some(update) = presence {
            let known = self.presence.get(&update.ticket).map(|(v, _)| *v);
            let known = known.or_else(|| self.tombstones.get(&update.ticket).map(|(v, _)| *v));
            if known.is_some_and(|v| v > update.version) {
                // A newer state is already known and was delivered: only the
                // frames for single recipients still go out.
                return Publish::deliver_direct(direct);
            }
            match update.state {
                Some(state) => {
                    self.tombstones.remove(&update.ticket);
                    self.presence.insert(update.ticket, (update.version, state));
                }
                None => {
                    self.presence.remove(&update.ticket);
                    self.tombstones
                        .insert(update.ticket, (update.version, Instant::now()));
                }
            }
        }
        if !payloads.is_empty() {
            let frames_for = |agent| payloads.iter().map(move |p| p.for_agent(agent).clone());
            for subscriber in self.subscribers.values() {
                subscriber.mailslot.put_all(frames_for(subscriber.agent));
            }
            let unsubscribed = viewers
                .iter()
                .filter(|v| !self.subscribers.contains_key(&v.session));
            for viewer in unsubscribed {
                viewer.mailslot.put_all(frames_for(viewer.agent));
            }
        }
        Publish::deliver_direct(direct);
    }
}
