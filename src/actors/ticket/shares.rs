//! Sharing one ticket with an agent outside its inbox, and losing access.
//!
//! Revocation (an unshare, a lost membership) takes effect in the same
//! decision: the agent's tabs leave the ticket, its claim is released with
//! reason `revoked`, and its sessions get `access_revoked`.

use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::notification::NotificationKind;
use crate::domain::presence::ReleaseReason;
use crate::domain::{Agent, AgentId, Role, Timestamp};
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
    /// May `by` share (or, with `sharing: false`, unshare) this ticket? Ending a
    /// share is always possible, even after sharing was switched off.
    fn check_sharing(
        &self,
        by: &Agent,
        sharing: bool,
    ) -> Result<crate::domain::ticket::Ticket, Error> {
        // 404/403 first: the setting must not reveal that a ticket exists.
        let ticket = self.authorize(by, TicketAction::Share)?.clone();
        if sharing && !self.core.directory.settings().ticket_sharing_enabled {
            return Err(Error::SharingDisabled);
        }
        self.check_lock(by)?;
        Ok(ticket)
    }

    /// Takes `agent` off the ticket if it can no longer see it (`by`: who
    /// revoked it, if someone did), or only its claim if it may no longer claim.
    pub(super) fn revoke_if_blind(&mut self, agent: AgentId, by: Option<AgentId>) {
        let Some(ticket) = self.ticket.clone() else {
            return;
        };
        let scope = TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        };
        let fresh = self
            .core
            .directory
            .agent(agent)
            .filter(|a| !a.disabled && !ticket.deleted);
        let can = |action| {
            fresh
                .as_ref()
                .is_some_and(|a| check_ticket(a, scope, action).is_ok())
        };
        if can(TicketAction::View) {
            if !can(TicketAction::Claim) && self.presence.claim().is_some_and(|c| c.agent == agent)
            {
                // Demoted (e.g. to a light agent): it may still look, not hold.
                let changes = self.presence.release_claim(ReleaseReason::Revoked, by);
                self.publish_presence(&changes);
            }
            return;
        }
        let sessions: Vec<_> = self.presence.sessions_of(agent).collect();
        if sessions.is_empty() {
            return;
        }
        let frame = ServerFrame::AccessRevoked { ticket: ticket.id }.encode();
        let revoked = sessions
            .iter()
            .filter_map(|session| self.tabs.remove(session))
            .map(|viewer| (viewer.recipient, frame.clone()))
            .collect();
        self.emit_direct(revoked);
        let changes = self
            .presence
            .remove_agent(agent, ReleaseReason::Revoked, by);
        self.publish_presence(&changes);
    }
}

impl Handler<Share> for TicketActor {
    type Result = AtomicResponse<Self, Result<Vec<AgentRef>, Error>>;

    fn handle(&mut self, msg: Share, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.check_sharing(&msg.by, true) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        match self.core.directory.agent(msg.agent) {
            None => return refuse(Error::bad_request("no such agent")),
            Some(a) if a.disabled || a.role == Role::Light => {
                return refuse(Error::Conflict(
                    "tickets are shared with active agents only, not light agents".into(),
                ));
            }
            Some(_) => {}
        }
        let mut change = Change::of(ticket.clone());
        if !change.after.shared_with.contains(&msg.agent) {
            change.after.shared_with.push(msg.agent);
            change.history.push(
                HistoryEntry::new(Some(msg.by.id), HistoryAction::Shared, Timestamp::now())
                    .with("agent", msg.agent.to_string()),
            );
            change.notifications.push(self.notification(
                &ticket,
                msg.agent,
                NotificationKind::Shared {
                    by_name: msg.by.name.clone(),
                },
                Some(msg.by.id),
            ));
        }
        self.commit(change, |act, t, _| {
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
        let ticket = match self.check_sharing(&msg.by, false) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        if !ticket.shared_with.contains(&msg.agent) {
            return refuse(Error::NotFound);
        }
        let mut change = Change::of(ticket.clone());
        change.after.shared_with.retain(|a| *a != msg.agent);
        change.history.push(
            HistoryEntry::new(Some(msg.by.id), HistoryAction::Unshared, Timestamp::now())
                .with("agent", msg.agent.to_string()),
        );
        change.notifications.push(self.notification(
            &ticket,
            msg.agent,
            NotificationKind::Unshared {
                by_name: msg.by.name.clone(),
            },
            Some(msg.by.id),
        ));
        // Its scheduled replies on this ticket go with the share.
        change.removed_messages = match self.scheduled_by(msg.agent) {
            Ok(scheduled) => scheduled,
            Err(e) => return refuse(e),
        };
        let removed: Vec<_> = change.removed_messages.iter().map(|m| m.id).collect();
        let (agent, by) = (msg.agent, msg.by.id);
        self.commit(change, move |act, _, _| {
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
