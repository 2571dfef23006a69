//! Followers: agents who hear of every new message on the ticket.

use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::{Agent, AgentId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::AgentRef;

/// Adds `agent` as a follower (idempotent); answers the followers.
#[derive(Message, Clone)]
#[rtype(result = "Result<Vec<AgentRef>, Error>")]
pub struct AddFollower {
    pub by: Arc<Agent>,
    pub agent: AgentId,
}

/// Removes `agent` from the followers. Anyone may remove themselves.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct RemoveFollower {
    pub by: Arc<Agent>,
    pub agent: AgentId,
}

impl TicketActor {
    fn follower_refs(&self, followers: &[AgentId]) -> Vec<AgentRef> {
        followers
            .iter()
            .map(|a| AgentRef::lookup(&self.core.directory, *a))
            .collect()
    }
}

impl Handler<AddFollower> for TicketActor {
    type Result = AtomicResponse<Self, Result<Vec<AgentRef>, Error>>;

    fn handle(&mut self, msg: AddFollower, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self
            .authorize(&msg.by, TicketAction::ManageFollowers)
            .and_then(|t| {
                self.check_lock(&msg.by)?;
                Ok(t.clone())
            }) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let scope = TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        };
        match self.core.directory.agent(msg.agent) {
            None => return refuse(Error::bad_request("no such agent")),
            Some(a) if a.disabled || check_ticket(&a, scope, TicketAction::View).is_err() => {
                return refuse(Error::Conflict("that agent cannot see this ticket".into()));
            }
            Some(_) => {}
        }
        let mut change = Change::of(ticket);
        if !change.after.followers.contains(&msg.agent) {
            change.after.followers.push(msg.agent);
            change.history.push(
                HistoryEntry::new(
                    Some(msg.by.id),
                    HistoryAction::FollowerAdded,
                    Timestamp::now(),
                )
                .with("agent", msg.agent.to_string()),
            );
        }
        self.commit(change, |act, t, _| Ok(act.follower_refs(&t.followers)))
    }
}

impl Handler<RemoveFollower> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: RemoveFollower, _: &mut Context<Self>) -> Self::Result {
        // Anyone may stop following, even under someone else's lock; removing others is editing.
        let oneself = msg.agent == msg.by.id;
        let action = if oneself {
            TicketAction::View
        } else {
            TicketAction::ManageFollowers
        };
        let ticket = match self.authorize(&msg.by, action).and_then(|t| {
            if !oneself {
                self.check_lock(&msg.by)?;
            }
            Ok(t.clone())
        }) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        if !ticket.followers.contains(&msg.agent) {
            return refuse(Error::NotFound);
        }
        let mut change = Change::of(ticket);
        change.after.followers.retain(|f| *f != msg.agent);
        change.history.push(
            HistoryEntry::new(
                Some(msg.by.id),
                HistoryAction::FollowerRemoved,
                Timestamp::now(),
            )
            .with("agent", msg.agent.to_string()),
        );
        self.commit(change, |_, _, _| Ok(()))
    }
}
