//! Ticket decisions: each one a pure function of the ticket as it is, who
//! asks, what they ask, and the [`Facts`] it depends on (who the agents and
//! inboxes are, the settings, the clock, the live claim). It returns a typed
//! [`Change`] to commit, or a [`Refusal`]; it performs no I/O.
//!
//! The ticket actor is "decide, commit, publish": it asks here, writes the
//! change through the store, then tells people. Presence (claims, viewers)
//! is decided by [`super::presence::Presence`], not here.
//!
//! Invariants:
//! - A refusal changes nothing: every check runs before anything is built.
//! - Checks run in the order of docs/protocol.md "Errors": existence and
//!   role (404, 403) first, then the hard lock, then the claim, then the
//!   request's own validity and the ticket's state (400, 409).
//! - A change that records no history and touches nothing else is a no-op:
//!   the actor answers without writing.
//!
//! Files: `refusal` (why not), `workflow` (assign, accept, return,
//! transfer, resolve, reopen, archive, delete), `editing` (create, edit,
//! read marks), `posting` (messages, mentions, scheduled replies), `locking`,
//! `followers`, `sharing`, `chat` (what visitors do), `email` (mail in and
//! out), `api` (what integrations do).

pub mod api;
pub mod chat;
mod editing;
pub mod email;
mod followers;
mod locking;
mod posting;
mod refusal;
mod sharing;
mod workflow;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use editing::{Edit, NewTicket, create, edit, mark_read};
pub use followers::{add_follower, remove_follower};
pub use locking::{expire_lock, lock, unlock};
pub use posting::{Post, Posted, Scheduled, cancel_scheduled, fire, follower_updates, post};
pub use refusal::{ConflictReason, Forbidden, Refusal};
pub use sharing::{Remaining, remaining, share, unshare};
pub use workflow::{Mutation, Op, mutate};

use super::access::{TicketAction, check_ticket};
use super::agent::Roster;
use super::draft::DraftKind;
use super::history::HistoryEntry;
use super::message::Message;
use super::notification::Notification;
use super::settings::Settings;
use super::ticket::Ticket;
use super::{Agent, AgentId, Role, Timestamp};

/// What a decision may look at besides the ticket and the request.
#[derive(Clone, Copy)]
pub struct Facts<'a> {
    pub roster: &'a dyn Roster,
    pub settings: &'a Settings,
    /// The agent holding the ticket's live claim, if anyone does.
    pub claim: Option<AgentId>,
    pub now: Timestamp,
}

/// One decided change, ready to be written in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub after: Ticket,
    pub messages: Vec<Message>,
    pub history: Vec<HistoryEntry>,
    pub notifications: Vec<Notification>,
    /// Drafts the change removes (an author sent a message of that kind).
    pub cleared_drafts: Vec<(AgentId, DraftKind)>,
    /// Scheduled replies the change removes (cancelled, dropped, revoked).
    pub removed_messages: Vec<Message>,
    /// The ticket is new: the store gives it its number.
    pub new_ticket: bool,
    /// Attachment bytes of the change's messages.
    pub blobs: Vec<super::email::Blob>,
}

impl Change {
    pub fn of(after: Ticket) -> Change {
        Change {
            after,
            messages: Vec::new(),
            history: Vec::new(),
            notifications: Vec::new(),
            cleared_drafts: Vec::new(),
            removed_messages: Vec::new(),
            new_ticket: false,
            blobs: Vec::new(),
        }
    }

    /// A new ticket with its first `messages`, its history starting with
    /// `created`.
    pub fn created(ticket: Ticket, messages: Vec<Message>, created: HistoryEntry) -> Change {
        Change {
            messages,
            history: vec![created],
            new_ticket: true,
            ..Change::of(ticket)
        }
    }

    /// Whether nothing but (possibly) the ticket itself changes.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.history.is_empty()
            && self.notifications.is_empty()
            && self.cleared_drafts.is_empty()
            && self.removed_messages.is_empty()
            && self.blobs.is_empty()
    }
}

/// The live ticket (not deleted), if there is one.
pub fn live(ticket: Option<&Ticket>) -> Result<&Ticket, Refusal> {
    ticket.filter(|t| !t.deleted).ok_or(Refusal::NotFound)
}

/// The live ticket, if `agent` may do `action` on it.
pub fn authorize<'t>(
    ticket: Option<&'t Ticket>,
    agent: &Agent,
    action: TicketAction,
) -> Result<&'t Ticket, Refusal> {
    let ticket = live(ticket)?;
    check_ticket(agent, ticket.scope(), action)?;
    Ok(ticket)
}

/// Hard-lock rule: while another agent holds a lock, only admins may change the ticket.
pub fn check_lock(ticket: &Ticket, agent: &Agent, facts: &Facts) -> Result<(), Refusal> {
    match ticket.lock {
        Some(lock) if lock.agent != agent.id && agent.role != Role::Admin => Err(Refusal::Locked {
            holder: facts.roster.agent_ref(lock.agent),
        }),
        _ => Ok(()),
    }
}

/// Collision rule: while another agent holds the claim, this is refused.
pub fn check_claim(agent: &Agent, facts: &Facts) -> Result<(), Refusal> {
    match facts.claim {
        Some(holder) if holder != agent.id => Err(Refusal::Claimed {
            holder: facts.roster.agent_ref(holder),
        }),
        _ => Ok(()),
    }
}

/// The lock and claim rules together: what changing the ticket needs.
fn check_collisions(ticket: &Ticket, agent: &Agent, facts: &Facts) -> Result<(), Refusal> {
    check_lock(ticket, agent, facts)?;
    check_claim(agent, facts)
}

/// Whether `agent` is active and may see `ticket` (nothing about a ticket goes to anyone else).
pub fn sees(roster: &dyn Roster, ticket: &Ticket, agent: AgentId) -> bool {
    roster.agent(agent).is_some_and(|a| {
        !a.disabled && check_ticket(&a, ticket.scope(), TicketAction::View).is_ok()
    })
}
