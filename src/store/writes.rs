//! Typed writes, applied inside a writer batch (see [`super::Store::write`]).
//! Each keeps the secondary tables (numbers, list index) in step with the record.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};

use super::tables::*;
use super::{StoreError, codec, index};
use crate::domain::agent::TokenRecord;
use crate::domain::channel::Channel;
use crate::domain::draft::{Draft, DraftKind};
use crate::domain::email::{Blob, MailCursor};
use crate::domain::history::HistoryEntry;
use crate::domain::message::Message;
use crate::domain::notification::Notification;
use crate::domain::search;
use crate::domain::settings::Settings;
use crate::domain::ticket::Ticket;
use crate::domain::visitor::Visitor;
use crate::domain::webhook::Webhook;
use crate::domain::{Agent, AgentId, ChannelId, Inbox, TicketId, VisitorId, WebhookId};

pub fn put_agent(tx: &WriteTransaction, agent: &Agent) -> Result<(), StoreError> {
    tx.open_table(AGENTS)?
        .insert(agent.id.as_u128(), codec::encode(agent).as_slice())?;
    Ok(())
}

pub fn put_inbox(tx: &WriteTransaction, inbox: &Inbox) -> Result<(), StoreError> {
    tx.open_table(INBOXES)?
        .insert(inbox.id.as_u128(), codec::encode(inbox).as_slice())?;
    Ok(())
}

pub fn put_token(
    tx: &WriteTransaction,
    hash: &[u8; 32],
    record: &TokenRecord,
) -> Result<(), StoreError> {
    tx.open_table(TOKENS)?
        .insert(hash.as_slice(), codec::encode(record).as_slice())?;
    Ok(())
}

pub fn delete_token(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<(), StoreError> {
    tx.open_table(TOKENS)?.remove(hash.as_slice())?;
    Ok(())
}

/// Removes the tokens of `agent` whose digest `revoked` picks (disabling an
/// agent or changing its password ends its sessions for good).
pub fn delete_tokens_of(
    tx: &WriteTransaction,
    agent: AgentId,
    revoked: impl Fn(&[u8; 32]) -> bool,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(TOKENS)?;
    let mut doomed = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let revoked = <&[u8; 32]>::try_from(k.value()).is_ok_and(&revoked);
        if revoked && codec::decode::<TokenRecord>(v.value())?.agent == agent {
            doomed.push(k.value().to_vec());
        }
    }
    for key in doomed {
        table.remove(key.as_slice())?;
    }
    Ok(())
}

pub fn put_settings(tx: &WriteTransaction, settings: &Settings) -> Result<(), StoreError> {
    tx.open_table(META)?
        .insert(SETTINGS_KEY, codec::encode(settings).as_slice())?;
    Ok(())
}

/// The next ticket number. Gap-free: it is allocated inside the batch that
/// stores the ticket, so an aborted batch gives its numbers back.
pub fn allocate_ticket_number(tx: &WriteTransaction) -> Result<u64, StoreError> {
    let mut meta = tx.open_table(META)?;
    let next = match meta.get(NEXT_TICKET_NUMBER_KEY)? {
        Some(v) => codec::decode::<u64>(v.value())?,
        None => 1,
    };
    meta.insert(
        NEXT_TICKET_NUMBER_KEY,
        codec::encode(&(next + 1)).as_slice(),
    )?;
    Ok(next)
}

/// The searchable words of a ticket's own fields, weighted.
fn ticket_words(t: &Ticket) -> BTreeMap<String, u32> {
    let mut weights = BTreeMap::new();
    for (text, weight) in [
        (&t.subject, search::SUBJECT_WEIGHT),
        (&t.customer.name, search::CUSTOMER_WEIGHT),
        (&t.customer.contact, search::CUSTOMER_WEIGHT),
    ] {
        for (word, count) in search::words(text) {
            *weights.entry(word).or_insert(0) += count * weight;
        }
    }
    weights
}

/// Adds (or, with `add == false`, removes) weighted words of `ticket` to the search index.
fn index_words(
    tx: &WriteTransaction,
    ticket: TicketId,
    words: &BTreeMap<String, u32>,
    add: bool,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(SEARCH)?;
    for (word, weight) in words {
        let key = (word.as_str(), ticket.as_u128());
        let current = table.get(key)?.map_or(0, |v| v.value());
        let next = if add {
            current.saturating_add(*weight)
        } else {
            current.saturating_sub(*weight)
        };
        if next == 0 {
            table.remove(key)?;
        } else {
            table.insert(key, next)?;
        }
    }
    Ok(())
}

/// Stores `new`, moving its list-index entries from where `old` had them and
/// keeping its searchable words current.
pub fn put_ticket(
    tx: &WriteTransaction,
    old: Option<&Ticket>,
    new: &Ticket,
) -> Result<(), StoreError> {
    let mut views = tx.open_table(TICKET_VIEWS)?;
    let new_keys = index::keys_of(new);
    let old_keys = old.map(index::keys_of).unwrap_or_default();
    for key in old_keys.iter().filter(|k| !new_keys.contains(k)) {
        views.remove(key.as_slice())?;
    }
    for key in new_keys.iter().filter(|k| !old_keys.contains(k)) {
        views.insert(key.as_slice(), ())?;
    }
    tx.open_table(TICKETS)?
        .insert(new.id.as_u128(), codec::encode(new).as_slice())?;
    if new.lock.is_some() && !new.deleted {
        tx.open_table(LOCKED_TICKETS)?
            .insert(new.id.as_u128(), ())?;
    } else if old.is_some_and(|o| o.lock.is_some()) {
        tx.open_table(LOCKED_TICKETS)?.remove(new.id.as_u128())?;
    }
    if old.is_none() {
        tx.open_table(TICKET_NUMBERS)?
            .insert(new.number, new.id.as_u128())?;
        if let Some(chat) = &new.chat {
            tx.open_table(VISITOR_TICKETS)?
                .insert((chat.visitor.as_u128(), new.id.as_u128()), ())?;
        }
        if let Some(api) = &new.api {
            tx.open_table(API_CONVERSATIONS)?.insert(
                (api.channel.as_u128(), api.external_id.as_str()),
                new.id.as_u128(),
            )?;
        }
    }
    let old_shares: &[AgentId] = old.map_or(&[], |o| &o.shared_with);
    if old_shares != new.shared_with.as_slice() {
        let mut shares = tx.open_table(SHARES)?;
        for agent in old_shares.iter().filter(|a| !new.shared_with.contains(a)) {
            shares.remove((agent.as_u128(), new.id.as_u128()))?;
        }
        for agent in new.shared_with.iter().filter(|a| !old_shares.contains(a)) {
            shares.insert((agent.as_u128(), new.id.as_u128()), ())?;
        }
    }
    let searchable_changed =
        old.is_none_or(|o| o.subject != new.subject || o.customer != new.customer);
    if searchable_changed {
        if let Some(old) = old {
            index_words(tx, new.id, &ticket_words(old), false)?;
        }
        index_words(tx, new.id, &ticket_words(new), true)?;
    }
    Ok(())
}

/// Stores a message; a new one also gets its words indexed. A scheduled
/// reply is in the schedule exactly while its state is `scheduled`.
pub fn put_message(tx: &WriteTransaction, message: &Message) -> Result<(), StoreError> {
    let existed = tx
        .open_table(MESSAGES)?
        .insert(
            (message.ticket.as_u128(), message.id.0.as_u128()),
            codec::encode(message).as_slice(),
        )?
        .is_some();
    if let Some(at) = message.send_at {
        let key = (
            at.millis(),
            message.ticket.as_u128(),
            message.id.0.as_u128(),
        );
        let mut schedule = tx.open_table(SCHEDULE)?;
        if message.state == crate::domain::message::MessageState::Scheduled {
            schedule.insert(key, ())?;
        } else {
            schedule.remove(key)?;
        }
    }
    if let Some(email) = &message.email {
        tx.open_table(EMAIL_IDS)?.insert(
            email.message_id.as_str(),
            (message.ticket.as_u128(), message.id.0.as_u128()),
        )?;
    }
    if let Some(delivery) = &message.delivery {
        let mut outbox = tx.open_table(OUTBOX)?;
        if delivery.is_queued() {
            outbox.insert(message.id.0.as_u128(), message.ticket.as_u128())?;
        } else {
            outbox.remove(message.id.0.as_u128())?;
        }
    }
    if !existed {
        let words: BTreeMap<String, u32> = search::words(&message.body)
            .into_iter()
            .map(|(w, c)| (w, c * search::BODY_WEIGHT))
            .collect();
        index_words(tx, message.ticket, &words, true)?;
    }
    Ok(())
}

pub fn append_history(
    tx: &WriteTransaction,
    ticket: TicketId,
    entry: &HistoryEntry,
) -> Result<(), StoreError> {
    let key = (ticket.as_u128(), uuid::Uuid::now_v7().as_u128());
    tx.open_table(HISTORY)?
        .insert(key, codec::encode(entry).as_slice())?;
    Ok(())
}

pub fn put_draft(tx: &WriteTransaction, ticket: TicketId, draft: &Draft) -> Result<(), StoreError> {
    let key = (ticket.as_u128(), draft.agent.as_u128(), draft.kind.tag());
    tx.open_table(DRAFTS)?
        .insert(key, codec::encode(draft).as_slice())?;
    Ok(())
}

pub fn delete_draft(
    tx: &WriteTransaction,
    ticket: TicketId,
    agent: AgentId,
    kind: DraftKind,
) -> Result<(), StoreError> {
    tx.open_table(DRAFTS)?
        .remove((ticket.as_u128(), agent.as_u128(), kind.tag()))?;
    Ok(())
}

pub fn put_notification(
    tx: &WriteTransaction,
    notification: &Notification,
) -> Result<(), StoreError> {
    let key = (notification.agent.as_u128(), notification.id.as_u128());
    tx.open_table(NOTIFICATIONS)?
        .insert(key, codec::encode(notification).as_slice())?;
    Ok(())
}

/// Rebuilds the search index from every ticket and message (for data written
/// before the index existed). Runs inside one write transaction at start-up.
pub fn rebuild_search_index(tx: &WriteTransaction) -> Result<usize, StoreError> {
    tx.delete_table(SEARCH)?;
    let tickets: Vec<Ticket> = {
        let table = tx.open_table(TICKETS)?;
        table
            .iter()?
            .map(|row| codec::decode(row?.1.value()))
            .collect::<Result<_, _>>()?
    };
    for ticket in &tickets {
        index_words(tx, ticket.id, &ticket_words(ticket), true)?;
        let messages: Vec<Message> = {
            let table = tx.open_table(MESSAGES)?;
            let id = ticket.id.as_u128();
            table
                .range((id, 0)..=(id, u128::MAX))?
                .map(|row| codec::decode(row?.1.value()))
                .collect::<Result<_, _>>()?
        };
        for message in messages {
            let words = search::words(&message.body)
                .into_iter()
                .map(|(w, c)| (w, c * search::BODY_WEIGHT))
                .collect();
            index_words(tx, ticket.id, &words, true)?;
        }
    }
    Ok(tickets.len())
}

/// Deletes a (scheduled) message, its schedule entry and its words in the search index.
pub fn delete_message(tx: &WriteTransaction, message: &Message) -> Result<(), StoreError> {
    let existed = tx
        .open_table(MESSAGES)?
        .remove((message.ticket.as_u128(), message.id.0.as_u128()))?
        .is_some();
    if existed {
        let words: BTreeMap<String, u32> = search::words(&message.body)
            .into_iter()
            .map(|(w, c)| (w, c * search::BODY_WEIGHT))
            .collect();
        index_words(tx, message.ticket, &words, false)?;
    }
    if let Some(at) = message.send_at {
        tx.open_table(SCHEDULE)?.remove((
            at.millis(),
            message.ticket.as_u128(),
            message.id.0.as_u128(),
        ))?;
    }
    Ok(())
}

/// Stores the bytes of an attachment (in the commit of its message).
pub fn put_blob(tx: &WriteTransaction, blob: &Blob) -> Result<(), StoreError> {
    tx.open_table(ATTACHMENTS)?.insert(
        (blob.ticket.as_u128(), blob.attachment.as_u128()),
        &*blob.bytes,
    )?;
    Ok(())
}

pub fn put_mail_cursor(
    tx: &WriteTransaction,
    channel: ChannelId,
    cursor: &MailCursor,
) -> Result<(), StoreError> {
    tx.open_table(MAIL_CURSORS)?
        .insert(channel.as_u128(), codec::encode(cursor).as_slice())?;
    Ok(())
}

/// Stores a channel, and keeps an API channel's reply callback in step
/// with it (`Webhook::callback_of`).
pub fn put_channel(tx: &WriteTransaction, channel: &Channel) -> Result<(), StoreError> {
    tx.open_table(CHANNELS)?
        .insert(channel.id.as_u128(), codec::encode(channel).as_slice())?;
    match Webhook::callback_of(channel) {
        Some(callback) => super::webhooks::put_webhook(tx, &callback)?,
        None => {
            super::webhooks::delete_webhook(tx, WebhookId::from_u128(channel.id.as_u128()))?;
        }
    }
    Ok(())
}

/// Deletes a channel. Its visitors and tickets stay (the tickets are the team's).
pub fn delete_channel(tx: &WriteTransaction, channel: ChannelId) -> Result<(), StoreError> {
    let raw = channel.as_u128();
    tx.open_table(CHANNELS)?.remove(raw)?;
    tx.open_table(MAIL_CURSORS)?.remove(raw)?;
    super::webhooks::delete_webhook(tx, WebhookId::from_u128(raw))?;
    tx.open_table(API_CONVERSATIONS)?
        .retain_in((raw, "")..(raw + 1, ""), |_, _| false)?;
    Ok(())
}

/// Stores a visitor, and its verified identifier if it has one.
pub fn put_visitor(tx: &WriteTransaction, visitor: &Visitor) -> Result<(), StoreError> {
    tx.open_table(VISITORS)?
        .insert(visitor.id.as_u128(), codec::encode(visitor).as_slice())?;
    if let Some(identifier) = &visitor.identifier {
        tx.open_table(VISITOR_IDENTITIES)?.insert(
            (visitor.channel.as_u128(), identifier.as_str()),
            visitor.id.as_u128(),
        )?;
    }
    Ok(())
}

pub fn put_visitor_token(
    tx: &WriteTransaction,
    hash: &[u8; 32],
    visitor: VisitorId,
) -> Result<(), StoreError> {
    tx.open_table(VISITOR_TOKENS)?
        .insert(hash.as_slice(), visitor.as_u128())?;
    Ok(())
}

/// Remembers which message a visitor's `client_id` stored (in the message's batch).
pub fn put_client_id(
    tx: &WriteTransaction,
    scope: u128,
    message: &Message,
) -> Result<(), StoreError> {
    if let Some(client_id) = &message.client_id {
        tx.open_table(CLIENT_IDS)?.insert(
            (scope, client_id.as_str()),
            (message.ticket.as_u128(), message.id.0.as_u128()),
        )?;
    }
    Ok(())
}
