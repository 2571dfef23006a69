//! Notifications: stored per agent, delivered live to all its sessions.
//!
//! A notification stores what happened and the parameters its sentence needs,
//! never the sentence: `protocol` makes the text where it is shown. Names are
//! stored as they were when it was created (like the ticket's number and
//! subject), so a later rename does not rewrite what an agent was told.

use serde::{Deserialize, Serialize};

use super::message::MessageKind;
use super::ticket::Ticket;
use super::{AgentId, TicketId, Timestamp, WebhookId};

/// What a notification is about, with what its text needs beyond the ticket.
/// Stored flat in the record, `kind` naming the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationKind {
    /// `by_name` mentioned the agent in a note.
    Mention { by_name: String },
    /// `author_name` posted a message of kind `message` on a followed ticket
    /// (for a `customer` message: the customer's name).
    Update {
        author_name: String,
        message: MessageKind,
    },
    /// `by_name` made the agent the assignee.
    Assigned { by_name: String },
    /// `by_name` shared the ticket with the agent.
    Shared { by_name: String },
    /// `by_name` stopped sharing the ticket with the agent.
    Unshared { by_name: String },
    /// The agent's lock on the ticket expired.
    LockExpired,
    /// The agent's scheduled reply was dropped at its due time.
    ScheduledCancelled { reason: ScheduledDropReason },
    /// The server disabled a webhook (to every admin): a delivery of an
    /// event of the ticket was answered `410`, or kept failing past the
    /// horizon. Its URL and description as they were then, and why.
    WebhookDisabled {
        webhook: WebhookId,
        url: String,
        description: Option<String>,
        reason: String,
    },
}

/// Why a scheduled reply is dropped at its due time instead of sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledDropReason {
    /// `cancel_if_replied`, and another agent replied after it was scheduled.
    AnotherAgentReplied,
    /// Its author may no longer reply on the ticket.
    AuthorMayNotReply,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// v7: notifications of an agent sort by creation.
    pub id: uuid::Uuid,
    pub agent: AgentId,
    #[serde(flatten)]
    pub kind: NotificationKind,
    pub ticket: TicketId,
    pub ticket_number: u64,
    pub ticket_subject: String,
    pub by: Option<AgentId>,
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
            created_at: at,
            read: false,
        }
    }
}
