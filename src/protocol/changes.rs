//! What changed, as the wire names it: the `action` of `ticket` frames, the
//! `action`, destination and `note` of `ticket_moved`, and the `kind` of `presence`
//! changes (docs/protocol.md "Moving tickets" and "presence").

use serde::Serialize;

use super::dto::AgentRef;
use super::frames::MovedTo;
use crate::domain::decisions::Op;
use crate::domain::{AgentId, InboxId};

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

/// How a workflow step moves the ticket out of the lists it was in: the
/// `ticket_moved` frame's action, and who or where it went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub action: MoveAction,
    /// The agent it went to (assigned, accepted, transferred to).
    pub agent: Option<AgentId>,
    /// The inbox it was transferred to.
    pub inbox: Option<InboxId>,
}

impl Move {
    /// The move `op` by `by` makes; `None` if the ticket stays in its lists
    /// (reopening, unassigning).
    pub fn of(op: &Op, by: AgentId) -> Option<Move> {
        let to = |action, agent, inbox| {
            Some(Move {
                action,
                agent,
                inbox,
            })
        };
        match *op {
            Op::Assign(Some(agent)) => to(MoveAction::Assigned, Some(agent), None),
            Op::Accept => to(MoveAction::Assigned, Some(by), None),
            Op::Transfer { agent, inbox } => to(MoveAction::Transferred, agent, inbox),
            Op::Return => to(MoveAction::Returned, None, None),
            Op::Resolve => to(MoveAction::Resolved, None, None),
            Op::Archive => to(MoveAction::Archived, None, None),
            Op::Delete => to(MoveAction::Deleted, None, None),
            Op::Assign(None) | Op::Reopen => None,
        }
    }

    /// `ticket_moved.note`: what happened, in words, e.g. "Transferred to
    /// Billing by Ana". `to`: this move's agent and inbox with their names;
    /// `accepted`: the agent took the ticket itself.
    pub fn note(&self, accepted: bool, to: &MovedTo, by: &AgentRef) -> String {
        let agent = to.agent.as_ref().map(|a| a.name.as_str());
        let inbox = to.inbox.as_ref().map(|i| i.name.as_str());
        let what = match self.action {
            MoveAction::Assigned if accepted => "Accepted".to_owned(),
            MoveAction::Assigned => format!("Assigned to {}", agent.unwrap_or_default()),
            MoveAction::Transferred => match (agent, inbox) {
                (Some(a), Some(i)) => format!("Transferred to {a} in {i}"),
                (Some(place), None) | (None, Some(place)) => format!("Transferred to {place}"),
                (None, None) => "Transferred".to_owned(),
            },
            MoveAction::Returned => "Returned to Pending".to_owned(),
            MoveAction::Resolved => "Resolved".to_owned(),
            MoveAction::Archived => "Archived".to_owned(),
            MoveAction::Deleted => "Deleted".to_owned(),
        };
        format!("{what} by {}", by.name)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::dto::InboxDto;

    #[test]
    fn every_move_has_its_action_and_note() {
        let (ana, sam) = (AgentId::new(), AgentId::new());
        let sales = InboxId::new();
        let by = AgentRef {
            id: ana,
            name: "Ana".into(),
        };
        let names = |m: &Move| MovedTo {
            agent: m.agent.map(|id| AgentRef {
                id,
                name: if id == ana { "Ana" } else { "Sam" }.into(),
            }),
            inbox: m.inbox.map(|id| InboxDto {
                id,
                name: "Sales".into(),
            }),
        };
        let transfer = |agent, inbox| Op::Transfer { agent, inbox };
        let cases = [
            (Op::Accept, MoveAction::Assigned, "Accepted by Ana"),
            (
                Op::Assign(Some(sam)),
                MoveAction::Assigned,
                "Assigned to Sam by Ana",
            ),
            (
                Op::Return,
                MoveAction::Returned,
                "Returned to Pending by Ana",
            ),
            (
                transfer(Some(sam), Some(sales)),
                MoveAction::Transferred,
                "Transferred to Sam in Sales by Ana",
            ),
            (
                transfer(Some(sam), None),
                MoveAction::Transferred,
                "Transferred to Sam by Ana",
            ),
            (
                transfer(None, Some(sales)),
                MoveAction::Transferred,
                "Transferred to Sales by Ana",
            ),
            (Op::Resolve, MoveAction::Resolved, "Resolved by Ana"),
            (Op::Archive, MoveAction::Archived, "Archived by Ana"),
            (Op::Delete, MoveAction::Deleted, "Deleted by Ana"),
        ];
        for (op, action, note) in cases {
            let moved = Move::of(&op, ana).expect("a move");
            assert_eq!(moved.action, action, "{op:?}");
            assert_eq!(moved.note(op == Op::Accept, &names(&moved), &by), note);
        }
        assert_eq!(
            Move::of(&Op::Accept, ana).unwrap().agent,
            Some(ana),
            "who accepted"
        );
        assert_eq!(Move::of(&Op::Reopen, ana), None);
        assert_eq!(Move::of(&Op::Assign(None), ana), None);
    }
}
