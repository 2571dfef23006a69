//! Wire objects of docs/protocol.md "Objects", built from domain values plus
//! agents' current names (looked up through [`Names`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::agent::Names;
use crate::domain::draft::Draft;
use crate::domain::history::HistoryEntry;
use crate::domain::message::{Message, MessageKind, MessageState};
use crate::domain::notification::Notification;
use crate::domain::presence::Presence;
use crate::domain::settings::Settings;
use crate::domain::ticket::{Customer, Lock, Ticket};
use crate::domain::{Agent, AgentId, Inbox, InboxId, MessageId, TicketId};

#[derive(Debug, Clone, Serialize)]
pub struct AgentDto {
    pub id: AgentId,
    pub handle: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub inboxes: Vec<InboxId>,
    pub disabled: bool,
}

/// What every agent may know of a colleague: enough to @mention, assign,
/// share with or recognise them (no e-mail, no memberships).
#[derive(Debug, Clone, Serialize)]
pub struct ColleagueDto {
    pub id: AgentId,
    pub handle: String,
    pub name: String,
    pub role: &'static str,
}

impl From<&Agent> for ColleagueDto {
    fn from(a: &Agent) -> Self {
        ColleagueDto {
            id: a.id,
            handle: a.handle.clone(),
            name: a.name.clone(),
            role: a.role.as_str(),
        }
    }
}

impl From<&Agent> for AgentDto {
    fn from(a: &Agent) -> Self {
        AgentDto {
            id: a.id,
            handle: a.handle.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            role: a.role.as_str(),
            inboxes: a.inboxes.clone(),
            disabled: a.disabled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRef {
    pub id: AgentId,
    pub name: String,
}

impl AgentRef {
    /// The agent's current name; an agent unknown to `names` shows its id.
    pub fn lookup(names: &impl Names, id: AgentId) -> AgentRef {
        let name = names.agent_name(id).unwrap_or_else(|| id.to_string());
        AgentRef { id, name }
    }

    pub fn of(agent: &Agent) -> AgentRef {
        AgentRef {
            id: agent.id,
            name: agent.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxDto {
    pub id: InboxId,
    pub name: String,
}

impl From<&Inbox> for InboxDto {
    fn from(i: &Inbox) -> Self {
        InboxDto {
            id: i.id,
            name: i.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CustomerDto {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketDto {
    pub id: TicketId,
    pub number: u64,
    pub inbox: InboxId,
    pub subject: String,
    pub customer: CustomerDto,
    pub status: &'static str,
    pub assignee: Option<AgentId>,
    pub tags: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
    pub unread: bool,
}

impl TicketDto {
    /// The ticket as `caller` sees it (`unread` is per caller).
    pub fn for_caller(t: &Ticket, caller: AgentId) -> TicketDto {
        TicketDto::with_unread(t, t.is_unread_for(caller))
    }

    pub fn with_unread(t: &Ticket, unread: bool) -> TicketDto {
        let Customer { name, contact } = &t.customer;
        TicketDto {
            id: t.id,
            number: t.number,
            inbox: t.inbox,
            subject: t.subject.clone(),
            customer: CustomerDto {
                name: name.clone(),
                contact: contact.clone(),
            },
            status: t.status.as_str(),
            assignee: t.assignee,
            tags: t.tags.clone(),
            fields: t.fields.clone(),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
            unread,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageDto {
    pub id: MessageId,
    pub ticket: TicketId,
    pub kind: &'static str,
    pub author: Option<AgentRef>,
    pub body: String,
    pub mentions: Vec<AgentRef>,
    pub created_at: String,
    pub state: &'static str,
    pub send_at: Option<String>,
    pub signature: Option<String>,
}

impl MessageDto {
    pub fn new(m: &Message, directory: &impl Names) -> MessageDto {
        MessageDto {
            id: m.id,
            ticket: m.ticket,
            kind: match m.kind {
                MessageKind::Customer => "customer",
                MessageKind::Reply => "reply",
                MessageKind::Note => "note",
            },
            author: m.author.map(|a| AgentRef::lookup(directory, a)),
            body: m.body.clone(),
            mentions: m
                .mentions
                .iter()
                .map(|a| AgentRef::lookup(directory, *a))
                .collect(),
            created_at: m.created_at.to_rfc3339(),
            state: match m.state {
                MessageState::Sent => "sent",
                MessageState::Scheduled => "scheduled",
            },
            send_at: m.send_at.map(|t| t.to_rfc3339()),
            signature: m.signature.clone(),
        }
    }
}

/// A mention that added nobody, and why (`author_cannot_add_followers`, `no_access`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedMention {
    pub handle: String,
    pub reason: &'static str,
}

/// The answer to posting a message: the Message plus `skipped_mentions`.
#[derive(Debug, Clone, Serialize)]
pub struct PostedMessageDto {
    #[serde(flatten)]
    pub message: MessageDto,
    pub skipped_mentions: Vec<SkippedMention>,
}

/// `TicketDetail`: the ticket plus everything a ticket view shows.
#[derive(Debug, Clone, Serialize)]
pub struct TicketDetailDto {
    #[serde(flatten)]
    pub ticket: TicketDto,
    pub messages: Vec<MessageDto>,
    /// Every agent who wrote a reply or note, in order of their first message.
    pub participants: Vec<AgentRef>,
    pub followers: Vec<AgentRef>,
    pub shared_with: Vec<AgentRef>,
    pub drafts: Vec<DraftDto>,
    pub lock: Option<LockDto>,
    pub claim: Option<ClaimDto>,
    pub viewers: Vec<ViewerDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimDto {
    pub agent: AgentRef,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewerDto {
    pub id: AgentId,
    pub name: String,
    pub hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockDto {
    pub agent: AgentRef,
    pub since: String,
    pub expires_at: Option<String>,
}

impl LockDto {
    pub fn new(lock: &Lock, directory: &impl Names) -> LockDto {
        LockDto {
            agent: AgentRef::lookup(directory, lock.agent),
            since: lock.since.to_rfc3339(),
            expires_at: lock.expires_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// `Draft` (plus `outdated`: written before the newest customer message).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftDto {
    pub agent: AgentRef,
    pub kind: &'static str,
    pub body: String,
    pub updated_at: String,
    pub outdated: bool,
}

impl DraftDto {
    pub fn new(draft: &Draft, ticket: &Ticket, directory: &impl Names) -> DraftDto {
        DraftDto {
            agent: AgentRef::lookup(directory, draft.agent),
            kind: draft.kind.as_str(),
            body: draft.body.clone(),
            updated_at: draft.updated_at.to_rfc3339(),
            outdated: draft.is_outdated(ticket.last_customer_message_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketRefDto {
    pub id: TicketId,
    pub number: u64,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotificationDto {
    pub id: uuid::Uuid,
    pub kind: Value,
    pub ticket: TicketRefDto,
    pub by: Option<AgentRef>,
    pub text: String,
    pub created_at: String,
    pub read: bool,
}

impl NotificationDto {
    pub fn new(n: &Notification, directory: &impl Names) -> NotificationDto {
        NotificationDto {
            id: n.id,
            kind: serde_json::to_value(n.kind).expect("kinds serialize"),
            ticket: TicketRefDto {
                id: n.ticket,
                number: n.ticket_number,
                subject: n.ticket_subject.clone(),
            },
            by: n.by.map(|a| AgentRef::lookup(directory, a)),
            text: n.text.clone(),
            created_at: n.created_at.to_rfc3339(),
            read: n.read,
        }
    }
}

/// `Presence`: the whole live state of one ticket (claim, viewers, lock).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresenceDto {
    pub ticket: TicketId,
    pub number: u64,
    pub claim: Option<ClaimDto>,
    pub viewers: Vec<ViewerDto>,
    pub lock: Option<LockDto>,
}

impl PresenceDto {
    pub fn new(ticket: &Ticket, presence: &Presence, directory: &impl Names) -> PresenceDto {
        PresenceDto {
            ticket: ticket.id,
            number: ticket.number,
            claim: presence.claim().map(|c| ClaimDto {
                agent: AgentRef::lookup(directory, c.agent),
                since: c.since.to_rfc3339(),
            }),
            viewers: presence
                .viewers()
                .into_iter()
                .map(|v| ViewerDto {
                    id: v.agent,
                    name: AgentRef::lookup(directory, v.agent).name,
                    hidden: v.hidden,
                })
                .collect(),
            lock: ticket.lock.as_ref().map(|l| LockDto::new(l, directory)),
        }
    }

    /// Nothing live on the ticket: it drops out of snapshots.
    pub fn is_empty(&self) -> bool {
        self.claim.is_none() && self.viewers.is_empty() && self.lock.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntryDto {
    pub at: String,
    pub actor: Option<AgentRef>,
    pub action: Value,
    pub detail: Map<String, Value>,
}

impl HistoryEntryDto {
    pub fn new(e: &HistoryEntry, directory: &impl Names) -> HistoryEntryDto {
        HistoryEntryDto {
            at: e.at.to_rfc3339(),
            actor: e.actor.map(|a| AgentRef::lookup(directory, a)),
            action: serde_json::to_value(e.action).expect("actions serialize"),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingsDto {
    pub ticket_sharing_enabled: bool,
    pub sign_replies: bool,
    pub hard_lock_auto_unlock_s: Option<Value>,
    pub hidden_release_s: Value,
    pub reconnect_grace_s: Value,
}

impl From<&Settings> for SettingsDto {
    fn from(s: &Settings) -> Self {
        SettingsDto {
            ticket_sharing_enabled: s.ticket_sharing_enabled,
            sign_replies: s.sign_replies,
            hard_lock_auto_unlock_s: s.hard_lock_auto_unlock_ms.map(seconds),
            hidden_release_s: seconds(s.hidden_release_ms),
            reconnect_grace_s: seconds(s.reconnect_grace_ms),
        }
    }
}

/// Milliseconds as a JSON number of seconds: an integer when whole.
pub fn seconds(ms: u64) -> Value {
    if ms.is_multiple_of(1000) {
        Value::from(ms / 1000)
    } else {
        Value::from(ms as f64 / 1000.0)
    }
}
