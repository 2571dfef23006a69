//! The inbox actor: the subscribers of one inbox and the fan-out to them.
//!
//! Invariants:
//! - An event is serialized once by its publisher; the same bytes (a shared
//!   `ByteString`) go to every subscriber. Fan-out never builds per-session JSON.
//! - Only `unread` in `ticket` frames differs per agent; such events carry both
//!   encodings and the set of agents who have read the ticket ([`Payload::ByReadState`]).
//! - An inbox actor with no subscribers stops after `actors.idle_stop_s`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, Recipient};
use bytestring::ByteString;
use serde_json::Value;

use super::session::Deliver;
use crate::core::Core;
use crate::domain::{AgentId, InboxId, SessionId};

/// What an inbox publishes: the same bytes for all, or one of two by read state.
#[derive(Clone, Debug)]
pub enum Payload {
    All(ByteString),
    ByReadState { read: ByteString, unread: ByteString, readers: Arc<BTreeSet<AgentId>> },
}

impl Payload {
    pub fn for_agent(&self, agent: AgentId) -> &ByteString {
        match self {
            Payload::All(bytes) => bytes,
            Payload::ByReadState { read, unread, readers } => {
                if readers.contains(&agent) {
                    read
                } else {
                    unread
                }
            }
        }
    }
}

/// Subscribe a session; answers the inbox's current presence (for the snapshot).
#[derive(Message)]
#[rtype(result = "Vec<Value>")]
pub struct Subscribe {
    pub session: SessionId,
    pub agent: AgentId,
    pub recipient: Recipient<Deliver>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session: SessionId,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish(pub Payload);

struct Subscriber {
    agent: AgentId,
    recipient: Recipient<Deliver>,
}

pub struct InboxActor {
    id: InboxId,
    core: Arc<Core>,
    subscribers: HashMap<SessionId, Subscriber>,
    idle_since: Instant,
}

impl InboxActor {
    pub fn new(id: InboxId, core: Arc<Core>) -> InboxActor {
        InboxActor { id, core, subscribers: HashMap::new(), idle_since: Instant::now() }
    }
}

impl Actor for InboxActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.metrics.inbox_actors.inc();
        let idle_stop = self.core.config.idle_stop;
        ctx.run_interval(idle_stop / 2, move |act, ctx| {
            if act.subscribers.is_empty() && act.idle_since.elapsed() >= idle_stop {
                act.core.registry.forget_inbox(act.id, &ctx.address());
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.core.registry.forget_inbox(self.id, &ctx.address());
        self.core.metrics.inbox_actors.dec();
        self.core.metrics.subscriptions.dec_by(self.subscribers.len() as i64);
    }
}

impl Handler<Subscribe> for InboxActor {
    type Result = Vec<Value>;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> Vec<Value> {
        let previous =
            self.subscribers.insert(msg.session, Subscriber { agent: msg.agent, recipient: msg.recipient });
        if previous.is_none() {
            self.core.metrics.subscriptions.inc();
        }
        Vec::new()
    }
}

impl Handler<Unsubscribe> for InboxActor {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        if self.subscribers.remove(&msg.session).is_some() {
            self.core.metrics.subscriptions.dec();
            if self.subscribers.is_empty() {
                self.idle_since = Instant::now();
            }
        }
    }
}

impl Handler<Publish> for InboxActor {
    type Result = ();

    fn handle(&mut self, Publish(payload): Publish, _: &mut Context<Self>) {
        for subscriber in self.subscribers.values() {
            subscriber.recipient.do_send(Deliver(payload.for_agent(subscriber.agent).clone()));
        }
    }
}
