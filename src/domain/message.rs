//! Messages of a ticket: what the customer wrote, public replies and internal notes.

use serde::{Deserialize, Serialize};

use super::email::{Attachment, Delivery, MessageEmail};
use super::{AgentId, MessageId, TicketId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Customer,
    Reply,
    Note,
}

impl MessageKind {
    pub fn parse(text: &str) -> Option<MessageKind> {
        match text {
            "customer" => Some(MessageKind::Customer),
            "reply" => Some(MessageKind::Reply),
            "note" => Some(MessageKind::Note),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Sent,
    Scheduled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub ticket: TicketId,
    pub kind: MessageKind,
    /// `None` for customer messages.
    pub author: Option<AgentId>,
    pub body: String,
    #[serde(default)]
    pub mentions: Vec<AgentId>,
    pub created_at: Timestamp,
    pub state: MessageState,
    #[serde(default)]
    pub send_at: Option<Timestamp>,
    /// The author's name as shown to the customer, when `sign_replies` was on at send time.
    #[serde(default)]
    pub signature: Option<String>,
    /// A scheduled reply is dropped at send time if another agent replied publicly after it was scheduled.
    #[serde(default)]
    pub cancel_if_replied: bool,
    /// The chat visitor's id of its message (resends with it are answered
    /// with this message, never stored twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The mail this message came in as, or goes out as (e-mail tickets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<MessageEmail>,
    /// Files that came with the customer's mail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// A reply's way to the customer's mailbox (e-mail tickets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

impl Message {
    /// A customer message, sent at `at`.
    pub fn customer(
        ticket: TicketId,
        body: String,
        at: Timestamp,
        client_id: Option<String>,
    ) -> Message {
        Message {
            id: MessageId::new(),
            ticket,
            kind: MessageKind::Customer,
            author: None,
            body,
            mentions: Vec::new(),
            created_at: at,
            state: MessageState::Sent,
            send_at: None,
            signature: None,
            cancel_if_replied: false,
            client_id,
            email: None,
            attachments: Vec::new(),
            delivery: None,
        }
    }

    /// Whether a chat visitor may see this message: sent customer messages and replies.
    pub fn is_public(&self) -> bool {
        self.state == MessageState::Sent && self.kind != MessageKind::Note
    }
}
