//! Scheduled replies: sending them when due, dropping them, cancelling them.
//!
//! A scheduled reply is sent by one write that marks it `sent` and takes it
//! out of the schedule, so it can never go out twice. Before sending, the
//! author's access is checked again (no access, no send), and a reply with
//! `cancel_if_replied` is dropped if another agent replied publicly after it
//! was scheduled; a dropped reply's author is notified (`scheduled_cancelled`).

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::decisions::{self, Refusal, Scheduled};
use crate::domain::message::{Message as TicketMessage, MessageState};
use crate::domain::{Agent, AgentId, MessageId};
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
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
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e.into())))),
        };
        // `cancel_if_replied` compares with the replies as stored.
        let decided = self
            .messages_if(scheduled.cancel_if_replied)
            .and_then(|messages| {
                Ok(self.decide(|ticket, facts| {
                    let ticket = ticket.ok_or(Refusal::NotFound)?;
                    Ok(decisions::fire(
                        ticket,
                        scheduled,
                        messages.as_deref(),
                        facts,
                    ))
                })?)
            });
        self.commit(decided, move |act, t, fired, _| {
            match fired {
                Scheduled::Dropped(id) => {
                    act.core.metrics.scheduled_dropped.inc();
                    act.send_removed(id);
                }
                Scheduled::Sent(sent) => {
                    let dto = MessageDto::new(&sent, &act.core.directory);
                    act.send_to_viewers(
                        &ServerFrame::Message {
                            ticket: t.id,
                            message: dto,
                        }
                        .encode(),
                        None,
                    );
                    let author = sent.author.expect("a sent reply has its author");
                    act.publish_ticket(t, ChangeAction::Message, author);
                    act.core.metrics.scheduled_sent.inc();
                }
            }
            Ok(())
        })
    }
}

impl Handler<CancelScheduled> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: CancelScheduled, _: &mut Context<Self>) -> Self::Result {
        let found = self
            .core
            .store
            .read()
            .and_then(|tx| reads::message(&tx, self.id, msg.message));
        let decided = found.map_err(Error::from).and_then(|message| {
            Ok(decisions::cancel_scheduled(
                self.ticket.as_ref(),
                &msg.by,
                message,
            )?)
        });
        let id = msg.message;
        self.commit(decided, move |act, _, (), _| {
            act.send_removed(id);
            Ok(())
        })
    }
}
