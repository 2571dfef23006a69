//! What an API channel's integration does (docs/protocol.md §9.9): it
//! proves itself with the channel's key, opens conversations and sends its
//! customers' messages, each exactly once however often it retries.
//!
//! Invariants:
//! - The key opens its own channel's two endpoints and nothing else; a
//!   disabled channel takes nothing.
//! - One conversation per `external_id` and one message per
//!   `external_message_id`, under races too: the lookup and the write run
//!   under a lock of that id ([`KeyedLock`]), and the store records the id
//!   in the commit that creates the ticket or the message, so a retry after
//!   a restart finds it.
//! - Locks are taken message id first, conversation second, never the
//!   other way round.
//! - A message to an archived or deleted conversation opens a new ticket
//!   for the same `external_id`, with the same contact and subject.

use std::sync::Arc;

use super::keyed_lock::KeyedLock;
use crate::actors::ticket::{OpenApiConversation, ReceiveApiMessage};
use crate::core::Core;
use crate::domain::api_channel::validate_id;
use crate::domain::channel::Channel;
use crate::domain::decisions::ConflictReason;
use crate::domain::decisions::api::{ConversationIn, MessageIn};
use crate::domain::message::Message;
use crate::domain::ticket::{self, Customer, Status, Ticket};
use crate::domain::{ChannelId, TicketId};
use crate::error::Error;
use crate::store::reads;

/// What a lock of [`Integrations`] is held for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Id {
    Conversation(ChannelId, String),
    Message(ChannelId, String),
}

/// The locks of the integrations' ids (see the module invariants).
#[derive(Default)]
pub struct Integrations {
    locks: KeyedLock<Id>,
}

/// Whether a request stored something or found it stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Existing,
}

/// The API channel `id` if `key` is its key (`Bearer` token of the request).
pub fn authenticate(core: &Core, id: ChannelId, key: Option<&str>) -> Result<Arc<Channel>, Error> {
    // Only API channels have `api`, the key's hash.
    let accepts =
        |c: &Arc<Channel>| key.is_some_and(|k| c.api.as_ref().is_some_and(|a| a.accepts(k)));
    let channel = core
        .channels
        .get(id)
        .filter(accepts)
        .ok_or(Error::Unauthorized)?;
    if !channel.enabled {
        return Err(Error::forbidden("the channel is disabled"));
    }
    Ok(channel)
}

/// The conversation as the integration names it, checked.
pub fn conversation_in(
    external_id: &str,
    name: &str,
    identifier: &str,
    subject: Option<&str>,
) -> Result<ConversationIn, Error> {
    let external_id = validate_id("external_id", external_id).map_err(Error::BadRequest)?;
    let contact = Customer {
        name: validate_id("contact.name", name).map_err(Error::BadRequest)?,
        contact: validate_id("contact.identifier", identifier).map_err(Error::BadRequest)?,
    };
    let subject = subject
        .map(ticket::validate_subject)
        .transpose()
        .map_err(Error::BadRequest)?;
    Ok(ConversationIn {
        external_id,
        contact,
        subject,
    })
}

impl Integrations {
    /// The open conversation `conversation.external_id` of `channel`, or a
    /// new one.
    pub async fn open(
        &self,
        core: &Arc<Core>,
        channel: Arc<Channel>,
        conversation: ConversationIn,
    ) -> Result<(Ticket, Outcome), Error> {
        let id = Id::Conversation(channel.id, conversation.external_id.clone());
        let _held = self.locks.lock(id).await;
        if let Some(ticket) = current(core, &channel, &conversation.external_id)?
            && is_open(&ticket)
        {
            return Ok((ticket, Outcome::Existing));
        }
        let open = OpenApiConversation {
            channel,
            conversation,
            first: None,
        };
        let (ticket, _) = core.ask_ticket(TicketId::new(), open).await?;
        Ok((ticket, Outcome::Created))
    }

    /// Stores `message` on conversation `external_id` of `channel`, unless
    /// its `external_message_id` is stored already. `NotFound` if the
    /// conversation was never opened.
    pub async fn receive(
        &self,
        core: &Arc<Core>,
        channel: Arc<Channel>,
        external_id: &str,
        message: MessageIn,
    ) -> Result<(Ticket, Message, Outcome), Error> {
        let external_id = validate_id("external_id", external_id).map_err(|_| Error::NotFound)?;
        let message = MessageIn {
            external_message_id: validate_id("external_message_id", &message.external_message_id)
                .map_err(Error::BadRequest)?,
            ..message
        };
        let id = Id::Message(channel.id, message.external_message_id.clone());
        let _message_held = self.locks.lock(id).await;
        let stored = {
            let tx = core.store.read()?;
            let scope = channel.id.as_u128();
            match reads::client_message(&tx, scope, &message.external_message_id)? {
                Some(m) => reads::ticket(&tx, m.ticket)?.map(|t| (t, m)),
                None => None,
            }
        };
        if let Some((ticket, message)) = stored {
            return Ok((ticket, message, Outcome::Existing));
        }
        let id = Id::Conversation(channel.id, external_id.clone());
        let _conversation_held = self.locks.lock(id).await;
        let ticket = current(core, &channel, &external_id)?.ok_or(Error::NotFound)?;
        if is_open(&ticket) {
            let receive = ReceiveApiMessage {
                message: message.clone(),
            };
            match core.ask_ticket(ticket.id, receive).await {
                Ok((ticket, message)) => return Ok((ticket, message, Outcome::Created)),
                // Archived or deleted meanwhile: a new ticket, below.
                Err(Error::NotFound | Error::Conflict(ConflictReason::ConversationClosed)) => {}
                Err(e) => return Err(e),
            }
        }
        let open = OpenApiConversation {
            channel,
            conversation: ConversationIn {
                external_id,
                contact: ticket.customer.clone(),
                subject: Some(ticket.subject.clone()),
            },
            first: Some(message),
        };
        let (ticket, first) = core.ask_ticket(TicketId::new(), open).await?;
        let message = first.expect("a conversation opened with a message has it");
        Ok((ticket, message, Outcome::Created))
    }
}

/// The newest ticket of conversation `external_id`, deleted or not.
fn current(core: &Core, channel: &Channel, external_id: &str) -> Result<Option<Ticket>, Error> {
    let tx = core.store.read()?;
    match reads::api_conversation(&tx, channel.id, external_id)? {
        Some(id) => Ok(reads::ticket(&tx, id)?),
        None => Ok(None),
    }
}

fn is_open(ticket: &Ticket) -> bool {
    !ticket.deleted && ticket.status != Status::Archived
}
