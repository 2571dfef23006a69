//! Wire objects of docs/protocol.md "Objects", built from domain values plus the
//! names the [`Roster`] knows.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::notification::{self, NotificationKindDto};
pub use crate::domain::agent::AgentRef;
use crate::domain::agent::Roster;
use crate::domain::draft::{Draft, DraftKind};
use crate::domain::history::HistoryEntry;
use crate::domain::message::{Message, MessageKind, MessageState};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::presence::Presence;
use crate::domain::settings::Settings;
use crate::domain::ticket::{Customer, Lock, Status, Ticket};
use crate::domain::{Agent, AgentId, Inbox, InboxId, MessageId, Role, TicketId, WebhookId};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentDto {
    pub id: AgentId,
    pub handle: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub inboxes: Vec<InboxId>,
    pub disabled: bool,
}

/// What every agent may know of a colleague: enough to @mention, assign,
/// share with or recognise them (no e-mail, no memberships).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ColleagueDto {
    pub id: AgentId,
    pub handle: String,
    pub name: String,
    pub role: Role,
}

impl From<&Agent> for ColleagueDto {
    fn from(a: &Agent) -> Self {
        ColleagueDto {
            id: a.id,
            handle: a.handle.clone(),
            name: a.name.clone(),
            role: a.role,
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
            role: a.role,
            inboxes: a.inboxes.clone(),
            disabled: a.disabled,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerDto {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketDto {
    pub id: TicketId,
    pub number: u64,
    pub inbox: InboxId,
    pub subject: String,
    pub customer: CustomerDto,
    pub status: Status,
    pub assignee: Option<AgentId>,
    pub tags: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
    pub unread: bool,
    /// Where a chat or e-mail ticket came from (`null` for other tickets).
    pub channel: Option<SourceDto>,
}

/// A ticket's channel: a chat's visitor (docs/protocol.md §9.5), an
/// e-mail's participants (§9.7), or an API conversation's id (§9.9).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceDto {
    pub id: crate::domain::ChannelId,
    pub kind: crate::domain::channel::ChannelKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor: Option<crate::domain::VisitorId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<crate::domain::email::Mailbox>>,
    /// An API channel's id of the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl SourceDto {
    fn of(t: &Ticket) -> Option<SourceDto> {
        use crate::domain::channel::ChannelKind;
        if let Some(c) = &t.chat {
            return Some(SourceDto {
                id: c.channel,
                kind: ChannelKind::Chat,
                name: c.channel_name.clone(),
                visitor: Some(c.visitor),
                participants: None,
                external_id: None,
            });
        }
        if let Some(api) = &t.api {
            return Some(SourceDto {
                id: api.channel,
                kind: ChannelKind::Api,
                name: api.channel_name.clone(),
                visitor: None,
                participants: None,
                external_id: Some(api.external_id.clone()),
            });
        }
        t.email.as_ref().map(|e| SourceDto {
            id: e.channel,
            kind: ChannelKind::Email,
            name: e.channel_name.clone(),
            visitor: None,
            participants: Some(e.participants.clone()),
            external_id: None,
        })
    }
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
            status: t.status,
            assignee: t.assignee,
            tags: t.tags.clone(),
            fields: t.fields.clone(),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
            unread,
            channel: SourceDto::of(t),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageDto {
    pub id: MessageId,
    pub ticket: TicketId,
    pub kind: MessageKind,
    pub author: Option<AgentRef>,
    pub body: String,
    pub mentions: Vec<AgentRef>,
    pub created_at: String,
    pub state: MessageState,
    pub send_at: Option<String>,
    pub signature: Option<String>,
    /// The mail it came in or went out as (e-mail tickets), else `null`.
    pub email: Option<crate::domain::email::MessageEmail>,
    pub attachments: Vec<crate::domain::email::Attachment>,
    /// A reply's way to the customer's mailbox (e-mail tickets), else `null`.
    pub delivery: Option<DeliveryDto>,
}

/// docs/protocol.md §9.7, "Delivery".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryDto {
    pub state: crate::domain::email::DeliveryState,
    pub attempts: u32,
    pub error: Option<String>,
    pub updated_at: String,
    pub next_attempt_at: Option<String>,
}

impl From<&crate::domain::email::Delivery> for DeliveryDto {
    fn from(d: &crate::domain::email::Delivery) -> Self {
        DeliveryDto {
            state: d.state,
            attempts: d.attempts,
            error: d.error.clone(),
            updated_at: d.updated_at.to_rfc3339(),
            next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
        }
    }
}

impl MessageDto {
    pub fn new(m: &Message, roster: &(impl Roster + ?Sized)) -> MessageDto {
        MessageDto {
            id: m.id,
            ticket: m.ticket,
            kind: m.kind,
            author: m.author.map(|a| roster.agent_ref(a)),
            body: m.body.clone(),
            mentions: m.mentions.iter().map(|a| roster.agent_ref(*a)).collect(),
            created_at: m.created_at.to_rfc3339(),
            state: m.state,
            send_at: m.send_at.map(|t| t.to_rfc3339()),
            signature: m.signature.clone(),
            email: m.email.clone(),
            attachments: m.attachments.clone(),
            delivery: m.delivery.as_ref().map(DeliveryDto::from),
        }
    }
}

/// A mention that added nobody, and why (`author_cannot_add_followers`, `no_access`).
pub use crate::domain::mention::Skipped as SkippedMention;

/// The answer to posting a message: the Message plus `skipped_mentions`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostedMessageDto {
    #[serde(flatten)]
    pub message: MessageDto,
    pub skipped_mentions: Vec<SkippedMention>,
}

/// `TicketDetail`: the ticket plus everything a ticket view shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClaimDto {
    pub agent: AgentRef,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ViewerDto {
    pub id: AgentId,
    pub name: String,
    pub hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LockDto {
    pub agent: AgentRef,
    pub since: String,
    pub expires_at: Option<String>,
}

impl LockDto {
    pub fn new(lock: &Lock, roster: &(impl Roster + ?Sized)) -> LockDto {
        LockDto {
            agent: roster.agent_ref(lock.agent),
            since: lock.since.to_rfc3339(),
            expires_at: lock.expires_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// `Draft` (plus `outdated`: written before the newest customer message).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DraftDto {
    pub agent: AgentRef,
    pub kind: DraftKind,
    pub body: String,
    pub updated_at: String,
    pub outdated: bool,
}

impl DraftDto {
    pub fn new(draft: &Draft, ticket: &Ticket, roster: &(impl Roster + ?Sized)) -> DraftDto {
        DraftDto {
            agent: roster.agent_ref(draft.agent),
            kind: draft.kind,
            body: draft.body.clone(),
            updated_at: draft.updated_at.to_rfc3339(),
            outdated: draft.is_outdated(ticket.last_customer_message_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketRefDto {
    pub id: TicketId,
    pub number: u64,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationDto {
    pub id: uuid::Uuid,
    pub kind: NotificationKindDto,
    pub ticket: TicketRefDto,
    pub by: Option<AgentRef>,
    pub text: String,
    pub created_at: String,
    pub read: bool,
    /// Only for `webhook_disabled`: which webhook, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<DisabledWebhookDto>,
}

/// The webhook of a `webhook_disabled` notification, as it was then.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisabledWebhookDto {
    pub id: WebhookId,
    pub url: String,
    pub description: Option<String>,
    pub reason: String,
}

impl NotificationDto {
    pub fn new(n: &Notification, roster: &(impl Roster + ?Sized)) -> NotificationDto {
        NotificationDto {
            id: n.id,
            kind: NotificationKindDto::from(&n.kind),
            ticket: TicketRefDto {
                id: n.ticket,
                number: n.ticket_number,
                subject: n.ticket_subject.clone(),
            },
            by: n.by.map(|a| roster.agent_ref(a)),
            text: notification::text(n),
            created_at: n.created_at.to_rfc3339(),
            read: n.read,
            webhook: match &n.kind {
                NotificationKind::WebhookDisabled {
                    webhook,
                    url,
                    description,
                    reason,
                } => Some(DisabledWebhookDto {
                    id: *webhook,
                    url: url.clone(),
                    description: description.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            },
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
    pub fn new(
        ticket: &Ticket,
        presence: &Presence,
        roster: &(impl Roster + ?Sized),
    ) -> PresenceDto {
        PresenceDto {
            ticket: ticket.id,
            number: ticket.number,
            claim: presence.claim().map(|c| ClaimDto {
                agent: roster.agent_ref(c.agent),
                since: c.since.to_rfc3339(),
            }),
            viewers: presence
                .viewers()
                .into_iter()
                .map(|v| ViewerDto {
                    id: v.agent,
                    name: roster.agent_ref(v.agent).name,
                    hidden: v.hidden,
                })
                .collect(),
            lock: ticket.lock.as_ref().map(|l| LockDto::new(l, roster)),
        }
    }

    /// Nothing live on the ticket: it drops out of snapshots.
    pub fn is_empty(&self) -> bool {
        self.claim.is_none() && self.viewers.is_empty() && self.lock.is_none()
    }

    /// Serialized once, for the `presence` frames of a decision
    /// ([`ServerFrame::presence`](super::frames::ServerFrame::presence)) and
    /// the inbox's snapshot cache.
    pub fn to_json(&self) -> Box<serde_json::value::RawValue> {
        serde_json::value::to_raw_value(self).expect("a presence serializes")
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntryDto {
    pub at: String,
    pub actor: Option<AgentRef>,
    pub action: Value,
    pub detail: Map<String, Value>,
}

impl HistoryEntryDto {
    pub fn new(e: &HistoryEntry, roster: &(impl Roster + ?Sized)) -> HistoryEntryDto {
        HistoryEntryDto {
            at: e.at.to_rfc3339(),
            actor: e.actor.map(|a| roster.agent_ref(a)),
            action: serde_json::to_value(e.action).expect("actions serialize"),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// A channel, as admins see it: a chat channel with its secret
/// (docs/protocol.md §9.1), an e-mail channel with its account but never its
/// passwords, and its import's status (§9.7).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelDto {
    pub id: crate::domain::ChannelId,
    pub kind: crate::domain::channel::ChannelKind,
    pub inbox: InboxId,
    pub name: String,
    /// Its kind's settings, as fields of the channel itself (`null`-free:
    /// an e-mail channel always has its account).
    #[serde(flatten)]
    #[schema(nullable = false)]
    pub settings: Option<KindSettingsDto>,
    pub enabled: bool,
    pub created_at: String,
}

/// A chat, e-mail or API channel's settings (one enum rather than optional
/// fields, so the OpenAPI schema says "one of them").
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum KindSettingsDto {
    Chat(ChatSettingsDto),
    Email(EmailSettingsDto),
    Api(ApiSettingsDto),
}

/// An API channel's settings. `api_key` only in the answers that create or
/// rotate it: it is stored hashed and cannot be shown again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiSettingsDto {
    pub callback_url: Option<String>,
    /// Signs the callbacks (`Tandem-Signature`, as webhooks are signed).
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatSettingsDto {
    pub key: String,
    pub secret: String,
    pub allowed_origins: Vec<String>,
    pub greeting: Option<String>,
    pub offline_message: Option<String>,
    pub require_identity: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmailSettingsDto {
    pub imap: ImapDto,
    pub smtp: SmtpDto,
    pub status: crate::mail::status::ChannelStatus,
}

/// The IMAP half of an account, without its password.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImapDto {
    pub host: String,
    pub port: u16,
    pub tls: crate::domain::mail_account::TlsMode,
    pub user: String,
    pub password_set: bool,
    pub folder: String,
    /// `seen` or `move:FOLDER`.
    #[schema(value_type = String)]
    pub after: crate::domain::mail_account::AfterImport,
    pub poll_s: u32,
    pub idle: bool,
}

/// The SMTP half of an account, without its password.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SmtpDto {
    pub host: String,
    pub port: u16,
    pub tls: crate::domain::mail_account::TlsMode,
    pub user: String,
    pub password_set: bool,
    pub from_address: String,
    pub from_name: Option<String>,
}

impl ChannelDto {
    /// An API channel's answer with its new key (creation, rotation).
    pub fn with_api_key(mut self, key: String) -> Self {
        if let Some(KindSettingsDto::Api(api)) = &mut self.settings {
            api.api_key = Some(key);
        }
        self
    }

    /// `status`: the e-mail import's, for e-mail channels.
    pub fn new(
        c: &crate::domain::channel::Channel,
        status: impl FnOnce() -> crate::mail::status::ChannelStatus,
    ) -> Self {
        use crate::domain::channel::ChannelKind;
        let chat = (c.kind == ChannelKind::Chat).then(|| ChatSettingsDto {
            key: c.key.clone(),
            secret: c.secret.clone(),
            allowed_origins: c.allowed_origins.clone(),
            greeting: c.greeting.clone(),
            offline_message: c.offline_message.clone(),
            require_identity: c.require_identity,
        });
        let email = c.account.as_ref().map(|a| EmailSettingsDto {
            imap: ImapDto {
                host: a.imap.host.clone(),
                port: a.imap.port,
                tls: a.imap.tls,
                user: a.imap.user.clone(),
                password_set: !a.imap.password.is_empty(),
                folder: a.imap.folder.clone(),
                after: a.imap.after.clone(),
                poll_s: a.imap.poll_s,
                idle: a.imap.idle,
            },
            smtp: SmtpDto {
                host: a.smtp.host.clone(),
                port: a.smtp.port,
                tls: a.smtp.tls,
                user: a.smtp.user.clone(),
                password_set: !a.smtp.password.is_empty(),
                from_address: a.smtp.from_address.clone(),
                from_name: a.smtp.from_name.clone(),
            },
            status: status(),
        });
        let api = c.api.as_ref().map(|a| ApiSettingsDto {
            callback_url: a.callback_url.clone(),
            secret: c.secret.clone(),
            api_key: None,
        });
        ChannelDto {
            id: c.id,
            kind: c.kind,
            inbox: c.inbox,
            name: c.name.clone(),
            settings: chat
                .map(KindSettingsDto::Chat)
                .or(email.map(KindSettingsDto::Email))
                .or(api.map(KindSettingsDto::Api)),
            enabled: c.enabled,
            created_at: c.created_at.to_rfc3339(),
        }
    }
}
