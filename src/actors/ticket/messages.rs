//! Posting messages: customer messages, public replies and internal notes,
//! with @mentions that add followers, and notifications to followers.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions;
use crate::domain::message::{Message as TicketMessage, MessageKind};
use crate::domain::ticket::Ticket;
use crate::domain::{Agent, AgentId, Timestamp};
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
use crate::protocol::dto::{MessageDto, SkippedMention};
use crate::protocol::frames::ServerFrame;
use crate::store::reads;

/// Posts a customer message, public reply or internal note.
#[derive(Message, Clone)]
#[rtype(result = "Result<Posted, Error>")]
pub struct Post {
    pub by: Arc<Agent>,
    pub post: decisions::Post,
}

/// The stored message, and the mentions that added nobody (with why).
pub struct Posted {
    pub message: MessageDto,
    pub skipped_mentions: Vec<SkippedMention>,
}

impl Handler<Post> for TicketActor {
    type Result = AtomicResponse<Self, Result<Posted, Error>>;

    fn handle(&mut self, msg: Post, _: &mut Context<Self>) -> Self::Result {
        let Post { by, post } = msg;
        // A customer message sorts after every draft decided before it (so
        // they are all outdated), even within the same millisecond.
        let now = match post.kind {
            MessageKind::Customer => {
                Timestamp::now_after(self.drafts.values().map(|d| d.updated_at).max())
            }
            _ => Timestamp::now(),
        };
        // The stale-send guard compares with the messages as stored.
        let decided = self.messages_if(post.after.is_some()).and_then(|messages| {
            Ok(self.decide_at(now, |t, facts| {
                decisions::post(t, &by, post, messages.as_deref(), facts)
            })?)
        });
        let decided = decided.map(|mut posted| {
            // Sending clears the author's draft of that kind, if there is one.
            posted.draft = posted.draft.filter(|key| self.drafts.contains_key(key));
            posted.change.cleared_drafts.extend(posted.draft);
            let rest = (
                posted.message,
                posted.skipped_mentions,
                posted.scheduled,
                posted.draft,
            );
            (posted.change, rest)
        });
        let by = by.id;
        self.commit(decided, move |act, t, rest, _| {
            let (message, skipped_mentions, scheduled, draft) = rest;
            let dto = act.message_posted(t, &message, Some(by), scheduled);
            if let Some(key) = draft {
                act.drafts.remove(&key);
                act.send_draft(key, None);
            }
            Ok(Posted {
                message: dto,
                skipped_mentions,
            })
        })
    }
}

impl TicketActor {
    /// After a message is committed (by an agent, or `None`: a chat
    /// visitor): the viewers see it, the inbox hears of it unless it is a
    /// reply scheduled for later, and a customer message outdates every
    /// draft. Returns the message as agents see it.
    pub(super) fn message_posted(
        &mut self,
        t: &Ticket,
        message: &TicketMessage,
        by: Option<AgentId>,
        scheduled: Option<Timestamp>,
    ) -> MessageDto {
        let dto = MessageDto::new(message, &self.core.directory);
        let frame = ServerFrame::Message {
            ticket: t.id,
            message: dto.clone(),
        };
        self.send_to_viewers(&frame.encode(), None);
        match scheduled {
            Some(at) => self.core.scheduled(at),
            None => self.publish_ticket_by(t, ChangeAction::Message, by),
        }
        if message.kind == MessageKind::Customer {
            // Every draft now answers an older state of the conversation.
            let keys: Vec<_> = self.drafts.keys().copied().collect();
            for key in keys {
                self.send_draft(key, None);
            }
        }
        dto
    }

    /// The ticket's messages as stored, if `needed`.
    pub(super) fn messages_if(&self, needed: bool) -> Result<Option<Vec<TicketMessage>>, Error> {
        if !needed {
            return Ok(None);
        }
        Ok(Some(reads::messages(&self.core.store.read()?, self.id)?))
    }
}
