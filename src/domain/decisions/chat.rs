//! Chat decisions: a visitor opens a conversation (a new ticket) or writes
//! to its open one, gives its e-mail, or marks what it has seen.
//!
//! Invariants:
//! - A visitor changes only its own conversations: every decision checks
//!   that the ticket's `chat.visitor` is the caller, and answers `NotFound`
//!   otherwise (a visitor may not learn that another conversation exists).
//! - An archived or deleted conversation takes no more messages
//!   (`ConversationClosed`, `NotFound`): the visitor's next message opens a
//!   new one.
//! - A customer message follows every rule of one posted over REST (see
//!   `posting`): unread for everyone, drafts outdated, resolved reopens,
//!   followers told.

use super::super::channel::Channel;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::message::Message;
use super::super::ticket::{self, Customer, Ticket};
use super::super::visitor::{Chat, NO_CONTACT, Visitor, subject_of};
use super::super::{MessageId, TicketId, Timestamp, VisitorId};
use super::posting::arrives_through_channel;
use super::{Change, ConflictReason, Facts, Refusal};

/// The visitor's conversation `ticket`, if it is the visitor's and not deleted.
fn own(ticket: Option<&Ticket>, visitor: VisitorId) -> Result<&Ticket, Refusal> {
    ticket
        .filter(|t| !t.deleted && t.chat.as_ref().is_some_and(|c| c.visitor == visitor))
        .ok_or(Refusal::NotFound)
}

/// A new conversation `id` in the channel's inbox, with the visitor's first message.
pub fn open(
    existing: Option<&Ticket>,
    id: TicketId,
    channel: &Channel,
    visitor: &Visitor,
    body: String,
    client_id: String,
    now: Timestamp,
) -> Result<(Change, Message), Refusal> {
    if existing.is_some() {
        return Err(ConflictReason::TicketExists.into());
    }
    ticket::validate_body(&body).map_err(Refusal::Invalid)?;
    let customer = Customer {
        name: visitor.name.clone(),
        contact: visitor.contact(),
    };
    let mut ticket = Ticket::new(id, 0, channel.inbox, subject_of(&body), customer, now);
    let message = Message::customer(id, body, now, Some(client_id));
    ticket.chat = Some(Chat {
        channel: channel.id,
        channel_name: channel.name.clone(),
        visitor: visitor.id,
        last_customer_message: Some(message.id),
        seen: None,
    });
    let change = Change::created(ticket, vec![message.clone()], channel.created(now));
    Ok((change, message))
}

/// The visitor writes `body` to its open conversation. `facts.now` must sort
/// after every draft decided before it (see `posting::post`).
pub fn receive(
    ticket: Option<&Ticket>,
    visitor: VisitorId,
    body: String,
    client_id: String,
    facts: &Facts,
) -> Result<(Change, Message), Refusal> {
    let before = own(ticket, visitor)?;
    let mut change = arrives_through_channel(before, facts)?;
    ticket::validate_body(&body).map_err(Refusal::Invalid)?;
    let message = Message::customer(before.id, body, facts.now, Some(client_id));
    if let Some(chat) = change.after.chat.as_mut() {
        chat.last_customer_message = Some(message.id);
    }
    change.messages.push(message.clone());
    Ok((change, message))
}

/// The visitor gave its e-mail: it becomes the conversation's contact if the
/// conversation has none yet.
pub fn give_contact(
    ticket: Option<&Ticket>,
    visitor: VisitorId,
    email: &str,
    now: Timestamp,
) -> Result<Change, Refusal> {
    let before = own(ticket, visitor)?;
    let mut change = Change::of(before.clone());
    if before.customer.contact == NO_CONTACT {
        change.after.customer.contact = email.to_owned();
        change.history.push(
            HistoryEntry::new(None, HistoryAction::FieldsChanged, now).with("contact", email),
        );
    }
    Ok(change)
}

/// The visitor has seen its conversation up to `message` (one of its public
/// messages, checked by the caller).
pub fn mark_seen(
    ticket: Option<&Ticket>,
    visitor: VisitorId,
    message: MessageId,
) -> Result<Change, Refusal> {
    let before = own(ticket, visitor)?;
    let mut change = Change::of(before.clone());
    if let Some(chat) = change.after.chat.as_mut() {
        chat.seen = Some(message);
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::World;
    use super::*;
    use crate::domain::channel::ChannelKind;
    use crate::domain::ticket::Status;

    fn conversation(world: &World) -> (Channel, Visitor, Ticket) {
        let channel = Channel::new(
            ChannelKind::Chat,
            world.support(),
            "Chat".into(),
            Timestamp(0),
        );
        let visitor = Visitor::anonymous(channel.id, Timestamp(0));
        let (change, _) = open(
            None,
            TicketId::new(),
            &channel,
            &visitor,
            "Hello\nthere".into(),
            "c1".into(),
            Timestamp(5),
        )
        .unwrap();
        (channel, visitor, change.after)
    }

    #[test]
    fn a_first_message_opens_a_pending_chat_ticket() {
        let world = World::new();
        let (channel, visitor, ticket) = conversation(&world);
        assert_eq!(ticket.status, Status::Pending);
        assert_eq!(ticket.inbox, world.support());
        assert_eq!(ticket.subject, "Hello");
        assert_eq!(ticket.customer.name, visitor.name);
        assert_eq!(ticket.customer.contact, NO_CONTACT);
        let chat = ticket.chat.as_ref().unwrap();
        assert_eq!((chat.channel, chat.visitor), (channel.id, visitor.id));
        assert!(chat.last_customer_message.is_some());
    }

    #[test]
    fn a_visitor_writes_only_to_its_own_open_conversations() {
        let world = World::new();
        let (_, visitor, mut ticket) = conversation(&world);
        let facts = world.facts();
        let other = VisitorId::new();
        let refused = receive(Some(&ticket), other, "x".into(), "c2".into(), &facts);
        assert_eq!(refused.unwrap_err(), Refusal::NotFound);

        ticket.status = Status::Resolved;
        let (change, message) = receive(
            Some(&ticket),
            visitor.id,
            "again".into(),
            "c2".into(),
            &facts,
        )
        .unwrap();
        assert_eq!(
            change.after.status,
            Status::Pending,
            "a resolved chat reopens"
        );
        assert_eq!(message.client_id.as_deref(), Some("c2"));
        assert_eq!(
            change.after.chat.unwrap().last_customer_message,
            Some(message.id)
        );

        ticket.status = Status::Archived;
        let closed = receive(Some(&ticket), visitor.id, "x".into(), "c3".into(), &facts);
        assert_eq!(
            closed.unwrap_err(),
            Refusal::Conflict(ConflictReason::ConversationClosed)
        );
        ticket.deleted = true;
        let gone = receive(Some(&ticket), visitor.id, "x".into(), "c3".into(), &facts);
        assert_eq!(gone.unwrap_err(), Refusal::NotFound);
        let seen = mark_seen(Some(&ticket), visitor.id, MessageId::new());
        assert_eq!(seen.unwrap_err(), Refusal::NotFound);
    }

    #[test]
    fn an_offline_email_fills_an_empty_contact_only() {
        let world = World::new();
        let (_, visitor, mut ticket) = conversation(&world);
        let change = give_contact(Some(&ticket), visitor.id, "a@b.co", Timestamp(9)).unwrap();
        assert_eq!(change.after.customer.contact, "a@b.co");
        assert_eq!(change.history.len(), 1);
        ticket.customer.contact = "known@b.co".into();
        let change = give_contact(Some(&ticket), visitor.id, "a@b.co", Timestamp(9)).unwrap();
        assert!(change.is_empty() && change.after == ticket);
    }
}
