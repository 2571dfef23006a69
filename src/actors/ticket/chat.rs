//! A chat ticket's visitor: what it writes (opening a conversation, later
//! messages, its e-mail, what it has seen), what it is told (public
//! messages, status changes, read marks, agents typing a reply), and its live
//! state shown to the tabs viewing the ticket.
//!
//! Invariants:
//! - Only what a visitor may see is sent to its actor: sent customer
//!   messages and replies, the status it can see, read marks, and a
//!   "typing" flag of reply drafts (never their text, never notes).
//! - A visitor is told after the commit, in decision order, by this actor
//!   alone; a visitor without a live actor is told nothing (it catches up
//!   from the store when it connects).
//! - The visitor's live state is read from `actors::visitors` when a tab
//!   opens the ticket, and updated by `VisitorChanged` after that.

use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;

use super::TicketActor;
use crate::actors::visitor::ToVisitor;
use crate::domain::channel::Channel;
use crate::domain::decisions::chat;
use crate::domain::message::{Message, MessageKind};
use crate::domain::ticket::Ticket;
use crate::domain::visitor::{Live, Visitor};
use crate::domain::{AgentId, MessageId, Timestamp, VisitorId};
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
use crate::protocol::frames::{ServerFrame, VisitorLiveDto};
use crate::protocol::visitor::{ConversationDto, ConversationStatus, read_mark};
use crate::store::reads;

/// A visitor's first message: a new conversation (this actor's ticket).
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, Error>")]
pub struct OpenConversation {
    pub channel: Arc<Channel>,
    pub visitor: Visitor,
    pub body: String,
    pub client_id: String,
}

/// A visitor's message to its open conversation.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, Error>")]
pub struct Receive {
    pub visitor: VisitorId,
    pub body: String,
    pub client_id: String,
}

/// The visitor's e-mail from the offline form.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct GiveContact {
    pub visitor: VisitorId,
    pub email: String,
}

/// The visitor has seen its conversation up to `message`.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct MarkSeen {
    pub visitor: VisitorId,
    pub message: MessageId,
}

/// The visitor's live state changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct VisitorChanged {
    pub visitor: VisitorId,
    pub live: Live,
}

impl Handler<OpenConversation> for TicketActor {
    type Result = AtomicResponse<Self, Result<Message, Error>>;

    fn handle(&mut self, msg: OpenConversation, _: &mut Context<Self>) -> Self::Result {
        let OpenConversation {
            channel,
            visitor,
            body,
            client_id,
        } = msg;
        let decided = chat::open(
            self.ticket.as_ref(),
            self.id,
            &channel,
            &visitor,
            body,
            client_id,
            Timestamp::now(),
        );
        self.commit(decided, |act, t, message, _| {
            act.publish_ticket_by(t, ChangeAction::Created, None);
            Ok(message)
        })
    }
}

impl Handler<Receive> for TicketActor {
    type Result = AtomicResponse<Self, Result<Message, Error>>;

    fn handle(&mut self, msg: Receive, _: &mut Context<Self>) -> Self::Result {
        let now = Timestamp::now_after(self.drafts.values().map(|d| d.updated_at).max());
        let decided = self.decide_at(now, |t, facts| {
            chat::receive(t, msg.visitor, msg.body, msg.client_id, facts)
        });
        self.commit(decided, |act, t, message, _| {
            act.message_posted(t, &message, None, None);
            Ok(message)
        })
    }
}

impl Handler<GiveContact> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: GiveContact, _: &mut Context<Self>) -> Self::Result {
        let decided = chat::give_contact(
            self.ticket.as_ref(),
            msg.visitor,
            &msg.email,
            Timestamp::now(),
        );
        let changed = decided.as_ref().is_ok_and(|c| !c.history.is_empty());
        self.commit(decided, move |act, t, (), _| {
            if changed {
                act.publish_ticket_by(t, ChangeAction::Updated, None);
            }
            Ok(())
        })
    }
}

impl Handler<MarkSeen> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: MarkSeen, _: &mut Context<Self>) -> Self::Result {
        // Only a public message of this conversation can be seen.
        let public = self
            .core
            .store
            .read()
            .and_then(|tx| reads::message(&tx, self.id, msg.message))
            .map(|m| m.is_some_and(|m| m.is_public()));
        let decided = match public {
            Ok(true) => Ok(chat::mark_seen(
                self.ticket.as_ref(),
                msg.visitor,
                msg.message,
            )),
            Ok(false) => Ok(Err(crate::domain::decisions::Refusal::NotFound)),
            Err(e) => Err(Error::from(e)),
        };
        let decided = decided.and_then(|d| d.map_err(Error::from));
        self.commit(decided, |act, _, (), _| {
            act.send_visitor_to_viewers();
            Ok(())
        })
    }
}

impl Handler<VisitorChanged> for TicketActor {
    type Result = ();

    fn handle(&mut self, msg: VisitorChanged, _: &mut Context<Self>) {
        if self.chat_visitor() == Some(msg.visitor) {
            self.visitor_live = Some(msg.live);
            self.send_visitor_to_viewers();
        }
    }
}

impl TicketActor {
    fn chat_visitor(&self) -> Option<VisitorId> {
        self.ticket
            .as_ref()
            .filter(|t| !t.deleted)
            .and_then(|t| t.chat.as_ref())
            .map(|c| c.visitor)
    }

    /// The `visitor` frame of a chat ticket.
    pub(super) fn visitor_frame(&self, t: &Ticket) -> Option<ByteString> {
        let chat = t.chat.as_ref().filter(|_| !t.deleted)?;
        let live = self
            .visitor_live
            .unwrap_or_else(|| self.core.visitors.live(chat.visitor));
        let visitor = VisitorLiveDto {
            id: chat.visitor,
            name: t.customer.name.clone(),
            state: live.state,
            typing: live.typing,
            seen: chat.seen,
        };
        let frame = ServerFrame::Visitor {
            inbox: t.inbox,
            ticket: t.id,
            visitor,
        };
        Some(frame.encode())
    }

    /// The `visitor` frame, to every tab viewing the ticket.
    fn send_visitor_to_viewers(&mut self) {
        if let Some(frame) = self.ticket.as_ref().and_then(|t| self.visitor_frame(t)) {
            self.send_to_viewers(&frame, None);
        }
    }

    /// Tells the ticket's visitor (if it has a live actor) what it may see of
    /// a committed change from `before` to `after` with `messages`.
    pub(super) fn tell_visitor(
        &self,
        before: Option<&Ticket>,
        after: &Ticket,
        messages: &[Message],
    ) {
        let Some(chat) = &after.chat else { return };
        let Some(visitor) = self.core.visitors.live_actor(chat.visitor) else {
            return;
        };
        for m in messages.iter().filter(|m| m.is_public()) {
            // The visitor's own messages are answered by its actor.
            if m.kind == MessageKind::Customer && m.client_id.is_some() {
                continue;
            }
            visitor.do_send(ToVisitor::Message {
                message: Box::new(m.clone()),
                author: m.author,
            });
        }
        let shown = |t: &Ticket| (!t.deleted).then(|| ConversationStatus::of(t.status));
        if before.is_some_and(|b| shown(b) != shown(after)) {
            let mut conversation = ConversationDto::new(after, Vec::new());
            if after.deleted {
                conversation.status = ConversationStatus::Closed;
            }
            visitor.do_send(ToVisitor::Conversation(conversation));
        }
        self.tell_visitor_read(before, after);
    }

    /// Tells the visitor when agents' read marks first cover its messages.
    pub(super) fn tell_visitor_read(&self, before: Option<&Ticket>, after: &Ticket) {
        let Some(message) = read_mark(after) else {
            return;
        };
        if before.and_then(read_mark) == Some(message) {
            return;
        }
        let Some(visitor) = after
            .chat
            .as_ref()
            .and_then(|c| self.core.visitors.live_actor(c.visitor))
        else {
            return;
        };
        visitor.do_send(ToVisitor::Read {
            conversation: after.id,
            message,
        });
    }

    /// An agent's reply draft changed: the visitor sees that someone types.
    pub(super) fn tell_visitor_typing(&self, agent: AgentId, typing: bool) {
        let Some(t) = self.ticket.as_ref().filter(|t| !t.deleted) else {
            return;
        };
        let Some(visitor) = t
            .chat
            .as_ref()
            .and_then(|c| self.core.visitors.live_actor(c.visitor))
        else {
            return;
        };
        visitor.do_send(ToVisitor::AgentTyping {
            conversation: t.id,
            agent,
            typing,
        });
    }
}
