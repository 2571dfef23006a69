//! Followers: agents who hear of every new message on the ticket.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions;
use crate::domain::{Agent, AgentId};
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
        let decided = self.decide(|t, facts| decisions::add_follower(t, &msg.by, msg.agent, facts));
        self.commit(decided, |act, t, (), _| Ok(act.follower_refs(&t.followers)))
    }
}

impl Handler<RemoveFollower> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: RemoveFollower, _: &mut Context<Self>) -> Self::Result {
        let decided =
            self.decide(|t, facts| decisions::remove_follower(t, &msg.by, msg.agent, facts));
        self.commit(decided, |_, _, (), _| Ok(()))
    }
}
