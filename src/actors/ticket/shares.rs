//! Sharing one ticket with an agent outside its inbox, and losing access.
//!
//! Revocation (an unshare, a lost membership) takes effect in the same
//! decision: the agent's tabs leave the ticket, its claim is released with
//! reason `revoked`, and its sessions get `access_revoked`.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions::{self, Remaining};
use crate::domain::presence::ReleaseReason;
use crate::domain::{Agent, AgentId};
use crate::error::Error;
use crate::protocol::dto::AgentRef;
use crate::protocol::frames::ServerFrame;

/// Shares the ticket with `agent` (idempotent); answers who it is shared with.
#[derive(Message, Clone)]
#[rtype(result = "Result<Vec<AgentRef>, Error>")]
pub struct Share {
    pub by: Arc<Agent>,
    pub agent: AgentId,
}

/// Ends the share with `agent`.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct Unshare {
    pub by: Arc<Agent>,
    pub agent: AgentId,
}

/// `agent`'s access may have changed (membership, role): if it can no longer
/// see the ticket, its tabs are taken off it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Revalidate {
    pub agent: AgentId,
}

impl TicketActor {
    /// Takes `agent` off the ticket if it can no longer see it (`by`: who
    /// revoked it, if someone did), or only its claim if it may no longer claim.
    pub(super) fn revoke_if_blind(&mut self, agent: AgentId, by: Option<AgentId>) {
        let Some(ticket) = &self.ticket else {
            return;
        };
        let ticket_id = ticket.id;
        match decisions::remaining(&self.core.directory, ticket, agent) {
            Remaining::Everything => {}
            Remaining::ViewOnly => {
                if self.presence.claim().is_some_and(|c| c.agent == agent) {
                    // Demoted (e.g. to a light agent): it may still look, not hold.
                    let changes = self.presence.release_claim(ReleaseReason::Revoked, by);
                    self.publish_presence(&changes);
                }
            }
            Remaining::Nothing => {
                let sessions: Vec<_> = self.presence.sessions_of(agent).collect();
                if sessions.is_empty() {
                    return;
                }
                let frame = ServerFrame::AccessRevoked { ticket: ticket_id }.encode();
                let revoked = sessions
                    .iter()
                    .filter_map(|session| self.tabs.remove(session))
                    .map(|viewer| (viewer.mailslot, frame.clone()))
                    .collect();
                self.emit_direct(revoked);
                let changes = self
                    .presence
                    .remove_agent(agent, ReleaseReason::Revoked, by);
                self.publish_presence(&changes);
            }
        }
    }
}

impl Handler<Share> for TicketActor {
    type Result = AtomicResponse<Self, Result<Vec<AgentRef>, Error>>;

    fn handle(&mut self, msg: Share, _: &mut Context<Self>) -> Self::Result {
        let decided = self.decide(|t, facts| decisions::share(t, &msg.by, msg.agent, facts));
        self.commit(decided, |act, t, (), _| {
            Ok(t.shared_with
                .iter()
                .map(|a| AgentRef::lookup(&act.core.directory, *a))
                .collect())
        })
    }
}

impl Handler<Unshare> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Unshare, _: &mut Context<Self>) -> Self::Result {
        let (agent, by) = (msg.agent, msg.by.id);
        // Its scheduled replies on this ticket go with the share.
        let decided = self.scheduled_by(agent).and_then(|scheduled| {
            Ok(self.decide(|t, facts| decisions::unshare(t, &msg.by, agent, scheduled, facts))?)
        });
        let removed: Vec<_> = decided
            .iter()
            .flat_map(|c| c.removed_messages.iter().map(|m| m.id))
            .collect();
        self.commit(decided, move |act, _, (), _| {
            act.revoke_if_blind(agent, Some(by));
            for id in removed {
                act.send_removed(id);
            }
            Ok(())
        })
    }
}

impl Handler<Revalidate> for TicketActor {
    type Result = ();

    fn handle(&mut self, msg: Revalidate, _: &mut Context<Self>) {
        self.revoke_if_blind(msg.agent, None);
    }
}
