//! Posting messages: customer messages, public replies and internal notes,
//! with @mentions that add followers, and notifications to followers.

use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::draft::DraftKind;
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::mention::mentioned_handles;
use crate::domain::message::{Message as TicketMessage, MessageKind, MessageState};
use crate::domain::notification::NotificationKind;
use crate::domain::ticket::{self, Ticket};
use crate::domain::{Agent, AgentId, MessageId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::{MessageDto, SkippedMention};
use crate::protocol::frames::ServerFrame;
use crate::store::reads;

/// Posts a customer message, public reply or internal note.
#[derive(Message, Clone)]
#[rtype(result = "Result<Posted, Error>")]
pub struct Post {
    pub by: Arc<Agent>,
    pub kind: MessageKind,
    pub body: String,
    /// A reply due later: stored as `scheduled` and sent by the scheduler.
    pub send_at: Option<Timestamp>,
    pub cancel_if_replied: bool,
    /// Stale-send guard: the newest message the author saw (replies only).
    pub after: Option<MessageId>,
    /// Send even if newer messages arrived.
    pub force: bool,
}

/// The stored message, and the mentions that added nobody (with why).
pub struct Posted {
    pub message: MessageDto,
    pub skipped_mentions: Vec<SkippedMention>,
}

impl TicketActor {
    /// Resolves a note's @mentions: who is mentioned (and becomes a follower),
    /// and who is skipped because the author may not add followers or the
    /// agent cannot see the ticket. Unknown handles are ignored.
    fn resolve_mentions(
        &self,
        author: &Agent,
        ticket: &Ticket,
        body: &str,
    ) -> (Vec<AgentId>, Vec<SkippedMention>) {
        let scope = TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        };
        let author_may_add = check_ticket(author, scope, TicketAction::ManageFollowers).is_ok();
        let mut mentioned = Vec::new();
        let mut skipped = Vec::new();
        for handle in mentioned_handles(body) {
            let Some(agent) = self
                .core
                .directory
                .agent_by_handle(&handle)
                .filter(|a| !a.disabled && a.id != author.id)
            else {
                continue; // unknown, disabled, or the author: nobody to add or tell
            };
            let reason = if !author_may_add {
                "author_cannot_add_followers"
            } else if check_ticket(&agent, scope, TicketAction::View).is_err() {
                "no_access"
            } else {
                mentioned.push(agent.id);
                continue;
            };
            skipped.push(SkippedMention { handle, reason });
        }
        (mentioned, skipped)
    }
}

impl TicketActor {
    /// The stale-send guard: sent customer messages and replies newer than
    /// `after`, which must be a message of this ticket.
    fn newer_than(&self, after: MessageId) -> Result<Vec<TicketMessage>, Error> {
        let messages = reads::messages(&self.core.store.read()?, self.id)?;
        let Some(seen) = messages.iter().position(|m| m.id == after) else {
            return Err(Error::bad_request(
                "`after` names no message of this ticket",
            ));
        };
        Ok(messages[seen + 1..]
            .iter()
            .filter(|m| {
                m.state == MessageState::Sent
                    && matches!(m.kind, MessageKind::Customer | MessageKind::Reply)
            })
            .cloned()
            .collect())
    }
}

impl TicketActor {
    /// `update` notifications for a new message: every follower who can
    /// still see the ticket, but those in `excluded` (the author, the mentioned).
    pub(super) fn follower_updates(
        &self,
        ticket: &Ticket,
        kind: MessageKind,
        author: Option<&Agent>,
        excluded: &[AgentId],
    ) -> Vec<crate::domain::notification::Notification> {
        let update = match (kind, author) {
            (MessageKind::Customer, _) | (_, None) => NotificationKind::Update {
                author_name: ticket.customer.name.clone(),
                message: MessageKind::Customer,
            },
            (message, Some(a)) => NotificationKind::Update {
                author_name: a.name.clone(),
                message,
            },
        };
        let scope = TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        };
        ticket
            .followers
            .iter()
            .filter(|f| !excluded.contains(f))
            .filter(|f| {
                self.core.directory.agent(**f).is_some_and(|a| {
                    !a.disabled && check_ticket(&a, scope, TicketAction::View).is_ok()
                })
            })
            .map(|f| self.notification(ticket, *f, update.clone(), author.map(|a| a.id)))
            .collect()
    }
}

impl Handler<Post> for TicketActor {
    type Result = AtomicResponse<Self, Result<Posted, Error>>;

    fn handle(&mut self, msg: Post, _: &mut Context<Self>) -> Self::Result {
        let action = match msg.kind {
            MessageKind::Customer => TicketAction::PostCustomerMessage,
            MessageKind::Reply => TicketAction::Reply,
            MessageKind::Note => TicketAction::AddNote,
        };
        let ticket = match self.authorize(&msg.by, action) {
            Ok(t) => t.clone(),
            Err(e) => return refuse(e),
        };
        // A hard lock stops replies and notes; a claim stops replies only; customers are never blocked.
        let collision = match msg.kind {
            MessageKind::Customer => Ok(()),
            MessageKind::Note => self.check_lock(&msg.by),
            MessageKind::Reply => self
                .check_lock(&msg.by)
                .and_then(|()| self.check_claim(&msg.by)),
        };
        if let Err(e) =
            collision.and_then(|()| ticket::validate_body(&msg.body).map_err(Error::BadRequest))
        {
            return refuse(e);
        }
        if let Some(after) = msg.after {
            if msg.kind != MessageKind::Reply {
                return refuse(Error::bad_request("`after` applies to replies"));
            }
            match self.newer_than(after) {
                Err(e) => return refuse(e),
                Ok(newer) if !newer.is_empty() && !msg.force => {
                    let newer = newer
                        .iter()
                        .map(|m| MessageDto::new(m, &self.core.directory))
                        .collect();
                    return refuse(Error::Stale { newer });
                }
                Ok(_) => {}
            }
        }
        // A customer message sorts after every draft decided before it (so
        // they are all outdated), even within the same millisecond.
        let now = match msg.kind {
            MessageKind::Customer => {
                Timestamp::now_after(self.drafts.values().map(|d| d.updated_at).max())
            }
            _ => Timestamp::now(),
        };
        let by = msg.by.id;
        let mut change = Change::of(ticket.clone());
        change.after.updated_at = now;
        if msg.kind == MessageKind::Customer {
            let from = change.after.status;
            change.after.on_customer_message(now);
            if change.after.status != from {
                change.history.push(
                    HistoryEntry::new(None, HistoryAction::StatusChanged, now)
                        .with("from", from.as_str())
                        .with("to", change.after.status.as_str()),
                );
            }
        }
        // @mentions count in notes only: they add followers and notify them.
        let (mentions, skipped_mentions) = match msg.kind {
            MessageKind::Note => self.resolve_mentions(&msg.by, &ticket, &msg.body),
            _ => (Vec::new(), Vec::new()),
        };
        for agent in &mentions {
            if !change.after.followers.contains(agent) {
                change.after.followers.push(*agent);
                change.history.push(
                    HistoryEntry::new(Some(by), HistoryAction::FollowerAdded, now)
                        .with("agent", agent.to_string())
                        .with("via", "mention"),
                );
            }
            change.notifications.push(self.notification(
                &ticket,
                *agent,
                NotificationKind::Mention {
                    by_name: msg.by.name.clone(),
                },
                Some(by),
            ));
        }
        let scheduled = msg.send_at.filter(|at| *at > now);
        if scheduled.is_none() {
            let excluded: Vec<AgentId> = mentions.iter().copied().chain([by]).collect();
            let author = (msg.kind != MessageKind::Customer).then_some(&*msg.by);
            change
                .notifications
                .extend(self.follower_updates(&ticket, msg.kind, author, &excluded));
        } else {
            change.after.updated_at = ticket.updated_at; // scheduling is not activity the queue shows
        }
        let signature = (msg.kind == MessageKind::Reply
            && scheduled.is_none()
            && self.core.directory.settings().sign_replies)
            .then(|| msg.by.name.clone());
        let message = TicketMessage {
            id: MessageId::new(),
            ticket: self.id,
            kind: msg.kind,
            author: (msg.kind != MessageKind::Customer).then_some(by),
            body: msg.body,
            mentions,
            created_at: now,
            state: if scheduled.is_some() {
                MessageState::Scheduled
            } else {
                MessageState::Sent
            },
            send_at: scheduled,
            signature,
            cancel_if_replied: scheduled.is_some() && msg.cancel_if_replied,
        };
        change.messages.push(message.clone());
        // Sending clears the author's draft of that kind.
        let draft = match msg.kind {
            MessageKind::Reply => Some((by, DraftKind::Reply)),
            MessageKind::Note => Some((by, DraftKind::Note)),
            MessageKind::Customer => None,
        }
        .filter(|key| self.drafts.contains_key(key));
        change.cleared_drafts.extend(draft);
        let customer = msg.kind == MessageKind::Customer;
        self.commit(change, move |act, t, _| {
            let dto = MessageDto::new(&message, &act.core.directory);
            act.send_to_viewers(
                &ServerFrame::Message {
                    ticket: t.id,
                    message: dto.clone(),
                }
                .encode(),
                None,
            );
            match scheduled {
                Some(at) => act.core.scheduled(at),
                None => act.publish_ticket(t, "message", by),
            }
            if let Some(key) = draft {
                act.drafts.remove(&key);
                act.send_draft(key, None);
            }
            if customer {
                // Every draft now answers an older state of the conversation.
                let keys: Vec<_> = act.drafts.keys().copied().collect();
                for key in keys {
                    act.send_draft(key, None);
                }
            }
            Ok(Posted {
                message: dto,
                skipped_mentions,
            })
        })
    }
}
