//! REST commands: create, edit, and the workflow mutations (assign, accept,
//! return, transfer, resolve, reopen, archive, delete). Each handler decides
//! (`domain::decisions`), commits, then publishes.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions::{self, Edit, Mutation, NewTicket, Op};
use crate::domain::presence::ReleaseReason;
use crate::domain::ticket::{self, Ticket};
use crate::domain::{Agent, InboxId, Timestamp};
use crate::error::Error;
use crate::protocol::changes::{ChangeAction, Move};
use crate::protocol::dto::{AgentRef, InboxDto, TicketDto};
use crate::protocol::frames::{MovedTo, ServerFrame};

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

/// Changes subject, tags and/or fields.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Patch {
    pub by: Arc<Agent>,
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<BTreeMap<String, Option<String>>>,
}

/// A workflow mutation.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Mutate {
    pub by: Arc<Agent>,
    pub op: Op,
}

impl Handler<Create> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Create, _: &mut Context<Self>) -> Self::Result {
        let new = NewTicket {
            inbox: msg.inbox,
            subject: msg.subject,
            customer: msg.customer,
            body: msg.body,
        };
        let by = msg.by.id;
        let decided = decisions::create(
            self.ticket.as_ref(),
            self.id,
            &msg.by,
            new,
            Timestamp::now(),
        );
        self.commit(decided, move |act, t, (), _| {
            act.publish_ticket(t, ChangeAction::Created, by);
            Ok(TicketDto::for_caller(t, by))
        })
    }
}

impl Handler<Patch> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Patch, _: &mut Context<Self>) -> Self::Result {
        let edit = Edit {
            subject: msg.subject,
            tags: msg.tags,
            fields: msg.fields,
        };
        let decided = self.decide(|t, facts| decisions::edit(t, &msg.by, &edit, facts));
        let publish = decided.as_ref().is_ok_and(|c| !c.history.is_empty());
        let by = msg.by.id;
        self.commit(decided, move |act, t, (), _| {
            if publish {
                act.publish_ticket(t, ChangeAction::Updated, by);
            }
            Ok(TicketDto::for_caller(t, by))
        })
    }
}

impl Handler<Mutate> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Mutate, _: &mut Context<Self>) -> Self::Result {
        let from_inbox = self.ticket.as_ref().map(|t| t.inbox);
        let decided = self
            .decide(|t, facts| decisions::mutate(t, &msg.by, &msg.op, facts))
            .map(|m: Mutation| {
                let noop = m.change.history.is_empty();
                (m.change, (m.release, noop))
            });
        self.commit(decided, move |act, t, (release, noop), ctx| {
            if !noop {
                let from_inbox = from_inbox.unwrap_or(t.inbox);
                act.apply_mutation(t, &msg.op, &msg.by, from_inbox, release);
                act.schedule_lock_expiry(ctx); // a deleted ticket's lock timer goes with it
            }
            Ok(TicketDto::for_caller(t, msg.by.id))
        })
    }
}

impl TicketActor {
    /// The `ticket_moved` frame for the old inbox, if `op` moved the ticket
    /// out of its lists.
    fn moved_frame(
        &self,
        t: &Ticket,
        op: &Op,
        by: &Agent,
        old_inbox: InboxId,
    ) -> Option<ServerFrame> {
        let moved = Move::of(op, by.id)?;
        let to = MovedTo {
            agent: moved
                .agent
                .map(|a| AgentRef::lookup(&self.core.directory, a)),
            inbox: moved
                .inbox
                .and_then(|i| self.core.directory.inbox(i))
                .as_ref()
                .map(InboxDto::from),
        };
        let by = AgentRef::of(by);
        Some(ServerFrame::TicketMoved {
            inbox: old_inbox,
            ticket: t.id,
            number: t.number,
            action: moved.action,
            note: moved.note(*op == Op::Accept, &to, &by),
            to: (to.agent.is_some() || to.inbox.is_some()).then_some(to),
            by,
        })
    }

    /// After a mutation committed: tell the old inbox it moved, release claims,
    /// and publish the ticket where it is now.
    fn apply_mutation(
        &mut self,
        t: &Ticket,
        op: &Op,
        by: &Agent,
        old_inbox: InboxId,
        release: bool,
    ) {
        use crate::actors::inbox::{Payload, PresenceUpdate};

        let action = ChangeAction::from(op);
        let mut old_inbox_payloads: Vec<Payload> = self
            .moved_frame(t, op, by, old_inbox)
            .map(|frame| Payload::All(frame.encode()))
            .into_iter()
            .collect();
        if old_inbox == t.inbox {
            if *op != Op::Delete {
                old_inbox_payloads.insert(0, self.ticket_payload(t, action, Some(by.id)));
            }
            self.send_to_inbox(t.inbox, old_inbox_payloads, None, Vec::new());
        } else {
            // Transferred: the old inbox forgets the ticket's presence; the new one learns it.
            self.send_to_inbox(
                old_inbox,
                old_inbox_payloads,
                Some(PresenceUpdate::new(t.id, None)),
                Vec::new(),
            );
            self.publish_ticket(t, action, by.id);
        }
        let mut changes = Vec::new();
        if release {
            changes.extend(
                self.presence
                    .release_claim(ReleaseReason::Moved, Some(by.id)),
            );
        }
        if *op == Op::Accept {
            changes.extend(self.presence.claim_for(by.id, Timestamp::now()));
        }
        if *op == Op::Delete {
            self.publish_presence(&changes);
            changes = self.presence.clear(ReleaseReason::Moved, Some(by.id));
            self.publish_presence(&changes);
            self.tabs.clear();
            self.publish_events(&[]); // snapshots forget it (a lock went with it)
            return;
        }
        if old_inbox != t.inbox && changes.is_empty() {
            // Nothing changed, but the new inbox must learn the live presence:
            // viewers, or only a hard lock on a ticket nobody has open.
            let dto = self.presence_dto(t);
            if !dto.is_empty() {
                let state = Some(dto.to_json());
                self.send_to_inbox(
                    t.inbox,
                    Vec::new(),
                    Some(PresenceUpdate::new(t.id, state)),
                    Vec::new(),
                );
            }
        }
        self.publish_presence(&changes);
        if old_inbox != t.inbox {
            // Tabs of agents who cannot see the ticket in its new inbox are taken off it.
            let viewers: Vec<_> = self.presence.viewers().iter().map(|v| v.agent).collect();
            for agent in viewers {
                self.revoke_if_blind(agent, Some(by.id));
            }
        }
    }
}
