//! The ticket actor: the one place that decides anything about its ticket.
//!
//! Invariants:
//! - Every mutation is decided against the actor's in-memory ticket, written
//!   through the store, and applied to memory only after the commit. Mutations
//!   are handled atomically (`AtomicResponse`): the next message is not looked
//!   at before the previous decision is durable, so memory always equals disk
//!   and "two agents accept at once" has exactly one winner.
//! - Events are published after the commit, in decision order, serialized once.
//! - The actor stops when idle for `actors.idle_stop_s`; the next command
//!   spawns a fresh one that reloads the ticket from the store.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use super::inbox::{Payload, Publish};
use crate::core::Core;
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::message::{Message as TicketMessage, MessageKind, MessageState};
use crate::domain::ticket::{self, Status, Ticket};
use crate::domain::{Agent, AgentId, InboxId, MessageId, TicketId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::{AgentRef, MessageDto, TicketDto};
use crate::protocol::frames::{ServerFrame, TicketChange};
use crate::store::{reads, writes};

pub struct TicketActor {
    id: TicketId,
    core: Arc<Core>,
    /// `None` until created; deleted tickets stay loaded as tombstones.
    ticket: Option<Ticket>,
    last_activity: Instant,
}

/// Creates the ticket with its first customer message.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Create {
    pub by: Arc<Agent>,
    pub inbox: InboxId,
    pub subject: String,
    pub customer: ticket::Customer,
    pub body: String,
}

/// Changes subject, tags and/or fields (already validated in shape, not in limits).
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Patch {
    pub by: Arc<Agent>,
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<std::collections::BTreeMap<String, Option<String>>>,
}

/// Posts a customer message, public reply or internal note.
#[derive(Message, Clone)]
#[rtype(result = "Result<MessageDto, Error>")]
pub struct Post {
    pub by: Arc<Agent>,
    pub kind: MessageKind,
    pub body: String,
}

/// One decided change, ready to be written.
struct Change {
    after: Ticket,
    messages: Vec<TicketMessage>,
    history: Vec<HistoryEntry>,
    action: &'static str,
    by: AgentId,
    new_ticket: bool,
}

impl TicketActor {
    pub fn new(id: TicketId, core: Arc<Core>) -> TicketActor {
        TicketActor { id, core, ticket: None, last_activity: Instant::now() }
    }

    /// The live ticket, if `agent` may do `action` on it.
    fn authorize(&self, agent: &Agent, action: TicketAction) -> Result<&Ticket, Error> {
        let ticket = self.ticket.as_ref().filter(|t| !t.deleted).ok_or(Error::NotFound)?;
        check_ticket(agent, TicketScope { inbox: ticket.inbox, shared_with: &ticket.shared_with }, action)?;
        Ok(ticket)
    }

    /// Writes `change`; once committed, updates memory, publishes, and answers `reply`.
    fn commit<R: 'static>(
        &mut self,
        change: Change,
        reply: impl FnOnce(&Self, &Ticket) -> R + 'static,
    ) -> AtomicResponse<Self, Result<R, Error>> {
        self.last_activity = Instant::now();
        let store = self.core.store.clone();
        let before = self.ticket.clone();
        let Change { after, messages, history, action, by, new_ticket } = change;
        let write = async move {
            store
                .write(move |tx| {
                    let mut after = after;
                    if new_ticket {
                        after.number = writes::allocate_ticket_number(tx)?;
                    }
                    writes::put_ticket(tx, before.as_ref(), &after)?;
                    for message in &messages {
                        writes::put_message(tx, message)?;
                    }
                    for entry in &history {
                        writes::append_history(tx, after.id, entry)?;
                    }
                    Ok(after)
                })
                .await
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(move |written, act, _| {
            let after = written?;
            act.publish_ticket(&after, action, by);
            let answer = reply(act, &after);
            act.ticket = Some(after);
            Ok(answer)
        })))
    }

    /// Sends a `ticket` frame to the inbox's subscribers (if it has any).
    fn publish_ticket(&self, t: &Ticket, action: &'static str, by: AgentId) {
        let Some(inbox) = self.core.registry.live_inbox(t.inbox) else { return };
        let change = TicketChange { action, by: Some(AgentRef::lookup(&self.core.directory, by)) };
        let frame = |unread| {
            ServerFrame::Ticket {
                inbox: t.inbox,
                ticket: TicketDto::with_unread(t, unread),
                change: change.clone(),
            }
            .encode()
        };
        let payload = if t.read_by.is_empty() {
            Payload::All(frame(true))
        } else {
            Payload::ByReadState {
                read: frame(false),
                unread: frame(true),
                readers: Arc::new(t.read_by.clone()),
            }
        };
        inbox.do_send(Publish(payload));
    }
}

fn refuse<R: 'static>(error: Error) -> AtomicResponse<TicketActor, Result<R, Error>> {
    AtomicResponse::new(Box::pin(fut::ready(Err(error))))
}

impl Actor for TicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.metrics.ticket_actors.inc();
        match self.core.store.read().and_then(|tx| reads::ticket(&tx, self.id)) {
            Ok(ticket) => self.ticket = ticket,
            Err(error) => {
                tracing::error!(ticket = %self.id, %error, "cannot load ticket");
                self.core.registry.forget_ticket(self.id, &ctx.address());
                ctx.stop();
                return;
            }
        }
        let idle_stop = self.core.config.idle_stop;
        ctx.run_interval(idle_stop / 2, move |act, ctx| {
            if act.last_activity.elapsed() >= idle_stop {
                act.core.registry.forget_ticket(act.id, &ctx.address());
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.core.registry.forget_ticket(self.id, &ctx.address());
        self.core.metrics.ticket_actors.dec();
    }
}

impl Handler<Create> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Create, _: &mut Context<Self>) -> Self::Result {
        if self.ticket.is_some() {
            return refuse(Error::Conflict("ticket exists".into()));
        }
        let now = Timestamp::now();
        let ticket = Ticket {
            id: self.id,
            number: 0,
            inbox: msg.inbox,
            subject: msg.subject,
            customer: msg.customer,
            status: Status::Pending,
            assignee: None,
            tags: Vec::new(),
            fields: Default::default(),
            created_at: now,
            updated_at: now,
            read_by: Default::default(),
            followers: Vec::new(),
            shared_with: Vec::new(),
            deleted: false,
        };
        let message = TicketMessage {
            id: MessageId::new(),
            ticket: self.id,
            kind: MessageKind::Customer,
            author: None,
            body: msg.body,
            mentions: Vec::new(),
            created_at: now,
            state: MessageState::Sent,
            send_at: None,
            signature: None,
        };
        let created = HistoryEntry::new(Some(msg.by.id), HistoryAction::Created, now)
            .with("inbox", msg.inbox.to_string())
            .with("status", Status::Pending.as_str());
        let change = Change {
            after: ticket,
            messages: vec![message],
            history: vec![created],
            action: "created",
            by: msg.by.id,
            new_ticket: true,
        };
        let caller = msg.by.id;
        self.commit(change, move |_, t| TicketDto::for_caller(t, caller))
    }
}

impl Handler<Patch> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Patch, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.authorize(&msg.by, TicketAction::Edit) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let mut after = ticket.clone();
        let mut changed = serde_json::Map::new();
        let outcome: Result<(), String> = (|| {
            if let Some(subject) = &msg.subject {
                after.subject = ticket::validate_subject(subject)?;
            }
            if let Some(tags) = &msg.tags {
                after.tags = ticket::normalize_tags(tags)?;
            }
            if let Some(fields) = &msg.fields {
                after.fields = ticket::patch_fields(&ticket.fields, fields)?;
            }
            Ok(())
        })();
        if let Err(message) = outcome {
            return refuse(Error::BadRequest(message));
        }
        if after.subject != ticket.subject {
            changed.insert("subject".into(), after.subject.clone().into());
        }
        if after.tags != ticket.tags {
            changed.insert("tags".into(), serde_json::json!(after.tags));
        }
        if after.fields != ticket.fields {
            changed.insert("fields".into(), serde_json::json!(after.fields));
        }
        let caller = msg.by.id;
        if changed.is_empty() {
            let dto = TicketDto::for_caller(ticket, caller);
            return AtomicResponse::new(Box::pin(fut::ready(Ok(dto))));
        }
        let now = Timestamp::now();
        after.updated_at = now;
        let mut entry = HistoryEntry::new(Some(caller), HistoryAction::FieldsChanged, now);
        entry.detail = changed;
        let change = Change {
            after,
            messages: vec![],
            history: vec![entry],
            action: "updated",
            by: caller,
            new_ticket: false,
        };
        self.commit(change, move |_, t| TicketDto::for_caller(t, caller))
    }
}

impl Handler<Post> for TicketActor {
    type Result = AtomicResponse<Self, Result<MessageDto, Error>>;

    fn handle(&mut self, msg: Post, _: &mut Context<Self>) -> Self::Result {
        let action = match msg.kind {
            MessageKind::Customer => TicketAction::PostCustomerMessage,
            MessageKind::Reply => TicketAction::Reply,
            MessageKind::Note => TicketAction::AddNote,
        };
        let ticket = match self.authorize(&msg.by, action) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        if let Err(message) = ticket::validate_body(&msg.body) {
            return refuse(Error::BadRequest(message));
        }
        let now = Timestamp::now();
        let mut after = ticket.clone();
        after.updated_at = now;
        let mut history = Vec::new();
        if msg.kind == MessageKind::Customer {
            let from = after.status;
            after.on_customer_message();
            if after.status != from {
                history.push(
                    HistoryEntry::new(None, HistoryAction::StatusChanged, now)
                        .with("from", from.as_str())
                        .with("to", after.status.as_str()),
                );
            }
        }
        let signature = (msg.kind == MessageKind::Reply && self.core.directory.settings().sign_replies)
            .then(|| msg.by.name.clone());
        let message = TicketMessage {
            id: MessageId::new(),
            ticket: self.id,
            kind: msg.kind,
            author: (msg.kind != MessageKind::Customer).then_some(msg.by.id),
            body: msg.body,
            mentions: Vec::new(),
            created_at: now,
            state: MessageState::Sent,
            send_at: None,
            signature,
        };
        let change = Change {
            after,
            messages: vec![message.clone()],
            history,
            action: "message",
            by: msg.by.id,
            new_ticket: false,
        };
        self.commit(change, move |act, _| MessageDto::new(&message, &act.core.directory))
    }
}
