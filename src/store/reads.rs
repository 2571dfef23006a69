//! Typed reads over a read transaction. Pure lookups: no caching, no access checks.

use redb::{ReadTransaction, ReadableTable};

use super::tables::*;
use super::{StoreError, codec, index};
use crate::domain::agent::TokenRecord;
use crate::domain::channel::Channel;
use crate::domain::draft::Draft;
use crate::domain::email::MailCursor;
use crate::domain::history::HistoryEntry;
use crate::domain::message::Message;
use crate::domain::message::MessageState;
use crate::domain::notification::Notification;
use crate::domain::settings::Settings;
use crate::domain::ticket::{Ticket, View};
use crate::domain::visitor::Visitor;
use crate::domain::{
    Agent, AgentId, AttachmentId, ChannelId, Inbox, InboxId, MessageId, TicketId, Timestamp,
    VisitorId,
};

pub fn agents(tx: &ReadTransaction) -> Result<Vec<Agent>, StoreError> {
    all_values(tx, AGENTS)
}

pub fn inboxes(tx: &ReadTransaction) -> Result<Vec<Inbox>, StoreError> {
    all_values(tx, INBOXES)
}

pub fn tokens(tx: &ReadTransaction) -> Result<Vec<([u8; 32], TokenRecord)>, StoreError> {
    let table = tx.open_table(TOKENS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let hash: [u8; 32] = k
            .value()
            .try_into()
            .map_err(|_| StoreError::Corrupt("token key".into()))?;
        out.push((hash, codec::decode(v.value())?));
    }
    Ok(out)
}

pub fn settings(tx: &ReadTransaction) -> Result<Settings, StoreError> {
    let table = tx.open_table(META)?;
    match table.get(SETTINGS_KEY)? {
        Some(v) => codec::decode(v.value()),
        None => Ok(Settings::default()),
    }
}

pub fn ticket(tx: &ReadTransaction, id: TicketId) -> Result<Option<Ticket>, StoreError> {
    let table = tx.open_table(TICKETS)?;
    table
        .get(id.as_u128())?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

pub fn ticket_id_by_number(
    tx: &ReadTransaction,
    number: u64,
) -> Result<Option<TicketId>, StoreError> {
    let table = tx.open_table(TICKET_NUMBERS)?;
    Ok(table.get(number)?.map(|v| TicketId::from_u128(v.value())))
}

/// A ticket's messages in the order they were sent (scheduled ones last, by due time).
pub fn messages(tx: &ReadTransaction, ticket: TicketId) -> Result<Vec<Message>, StoreError> {
    let table = tx.open_table(MESSAGES)?;
    let id = ticket.as_u128();
    let mut messages: Vec<Message> = table
        .range((id, 0)..=(id, u128::MAX))?
        .map(|row| codec::decode(row?.1.value()))
        .collect::<Result<_, _>>()?;
    messages.sort_by_key(|m| match m.state {
        MessageState::Sent => (false, m.created_at),
        MessageState::Scheduled => (true, m.send_at.unwrap_or(m.created_at)),
    });
    Ok(messages)
}

pub fn message(
    tx: &ReadTransaction,
    ticket: TicketId,
    id: MessageId,
) -> Result<Option<Message>, StoreError> {
    let table = tx.open_table(MESSAGES)?;
    table
        .get((ticket.as_u128(), id.0.as_u128()))?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

/// Scheduled replies due at or before `now`: (ticket, message), earliest first, at most `limit`.
pub fn due(
    tx: &ReadTransaction,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<(TicketId, MessageId)>, StoreError> {
    let table = tx.open_table(SCHEDULE)?;
    let mut out = Vec::new();
    for row in table.range((i64::MIN, 0, 0)..=(now.millis(), u128::MAX, u128::MAX))? {
        let (key, _) = row?;
        let (_, ticket, message) = key.value();
        out.push((TicketId::from_u128(ticket), MessageId::from_u128(message)));
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// When the earliest scheduled reply is due.
pub fn next_due(tx: &ReadTransaction) -> Result<Option<Timestamp>, StoreError> {
    let table = tx.open_table(SCHEDULE)?;
    Ok(table.first()?.map(|(key, _)| Timestamp(key.value().0)))
}

pub fn history(tx: &ReadTransaction, ticket: TicketId) -> Result<Vec<HistoryEntry>, StoreError> {
    let table = tx.open_table(HISTORY)?;
    let id = ticket.as_u128();
    table
        .range((id, 0)..=(id, u128::MAX))?
        .map(|row| codec::decode(row?.1.value()))
        .collect()
}

/// One page of a view, newest activity first, starting after `after` (an index key
/// returned as `next` by the previous page). `next` is `None` on the last page.
pub fn view_page(
    tx: &ReadTransaction,
    inbox: InboxId,
    view: View,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<(Vec<Ticket>, Option<Vec<u8>>), StoreError> {
    let prefix = index::view_prefix(inbox, view);
    let views = tx.open_table(TICKET_VIEWS)?;
    let tickets = tx.open_table(TICKETS)?;
    let range = match after {
        Some(cursor) if cursor.starts_with(&prefix) => views.range::<&[u8]>(cursor..)?,
        Some(_) => return Ok((Vec::new(), None)),
        None => views.range::<&[u8]>(prefix.as_slice()..)?,
    };
    let mut page = Vec::with_capacity(limit.min(256));
    let mut next = None;
    for row in range {
        let (key, _) = row?;
        let key = key.value();
        if !key.starts_with(&prefix) {
            break;
        }
        if Some(key) == after {
            continue;
        }
        if page.len() == limit {
            next = page
                .last()
                .map(|t: &Ticket| index::entry_key(inbox, view, t.updated_at, t.id));
            break;
        }
        let id = index::ticket_of(key);
        if let Some(v) = tickets.get(id.as_u128())? {
            page.push(codec::decode(v.value())?);
        }
    }
    Ok((page, next))
}

fn all_values<T: serde::de::DeserializeOwned>(
    tx: &ReadTransaction,
    def: redb::TableDefinition<u128, &[u8]>,
) -> Result<Vec<T>, StoreError> {
    let table = tx.open_table(def)?;
    table
        .iter()?
        .map(|row| codec::decode(row?.1.value()))
        .collect()
}

pub fn drafts(tx: &ReadTransaction, ticket: TicketId) -> Result<Vec<Draft>, StoreError> {
    let table = tx.open_table(DRAFTS)?;
    let id = ticket.as_u128();
    table
        .range((id, 0, 0)..=(id, u128::MAX, u8::MAX))?
        .map(|row| codec::decode(row?.1.value()))
        .collect()
}

pub fn locked_tickets(tx: &ReadTransaction) -> Result<Vec<TicketId>, StoreError> {
    let table = tx.open_table(LOCKED_TICKETS)?;
    table
        .iter()?
        .map(|row| Ok(TicketId::from_u128(row?.0.value())))
        .collect()
}

/// An agent's notifications, newest first: at most `limit` older than `before` (an id).
pub fn notifications(
    tx: &ReadTransaction,
    agent: AgentId,
    unread_only: bool,
    before: Option<u128>,
    limit: usize,
) -> Result<Vec<Notification>, StoreError> {
    let table = tx.open_table(NOTIFICATIONS)?;
    let id = agent.as_u128();
    let end = before.unwrap_or(u128::MAX);
    let mut out = Vec::new();
    for row in table.range((id, 0)..(id, end))?.rev() {
        let notification: Notification = codec::decode(row?.1.value())?;
        if unread_only && notification.read {
            continue;
        }
        out.push(notification);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

pub fn notification(
    tx: &ReadTransaction,
    agent: AgentId,
    id: u128,
) -> Result<Option<Notification>, StoreError> {
    let table = tx.open_table(NOTIFICATIONS)?;
    table
        .get((agent.as_u128(), id))?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

/// Tickets containing every one of `words`, with their summed weights, most
/// relevant first, newest ticket first among equals. Each word's postings are
/// one sequential range scan (ordered by ticket), intersected by merging.
pub fn search(tx: &ReadTransaction, words: &[String]) -> Result<Vec<(TicketId, u32)>, StoreError> {
    let table = tx.open_table(SEARCH)?;
    let mut hits: Option<Vec<(u128, u32)>> = None;
    for word in words {
        let range = table.range((word.as_str(), 0u128)..=(word.as_str(), u128::MAX))?;
        hits = Some(match hits {
            None => range
                .map(|row| row.map(|(k, v)| (k.value().1, v.value())))
                .collect::<Result<_, _>>()?,
            Some(previous) => {
                let mut kept = Vec::with_capacity(previous.len());
                let mut previous = previous.into_iter().peekable();
                for row in range {
                    let (key, weight) = row?;
                    let ticket = key.value().1;
                    while previous.next_if(|(t, _)| *t < ticket).is_some() {}
                    if let Some((_, w)) = previous.next_if(|(t, _)| *t == ticket) {
                        kept.push((ticket, w + weight.value()));
                    }
                    if previous.peek().is_none() {
                        break;
                    }
                }
                kept
            }
        });
        if hits.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
    }
    let mut hits = hits.unwrap_or_default();
    hits.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    Ok(hits
        .into_iter()
        .map(|(t, w)| (TicketId::from_u128(t), w))
        .collect())
}

/// The tickets shared with `agent`, in ticket-creation order.
pub fn shared_with(tx: &ReadTransaction, agent: AgentId) -> Result<Vec<TicketId>, StoreError> {
    let table = tx.open_table(SHARES)?;
    let id = agent.as_u128();
    table
        .range((id, 0)..=(id, u128::MAX))?
        .map(|row| Ok(TicketId::from_u128(row?.0.value().1)))
        .collect()
}

pub fn channels(tx: &ReadTransaction) -> Result<Vec<Channel>, StoreError> {
    all_values(tx, CHANNELS)
}

pub fn visitor(tx: &ReadTransaction, id: VisitorId) -> Result<Option<Visitor>, StoreError> {
    tx.open_table(VISITORS)?
        .get(id.as_u128())?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

/// The visitor whose token has this SHA-256.
pub fn visitor_by_token(
    tx: &ReadTransaction,
    hash: &[u8; 32],
) -> Result<Option<VisitorId>, StoreError> {
    Ok(tx
        .open_table(VISITOR_TOKENS)?
        .get(hash.as_slice())?
        .map(|v| VisitorId::from_u128(v.value())))
}

/// The visitor of `channel` verified as `identifier`.
pub fn visitor_by_identity(
    tx: &ReadTransaction,
    channel: ChannelId,
    identifier: &str,
) -> Result<Option<VisitorId>, StoreError> {
    Ok(tx
        .open_table(VISITOR_IDENTITIES)?
        .get((channel.as_u128(), identifier))?
        .map(|v| VisitorId::from_u128(v.value())))
}

/// A visitor's conversations, newest first, at most `limit` (deleted ones included).
pub fn visitor_tickets(
    tx: &ReadTransaction,
    visitor: VisitorId,
    limit: usize,
) -> Result<Vec<Ticket>, StoreError> {
    let table = tx.open_table(VISITOR_TICKETS)?;
    let id = visitor.as_u128();
    let mut tickets = Vec::new();
    for row in table.range((id, 0)..=(id, u128::MAX))?.rev().take(limit) {
        let (_, ticket) = row?.0.value();
        if let Some(t) = self::ticket(tx, TicketId::from_u128(ticket))? {
            tickets.push(t);
        }
    }
    Ok(tickets)
}

/// The message stored with `client_id` in `scope` (`Ticket::client_scope`), if any.
pub fn client_message(
    tx: &ReadTransaction,
    scope: u128,
    client_id: &str,
) -> Result<Option<Message>, StoreError> {
    let found = tx
        .open_table(CLIENT_IDS)?
        .get((scope, client_id))?
        .map(|v| v.value());
    match found {
        Some((ticket, id)) => message(
            tx,
            TicketId::from_u128(ticket),
            MessageId(uuid::Uuid::from_u128(id)),
        ),
        None => Ok(None),
    }
}

/// The newest ticket of an API channel's conversation `external_id`, if any.
pub fn api_conversation(
    tx: &ReadTransaction,
    channel: ChannelId,
    external_id: &str,
) -> Result<Option<TicketId>, StoreError> {
    let found = tx
        .open_table(API_CONVERSATIONS)?
        .get((channel.as_u128(), external_id))?;
    Ok(found.map(|v| TicketId::from_u128(v.value())))
}

/// The ticket and message a mail with this Message-ID is on, if any.
pub fn email_message(
    tx: &ReadTransaction,
    message_id: &str,
) -> Result<Option<(TicketId, MessageId)>, StoreError> {
    let found = tx.open_table(EMAIL_IDS)?.get(message_id)?;
    Ok(found.map(|v| {
        let (ticket, message) = v.value();
        (TicketId::from_u128(ticket), MessageId::from_u128(message))
    }))
}

/// The bytes of attachment `id` of `ticket`.
pub fn attachment(
    tx: &ReadTransaction,
    ticket: TicketId,
    id: AttachmentId,
) -> Result<Option<Vec<u8>>, StoreError> {
    let found = tx
        .open_table(ATTACHMENTS)?
        .get((ticket.as_u128(), id.as_u128()))?;
    Ok(found.map(|v| v.value().to_vec()))
}

/// Every reply waiting to be sent by mail: (message, ticket).
pub fn outbox(tx: &ReadTransaction) -> Result<Vec<(MessageId, TicketId)>, StoreError> {
    let table = tx.open_table(OUTBOX)?;
    table
        .iter()?
        .map(|row| {
            let (message, ticket) = row?;
            Ok((
                MessageId::from_u128(message.value()),
                TicketId::from_u128(ticket.value()),
            ))
        })
        .collect()
}

/// Where the import of e-mail channel `channel` stands.
pub fn mail_cursor(
    tx: &ReadTransaction,
    channel: ChannelId,
) -> Result<Option<MailCursor>, StoreError> {
    let table = tx.open_table(MAIL_CURSORS)?;
    table
        .get(channel.as_u128())?
        .map(|v| codec::decode(v.value()))
        .transpose()
}
