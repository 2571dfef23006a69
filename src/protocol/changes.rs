//! What changed, as the wire names it: the `action` of `ticket` frames, the
//! `action` and `note` of `ticket_moved`, and the `kind` of `presence`
//! changes (docs/protocol.md "Moving tickets" and "presence").

use serde::Serialize;

use super::dto::AgentRef;
use super::frames::MovedTo;
use crate::domain::decisions::Op;

/// `ticket.change.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Created,
    /// Subject, tags or fields.
    Updated,
    Message,
    Assigned,
    Unassigned,
    Accepted,
    Returned,
    Transferred,
    StatusChanged,
    Deleted,
    /// The caller's own read mark (sent to its sessions only).
    Read,
    Unread,
}

impl From<&Op> for ChangeAction {
    fn from(op: &Op) -> Self {
        match op {
            Op::Assign(Some(_)) => ChangeAction::Assigned,
            Op::Assign(None) => ChangeAction::Unassigned,
            Op::Accept => ChangeAction::Accepted,
            Op::Return => ChangeAction::Returned,
            Op::Transfer { .. } => ChangeAction::Transferred,
            Op::Resolve | Op::Reopen | Op::Archive => ChangeAction::StatusChanged,
            Op::Delete => ChangeAction::Deleted,
        }
    }
}

/// `ticket_moved.action`: how the ticket left the lists it was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveAction {
    Assigned,
    Returned,
    Transferred,
    Resolved,
    Archived,
    Deleted,
}

impl MoveAction {
    /// The move `op` makes, if it moves the ticket at all.
    pub fn of(op: &Op) -> Option<MoveAction> {
        Some(match op {
            Op::Assign(Some(_)) | Op::Accept => MoveAction::Assigned,
            Op::Return => MoveAction::Returned,
            Op::Transfer { .. } => MoveAction::Transferred,
            Op::Resolve => MoveAction::Resolved,
            Op::Archive => MoveAction::Archived,
            Op::Delete => MoveAction::Deleted,
            Op::Assign(None) | Op::Reopen => return None,
        })
    }
}

/// `ticket_moved.note`: what happened, in words, e.g. "Transferred to Billing by Ana".
pub fn moved_note(op: &Op, to: &MovedTo, by: &AgentRef) -> String {
    let what = match op {
        Op::Accept => "Accepted".to_owned(),
        Op::Assign(_) => format!(
            "Assigned to {}",
            to.agent.as_ref().map_or("nobody", |a| a.name.as_str())
        ),
        Op::Return => "Returned to Pending".to_owned(),
        Op::Transfer { .. } => {
            let place = match (&to.agent, &to.inbox) {
                (Some(a), Some(i)) => format!("{} in {}", a.name, i.name),
                (Some(a), None) => a.name.clone(),
                (None, Some(i)) => i.name.clone(),
                (None, None) => "nowhere".to_owned(),
            };
            format!("Transferred to {place}")
        }
        Op::Resolve => "Resolved".to_owned(),
        Op::Reopen => "Reopened".to_owned(),
        Op::Archive => "Archived".to_owned(),
        Op::Delete => "Deleted".to_owned(),
    };
    format!("{what} by {}", by.name)
}

/// `presence.change.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceKind {
    Claimed,
    Released,
    ViewerJoined,
    ViewerLeft,
    ViewerHidden,
    ViewerShown,
    Locked,
    Unlocked,
}
