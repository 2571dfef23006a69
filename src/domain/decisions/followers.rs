//! Followers: agents who hear of every new message on the ticket.

use super::super::access::TicketAction;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::ticket::Ticket;
use super::super::{Agent, AgentId};
use super::{Change, ConflictReason, Facts, Refusal, authorize, check_lock, sees};

/// Adds `agent` as a follower (idempotent: following twice records nothing).
pub fn add_follower(
    ticket: Option<&Ticket>,
    by: &Agent,
    agent: AgentId,
    facts: &Facts,
) -> Result<Change, Refusal> {
    let before = authorize(ticket, by, TicketAction::ManageFollowers)?;
    check_lock(before, by, facts)?;
    if facts.roster.agent(agent).is_none() {
        return Err(Refusal::invalid("no such agent"));
    }
    if !sees(facts.roster, before, agent) {
        return Err(ConflictReason::CannotSee.into());
    }
    let mut change = Change::of(before.clone());
    if !change.after.followers.contains(&agent) {
        change.after.followers.push(agent);
        change.history.push(
            HistoryEntry::new(Some(by.id), HistoryAction::FollowerAdded, facts.now)
                .with("agent", agent.to_string()),
        );
    }
    Ok(change)
}

/// Removes `agent` from the followers. Anyone may stop following, even
/// under someone else's lock; removing others is editing.
pub fn remove_follower(
    ticket: Option<&Ticket>,
    by: &Agent,
    agent: AgentId,
    facts: &Facts,
) -> Result<Change, Refusal> {
    let oneself = agent == by.id;
    let action = if oneself {
        TicketAction::View
    } else {
        TicketAction::ManageFollowers
    };
    let before = authorize(ticket, by, action)?;
    if !oneself {
        check_lock(before, by, facts)?;
    }
    if !before.followers.contains(&agent) {
        return Err(Refusal::NotFound);
    }
    let mut change = Change::of(before.clone());
    change.after.followers.retain(|f| *f != agent);
    change.history.push(
        HistoryEntry::new(Some(by.id), HistoryAction::FollowerRemoved, facts.now)
            .with("agent", agent.to_string()),
    );
    Ok(change)
}
