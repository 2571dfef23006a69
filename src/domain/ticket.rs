//! Tickets and their status rules.
//!
//! Status rules (docs/protocol.md): assigning makes a ticket `working_on`,
//! unassigning makes it `pending`, resolving keeps the assignee, reopening
//! (explicitly or by a customer message on a resolved ticket) makes it
//! `working_on` if it has an assignee, else `pending`. Deleted tickets are
//! kept as tombstones (their history stays auditable) but are invisible.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::access::TicketScope;
use super::{AgentId, InboxId, TicketId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    WorkingOn,
    Resolved,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::WorkingOn => "working_on",
            Status::Resolved => "resolved",
            Status::Archived => "archived",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub contact: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub number: u64,
    pub inbox: InboxId,
    pub subject: String,
    pub customer: Customer,
    pub status: Status,
    #[serde(default)]
    pub assignee: Option<AgentId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Agents who have read the ticket since its last customer message.
    #[serde(default)]
    pub read_by: BTreeSet<AgentId>,
    #[serde(default)]
    pub followers: Vec<AgentId>,
    #[serde(default)]
    pub shared_with: Vec<AgentId>,
    #[serde(default)]
    pub deleted: bool,
    /// A hard lock: nobody but its holder and admins may change the ticket.
    #[serde(default)]
    pub lock: Option<Lock>,
    /// When the newest customer message arrived (drafts older than it are outdated).
    #[serde(default)]
    pub last_customer_message_at: Option<Timestamp>,
    /// Set on tickets a chat visitor started.
    #[serde(default)]
    pub chat: Option<super::visitor::Chat>,
    /// Set on tickets an e-mail started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<super::email::EmailThread>,
    /// Set on tickets an API channel's integration opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<super::api_channel::ApiConversation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub agent: AgentId,
    pub since: Timestamp,
    /// `None`: never unlocks by itself (`hard_lock_auto_unlock_s` was null when locked).
    pub expires_at: Option<Timestamp>,
}

/// A list a ticket appears in, within its inbox (`GET /api/inboxes/{id}/tickets?view=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    Pending,
    WorkingOn,
    Resolved,
    /// Everything not archived.
    All,
    /// Assigned to this agent and not archived.
    Mine(AgentId),
}

impl View {
    pub fn parse(text: &str, caller: AgentId) -> Option<View> {
        Some(match text {
            "pending" => View::Pending,
            "working_on" => View::WorkingOn,
            "resolved" => View::Resolved,
            "all" => View::All,
            "mine" => View::Mine(caller),
            _ => return None,
        })
    }
}

impl Ticket {
    /// A new `pending` ticket, unread by everyone, created and last active at `at`.
    pub fn new(
        id: TicketId,
        number: u64,
        inbox: InboxId,
        subject: String,
        customer: Customer,
        at: Timestamp,
    ) -> Ticket {
        Ticket {
            id,
            number,
            inbox,
            subject,
            customer,
            status: Status::Pending,
            assignee: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
            created_at: at,
            updated_at: at,
            read_by: BTreeSet::new(),
            followers: Vec::new(),
            shared_with: Vec::new(),
            deleted: false,
            lock: None,
            last_customer_message_at: Some(at),
            chat: None,
            email: None,
            api: None,
        }
    }

    /// The facts about this ticket that access depends on.
    pub fn scope(&self) -> TicketScope<'_> {
        TicketScope {
            inbox: self.inbox,
            shared_with: &self.shared_with,
        }
    }

    pub fn is_unread_for(&self, agent: AgentId) -> bool {
        !self.read_by.contains(&agent)
    }

    /// The views this ticket is listed in right now (none once deleted).
    pub fn views(&self) -> Vec<View> {
        if self.deleted || self.status == Status::Archived {
            return Vec::new();
        }
        let mut views = vec![View::All];
        views.push(match self.status {
            Status::Pending => View::Pending,
            Status::WorkingOn => View::WorkingOn,
            Status::Resolved | Status::Archived => View::Resolved,
        });
        if let Some(agent) = self.assignee {
            views.push(View::Mine(agent));
        }
        views
    }

    /// The status a ticket goes to when it is (re)opened.
    pub fn reopened_status(&self) -> Status {
        if self.assignee.is_some() {
            Status::WorkingOn
        } else {
            Status::Pending
        }
    }

    /// Assigns (or unassigns, with `None`) and applies the status rule:
    /// assigned tickets are `working_on`, unassigned ones `pending`.
    pub fn set_assignee(&mut self, agent: Option<AgentId>) {
        self.assignee = agent;
        self.status = self.reopened_status();
    }

    /// A customer message arrived: unread for everyone, and a resolved ticket reopens.
    /// Where this ticket's customer messages keep their `client_id`s (see
    /// `store::tables::CLIENT_IDS`): a chat's visitor, an API channel.
    pub fn client_scope(&self) -> Option<u128> {
        match (&self.chat, &self.api) {
            (Some(chat), _) => Some(chat.visitor.as_u128()),
            (None, Some(api)) => Some(api.channel.as_u128()),
            (None, None) => None,
        }
    }

    pub fn on_customer_message(&mut self, at: Timestamp) {
        self.last_customer_message_at = Some(at);
        self.read_by.clear();
        if self.status == Status::Resolved {
            self.status = self.reopened_status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        let customer = Customer {
            name: "c".into(),
            contact: "c@x".into(),
        };
        Ticket::new(
            TicketId::new(),
            1,
            InboxId::new(),
            "s".into(),
            customer,
            Timestamp(0),
        )
    }

    #[test]
    fn assignment_drives_status() {
        let mut t = ticket();
        let a = AgentId::new();
        t.set_assignee(Some(a));
        assert_eq!(t.status, Status::WorkingOn);
        assert!(t.views().contains(&View::Mine(a)));
        t.set_assignee(None);
        assert_eq!(t.status, Status::Pending);
        t.status = Status::Resolved;
        t.set_assignee(Some(a));
        assert_eq!(
            t.status,
            Status::WorkingOn,
            "assigning makes a ticket working_on, even a resolved one"
        );
    }

    #[test]
    fn customer_message_reopens_and_marks_unread() {
        let mut t = ticket();
        let a = AgentId::new();
        t.assignee = Some(a);
        t.status = Status::Resolved;
        t.read_by.insert(a);
        t.on_customer_message(Timestamp(5));
        assert_eq!(t.status, Status::WorkingOn);
        assert!(t.is_unread_for(a));
    }

    #[test]
    fn archived_and_deleted_tickets_are_in_no_view() {
        let mut t = ticket();
        assert_eq!(t.views(), vec![View::All, View::Pending]);
        t.status = Status::Archived;
        assert!(t.views().is_empty());
        t.status = Status::Pending;
        t.deleted = true;
        assert!(t.views().is_empty());
    }
}

/// Input limits. Bodies stay well under the REST limit of 1 MiB.
pub mod limits {
    pub const SUBJECT_CHARS: usize = 500;
    pub const BODY_BYTES: usize = 256 * 1024;
    pub const TAGS: usize = 50;
    pub const TAG_CHARS: usize = 64;
    pub const FIELDS: usize = 100;
    pub const FIELD_KEY_CHARS: usize = 64;
    pub const FIELD_VALUE_CHARS: usize = 2000;
    pub const NAME_CHARS: usize = 200;
}

/// A trimmed, non-empty subject.
pub fn validate_subject(subject: &str) -> Result<String, String> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > limits::SUBJECT_CHARS {
        return Err(format!(
            "subject must be 1-{} characters",
            limits::SUBJECT_CHARS
        ));
    }
    Ok(subject.to_owned())
}

/// A message body: not blank, at most 256 KiB.
pub fn validate_body(body: &str) -> Result<(), String> {
    if body.trim().is_empty() || body.len() > limits::BODY_BYTES {
        return Err(format!(
            "body must be non-blank and at most {} bytes",
            limits::BODY_BYTES
        ));
    }
    Ok(())
}

/// Trimmed, de-duplicated (first spelling kept) tags. Linear in the input,
/// and stops at the first tag past the limit, so a huge array costs nothing.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().count() > limits::TAG_CHARS {
            return Err(format!("tags must be 1-{} characters", limits::TAG_CHARS));
        }
        if seen.insert(tag.to_lowercase()) {
            if out.len() == limits::TAGS {
                return Err(format!("at most {} tags", limits::TAGS));
            }
            out.push(tag.to_owned());
        }
    }
    Ok(out)
}

/// Applies a field patch (`None` removes a key) to `fields`, checking limits.
pub fn patch_fields(
    fields: &BTreeMap<String, String>,
    patch: &BTreeMap<String, Option<String>>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = fields.clone();
    for (key, value) in patch {
        let key_len = key.trim().chars().count();
        if key_len == 0 || key_len > limits::FIELD_KEY_CHARS || key.trim() != key {
            return Err(format!(
                "field names must be 1-{} characters without surrounding spaces",
                limits::FIELD_KEY_CHARS
            ));
        }
        match value {
            Some(v) if v.chars().count() > limits::FIELD_VALUE_CHARS => {
                return Err(format!(
                    "field values must be at most {} characters",
                    limits::FIELD_VALUE_CHARS
                ));
            }
            Some(v) => {
                out.insert(key.clone(), v.clone());
            }
            None => {
                out.remove(key);
            }
        }
    }
    if out.len() > limits::FIELDS {
        return Err(format!("at most {} fields", limits::FIELDS));
    }
    Ok(out)
}

/// A customer's name or contact: trimmed, non-empty.
pub fn validate_customer(name: &str, contact: &str) -> Result<Customer, String> {
    let (name, contact) = (name.trim(), contact.trim());
    if name.is_empty()
        || contact.is_empty()
        || name.chars().count() > limits::NAME_CHARS
        || contact.chars().count() > limits::NAME_CHARS
    {
        return Err(format!(
            "customer name and contact must be 1-{} characters",
            limits::NAME_CHARS
        ));
    }
    Ok(Customer {
        name: name.to_owned(),
        contact: contact.to_owned(),
    })
}
