//! Notifications: stored per agent, delivered live to all its sessions.

use serde::{Deserialize, Serialize};

use super::ticket::Ticket;
use super::{AgentId, TicketId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Mention,
    Update,
    Assigned,
    Shared,
    Unshared,
    LockExpired,
    ScheduledCancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// v7: notifications of an agent sort by creation.
    pub id: uuid::Uuid,
    pub agent: AgentId,
    pub kind: NotificationKind,
    pub ticket: TicketId,
    pub ticket_number: u64,
    pub ticket_subject: String,
    pub by: Option<AgentId>,
    pub text: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub read: bool,
}

impl Notification {
    /// A new, unread notification for `agent` about `ticket`.
    pub fn about(
        ticket: &Ticket,
        agent: AgentId,
        kind: NotificationKind,
        by: Option<AgentId>,
        text: String,
        at: Timestamp,
    ) -> Notification {
        Notification {
            id: uuid::Uuid::now_v7(),
            agent,
            kind,
            ticket: ticket.id,
            ticket_number: ticket.number,
            ticket_subject: ticket.subject.clone(),
            by,
            text,
            created_at: at,
            read: false,
        }
    }
}
