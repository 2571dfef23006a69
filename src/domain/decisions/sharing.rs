//! Sharing one ticket with an agent outside its inbox, and what an agent
//! keeps of a ticket after its access changed.

use super::super::access::{TicketAction, check_ticket};
use super::super::agent::Roster;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::message::Message;
use super::super::notification::{Notification, NotificationKind};
use super::super::ticket::Ticket;
use super::super::{Agent, AgentId, Role};
use super::{Change, ConflictReason, Facts, Refusal, authorize, check_lock};

/// May `by` share (or, with `sharing: false`, unshare) this ticket? Ending a
/// share is always possible, even after sharing was switched off.
fn may_share<'t>(
    ticket: Option<&'t Ticket>,
    by: &Agent,
    sharing: bool,
    facts: &Facts,
) -> Result<&'t Ticket, Refusal> {
    // 404/403 first: the setting must not reveal that a ticket exists.
    let ticket = authorize(ticket, by, TicketAction::Share)?;
    if sharing && !facts.settings.ticket_sharing_enabled {
        return Err(Refusal::SharingDisabled);
    }
    check_lock(ticket, by, facts)?;
    Ok(ticket)
}

/// Shares the ticket with `agent` (idempotent), who is told.
pub fn share(
    ticket: Option<&Ticket>,
    by: &Agent,
    agent: AgentId,
    facts: &Facts,
) -> Result<Change, Refusal> {
    let before = may_share(ticket, by, true, facts)?;
    match facts.roster.agent(agent) {
        None => return Err(Refusal::invalid("no such agent")),
        Some(a) if a.disabled || a.role == Role::Light => {
            return Err(ConflictReason::NotShareable.into());
        }
        Some(_) => {}
    }
    let mut change = Change::of(before.clone());
    if !before.shared_with.contains(&agent) {
        change.after.shared_with.push(agent);
        let kind = NotificationKind::Shared {
            by_name: by.name.clone(),
        };
        record(&mut change, by, agent, HistoryAction::Shared, kind, facts);
    }
    Ok(change)
}

/// Ends the share with `agent`, who is told; its `scheduled` replies on the
/// ticket go with the share.
pub fn unshare(
    ticket: Option<&Ticket>,
    by: &Agent,
    agent: AgentId,
    scheduled: Vec<Message>,
    facts: &Facts,
) -> Result<Change, Refusal> {
    let before = may_share(ticket, by, false, facts)?;
    if !before.shared_with.contains(&agent) {
        return Err(Refusal::NotFound);
    }
    let mut change = Change::of(before.clone());
    change.after.shared_with.retain(|a| *a != agent);
    let kind = NotificationKind::Unshared {
        by_name: by.name.clone(),
    };
    record(&mut change, by, agent, HistoryAction::Unshared, kind, facts);
    change.removed_messages = scheduled;
    Ok(change)
}

/// Records a (un)share with `agent` by `by`, and tells `agent`.
fn record(
    change: &mut Change,
    by: &Agent,
    agent: AgentId,
    action: HistoryAction,
    kind: NotificationKind,
    facts: &Facts,
) {
    change
        .history
        .push(HistoryEntry::new(Some(by.id), action, facts.now).with("agent", agent.to_string()));
    let told = Notification::about(&change.after, agent, kind, Some(by.id), facts.now);
    change.notifications.push(told);
}

/// What `agent` may still do with the ticket, after its access may have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remaining {
    /// It may see and claim the ticket: nothing to take away.
    Everything,
    /// It may look, not hold (e.g. demoted to a light agent): its claim goes.
    ViewOnly,
    /// It may no longer see the ticket: its tabs and claim go.
    Nothing,
}

/// What `agent` keeps of `ticket` (a deleted ticket: nothing).
pub fn remaining(roster: &dyn Roster, ticket: &Ticket, agent: AgentId) -> Remaining {
    let fresh = roster
        .agent(agent)
        .filter(|a| !a.disabled && !ticket.deleted);
    let can = |action| {
        fresh
            .as_ref()
            .is_some_and(|a| check_ticket(a, ticket.scope(), action).is_ok())
    };
    if !can(TicketAction::View) {
        Remaining::Nothing
    } else if !can(TicketAction::Claim) {
        Remaining::ViewOnly
    } else {
        Remaining::Everything
    }
}
