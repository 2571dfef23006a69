//! An API channel's ticket: its integration opens the conversation and
//! its customer's messages continue it (docs/protocol.md §9.9). Agents'
//! replies reach the integration through the webhook outbox
//! (`webhooks::events`), not through this actor.

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::Timestamp;
use crate::domain::channel::Channel;
use crate::domain::decisions::api::{self, ConversationIn, MessageIn};
use crate::domain::message::Message;
use crate::domain::ticket::Ticket;
use crate::error::Error;
use crate::protocol::changes::ChangeAction;

/// A new conversation (this actor's ticket), with its first message if one
/// came with it.
#[derive(Message, Clone)]
#[rtype(result = "Result<(Ticket, Option<Message>), Error>")]
pub struct OpenApiConversation {
    pub channel: Arc<Channel>,
    pub conversation: ConversationIn,
    pub first: Option<MessageIn>,
}

/// The integration's customer writes to this ticket.
#[derive(Message, Clone)]
#[rtype(result = "Result<(Ticket, Message), Error>")]
pub struct ReceiveApiMessage {
    pub message: MessageIn,
}

impl Handler<OpenApiConversation> for TicketActor {
    type Result = AtomicResponse<Self, Result<(Ticket, Option<Message>), Error>>;

    fn handle(&mut self, msg: OpenApiConversation, _: &mut Context<Self>) -> Self::Result {
        let OpenApiConversation {
            channel,
            conversation,
            first,
        } = msg;
        let decided = api::open(
            self.ticket.as_ref(),
            self.id,
            &channel,
            conversation,
            first,
            Timestamp::now(),
        );
        self.commit(decided, |act, t, message, _| {
            act.publish_ticket_by(t, ChangeAction::Created, None);
            Ok((t.clone(), message))
        })
    }
}

impl Handler<ReceiveApiMessage> for TicketActor {
    type Result = AtomicResponse<Self, Result<(Ticket, Message), Error>>;

    fn handle(&mut self, msg: ReceiveApiMessage, _: &mut Context<Self>) -> Self::Result {
        // A customer message sorts after every draft decided before it.
        let now = Timestamp::now_after(self.drafts.values().map(|d| d.updated_at).max());
        let decided = self.decide_at(now, |t, facts| api::receive(t, msg.message, facts));
        self.commit(decided, |act, t, message, _| {
            act.message_posted(t, &message, None, None);
            Ok((t.clone(), message))
        })
    }
}
