//! Per-agent read marks: `POST /api/tickets/{id}/read` and `/unread`.
//! Marking is one's own business: no collision rule applies, nothing is
//! recorded in history, and only the agent's own sessions hear of it.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::Agent;
use crate::domain::decisions;
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
use crate::protocol::dto::{AgentRef, TicketDto};
use crate::protocol::frames::{ServerFrame, TicketChange};

#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct MarkRead {
    pub by: Arc<Agent>,
    pub read: bool,
}

impl TicketActor {
    /// A `ticket` frame about `agent`'s own read mark (as the ticket is in
    /// memory), to `agent`'s sessions only.
    pub(super) fn tell_own_sessions(
        &mut self,
        agent: crate::domain::AgentId,
        action: ChangeAction,
    ) {
        let Some(t) = &self.ticket else { return };
        // One agent, one `unread` value: a single encoding.
        let change = TicketChange {
            action,
            by: Some(AgentRef::lookup(&self.core.directory, agent)),
        };
        let ticket = TicketDto::for_caller(t, agent);
        let frame = ServerFrame::Ticket {
            inbox: t.inbox,
            ticket,
            change,
        }
        .encode();
        self.send_to_agent(agent, &frame);
    }
}

impl Handler<MarkRead> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: MarkRead, _: &mut Context<Self>) -> Self::Result {
        let decided = decisions::mark_read(self.ticket.as_ref(), &msg.by, msg.read);
        let agent = msg.by.id;
        let changed = decided
            .as_ref()
            .is_ok_and(|c| Some(&c.after.read_by) != self.ticket.as_ref().map(|t| &t.read_by));
        self.commit(decided, move |act, t, (), _| {
            if changed {
                let action = if msg.read {
                    ChangeAction::Read
                } else {
                    ChangeAction::Unread
                };
                act.tell_own_sessions(agent, action);
            }
            Ok(TicketDto::for_caller(t, agent))
        })
    }
}
