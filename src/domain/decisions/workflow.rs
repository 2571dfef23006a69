//! The workflow: assign, accept, return, transfer, resolve, reopen, archive,
//! delete. Status rules are `Ticket::set_assignee`'s (docs/protocol.md
//! "Status"); who may be given a ticket is `access::can_be_assigned`'s.

use super::super::access::{TicketAction, can_be_assigned};
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::notification::{Notification, NotificationKind};
use super::super::ticket::{Status, Ticket};
use super::super::{Agent, AgentId, InboxId};
use super::{Change, ConflictReason, Facts, Refusal, authorize, check_collisions};

/// A workflow mutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Assign to an agent, or unassign with `None`.
    Assign(Option<AgentId>),
    Accept,
    Return,
    Transfer {
        agent: Option<AgentId>,
        inbox: Option<InboxId>,
    },
    Resolve,
    Reopen,
    Archive,
    Delete,
}

impl Op {
    fn action(&self) -> TicketAction {
        match self {
            Op::Assign(_) => TicketAction::Assign,
            Op::Accept => TicketAction::Accept,
            Op::Return | Op::Resolve | Op::Reopen => TicketAction::ChangeStatus,
            Op::Transfer { .. } => TicketAction::Transfer,
            Op::Archive => TicketAction::Archive,
            Op::Delete => TicketAction::Delete,
        }
    }
}

/// A decided mutation: the change, and whether the live claim goes.
/// (Where the ticket went follows from the `Op` itself.)
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    pub change: Change,
    /// The live claim is released (reason `moved`).
    pub release: bool,
}

/// Decides `op` by `by` on `ticket`. An `Assign` to the current state is a
/// no-op: the mutation's change records nothing.
pub fn mutate(
    ticket: Option<&Ticket>,
    by: &Agent,
    op: &Op,
    facts: &Facts,
) -> Result<Mutation, Refusal> {
    let before = authorize(ticket, by, op.action())?;
    if *op == Op::Accept && (before.status != Status::Pending || before.assignee.is_some()) {
        // The race's losers learn it was accepted, whatever the winner did next.
        let by = before.assignee.map(|a| facts.roster.agent_ref(a));
        return Err(ConflictReason::AlreadyAccepted { by }.into());
    }
    check_collisions(before, by, facts)?;
    let mut after = before.clone();
    after.updated_at = facts.now;
    let entry = |action| HistoryEntry::new(Some(by.id), action, facts.now);
    let status_changed = |after: &Ticket| {
        entry(HistoryAction::StatusChanged)
            .with("from", before.status.as_str())
            .with("to", after.status.as_str())
    };
    let mutation = |after, history, release| Mutation {
        change: Change {
            history: vec![history],
            ..Change::of(after)
        },
        release,
    };
    let mut decided = match op {
        Op::Assign(target) => {
            if let Some(agent) = target {
                assignable(*agent, &after, facts, ConflictReason::CannotBeAssigned)?;
            }
            after.set_assignee(*target);
            if after.assignee == before.assignee && after.status == before.status {
                // Already so: nothing to decide, record or announce.
                return Ok(Mutation {
                    change: Change::of(before.clone()),
                    release: false,
                });
            }
            let history = match target {
                Some(agent) => entry(HistoryAction::Assigned).with("agent", agent.to_string()),
                None => entry(HistoryAction::Unassigned),
            }
            .with("previous", before.assignee.map(|a| a.to_string()))
            .with("status", after.status.as_str());
            let away = target.is_some_and(|a| facts.claim.is_some_and(|c| c != a));
            mutation(after, history, away)
        }
        Op::Accept => {
            after.set_assignee(Some(by.id)); // pending and unassigned: checked first
            let history = entry(HistoryAction::Accepted).with("agent", by.id.to_string());
            mutation(after, history, false)
        }
        Op::Return => {
            if before.status == Status::Pending && before.assignee.is_none() {
                return Err(ConflictReason::AlreadyPending.into());
            }
            after.assignee = None;
            after.status = Status::Pending;
            let history = entry(HistoryAction::Returned)
                .with("previous", before.assignee.map(|a| a.to_string()));
            mutation(after, history, true)
        }
        Op::Transfer { agent, inbox } => {
            transfer(&mut after, *agent, *inbox, facts)?;
            if after.inbox == before.inbox && after.assignee == before.assignee {
                return Err(ConflictReason::AlreadyThere.into());
            }
            let history = entry(HistoryAction::Transferred)
                .with("from_inbox", before.inbox.to_string())
                .with("to_inbox", after.inbox.to_string())
                .with("agent", after.assignee.map(|a| a.to_string()));
            mutation(after, history, true)
        }
        Op::Resolve => {
            if !matches!(before.status, Status::Pending | Status::WorkingOn) {
                return Err(ConflictReason::NotResolvable.into());
            }
            after.status = Status::Resolved;
            mutation(after.clone(), status_changed(&after), true)
        }
        Op::Reopen => {
            if !matches!(before.status, Status::Resolved | Status::Archived) {
                return Err(ConflictReason::NotReopenable.into());
            }
            after.status = after.reopened_status();
            mutation(after.clone(), status_changed(&after), false)
        }
        Op::Archive => {
            if before.status == Status::Archived {
                return Err(ConflictReason::AlreadyArchived.into());
            }
            after.status = Status::Archived;
            mutation(after.clone(), status_changed(&after), true)
        }
        Op::Delete => {
            after.deleted = true;
            after.lock = None;
            mutation(after, entry(HistoryAction::Deleted), true)
        }
    };
    // A new assignee is told (unless it assigned itself).
    let after = &decided.change.after;
    if let Some(assignee) = after
        .assignee
        .filter(|a| Some(*a) != before.assignee && *a != by.id)
    {
        let kind = NotificationKind::Assigned {
            by_name: by.name.clone(),
        };
        let notification = Notification::about(after, assignee, kind, Some(by.id), facts.now);
        decided.change.notifications.push(notification);
    }
    Ok(decided)
}

/// Checks that `agent` exists and may be given `ticket` as it is after the move.
fn assignable(
    agent: AgentId,
    ticket: &Ticket,
    facts: &Facts,
    otherwise: ConflictReason,
) -> Result<(), Refusal> {
    match facts.roster.agent(agent) {
        Some(a) if can_be_assigned(&a, ticket.scope()) => Ok(()),
        Some(_) => Err(otherwise.into()),
        None => Err(Refusal::invalid("no such agent")),
    }
}

/// Moves `after` to `inbox` and/or `agent`. An assignee that the move does
/// not name keeps the ticket only if it can still see it in its new inbox.
fn transfer(
    after: &mut Ticket,
    agent: Option<AgentId>,
    inbox: Option<InboxId>,
    facts: &Facts,
) -> Result<(), Refusal> {
    if agent.is_none() && inbox.is_none() {
        return Err(Refusal::invalid(
            "transfer needs an agent, an inbox or both",
        ));
    }
    if let Some(inbox) = inbox {
        facts
            .roster
            .inbox(inbox)
            .ok_or_else(|| Refusal::invalid("no such inbox"))?;
        after.inbox = inbox;
    }
    match agent {
        Some(agent) => {
            assignable(agent, after, facts, ConflictReason::CannotWorkThere)?;
            after.set_assignee(Some(agent));
        }
        None => {
            let lost = after.assignee.is_some_and(|assignee| {
                !facts
                    .roster
                    .agent(assignee)
                    .is_some_and(|a| can_be_assigned(&a, after.scope()))
            });
            if lost {
                after.set_assignee(None);
            }
        }
    }
    Ok(())
}
