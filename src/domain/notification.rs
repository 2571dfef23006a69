//! Notifications: stored per agent, delivered live to all its sessions.

use serde::{Deserialize, Serialize};

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
