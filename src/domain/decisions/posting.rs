//! Posting messages (customer messages, public replies, internal notes with
//! @mentions that add followers), and sending or dropping scheduled replies.
//!
//! A hard lock stops replies and notes; a claim stops replies only;
//! customers are never blocked. A scheduled reply is sent by one change that
//! marks it `sent`, so it can never go out twice; before that its author's
//! access is checked again, and one with `cancel_if_replied` is dropped if
//! another agent replied publicly after it was scheduled.

use super::super::access::{TicketAction, check_ticket};
use super::super::draft::DraftKind;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::mention::{SkipReason, Skipped, mentioned_handles};
use super::super::message::{Message, MessageKind, MessageState};
use super::super::notification::{Notification, NotificationKind, ScheduledDropReason};
use super::super::ticket::{self, Ticket};
use super::super::{Agent, AgentId, MessageId, Role, Timestamp};
use super::{
    Change, ConflictReason, Facts, Forbidden, Refusal, authorize, check_claim, check_lock, sees,
};

/// A message to post.
#[derive(Clone, Debug)]
pub struct Post {
    pub kind: MessageKind,
    pub body: String,
    /// A reply due later: stored as `scheduled` and sent by the scheduler.
    pub send_at: Option<Timestamp>,
    pub cancel_if_replied: bool,
    /// Stale-send guard: the newest message the author saw (replies only).
    pub after: Option<MessageId>,
    /// Send even if newer messages arrived.
    pub force: bool,
}

/// A decided post.
#[derive(Clone, Debug)]
pub struct Posted {
    pub change: Change,
    pub message: Message,
    /// Mentions that added nobody, and why.
    pub skipped_mentions: Vec<Skipped>,
    /// When the reply is due, if it is scheduled rather than sent.
    pub scheduled: Option<Timestamp>,
    /// The author's draft of this kind, which sending clears.
    pub draft: Option<(AgentId, DraftKind)>,
}

/// Posts `post` by `by`. `messages`: the ticket's messages in order, needed
/// (and read by the caller) only when the post names `after`. For a customer
/// message, `facts.now` must sort after every draft decided before it, so
/// they are all outdated.
pub fn post(
    ticket: Option<&Ticket>,
    by: &Agent,
    post: Post,
    messages: Option<&[Message]>,
    facts: &Facts,
) -> Result<Posted, Refusal> {
    let action = match post.kind {
        MessageKind::Customer => TicketAction::PostCustomerMessage,
        MessageKind::Reply => TicketAction::Reply,
        MessageKind::Note => TicketAction::AddNote,
    };
    let before = authorize(ticket, by, action)?;
    match post.kind {
        MessageKind::Customer => {}
        MessageKind::Note => check_lock(before, by, facts)?,
        MessageKind::Reply => {
            check_lock(before, by, facts)?;
            check_claim(by, facts)?;
        }
    }
    ticket::validate_body(&post.body).map_err(Refusal::Invalid)?;
    if let Some(after) = post.after {
        if post.kind != MessageKind::Reply {
            return Err(Refusal::invalid("`after` applies to replies"));
        }
        let newer = newer_than(messages.unwrap_or_default(), after)?;
        if !newer.is_empty() && !post.force {
            let mut named: Vec<AgentId> = newer
                .iter()
                .flat_map(|m| m.author.iter().chain(&m.mentions).copied())
                .collect();
            named.sort();
            named.dedup();
            let names = named
                .into_iter()
                .map(|a| facts.roster.agent_ref(a))
                .collect();
            return Err(Refusal::Stale { newer, names });
        }
    }
    let now = facts.now;
    let mut change = Change::of(before.clone());
    change.after.updated_at = now;
    if post.kind == MessageKind::Customer {
        customer_wrote(&mut change, now);
    }
    // @mentions count in notes only: they add followers and notify them.
    let (mentions, skipped_mentions) = match post.kind {
        MessageKind::Note => resolve_mentions(before, by, &post.body, facts),
        _ => (Vec::new(), Vec::new()),
    };
    for agent in &mentions {
        if !change.after.followers.contains(agent) {
            change.after.followers.push(*agent);
            change.history.push(
                HistoryEntry::new(Some(by.id), HistoryAction::FollowerAdded, now)
                    .with("agent", agent.to_string())
                    .with("via", "mention"),
            );
        }
        let kind = NotificationKind::Mention {
            by_name: by.name.clone(),
        };
        change
            .notifications
            .push(Notification::about(before, *agent, kind, Some(by.id), now));
    }
    let scheduled = post.send_at.filter(|at| *at > now);
    if scheduled.is_none() {
        let excluded: Vec<AgentId> = mentions.iter().copied().chain([by.id]).collect();
        let author = (post.kind != MessageKind::Customer).then_some(by);
        change.notifications.extend(follower_updates(
            before, post.kind, author, &excluded, facts,
        ));
    } else {
        change.after.updated_at = before.updated_at; // scheduling is not activity the queue shows
    }
    let signature =
        (post.kind == MessageKind::Reply && scheduled.is_none() && facts.settings.sign_replies)
            .then(|| by.name.clone());
    let mut message = Message {
        id: MessageId::new(),
        ticket: before.id,
        kind: post.kind,
        author: (post.kind != MessageKind::Customer).then_some(by.id),
        body: post.body,
        mentions,
        created_at: now,
        state: if scheduled.is_some() {
            MessageState::Scheduled
        } else {
            MessageState::Sent
        },
        send_at: scheduled,
        signature,
        cancel_if_replied: scheduled.is_some() && post.cancel_if_replied,
        client_id: None,
        email: None,
        attachments: Vec::new(),
        delivery: None,
    };
    super::email::send_by_mail(before, &mut message, now);
    change.messages.push(message.clone());
    let draft = match post.kind {
        MessageKind::Reply => Some((by.id, DraftKind::Reply)),
        MessageKind::Note => Some((by.id, DraftKind::Note)),
        MessageKind::Customer => None,
    };
    Ok(Posted {
        change,
        message,
        skipped_mentions,
        scheduled,
        draft,
    })
}

/// A customer message arrives at `now`: the ticket is unread again, and a
/// resolved one reopens (recorded in its history).
pub(super) fn customer_wrote(change: &mut Change, now: Timestamp) {
    let from = change.after.status;
    change.after.on_customer_message(now);
    if change.after.status != from {
        change.history.push(
            HistoryEntry::new(None, HistoryAction::StatusChanged, now)
                .with("from", from.as_str())
                .with("to", change.after.status.as_str()),
        );
    }
}

/// A customer's message arrives through a channel on `before` at
/// `facts.now`: refused on an archived conversation (the channel opens a
/// new one); else every effect of a customer message ([`customer_wrote`])
/// with its followers told. The caller adds the message itself (and edits
/// its channel's record in `after`).
pub(super) fn arrives_through_channel(before: &Ticket, facts: &Facts) -> Result<Change, Refusal> {
    if before.status == ticket::Status::Archived {
        return Err(ConflictReason::ConversationClosed.into());
    }
    let mut change = Change::of(before.clone());
    change.after.updated_at = facts.now;
    customer_wrote(&mut change, facts.now);
    let told = follower_updates(before, MessageKind::Customer, None, &[], facts);
    change.notifications.extend(told);
    Ok(change)
}

/// The stale-send guard: sent customer messages and replies newer than
/// `after`, which must be a message of this ticket.
fn newer_than(messages: &[Message], after: MessageId) -> Result<Vec<Message>, Refusal> {
    let Some(seen) = messages.iter().position(|m| m.id == after) else {
        return Err(Refusal::invalid("`after` names no message of this ticket"));
    };
    Ok(messages[seen + 1..]
        .iter()
        .filter(|m| {
            m.state == MessageState::Sent
                && matches!(m.kind, MessageKind::Customer | MessageKind::Reply)
        })
        .cloned()
        .collect())
}

/// Resolves a note's @mentions: who is mentioned (and becomes a follower),
/// and who is skipped because the author may not add followers or the agent
/// cannot see the ticket. Unknown handles are ignored.
fn resolve_mentions(
    ticket: &Ticket,
    author: &Agent,
    body: &str,
    facts: &Facts,
) -> (Vec<AgentId>, Vec<Skipped>) {
    let scope = ticket.scope();
    let author_may_add = check_ticket(author, scope, TicketAction::ManageFollowers).is_ok();
    let mut mentioned = Vec::new();
    let mut skipped = Vec::new();
    for handle in mentioned_handles(body) {
        let Some(agent) = facts
            .roster
            .agent_by_handle(&handle)
            .filter(|a| !a.disabled && a.id != author.id)
        else {
            continue; // unknown, disabled, or the author: nobody to add or tell
        };
        let reason = if !author_may_add {
            SkipReason::AuthorCannotAddFollowers
        } else if check_ticket(&agent, scope, TicketAction::View).is_err() {
            SkipReason::NoAccess
        } else {
            mentioned.push(agent.id);
            continue;
        };
        skipped.push(Skipped { handle, reason });
    }
    (mentioned, skipped)
}

/// `update` notifications for a new message: every follower who can still
/// see the ticket, but those in `excluded` (the author, the mentioned).
pub fn follower_updates(
    ticket: &Ticket,
    kind: MessageKind,
    author: Option<&Agent>,
    excluded: &[AgentId],
    facts: &Facts,
) -> Vec<Notification> {
    let update = match (kind, author) {
        (MessageKind::Customer, _) | (_, None) => NotificationKind::Update {
            author_name: ticket.customer.name.clone(),
            message: MessageKind::Customer,
        },
        (message, Some(a)) => NotificationKind::Update {
            author_name: a.name.clone(),
            message,
        },
    };
    ticket
        .followers
        .iter()
        .filter(|f| !excluded.contains(f) && sees(facts.roster, ticket, **f))
        .map(|f| Notification::about(ticket, *f, update.clone(), author.map(|a| a.id), facts.now))
        .collect()
}

/// What became of a scheduled reply that was due.
#[derive(Clone, Debug)]
pub enum Scheduled {
    /// Sent now: the message as sent.
    Sent(Box<Message>),
    /// Dropped (its author lost access, or another agent replied first).
    Dropped(MessageId),
}

/// Sends (or drops) the due reply `scheduled`. `messages`: the ticket's
/// messages, needed (and read by the caller) only for `cancel_if_replied`.
pub fn fire(
    ticket: &Ticket,
    scheduled: Message,
    messages: Option<&[Message]>,
    facts: &Facts,
) -> (Change, Scheduled) {
    let author = scheduled.author.and_then(|a| facts.roster.agent(a));
    let allowed = !ticket.deleted
        && author.as_ref().is_some_and(|a| {
            !a.disabled && check_ticket(a, ticket.scope(), TicketAction::Reply).is_ok()
        });
    let overtaken = scheduled.cancel_if_replied
        && messages.unwrap_or_default().iter().any(|m| {
            m.kind == MessageKind::Reply
                && m.state == MessageState::Sent
                && m.author != scheduled.author
                && m.created_at > scheduled.created_at
        });
    let mut change = Change::of(ticket.clone());
    let author = match author {
        Some(author) if allowed && !overtaken => author,
        _ => {
            let reason = if overtaken {
                ScheduledDropReason::AnotherAgentReplied
            } else {
                ScheduledDropReason::AuthorMayNotReply
            };
            // The author is told, unless it may no longer see the ticket at all.
            if let Some(author) = scheduled.author.filter(|a| sees(facts.roster, ticket, *a)) {
                let kind = NotificationKind::ScheduledCancelled { reason };
                change
                    .notifications
                    .push(Notification::about(ticket, author, kind, None, facts.now));
            }
            let id = scheduled.id;
            change.removed_messages.push(scheduled);
            return (change, Scheduled::Dropped(id));
        }
    };
    let mut sent = scheduled;
    sent.state = MessageState::Sent;
    sent.created_at = facts.now;
    sent.signature = facts.settings.sign_replies.then(|| author.name.clone());
    super::email::send_by_mail(ticket, &mut sent, facts.now);
    change.after.updated_at = facts.now;
    change.notifications.extend(follower_updates(
        ticket,
        MessageKind::Reply,
        Some(&author),
        &[author.id],
        facts,
    ));
    change.messages.push(sent.clone());
    (change, Scheduled::Sent(Box::new(sent)))
}

/// Cancels the scheduled reply `message`: by its author or an admin.
pub fn cancel_scheduled(
    ticket: Option<&Ticket>,
    by: &Agent,
    message: Option<Message>,
) -> Result<Change, Refusal> {
    let before = authorize(ticket, by, TicketAction::View)?;
    let message = message.ok_or(Refusal::NotFound)?;
    if message.state != MessageState::Scheduled {
        return Err(ConflictReason::AlreadySent.into());
    }
    if message.author != Some(by.id) && by.role != Role::Admin {
        return Err(Refusal::Forbidden(Forbidden::NotAuthor));
    }
    let mut change = Change::of(before.clone());
    change.removed_messages.push(message);
    Ok(change)
}
