//! Creating a ticket, editing its subject, tags and fields, and read marks.

use std::collections::BTreeMap;

use super::super::access::TicketAction;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::message::Message;
use super::super::ticket::{self, Customer, Status, Ticket};
use super::super::{Agent, InboxId, TicketId, Timestamp};
use super::{Change, ConflictReason, Facts, Refusal, authorize, check_collisions};

/// What a new ticket starts with (validated by the caller).
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub inbox: InboxId,
    pub subject: String,
    pub customer: Customer,
    pub body: String,
}

/// A new ticket `id` with its first customer message (numbered by the store).
pub fn create(
    existing: Option<&Ticket>,
    id: TicketId,
    by: &Agent,
    new: NewTicket,
    now: Timestamp,
) -> Result<Change, Refusal> {
    if existing.is_some() {
        return Err(ConflictReason::TicketExists.into());
    }
    let NewTicket {
        inbox,
        subject,
        customer,
        body,
    } = new;
    let ticket = Ticket::new(id, 0, inbox, subject, customer, now);
    let message = Message::customer(id, body, now, None);
    let created = HistoryEntry::new(Some(by.id), HistoryAction::Created, now)
        .with("inbox", inbox.to_string())
        .with("status", Status::Pending.as_str());
    Ok(Change::created(ticket, vec![message], created))
}

/// An edit of subject, tags and/or fields (`None` leaves it as it is).
#[derive(Clone, Debug, Default)]
pub struct Edit {
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<BTreeMap<String, Option<String>>>,
}

/// Edits the ticket. What actually changed is recorded in one
/// `fields_changed` entry; a patch that changes nothing records nothing.
pub fn edit(
    ticket: Option<&Ticket>,
    by: &Agent,
    patch: &Edit,
    facts: &Facts,
) -> Result<Change, Refusal> {
    let before = authorize(ticket, by, TicketAction::Edit)?;
    check_collisions(before, by, facts)?;
    let mut after = before.clone();
    if let Some(subject) = &patch.subject {
        after.subject = ticket::validate_subject(subject).map_err(Refusal::Invalid)?;
    }
    if let Some(tags) = &patch.tags {
        after.tags = ticket::normalize_tags(tags).map_err(Refusal::Invalid)?;
    }
    if let Some(fields) = &patch.fields {
        after.fields = ticket::patch_fields(&before.fields, fields).map_err(Refusal::Invalid)?;
    }
    let mut changed = serde_json::Map::new();
    if after.subject != before.subject {
        changed.insert("subject".into(), after.subject.clone().into());
    }
    if after.tags != before.tags {
        changed.insert("tags".into(), serde_json::json!(after.tags));
    }
    if after.fields != before.fields {
        changed.insert("fields".into(), serde_json::json!(after.fields));
    }
    let mut change = Change::of(after);
    if !changed.is_empty() {
        change.after.updated_at = facts.now;
        let mut entry = HistoryEntry::new(Some(by.id), HistoryAction::FieldsChanged, facts.now);
        entry.detail = changed;
        change.history.push(entry);
    }
    Ok(change)
}

/// Marks the ticket read (or unread) for `by` alone: no collision rule
/// applies and nothing is recorded in history.
pub fn mark_read(ticket: Option<&Ticket>, by: &Agent, read: bool) -> Result<Change, Refusal> {
    let mut after = authorize(ticket, by, TicketAction::MarkRead)?.clone();
    if read {
        after.read_by.insert(by.id);
    } else {
        after.read_by.remove(&by.id);
    }
    Ok(Change::of(after))
}
