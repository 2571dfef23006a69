//! WebSocket frames (docs/protocol.md "WebSocket").
//!
//! Client frames are parsed in two steps so an error can echo the frame's
//! `ref`: first as JSON, then as a typed [`ClientFrame`]. Server frames are
//! serialized once into a [`ByteString`] that is shared by every recipient.

use std::fmt::Write;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::changes::{ChangeAction, MoveAction, PresenceKind};
use super::dto::{AgentDto, AgentRef, DraftDto, InboxDto, MessageDto, NotificationDto, TicketDto};
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
        presence: Vec<Box<RawValue>>,
    },
    Opened {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        ticket: TicketId,
        claimed: bool,
        presence: Box<RawValue>,
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

    /// The `presence` frame of `change` in `inbox`: `{"type":"presence",
    /// "inbox":…, <the fields of presence>, "change":…}`. `presence` is the
    /// ticket's [`PresenceDto`](super::dto::PresenceDto), serialized once per decision
    /// ([`PresenceDto::to_json`](super::dto::PresenceDto::to_json)) and shared by every frame of the decision
    /// and by the inbox's snapshot cache, so a change costs one
    /// serialization of the presence, not one per frame and one more for
    /// the cache.
    pub fn presence(inbox: InboxId, presence: &RawValue, change: &PresenceChange) -> ByteString {
        let object = presence.get();
        let fields = object
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .expect("a presence serializes to an object");
        let change = serde_json::to_string(change).expect("a presence change serializes");
        let mut frame = String::with_capacity(object.len() + change.len() + 80);
        let _ = write!(
            frame,
            "{{\"type\":\"presence\",\"inbox\":\"{inbox}\",{fields}"
        );
        frame.push_str(",\"change\":");
        frame.push_str(&change);
        frame.push('}');
        ByteString::from(frame)
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

    #[test]
    fn a_presence_frame_is_what_serializing_the_whole_frame_gives() {
        use crate::domain::AgentId;
        use crate::protocol::changes::PresenceKind;
        use crate::protocol::dto::{ClaimDto, LockDto, PresenceDto, ViewerDto};

        /// The frame as it was serialized before it was spliced.
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Whole<'a> {
            Presence {
                inbox: InboxId,
                #[serde(flatten)]
                presence: &'a PresenceDto,
                change: &'a PresenceChange,
            },
        }
        let (ann, bob) = (AgentId::new(), AgentId::new());
        let agent_ref = |id, name: &str| AgentRef {
            id,
            name: name.into(),
        };
        let presence = PresenceDto {
            ticket: TicketId::new(),
            number: 7,
            claim: Some(ClaimDto {
                agent: agent_ref(ann, "Ann \"the\" Agent"),
                since: "2026-12-07T18:00:00Z".into(),
            }),
            viewers: vec![ViewerDto {
                id: bob,
                name: "Bob".into(),
                hidden: true,
            }],
            lock: Some(LockDto {
                agent: agent_ref(ann, "Ann \"the\" Agent"),
                since: "2026-12-07T18:01:00Z".into(),
                expires_at: Some("2026-12-07T18:31:00Z".into()),
            }),
        };
        let change = PresenceChange {
            kind: PresenceKind::Released,
            agent: agent_ref(bob, "Bob"),
            reason: Some(ReleaseReason::Forced),
            by: Some(agent_ref(ann, "Ann \"the\" Agent")),
        };
        let inbox = InboxId::new();
        let whole = serde_json::to_string(&Whole::Presence {
            inbox,
            presence: &presence,
            change: &change,
        })
        .unwrap();
        let spliced = ServerFrame::presence(inbox, &presence.to_json(), &change);
        assert_eq!(&*spliced, whole);
    }
}
