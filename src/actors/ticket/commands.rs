//! REST commands: create, edit, post messages, and the workflow mutations
//! (assign, accept, return, transfer, resolve, reopen, archive, delete).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::domain::access::{TicketAction, TicketScope, can_be_assigned};
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::message::{Message as TicketMessage, MessageKind, MessageState};
use crate::domain::notification::NotificationKind;
use crate::domain::presence::ReleaseReason;
use crate::domain::ticket::{self, Status, Ticket};
use crate::domain::{Agent, AgentId, InboxId, MessageId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::{AgentRef, InboxDto, TicketDto};
use crate::protocol::frames::{MovedTo, ServerFrame};

/// Creates the ticket with its first customer message.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Create {
    pub by: Arc<Agent>,
    pub inbox: InboxId,
    pub subject: String,
    pub customer: ticket::Customer,
    pub body: String,
}

/// Changes subject, tags and/or fields.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Patch {
    pub by: Arc<Agent>,
    pub subject: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<BTreeMap<String, Option<String>>>,
}

/// A workflow mutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Assign to an agent, or unassign with `None`.
    Assign(Option<AgentId>),
    Accept,
    Return,
    Transfer {
        agent: Option<AgentId>,
        inbox: Option<InboxId>,
    },
    Resolve,
    Reopen,
    Archive,
    Delete,
}

#[derive(Message, Clone)]
#[rtype(result = "Result<TicketDto, Error>")]
pub struct Mutate {
    pub by: Arc<Agent>,
    pub op: Op,
}

/// How a mutation moves the ticket out of people's views (`ticket_moved`).
struct Moved {
    action: &'static str,
    to: Option<MovedTo>,
    note: String,
}

/// A decided mutation.
struct Plan {
    after: Ticket,
    history: Vec<HistoryEntry>,
    moved: Option<Moved>,
    /// Release the claim with reason `moved`.
    release: bool,
}

impl TicketActor {
    fn name(&self, agent: AgentId) -> String {
        AgentRef::lookup(&self.core.directory, agent).name
    }

    /// Validates `op` against the current ticket and decides its outcome.
    fn plan(&self, by: &Agent, op: &Op) -> Result<Plan, Error> {
        let action = match op {
            Op::Assign(_) => TicketAction::Assign,
            Op::Accept => TicketAction::Accept,
            Op::Return | Op::Resolve | Op::Reopen => TicketAction::ChangeStatus,
            Op::Transfer { .. } => TicketAction::Transfer,
            Op::Archive => TicketAction::Archive,
            Op::Delete => TicketAction::Delete,
        };
        let before = self.authorize(by, action)?;
        if *op == Op::Accept && (before.status != Status::Pending || before.assignee.is_some()) {
            // The race's losers learn it was accepted, whatever the winner did next.
            let holder = before
                .assignee
                .map(|a| self.name(a))
                .unwrap_or_else(|| "someone".into());
            return Err(Error::Conflict(format!("already accepted by {holder}")));
        }
        self.check_lock(by)?;
        self.check_claim(by)?;
        let now = Timestamp::now();
        let mut after = before.clone();
        after.updated_at = now;
        let entry = |action| HistoryEntry::new(Some(by.id), action, now);
        let status_changed = |from: Status, to: Status| {
            entry(HistoryAction::StatusChanged)
                .with("from", from.as_str())
                .with("to", to.as_str())
        };
        let moved = |action, to, note: String| {
            Some(Moved {
                action,
                to,
                note: format!("{note} by {}", by.name),
            })
        };
        let conflict = |m: &str| Err(Error::Conflict(m.to_owned()));
        let plan = match op {
            Op::Assign(target) => {
                if let Some(agent) = target {
                    let scope = TicketScope {
                        inbox: before.inbox,
                        shared_with: &before.shared_with,
                    };
                    match self.core.directory.agent(*agent) {
                        Some(a) if can_be_assigned(&a, scope) => {}
                        Some(_) => return conflict("that agent cannot be assigned this ticket"),
                        None => return Err(Error::bad_request("no such agent")),
                    }
                }
                after.set_assignee(*target);
                if after.assignee == before.assignee && after.status == before.status {
                    // Already so: nothing to decide, record or announce.
                    return Ok(Plan {
                        after: before.clone(),
                        history: Vec::new(),
                        moved: None,
                        release: false,
                    });
                }
                let history = match target {
                    Some(agent) => entry(HistoryAction::Assigned).with("agent", agent.to_string()),
                    None => entry(HistoryAction::Unassigned),
                }
                .with("previous", before.assignee.map(|a| a.to_string()))
                .with("status", after.status.as_str());
                let away =
                    target.is_some_and(|a| self.presence.claim().is_some_and(|c| c.agent != a));
                Plan {
                    history: vec![history],
                    moved: target.and_then(|a| {
                        let to = MovedTo {
                            agent: Some(AgentRef::lookup(&self.core.directory, a)),
                            inbox: None,
                        };
                        moved(
                            "assigned",
                            Some(to),
                            format!("Assigned to {}", self.name(a)),
                        )
                    }),
                    release: away,
                    after,
                }
            }
            Op::Accept => {
                after.set_assignee(Some(by.id)); // pending and unassigned: checked first
                let to = MovedTo {
                    agent: Some(AgentRef::of(by)),
                    inbox: None,
                };
                Plan {
                    history: vec![entry(HistoryAction::Accepted).with("agent", by.id.to_string())],
                    moved: moved("assigned", Some(to), "Accepted".into()),
                    release: false,
                    after,
                }
            }
            Op::Return => {
                if before.status == Status::Pending && before.assignee.is_none() {
                    return conflict("the ticket is already pending");
                }
                after.assignee = None;
                after.status = Status::Pending;
                Plan {
                    history: vec![
                        entry(HistoryAction::Returned)
                            .with("previous", before.assignee.map(|a| a.to_string())),
                    ],
                    moved: moved("returned", None, "Returned to Pending".into()),
                    release: true,
                    after,
                }
            }
            Op::Transfer { agent, inbox } => {
                if agent.is_none() && inbox.is_none() {
                    return Err(Error::bad_request(
                        "transfer needs an agent, an inbox or both",
                    ));
                }
                let to_inbox = match inbox {
                    Some(id) => Some(
                        self.core
                            .directory
                            .inbox(*id)
                            .ok_or_else(|| Error::bad_request("no such inbox"))?,
                    ),
                    None => None,
                };
                if let Some(inbox) = &to_inbox {
                    after.inbox = inbox.id;
                }
                let scope = TicketScope {
                    inbox: after.inbox,
                    shared_with: &after.shared_with,
                };
                let target = match agent {
                    Some(id) => match self.core.directory.agent(*id) {
                        Some(a) if can_be_assigned(&a, scope) => Some(a),
                        Some(_) => return conflict("that agent cannot work on this ticket there"),
                        None => return Err(Error::bad_request("no such agent")),
                    },
                    None => None,
                };
                if let Some(target) = &target {
                    after.set_assignee(Some(target.id));
                } else if let Some(assignee) = after.assignee {
                    // The assignee keeps the ticket only if it can still see it in its new inbox.
                    if !self
                        .core
                        .directory
                        .agent(assignee)
                        .is_some_and(|a| can_be_assigned(&a, scope))
                    {
                        after.set_assignee(None);
                    }
                }
                if after.inbox == before.inbox && after.assignee == before.assignee {
                    return conflict("the ticket is already there");
                }
                let to = MovedTo {
                    inbox: to_inbox.as_ref().map(InboxDto::from),
                    agent: target.as_deref().map(AgentRef::of),
                };
                let place = match (&to.agent, &to.inbox) {
                    (Some(a), Some(i)) => format!("{} in {}", a.name, i.name),
                    (Some(a), None) => a.name.clone(),
                    (None, Some(i)) => i.name.clone(),
                    (None, None) => unreachable!("checked above"),
                };
                let history = entry(HistoryAction::Transferred)
                    .with("from_inbox", before.inbox.to_string())
                    .with("to_inbox", after.inbox.to_string())
                    .with("agent", after.assignee.map(|a| a.to_string()));
                Plan {
                    history: vec![history],
                    moved: moved("transferred", Some(to), format!("Transferred to {place}")),
                    release: true,
                    after,
                }
            }
            Op::Resolve => {
                if !matches!(before.status, Status::Pending | Status::WorkingOn) {
                    return conflict("only pending or working tickets can be resolved");
                }
                after.status = Status::Resolved;
                Plan {
                    history: vec![status_changed(before.status, after.status)],
                    moved: moved("resolved", None, "Resolved".into()),
                    release: true,
                    after,
                }
            }
            Op::Reopen => {
                if !matches!(before.status, Status::Resolved | Status::Archived) {
                    return conflict("only resolved or archived tickets can be reopened");
                }
                after.status = after.reopened_status();
                Plan {
                    history: vec![status_changed(before.status, after.status)],
                    moved: None,
                    release: false,
                    after,
                }
            }
            Op::Archive => {
                if before.status == Status::Archived {
                    return conflict("the ticket is already archived");
                }
                after.status = Status::Archived;
                Plan {
                    history: vec![status_changed(before.status, after.status)],
                    moved: moved("archived", None, "Archived".into()),
                    release: true,
                    after,
                }
            }
            Op::Delete => {
                after.deleted = true;
                after.lock = None;
                Plan {
                    history: vec![entry(HistoryAction::Deleted)],
                    moved: moved("deleted", None, "Deleted".into()),
                    release: true,
                    after,
                }
            }
        };
        Ok(plan)
    }
}

impl Handler<Create> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Create, _: &mut Context<Self>) -> Self::Result {
        if self.ticket.is_some() {
            return refuse(Error::Conflict("ticket exists".into()));
        }
        let now = Timestamp::now();
        let ticket = Ticket::new(self.id, 0, msg.inbox, msg.subject, msg.customer, now);
        let message = TicketMessage {
            id: MessageId::new(),
            ticket: self.id,
            kind: MessageKind::Customer,
            author: None,
            body: msg.body,
            mentions: Vec::new(),
            created_at: now,
            state: MessageState::Sent,
            send_at: None,
            signature: None,
            cancel_if_replied: false,
        };
        let created = HistoryEntry::new(Some(msg.by.id), HistoryAction::Created, now)
            .with("inbox", msg.inbox.to_string())
            .with("status", Status::Pending.as_str());
        let change = Change {
            messages: vec![message],
            history: vec![created],
            new_ticket: true,
            ..Change::of(ticket)
        };
        let by = msg.by.id;
        self.commit(change, move |act, t, _| {
            act.publish_ticket(t, "created", by);
            Ok(TicketDto::for_caller(t, by))
        })
    }
}

impl Handler<Patch> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Patch, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.authorize(&msg.by, TicketAction::Edit).and_then(|t| {
            self.check_lock(&msg.by)?;
            self.check_claim(&msg.by)?;
            Ok(t)
        }) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let mut after = ticket.clone();
        let edited: Result<(), String> = (|| {
            if let Some(subject) = &msg.subject {
                after.subject = ticket::validate_subject(subject)?;
            }
            if let Some(tags) = &msg.tags {
                after.tags = ticket::normalize_tags(tags)?;
            }
            if let Some(fields) = &msg.fields {
                after.fields = ticket::patch_fields(&ticket.fields, fields)?;
            }
            Ok(())
        })();
        if let Err(message) = edited {
            return refuse(Error::BadRequest(message));
        }
        let mut changed = serde_json::Map::new();
        if after.subject != ticket.subject {
            changed.insert("subject".into(), after.subject.clone().into());
        }
        if after.tags != ticket.tags {
            changed.insert("tags".into(), serde_json::json!(after.tags));
        }
        if after.fields != ticket.fields {
            changed.insert("fields".into(), serde_json::json!(after.fields));
        }
        let by = msg.by.id;
        let mut change = Change::of(after);
        if !changed.is_empty() {
            let now = Timestamp::now();
            change.after.updated_at = now;
            let mut entry = HistoryEntry::new(Some(by), HistoryAction::FieldsChanged, now);
            entry.detail = changed;
            change.history.push(entry);
        }
        let publish = !change.history.is_empty();
        self.commit(change, move |act, t, _| {
            if publish {
                act.publish_ticket(t, "updated", by);
            }
            Ok(TicketDto::for_caller(t, by))
        })
    }
}

impl Handler<Mutate> for TicketActor {
    type Result = AtomicResponse<Self, Result<TicketDto, Error>>;

    fn handle(&mut self, msg: Mutate, _: &mut Context<Self>) -> Self::Result {
        let plan = match self.plan(&msg.by, &msg.op) {
            Ok(plan) => plan,
            Err(e) => return refuse(e),
        };
        let before_inbox = self
            .ticket
            .as_ref()
            .map(|t| t.inbox)
            .expect("planned on a live ticket");
        if plan.history.is_empty() {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(TicketDto::for_caller(
                &plan.after,
                msg.by.id,
            )))));
        }
        let Plan {
            after,
            history,
            moved,
            release,
        } = plan;
        let mut change = Change::of(after);
        change.history = history;
        // A new assignee is told (unless it assigned itself).
        let before_assignee = self.ticket.as_ref().and_then(|t| t.assignee);
        if let Some(assignee) = change
            .after
            .assignee
            .filter(|a| Some(*a) != before_assignee && *a != msg.by.id)
        {
            let notification = self.notification(
                &change.after,
                assignee,
                NotificationKind::Assigned {
                    by_name: msg.by.name.clone(),
                },
                Some(msg.by.id),
            );
            change.notifications.push(notification);
        }
        let by = msg.by.clone();
        self.commit(change, move |act, t, ctx| {
            act.apply_mutation(t, &msg.op, &by, before_inbox, moved, release);
            act.schedule_lock_expiry(ctx); // a deleted ticket's lock timer goes with it
            Ok(TicketDto::for_caller(t, by.id))
        })
    }
}

impl TicketActor {
    /// After a mutation committed: tell the old inbox it moved, release claims,
    /// and publish the ticket where it is now.
    fn apply_mutation(
        &mut self,
        t: &Ticket,
        op: &Op,
        by: &Agent,
        old_inbox: InboxId,
        moved: Option<Moved>,
        release: bool,
    ) {
        use crate::actors::inbox::{Payload, PresenceUpdate};
        use crate::domain::presence::Change as PresenceChange;

        let action = match op {
            Op::Assign(Some(_)) => "assigned",
            Op::Assign(None) => "unassigned",
            Op::Accept => "accepted",
            Op::Return => "returned",
            Op::Transfer { .. } => "transferred",
            Op::Resolve | Op::Reopen | Op::Archive => "status_changed",
            Op::Delete => "deleted",
        };
        let mut old_inbox_payloads = Vec::new();
        if let Some(moved) = moved {
            let frame = ServerFrame::TicketMoved {
                inbox: old_inbox,
                ticket: t.id,
                number: t.number,
                action: moved.action,
                by: AgentRef::of(by),
                to: moved.to,
                note: moved.note,
            };
            old_inbox_payloads.push(Payload::All(frame.encode()));
        }
        if old_inbox == t.inbox {
            if *op != Op::Delete {
                old_inbox_payloads.insert(0, self.ticket_payload(t, action, by.id));
            }
            self.send_to_inbox(t.inbox, old_inbox_payloads, None, Vec::new());
        } else {
            // Transferred: the old inbox forgets the ticket's presence; the new one learns it.
            self.send_to_inbox(
                old_inbox,
                old_inbox_payloads,
                Some(PresenceUpdate::new(t.id, None)),
                Vec::new(),
            );
            self.publish_ticket(t, action, by.id);
        }
        let mut changes: Vec<PresenceChange> = Vec::new();
        if release {
            changes.extend(
                self.presence
                    .release_claim(ReleaseReason::Moved, Some(by.id)),
            );
        }
        if *op == Op::Accept {
            changes.extend(self.presence.claim_for(by.id, Timestamp::now()));
        }
        if *op == Op::Delete {
            self.publish_presence(&changes);
            changes = self.presence.clear(ReleaseReason::Moved, Some(by.id));
            self.publish_presence(&changes);
            self.tabs.clear();
            self.publish_events(&[]); // snapshots forget it (a lock went with it)
            return;
        }
        if old_inbox != t.inbox && changes.is_empty() {
            // Nothing changed, but the new inbox must learn the live presence:
            // viewers, or only a hard lock on a ticket nobody has open.
            let dto = self.presence_dto(t);
            if !dto.is_empty() {
                let state = serde_json::to_value(dto).ok();
                self.send_to_inbox(
                    t.inbox,
                    Vec::new(),
                    Some(PresenceUpdate::new(t.id, state)),
                    Vec::new(),
                );
            }
        }
        self.publish_presence(&changes);
        if old_inbox != t.inbox {
            // Tabs of agents who cannot see the ticket in its new inbox are taken off it.
            let viewers: Vec<_> = self.presence.viewers().iter().map(|v| v.agent).collect();
            for agent in viewers {
                self.revoke_if_blind(agent, Some(by.id));
            }
        }
    }
}
