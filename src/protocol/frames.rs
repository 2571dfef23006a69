//! WebSocket frames (docs/protocol.md "WebSocket").
//!
//! Client frames are parsed in two steps so an error can echo the frame's
//! `ref`: first as JSON, then as a typed [`ClientFrame`]. Server frames are
//! serialized once into a [`ByteString`] that is shared by every recipient.

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::changes::{ChangeAction, MoveAction, PresenceKind};
use super::dto::{
    AgentDto, AgentRef, DraftDto, InboxDto, MessageDto, NotificationDto, PresenceDto, TicketDto,
};
use crate::domain::draft::DraftKind;
use crate::domain::presence::ReleaseReason;
use crate::domain::{InboxId, SessionId, TicketId};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello {
        token: String,
        #[serde(default)]
        resume: Option<SessionId>,
    },
    Subscribe {
        inbox: InboxId,
    },
    Leave,
    Open {
        ticket: TicketId,
        #[serde(default)]
        take_over: bool,
    },
    Close {
        ticket: TicketId,
    },
    ForceRelease {
        ticket: TicketId,
    },
    Visibility {
        hidden: bool,
    },
    Draft {
        ticket: TicketId,
        kind: DraftKind,
        body: String,
    },
    Ping,
}

/// A parsed client frame with its `ref`, or why it could not be parsed.
#[derive(Debug)]
pub struct Incoming {
    pub reference: Option<Value>,
    pub frame: Result<ClientFrame, String>,
}

impl Incoming {
    pub fn parse(text: &str) -> Incoming {
        let (reference, frame) = parse_tagged(text);
        Incoming {
            reference,
            frame: frame.and_then(|v| ClientFrame::deserialize(v).map_err(|e| e.to_string())),
        }
    }
}

/// The first step of parsing a client frame (agent or visitor): the JSON, its
/// `ref` (a string or number), and the value if it has a string `type`.
pub(super) fn parse_tagged(text: &str) -> (Option<Value>, Result<Value, String>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return (None, Err(format!("invalid JSON: {e}"))),
    };
    let reference = value
        .get("ref")
        .filter(|r| r.is_string() || r.is_number())
        .cloned();
    let frame = match value.get("type") {
        None => Err("missing field `type`".to_owned()),
        Some(Value::String(_)) => Ok(value),
        Some(_) => Err("`type` must be a string".to_owned()),
    };
    (reference, frame)
}

/// What changed in a `ticket` frame.
#[derive(Debug, Clone, Serialize)]
pub struct TicketChange {
    pub action: ChangeAction,
    pub by: Option<AgentRef>,
}

/// What changed in a `presence` frame.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceChange {
    pub kind: PresenceKind,
    /// Whose claim, view or lock changed (for a release: the former holder).
    pub agent: AgentRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReleaseReason>,
    /// Who caused it, when someone else did (forced release, take-over, move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<AgentRef>,
}

/// Where a moved ticket went (`ticket_moved.to`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MovedTo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox: Option<InboxDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        session: SessionId,
        agent: AgentDto,
        resumed: bool,
        heartbeat_s: Value,
    },
    Snapshot {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        inbox: InboxId,
        presence: Vec<Value>,
    },
    Opened {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        ticket: TicketId,
        claimed: bool,
        presence: PresenceDto,
        drafts: Vec<DraftDto>,
    },
    Draft {
        ticket: TicketId,
        #[serde(flatten)]
        draft: DraftDto,
    },
    Notification {
        notification: NotificationDto,
    },
    AccessRevoked {
        ticket: TicketId,
    },
    /// A scheduled reply was cancelled or dropped before it was sent.
    MessageRemoved {
        ticket: TicketId,
        message: crate::domain::MessageId,
    },
    Presence {
        inbox: InboxId,
        #[serde(flatten)]
        presence: PresenceDto,
        change: PresenceChange,
    },
    ClaimLost {
        ticket: TicketId,
        by: Option<AgentRef>,
        reason: Option<ReleaseReason>,
    },
    Message {
        ticket: TicketId,
        message: MessageDto,
    },
    TicketMoved {
        inbox: InboxId,
        ticket: TicketId,
        number: u64,
        action: MoveAction,
        by: AgentRef,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<MovedTo>,
        note: String,
    },
    Ticket {
        inbox: InboxId,
        ticket: TicketDto,
        change: TicketChange,
    },
    Error {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        code: &'static str,
        message: String,
    },
    Pong {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    /// A chat visitor's live state, to the tabs viewing its ticket.
    Visitor {
        inbox: InboxId,
        ticket: TicketId,
        visitor: VisitorLiveDto,
    },
    /// How far a reply of an e-mail ticket got, to the tabs viewing it.
    Delivery {
        ticket: TicketId,
        message: crate::domain::MessageId,
        delivery: crate::protocol::dto::DeliveryDto,
    },
}

/// A chat visitor as the agents viewing its ticket see it.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorLiveDto {
    pub id: crate::domain::VisitorId,
    pub name: String,
    pub state: crate::domain::visitor::VisitorState,
    pub typing: bool,
    pub seen: Option<crate::domain::MessageId>,
}

impl ServerFrame {
    /// The frame's JSON, serialized once; clones share the bytes.
    pub fn encode(&self) -> ByteString {
        ByteString::from(serde_json::to_string(self).expect("server frames always serialize"))
    }

    /// The `notification` frame of a stored notification, encoded.
    pub fn notification(
        n: &crate::domain::notification::Notification,
        roster: &(impl crate::domain::agent::Roster + ?Sized),
    ) -> ByteString {
        ServerFrame::Notification {
            notification: NotificationDto::new(n, roster),
        }
        .encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_and_keeps_ref() {
        let inc = Incoming::parse(r#"{"type":"ping","ref":7}"#);
        assert_eq!(inc.frame, Ok(ClientFrame::Ping));
        assert_eq!(inc.reference, Some(Value::from(7)));
        let inc = Incoming::parse(r#"{"type":"leave","ref":"a"}"#);
        assert_eq!(inc.frame, Ok(ClientFrame::Leave));
    }

    #[test]
    fn reports_invalid_json_unknown_type_and_missing_fields() {
        assert!(
            Incoming::parse("{nope")
                .frame
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        let unknown = Incoming::parse(r#"{"type":"dance","ref":1}"#);
        assert!(unknown.frame.unwrap_err().contains("unknown variant"));
        assert_eq!(unknown.reference, Some(Value::from(1)));
        assert!(
            Incoming::parse(r#"{"type":"subscribe"}"#)
                .frame
                .unwrap_err()
                .contains("inbox")
        );
        assert!(Incoming::parse(r#"{"ref":1}"#).frame.is_err());
    }

    #[test]
    fn number_refs_come_back_as_the_same_number() {
        // serde_json's default float parsing is not exact: this ref used to come
        // back as 1.8744073709551697e21, which every client reads as another number.
        let inc = Incoming::parse(r#"{"type":"ping","ref":1874407370955169551616}"#);
        let pong: Value = serde_json::from_str(
            &ServerFrame::Pong {
                reference: inc.reference,
            }
            .encode(),
        )
        .unwrap();
        assert_eq!(
            pong["ref"].to_string().parse::<f64>(),
            Ok(1874407370955169551616.0)
        );
    }
}
