//! Scheduled replies: sending them when due, dropping them, cancelling them.
//!
//! A scheduled reply is sent by one write that marks it `sent` and takes it
//! out of the schedule, so it can never go out twice. Before sending, the
//! author's access is checked again (no access, no send), and a reply with
//! `cancel_if_replied` is dropped if another agent replied publicly after it
//! was scheduled; a dropped reply's author is notified (`scheduled_cancelled`).

use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::message::{Message as TicketMessage, MessageKind, MessageState};
use crate::domain::notification::{NotificationKind, ScheduledDropReason};
use crate::domain::{Agent, AgentId, MessageId, Role, Timestamp};
use crate::error::Error;
use crate::protocol::dto::MessageDto;
use crate::protocol::frames::ServerFrame;
use crate::store::reads;

/// The scheduler says reply `message` is due.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct Fire {
    pub message: MessageId,
}

/// `DELETE /api/tickets/{id}/messages/{mid}`: cancel a scheduled reply (its author or an admin).
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct CancelScheduled {
    pub by: Arc<Agent>,
    pub message: MessageId,
}

impl TicketActor {
    /// This ticket's scheduled replies by `agent`.
    pub(super) fn scheduled_by(&self, agent: AgentId) -> Result<Vec<TicketMessage>, Error> {
        let messages = reads::messages(&self.core.store.read()?, self.id)?;
        Ok(messages
            .into_iter()
            .filter(|m| m.state == MessageState::Scheduled && m.author == Some(agent))
            .collect())
    }

    /// Tells viewers a scheduled reply is gone.
    pub(super) fn send_removed(&mut self, message: MessageId) {
        self.send_to_viewers(
            &ServerFrame::MessageRemoved {
                ticket: self.id,
                message,
            }
            .encode(),
            None,
        );
    }
}

impl Handler<Fire> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Fire, _: &mut Context<Self>) -> Self::Result {
        let found = self
            .core
            .store
            .read()
            .and_then(|tx| reads::message(&tx, self.id, msg.message));
        let scheduled = match found {
            Ok(Some(m)) if m.state == MessageState::Scheduled => m,
            Ok(_) => return AtomicResponse::new(Box::pin(fut::ready(Ok(())))), // already sent or cancelled
            Err(e) => return refuse(e.into()),
        };
        let Some(ticket) = self.ticket.clone() else {
            return refuse(Error::NotFound);
        };
        let author = scheduled.author.and_then(|a| self.core.directory.agent(a));
        let scope = TicketScope {
            inbox: ticket.inbox,
            shared_with: &ticket.shared_with,
        };
        let allowed = !ticket.deleted
            && author.as_ref().is_some_and(|a| {
                !a.disabled && check_ticket(a, scope, TicketAction::Reply).is_ok()
            });
        let overtaken = if scheduled.cancel_if_replied {
            match self
                .core
                .store
                .read()
                .and_then(|tx| reads::messages(&tx, self.id))
            {
                Ok(all) => all.iter().any(|m| {
                    m.kind == MessageKind::Reply
                        && m.state == MessageState::Sent
                        && m.author != scheduled.author
                        && m.created_at > scheduled.created_at
                }),
                Err(e) => return refuse(e.into()),
            }
        } else {
            false
        };
        let now = Timestamp::now();
        let mut change = Change::of(ticket.clone());
        let author_id = scheduled.author;
        if !allowed || overtaken {
            let reason = if overtaken {
                ScheduledDropReason::AnotherAgentReplied
            } else {
                ScheduledDropReason::AuthorMayNotReply
            };
            // The author is told, unless it may no longer see the ticket at all.
            if let Some(author) = author_id.filter(|a| self.sees(&ticket, *a)) {
                change.notifications.push(self.notification(
                    &ticket,
                    author,
                    NotificationKind::ScheduledCancelled { reason },
                    None,
                ));
            }
            change.removed_messages.push(scheduled);
            let id = msg.message;
            return self.commit(change, move |act, _, _| {
                act.core.metrics.scheduled_dropped.inc();
                act.send_removed(id);
                Ok(())
            });
        }
        let author = author.expect("allowed implies an author");
        let mut sent = scheduled;
        sent.state = MessageState::Sent;
        sent.created_at = now;
        sent.signature = self
            .core
            .directory
            .settings()
            .sign_replies
            .then(|| author.name.clone());
        change.after.updated_at = now;
        change.notifications.extend(self.follower_updates(
            &ticket,
            MessageKind::Reply,
            Some(&author),
            &[author.id],
        ));
        change.messages.push(sent.clone());
        self.commit(change, move |act, t, _| {
            let dto = MessageDto::new(&sent, &act.core.directory);
            act.send_to_viewers(
                &ServerFrame::Message {
                    ticket: t.id,
                    message: dto,
                }
                .encode(),
                None,
            );
            act.publish_ticket(t, "message", author.id);
            act.core.metrics.scheduled_sent.inc();
            Ok(())
        })
    }
}

impl Handler<CancelScheduled> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: CancelScheduled, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.authorize(&msg.by, TicketAction::View) {
            Ok(t) => t.clone(),
            Err(e) => return refuse(e),
        };
        let message = match self
            .core
            .store
            .read()
            .and_then(|tx| reads::message(&tx, self.id, msg.message))
        {
            Ok(Some(m)) => m,
            Ok(None) => return refuse(Error::NotFound),
            Err(e) => return refuse(e.into()),
        };
        if message.state != MessageState::Scheduled {
            return refuse(Error::Conflict(
                "only a scheduled reply can be cancelled; this one was sent".into(),
            ));
        }
        if message.author != Some(msg.by.id) && msg.by.role != Role::Admin {
            return refuse(Error::forbidden(
                "only its author or an admin may cancel a scheduled reply",
            ));
        }
        let mut change = Change::of(ticket);
        change.removed_messages.push(message);
        let id = msg.message;
        self.commit(change, move |act, _, _| {
            act.send_removed(id);
            Ok(())
        })
    }
}
