//! Posting messages: customer messages, public replies and internal notes,
//! with @mentions that add followers, and notifications to followers.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions;
use crate::domain::message::{Message as TicketMessage, MessageKind};
use crate::domain::{Agent, Timestamp};
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
                None => act.publish_ticket(t, ChangeAction::Message, by),
            }
            if let Some(key) = draft {
                act.drafts.remove(&key);
                act.send_draft(key, None);
            }
            if message.kind == MessageKind::Customer {
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

impl TicketActor {
    /// The ticket's messages as stored, if `needed`.
    pub(super) fn messages_if(&self, needed: bool) -> Result<Option<Vec<TicketMessage>>, Error> {
        if !needed {
            return Ok(None);
        }
        Ok(Some(reads::messages(&self.core.store.read()?, self.id)?))
    }
}
