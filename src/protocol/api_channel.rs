//! The wire shapes an API channel's integration sees (docs/protocol.md
//! §9.9): its requests, its conversations and messages, and the `data` of
//! the reply callbacks. Only what a customer may see: never notes, drafts,
//! tags, fields, assignees or agents' ids.

use serde::{Deserialize, Serialize};

use crate::domain::api_channel::ApiConversation;
use crate::domain::message::{Message, MessageKind};
use crate::domain::ticket::Ticket;
use crate::domain::{MessageId, TicketId};
use crate::protocol::visitor::ConversationStatus;

/// `POST /api/channels/{id}/conversations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    /// The integration's id of the conversation (a phone number, a thread
    /// id…), unique within the channel: 1-200 characters.
    pub external_id: String,
    pub contact: ContactRequest,
    /// The ticket's subject; the contact's name if absent.
    #[serde(default)]
    pub subject: Option<String>,
}

/// The customer of a conversation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub name: String,
    /// How the integration reaches them (a phone number, a handle…).
    pub identifier: String,
}

/// `POST /api/channels/{id}/conversations/{external_id}/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostApiMessageRequest {
    pub body: String,
    /// The integration's id of the message, unique within the channel: the
    /// same one again is answered with the stored message.
    pub external_message_id: String,
}

/// A conversation as its integration sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiConversationDto {
    pub external_id: String,
    /// The ticket holding the conversation now (a message to a closed
    /// conversation opens a new one).
    pub ticket: TicketId,
    pub number: u64,
    #[schema(value_type = String, example = "open")]
    pub status: ConversationStatus,
    pub created_at: String,
}

impl ApiConversationDto {
    pub fn new(t: &Ticket, api: &ApiConversation) -> ApiConversationDto {
        ApiConversationDto {
            external_id: api.external_id.clone(),
            ticket: t.id,
            number: t.number,
            status: ConversationStatus::of(t.status),
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

/// A customer message or a public reply, as its integration sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiMessageDto {
    pub id: MessageId,
    /// `customer` or `reply`.
    pub kind: MessageKind,
    pub body: String,
    /// The agent's name under a reply, when the team signs replies.
    pub signature: Option<String>,
    /// A customer message's id in the integration.
    pub external_message_id: Option<String>,
    pub created_at: String,
}

impl ApiMessageDto {
    /// `m` must be public (a customer message or a sent reply).
    pub fn new(m: &Message) -> ApiMessageDto {
        ApiMessageDto {
            id: m.id,
            kind: m.kind,
            body: m.body.clone(),
            signature: m.signature.clone(),
            external_message_id: m.client_id.clone(),
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

/// The answer to a conversation being created (or found again).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationResponse {
    pub conversation: ApiConversationDto,
}

/// The answer to a message being stored (or found again).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiMessageResponse {
    pub conversation: ApiConversationDto,
    pub message: ApiMessageDto,
}
