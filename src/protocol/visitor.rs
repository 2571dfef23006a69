//! The visitor socket's frames and objects (docs/protocol.md §9.6): its own
//! frame set, never the agent one. Everything a visitor sees is built here,
//! from the few public parts of a ticket: no agent ids, notes, drafts,
//! presence, history or assignment.

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::channel::Channel;
use crate::domain::message::{Message, MessageKind};
use crate::domain::ticket::{Status, Ticket};
use crate::domain::visitor::Visitor;
use crate::domain::{MessageId, TicketId, VisitorId};

/// A verified identity as the site sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub identifier_hash: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorFrame {
    Hello {
        channel: String,
        #[serde(default)]
        visitor_token: Option<String>,
        #[serde(default)]
        identity: Option<IdentityDto>,
        #[serde(default)]
        last_message: Option<MessageId>,
        #[serde(default)]
        hidden: bool,
    },
    Message {
        body: String,
        client_id: String,
    },
    Typing {
        typing: bool,
    },
    Read {
        conversation: TicketId,
        message: MessageId,
    },
    Contact {
        email: String,
        #[serde(default)]
        name: Option<String>,
    },
    Visibility {
        hidden: bool,
    },
    Ping,
}

/// A parsed visitor frame with its `ref`, or why it could not be parsed.
#[derive(Debug)]
pub struct VisitorIncoming {
    pub reference: Option<Value>,
    pub frame: Result<VisitorFrame, String>,
}

impl VisitorIncoming {
    pub fn parse(text: &str) -> VisitorIncoming {
        let (reference, frame) = super::frames::parse_tagged(text);
        VisitorIncoming {
            reference,
            frame: frame.and_then(|v| VisitorFrame::deserialize(v).map_err(|e| e.to_string())),
        }
    }
}

/// A conversation's status as a visitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Resolved,
    Closed,
}

impl ConversationStatus {
    pub fn of(status: Status) -> ConversationStatus {
        match status {
            Status::Pending | Status::WorkingOn => ConversationStatus::Open,
            Status::Resolved => ConversationStatus::Resolved,
            Status::Archived => ConversationStatus::Closed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Visitor,
    Agent,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitorMessageDto {
    pub id: MessageId,
    pub kind: MessageKind,
    pub author: Author,
    pub body: String,
    pub signature: Option<String>,
    pub created_at: String,
    pub client_id: Option<String>,
}

impl VisitorMessageDto {
    /// A public message (see `Message::is_public`) as its visitor sees it.
    pub fn new(m: &Message) -> VisitorMessageDto {
        VisitorMessageDto {
            id: m.id,
            kind: m.kind,
            author: match m.kind {
                MessageKind::Customer => Author::Visitor,
                _ => Author::Agent,
            },
            body: m.body.clone(),
            signature: m.signature.clone(),
            created_at: m.created_at.to_rfc3339(),
            client_id: m.client_id.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationDto {
    pub id: TicketId,
    pub status: ConversationStatus,
    pub created_at: String,
    pub messages: Vec<VisitorMessageDto>,
    /// The newest of the visitor's messages an agent has read.
    pub read: Option<MessageId>,
}

impl ConversationDto {
    /// `messages` must be public messages of `t`.
    pub fn new(t: &Ticket, messages: Vec<VisitorMessageDto>) -> ConversationDto {
        ConversationDto {
            id: t.id,
            status: ConversationStatus::of(t.status),
            created_at: t.created_at.to_rfc3339(),
            messages,
            read: read_mark(t),
        }
    }
}

/// The newest customer message an agent has read, if any has.
pub fn read_mark(t: &Ticket) -> Option<MessageId> {
    if t.read_by.is_empty() {
        return None;
    }
    t.chat.as_ref().and_then(|c| c.last_customer_message)
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitorDto {
    pub id: VisitorId,
    pub name: String,
    pub email: Option<String>,
}

impl From<&Visitor> for VisitorDto {
    fn from(v: &Visitor) -> Self {
        VisitorDto {
            id: v.id,
            name: v.name.clone(),
            email: v.email.clone(),
        }
    }
}

/// What the widget shows of its channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelInfoDto {
    pub name: String,
    pub greeting: Option<String>,
    pub offline_message: Option<String>,
    pub require_identity: bool,
}

impl From<&Channel> for ChannelInfoDto {
    fn from(c: &Channel) -> Self {
        ChannelInfoDto {
            name: c.name.clone(),
            greeting: c.greeting.clone(),
            offline_message: c.offline_message.clone(),
            require_identity: c.require_identity,
        }
    }
}

/// Who is typing, as a visitor sees it: a name, or nobody in particular.
#[derive(Debug, Clone, Serialize)]
pub struct TypingAgent {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorServerFrame {
    Welcome {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        visitor_token: String,
        visitor: VisitorDto,
        conversations: Vec<ConversationDto>,
        online: bool,
        channel: ChannelInfoDto,
    },
    Message {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        conversation: TicketId,
        message: VisitorMessageDto,
    },
    Typing {
        conversation: TicketId,
        agent: Option<TypingAgent>,
        typing: bool,
    },
    Availability {
        online: bool,
    },
    Read {
        conversation: TicketId,
        message: MessageId,
    },
    Conversation {
        conversation: ConversationDto,
    },
    Contact {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        visitor: VisitorDto,
    },
}

impl VisitorServerFrame {
    /// The frame's JSON, serialized once.
    pub fn encode(&self) -> ByteString {
        ByteString::from(serde_json::to_string(self).expect("visitor frames always serialize"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_visitor_frames_only() {
        let hello = VisitorIncoming::parse(
            r#"{"type":"hello","channel":"ck_1","visitor_token":null,"identity":null,"ref":3}"#,
        );
        assert!(matches!(hello.frame, Ok(VisitorFrame::Hello { .. })));
        assert_eq!(hello.reference, Some(Value::from(3)));
        // Agent frames are not visitor frames.
        let agent = VisitorIncoming::parse(r#"{"type":"subscribe","inbox":"x","ref":1}"#);
        assert!(agent.frame.unwrap_err().contains("unknown variant"));
        assert!(
            VisitorIncoming::parse(r#"{"type":"message","body":"x"}"#)
                .frame
                .is_err()
        );
        assert!(VisitorIncoming::parse("[]").frame.is_err());
    }
}
