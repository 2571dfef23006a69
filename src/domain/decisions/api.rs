//! API channel decisions: an integration opens a conversation (a ticket),
//! and its customer's messages continue it (docs/protocol.md §9.9).
//!
//! Invariants:
//! - A message from the integration follows every rule of a customer
//!   message posted over REST (see `posting`): unread for everyone, drafts
//!   outdated, resolved reopens, followers told.
//! - Each message keeps its `external_message_id` (as its `client_id`), so
//!   the store can answer a resend with it instead of storing it twice.
//! - An archived or deleted conversation takes no more messages: the
//!   caller opens a new ticket for the same `external_id`.

use super::super::api_channel::ApiConversation;
use super::super::channel::Channel;
use super::super::message::Message;
use super::super::ticket::{self, Customer, Ticket};
use super::super::{TicketId, Timestamp};
use super::posting::arrives_through_channel;
use super::{Change, ConflictReason, Facts, Refusal};

/// A conversation as the integration names it (checked by `channels::api`).
#[derive(Clone, Debug)]
pub struct ConversationIn {
    pub external_id: String,
    pub contact: Customer,
    pub subject: Option<String>,
}

/// A customer's message as the integration sends it.
#[derive(Clone, Debug)]
pub struct MessageIn {
    pub body: String,
    pub external_message_id: String,
}

/// A new ticket `id` in the channel's inbox for `conversation`, with its
/// first message if one came with it.
pub fn open(
    existing: Option<&Ticket>,
    id: TicketId,
    channel: &Channel,
    conversation: ConversationIn,
    first: Option<MessageIn>,
    now: Timestamp,
) -> Result<(Change, Option<Message>), Refusal> {
    if existing.is_some() {
        return Err(ConflictReason::TicketExists.into());
    }
    if let Some(first) = &first {
        ticket::validate_body(&first.body).map_err(Refusal::Invalid)?;
    }
    let subject = conversation
        .subject
        .unwrap_or_else(|| conversation.contact.name.clone());
    let mut ticket = Ticket::new(id, 0, channel.inbox, subject, conversation.contact, now);
    ticket.api = Some(ApiConversation {
        channel: channel.id,
        channel_name: channel.name.clone(),
        external_id: conversation.external_id,
    });
    let message = first.map(|m| Message::customer(id, m.body, now, Some(m.external_message_id)));
    let messages = message.iter().cloned().collect();
    let change = Change::created(ticket, messages, channel.created(now));
    Ok((change, message))
}

/// The integration's customer writes to `ticket`. `facts.now` must sort
/// after every draft decided before it (see `posting::post`).
pub fn receive(
    ticket: Option<&Ticket>,
    message: MessageIn,
    facts: &Facts,
) -> Result<(Change, Message), Refusal> {
    let before = super::live(ticket)?;
    if before.api.is_none() {
        return Err(Refusal::NotFound);
    }
    let mut change = arrives_through_channel(before, facts)?;
    ticket::validate_body(&message.body).map_err(Refusal::Invalid)?;
    let message = Message::customer(
        before.id,
        message.body,
        facts.now,
        Some(message.external_message_id),
    );
    change.messages.push(message.clone());
    Ok((change, message))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::World;
    use super::*;
    use crate::domain::channel::ChannelKind;
    use crate::domain::message::MessageKind;
    use crate::domain::ticket::Status;

    fn channel(world: &World) -> Channel {
        Channel::new(
            ChannelKind::Api,
            world.support(),
            "SMS".into(),
            Timestamp(0),
        )
    }

    fn conversation() -> ConversationIn {
        ConversationIn {
            external_id: "sms:+15550100".into(),
            contact: Customer {
                name: "Ada".into(),
                contact: "+15550100".into(),
            },
            subject: None,
        }
    }

    fn text(body: &str, id: &str) -> MessageIn {
        MessageIn {
            body: body.into(),
            external_message_id: id.into(),
        }
    }

    #[test]
    fn a_conversation_opens_a_pending_ticket_named_after_its_contact() {
        let world = World::new();
        let channel = channel(&world);
        let (change, first) = open(
            None,
            TicketId::new(),
            &channel,
            conversation(),
            None,
            Timestamp(5),
        )
        .unwrap();
        assert!(first.is_none() && change.messages.is_empty() && change.new_ticket);
        let t = &change.after;
        assert_eq!((t.status, t.inbox), (Status::Pending, world.support()));
        assert_eq!(t.subject, "Ada");
        assert_eq!(t.customer.contact, "+15550100");
        let api = t.api.as_ref().unwrap();
        assert_eq!(
            (api.channel, api.external_id.as_str()),
            (channel.id, "sms:+15550100")
        );
    }

    #[test]
    fn messages_keep_their_external_id_and_reopen_a_resolved_conversation() {
        let world = World::new();
        let (change, first) = open(
            None,
            TicketId::new(),
            &channel(&world),
            conversation(),
            Some(text("hi", "m1")),
            Timestamp(5),
        )
        .unwrap();
        assert_eq!(first.unwrap().client_id.as_deref(), Some("m1"));
        let mut ticket = change.after;
        ticket.status = Status::Resolved;
        let (change, message) =
            receive(Some(&ticket), text("again", "m2"), &world.facts()).unwrap();
        assert_eq!(message.kind, MessageKind::Customer);
        assert_eq!(message.client_id.as_deref(), Some("m2"));
        assert_eq!(change.after.status, Status::Pending);
    }

    #[test]
    fn closed_foreign_and_blank_are_refused() {
        let world = World::new();
        let facts = world.facts();
        let (change, _) = open(
            None,
            TicketId::new(),
            &channel(&world),
            conversation(),
            None,
            Timestamp(5),
        )
        .unwrap();
        let mut ticket = change.after;
        let blank = receive(Some(&ticket), text("  ", "m1"), &facts);
        assert!(matches!(blank, Err(Refusal::Invalid(_))));
        ticket.status = Status::Archived;
        let closed = receive(Some(&ticket), text("x", "m1"), &facts);
        assert_eq!(
            closed.unwrap_err(),
            ConflictReason::ConversationClosed.into()
        );
        ticket.api = None;
        let foreign = receive(Some(&ticket), text("x", "m1"), &facts);
        assert_eq!(foreign.unwrap_err(), Refusal::NotFound);
    }
}
