//! Per-agent read marks: `POST /api/tickets/{id}/read` and `/unread`.
//! Marking is one's own business: no collision rule applies, nothing is
//! recorded in history, and only the agent's own sessions hear of it.

use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::actors::session::Deliver;
use crate::domain::Agent;
use crate::domain::access::TicketAction;
use crate::error::Error;
use crate::protocol::dto::TicketDto;

#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct MarkRead {
    pub by: Arc<Agent>,
    pub read: bool,
}

impl Handler<MarkRead> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: MarkRead, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.authorize(&msg.by, TicketAction::MarkRead) {
            Ok(t) => t.clone(),
            Err(e) => return refuse(e),
        };
        let mut change = Change::of(ticket);
        if msg.read {
            change.after.read_by.insert(msg.by.id);
        } else {
            change.after.read_by.remove(&msg.by.id);
        }
        let agent = msg.by.id;
        self.commit(change, move |act, t, _| {
            let action = if msg.read { "read" } else { "unread" };
            let frame = act.ticket_payload(t, action, agent);
            for session in act.core.registry.sessions_of(agent) {
                session.do_send(Deliver(frame.for_agent(agent).clone()));
            }
            Ok(TicketDto::for_caller(t, agent))
        })
    }
}
