//! The ticket actor: the one place that decides anything about its ticket —
//! every mutation, claim, viewer change, force-release and take-over.
//!
//! Invariants:
//! - Decisions are taken one at a time against the actor's in-memory state.
//!   A ticket mutation that must be durable is written through the store and
//!   applied to memory, published and answered only after the commit; the
//!   actor looks at no other message meanwhile (`AtomicResponse`), so "two
//!   agents accept at once" has exactly one winner.
//! - Presence decisions with a durable record (a first `open`'s read mark,
//!   a take-over's or force-release's `claim_forced`) do not hold the mailbox:
//!   they are applied to memory at once and their frames and answers wait for
//!   the commit, in decision order (`pipeline`). Nothing is acknowledged or
//!   published before it is on disk; every frame leaves in decision order.
//! - Presence (claim, viewers) lives in memory only (`Presence`); every
//!   change is published with the ticket's whole presence, serialized once.
//! - The actor stops after `actors.idle_stop_s` without activity and without
//!   viewers; the next message spawns a fresh one that reloads the ticket.
//!
//! - Drafts are fanned out at most every `drafts::FANOUT_EVERY` per author
//!   and kind (the latest text always goes out) and persisted at most once a
//!   second; a flush runs before the actor stops and at shutdown.
//! - A hard lock's expiry timer lives here; a locked ticket's actor never idles
//!   out, and start-up spawns the actor of every locked ticket. A timer that
//!   decides a change posts a message to the actor's own mailbox: actix may
//!   run a timer's handler between a message's handler and the start of its
//!   `AtomicResponse`, which would break "one decision at a time".
//!
//! - Handlers decide nothing themselves: each asks `domain::decisions`,
//!   commits the change it gets (a refusal answers at once and changes
//!   nothing), then publishes.
//!
//! Files: `commands` (create, edit, workflow), `messages` (posting, with
//! mentions), `scheduled` (sending, dropping and cancelling scheduled
//! replies), `followers`, `shares` (sharing, and losing access),
//! `read_marks`, `presence` (tabs opening, closing, hiding, force-releasing),
//! `pipeline` (writes that do not hold the mailbox), `drafts`, `lock`,
//! `chat` (the visitor of a chat ticket), `email` (mail in, delivery reports),
//! `api` (an API channel's conversation),
//! `traced` (the sender's span around a message), `claims` (the
//! `claim.changed` webhook event).

mod api;
mod chat;
mod claims;
mod commands;
mod drafts;
mod email;
mod followers;
mod lock;
mod messages;
mod pipeline;
mod presence;
mod read_marks;
mod scheduled;
mod shares;
mod traced;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

pub use crate::domain::decisions::Op;
pub use api::{OpenApiConversation, ReceiveApiMessage};
pub use chat::{GiveContact, MarkSeen, OpenConversation, Receive, VisitorChanged};
pub use commands::{Create, Mutate, Patch};
pub use drafts::{FlushDrafts, UpdateDraft};
pub use email::{ImportMail, SetDelivery};
pub use followers::{AddFollower, RemoveFollower};
pub use lock::{LockTicket, Unlock};
pub use messages::{Post, Posted};
pub use presence::{CloseTab, ForceRelease, GetLive, Live, Open, Opened, ReleaseHidden, SetHidden};
pub use read_marks::MarkRead;
pub use scheduled::{CancelScheduled, Fire};
pub use shares::{Revalidate, Share, Unshare};
pub use traced::{Traced, ticket_span};

use super::inbox::{Direct, Payload, PresenceUpdate, Publish, Tab};
use crate::core::Core;
use crate::domain::access::TicketAction;
use crate::domain::decisions::{self, Change, Facts, Refusal};
use crate::domain::draft::{Draft, DraftKind};
use crate::domain::notification::Notification;
use crate::domain::presence::{Event as PresenceEvent, Presence, ReleaseReason};
use crate::domain::ticket::Ticket;
use crate::domain::{Agent, AgentId, InboxId, SessionId, TicketId, Timestamp};
use crate::error::Error;
use crate::protocol::changes::{ChangeAction, PresenceKind};
use crate::protocol::dto::{AgentRef, DraftDto, PresenceDto, TicketDto};
use crate::protocol::frames::{PresenceChange, ServerFrame, TicketChange};
use crate::store::{self, reads, writes};
use crate::webhooks;

pub struct TicketActor {
    id: TicketId,
    core: Arc<Core>,
    /// `None` until created; deleted tickets stay loaded as tombstones.
    ticket: Option<Ticket>,
    presence: Presence,
    /// How to reach each tab that has the ticket open.
    tabs: HashMap<SessionId, Tab>,
    drafts: BTreeMap<(AgentId, DraftKind), Draft>,
    /// Drafts changed in memory since the last persist (`None`-like: removed).
    dirty_drafts: BTreeSet<(AgentId, DraftKind)>,
    fanout: HashMap<(AgentId, DraftKind), drafts::Fanout>,
    lock_timer: Option<SpawnHandle>,
    last_activity: Instant,
    pipeline: pipeline::Pipeline,
    /// A chat ticket's visitor as last heard (see `chat`); read on first need.
    visitor_live: Option<crate::domain::visitor::Live>,
    /// The claims last queued as `claim.changed` (`None`: none since nobody
    /// subscribed); see `claims`.
    claims_queued: Option<Vec<(AgentId, webhooks::events::Doing)>>,
}

impl TicketActor {
    pub fn new(id: TicketId, core: Arc<Core>) -> TicketActor {
        TicketActor {
            id,
            core,
            ticket: None,
            presence: Presence::default(),
            tabs: HashMap::new(),
            drafts: BTreeMap::new(),
            dirty_drafts: BTreeSet::new(),
            fanout: HashMap::new(),
            lock_timer: None,
            last_activity: Instant::now(),
            pipeline: pipeline::Pipeline::default(),
            visitor_live: None,
            claims_queued: None,
        }
    }

    fn live(&self) -> Result<&Ticket, Error> {
        Ok(decisions::live(self.ticket.as_ref())?)
    }

    /// The live ticket, if `agent` may do `action` on it.
    fn authorize(&self, agent: &Agent, action: TicketAction) -> Result<&Ticket, Error> {
        Ok(decisions::authorize(self.ticket.as_ref(), agent, action)?)
    }

    /// Takes a decision against the ticket as it is now, with the facts it may
    /// look at (`now`: the decision's time).
    fn decide_at<T>(
        &self,
        now: Timestamp,
        decision: impl FnOnce(Option<&Ticket>, &Facts) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let settings = self.core.directory.settings();
        let facts = Facts {
            roster: &self.core.directory,
            settings: &settings,
            claim: self.presence.claim().map(|c| c.agent),
            now,
        };
        decision(self.ticket.as_ref(), &facts)
    }

    /// [`decide_at`](Self::decide_at) the current time.
    fn decide<T>(
        &self,
        decision: impl FnOnce(Option<&Ticket>, &Facts) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        self.decide_at(Timestamp::now(), decision)
    }

    /// Sends stored notifications to every live session of their agents.
    fn deliver(&mut self, notifications: &[Notification]) {
        for n in notifications {
            let frame = ServerFrame::notification(n, &self.core.directory);
            self.send_to_agent(n.agent, &frame);
        }
    }

    fn draft_dtos(&self, ticket: &Ticket) -> Vec<DraftDto> {
        self.drafts
            .values()
            .map(|d| DraftDto::new(d, ticket, &self.core.directory))
            .collect()
    }

    /// Commits a decision: writes its change (unless it changes nothing);
    /// once committed, applies it to memory and calls `then` with what else
    /// the decision said, whose value answers the message. A refusal answers
    /// at once and changes nothing.
    fn commit<D: Decision, R: 'static>(
        &mut self,
        decided: Result<D, impl Into<Error>>,
        then: impl FnOnce(&mut Self, &Ticket, D::Rest, &mut Context<Self>) -> Result<R, Error> + 'static,
    ) -> AtomicResponse<Self, Result<R, Error>> {
        let (change, rest) = match decided {
            Ok(decided) => decided.split(),
            Err(refusal) => {
                return AtomicResponse::new(Box::pin(fut::ready(Err(refusal.into()))));
            }
        };
        let write = self.write(change);
        AtomicResponse::new(Box::pin(
            write.map(move |written, act, ctx| then(act, &written?, rest, ctx)),
        ))
    }

    /// The write behind [`commit`](Self::commit): resolves to the ticket as
    /// committed (and now in memory), with its notifications delivered.
    fn write(&mut self, change: Change) -> ResponseActFuture<Self, Result<Ticket, Error>> {
        self.last_activity = Instant::now();
        if self.ticket.as_ref() == Some(&change.after) && change.is_empty() {
            return Box::pin(fut::ready(Ok(change.after)));
        }
        let before = self.ticket.clone();
        let written_over = before.clone();
        let store = self.core.store.clone();
        let core = self.core.clone();
        let Change {
            after,
            messages,
            history,
            notifications,
            cleared_drafts,
            removed_messages,
            new_ticket,
            blobs,
        } = change;
        for key in &cleared_drafts {
            // Removed in the same write as the message; nothing older may be persisted later.
            self.dirty_drafts.remove(key);
        }
        let delivered = notifications.clone();
        // Replies that have just entered the outbox.
        let queued = messages.iter().any(|m| {
            m.delivery
                .as_ref()
                .is_some_and(|d| d.is_queued() && d.attempts == 0)
        });
        // What a chat visitor may be told of (other tickets have nobody to tell).
        let told = if after.chat.is_some() {
            messages.clone()
        } else {
            Vec::new()
        };
        let write = async move {
            store
                .write(move |tx| {
                    let mut after = after;
                    if new_ticket {
                        after.number = writes::allocate_ticket_number(tx)?;
                    }
                    writes::put_ticket(tx, written_over.as_ref(), &after)?;
                    // Before the messages: an update of a stored message is no event.
                    let enqueued = store::webhooks::enqueue(tx, || {
                        webhooks::events::of_change(
                            written_over.as_ref(),
                            &after,
                            new_ticket,
                            &messages,
                            &core.directory,
                            Timestamp::now(),
                        )
                    })?;
                    for message in &messages {
                        writes::put_message(tx, message)?;
                        if let Some(scope) = after.client_scope() {
                            writes::put_client_id(tx, scope, message)?;
                        }
                    }
                    for entry in &history {
                        writes::append_history(tx, after.id, entry)?;
                    }
                    for notification in &notifications {
                        writes::put_notification(tx, notification)?;
                    }
                    for (agent, kind) in &cleared_drafts {
                        writes::delete_draft(tx, after.id, *agent, *kind)?;
                    }
                    for message in &removed_messages {
                        writes::delete_message(tx, message)?;
                    }
                    for blob in &blobs {
                        writes::put_blob(tx, blob)?;
                    }
                    Ok((after, enqueued > 0))
                })
                .await
        };
        Box::pin(write.into_actor(self).map(move |written, act, ctx| {
            // Pipelined writes submitted before this one are committed too:
            // their effects go first.
            act.drain(ctx);
            let (after, enqueued) = written?;
            act.ticket = Some(after.clone());
            if enqueued {
                act.core.webhooks.wake();
            }
            act.deliver(&delivered);
            act.tell_visitor(before.as_ref(), &after, &told);
            if queued {
                act.core.mail.outbox.wake();
            }
            Ok(after)
        }))
    }

    fn viewers(&self) -> Vec<Tab> {
        self.tabs.values().cloned().collect()
    }

    /// Hands events to the inbox actor, which delivers them to its subscribers
    /// and to this ticket's viewers (as they are now), in decision order. The
    /// inbox actor is spawned when someone must be reached or presence must
    /// be cached; otherwise only a live one is used.
    fn send_to_inbox(
        &mut self,
        inbox: InboxId,
        payloads: Vec<Payload>,
        presence: Option<PresenceUpdate>,
        direct: Direct,
    ) {
        let publish = self.publication(payloads, presence, direct);
        self.emit(inbox, publish);
    }

    /// What [`send_to_inbox`](Self::send_to_inbox) hands the inbox actor.
    fn publication(
        &self,
        payloads: Vec<Payload>,
        presence: Option<PresenceUpdate>,
        direct: Direct,
    ) -> Publish {
        Publish {
            payloads,
            viewers: self.viewers(),
            presence,
            direct,
        }
    }

    /// Sends a frame to the tabs viewing the ticket (but `except`), in decision order.
    fn send_to_viewers(&mut self, frame: &bytestring::ByteString, except: Option<SessionId>) {
        let direct = self
            .tabs
            .iter()
            .filter(|(session, _)| Some(**session) != except)
            .map(|(_, viewer)| (viewer.mailslot.clone(), frame.clone()))
            .collect();
        self.emit_direct(direct);
    }

    /// Sends a frame to every live session of `agent`, in decision order.
    fn send_to_agent(&mut self, agent: AgentId, frame: &bytestring::ByteString) {
        let direct = self
            .core
            .registry
            .mailslots_of(agent)
            .into_iter()
            .map(|mailslot| (mailslot, frame.clone()))
            .collect();
        self.emit_direct(direct);
    }

    /// The `ticket` frame(s) for `t`, one encoding per read state.
    fn ticket_payload(&self, t: &Ticket, action: ChangeAction, by: Option<AgentId>) -> Payload {
        let change = TicketChange {
            action,
            by: by.map(|by| AgentRef::lookup(&self.core.directory, by)),
        };
        let frame = |unread| {
            ServerFrame::Ticket {
                inbox: t.inbox,
                ticket: TicketDto::with_unread(t, unread),
                change: change.clone(),
            }
            .encode()
        };
        if t.read_by.is_empty() {
            Payload::All(frame(true))
        } else {
            Payload::ByReadState {
                read: frame(false),
                unread: frame(true),
                readers: Arc::new(t.read_by.clone()),
            }
        }
    }

    fn publish_ticket(&mut self, t: &Ticket, action: ChangeAction, by: AgentId) {
        self.publish_ticket_by(t, action, Some(by));
    }

    /// [`publish_ticket`](Self::publish_ticket), by an agent or (`None`) a visitor.
    fn publish_ticket_by(&mut self, t: &Ticket, action: ChangeAction, by: Option<AgentId>) {
        let payload = self.ticket_payload(t, action, by);
        self.send_to_inbox(t.inbox, vec![payload], None, Vec::new());
    }

    fn presence_dto(&self, ticket: &Ticket) -> PresenceDto {
        PresenceDto::new(ticket, &self.presence, &self.core.directory)
    }

    /// Publishes presence events (one frame each, all carrying the current
    /// state) to the inbox's subscribers and the ticket's viewers, and updates
    /// the inbox's snapshot cache. Publishes the state alone if `events` is empty.
    fn publish_events(&mut self, events: &[LiveEvent]) {
        if let Some((inbox, publish)) = self.events_publication(events, Vec::new()) {
            self.emit(inbox, publish);
        }
    }

    /// What [`publish_events`](Self::publish_events) hands the inbox actor,
    /// plus frames for single recipients that must leave in the same order.
    fn events_publication(&self, events: &[LiveEvent], direct: Direct) -> pipeline::Publication {
        let ticket = self.ticket.as_ref()?;
        let (inbox, id) = (ticket.inbox, ticket.id);
        let directory = &self.core.directory;
        let dto = self.presence_dto(ticket);
        let json = dto.to_json();
        let agent_ref = |id| AgentRef::lookup(directory, id);
        let payloads = events
            .iter()
            .map(|e| {
                let change = PresenceChange {
                    kind: e.kind,
                    agent: agent_ref(e.agent),
                    reason: e.reason,
                    by: e.by.map(agent_ref),
                };
                Payload::All(ServerFrame::presence(inbox, &json, &change))
            })
            .collect();
        let state = (!dto.is_empty()).then_some(json);
        let presence = Some(PresenceUpdate::new(id, state));
        Some((inbox, self.publication(payloads, presence, direct)))
    }

    /// Publishes claim and viewer `changes` and tells former holders whose
    /// claim was taken (`claim_lost`).
    fn publish_presence(&mut self, changes: &[PresenceEvent]) {
        if let Some((inbox, publish)) = self.presence_publication(changes) {
            self.emit(inbox, publish);
        }
    }

    /// What [`publish_presence`](Self::publish_presence) hands the inbox
    /// actor; queues `claim.changed` if the claims changed (see `claims`).
    fn presence_publication(&mut self, changes: &[PresenceEvent]) -> pipeline::Publication {
        if changes.is_empty() {
            return None;
        }
        self.queue_claim_changed();
        let ticket = self.ticket.as_ref()?;
        let ticket_id = ticket.id;
        let events: Vec<LiveEvent> = changes
            .iter()
            .map(|change| match *change {
                PresenceEvent::Claimed { agent } => LiveEvent::new(PresenceKind::Claimed, agent),
                PresenceEvent::Released { agent, reason, by } => LiveEvent {
                    reason: Some(reason),
                    by: by.filter(|b| *b != agent), // `by` only when someone else caused it
                    ..LiveEvent::new(PresenceKind::Released, agent)
                },
                PresenceEvent::ViewerJoined { agent } => {
                    LiveEvent::new(PresenceKind::ViewerJoined, agent)
                }
                PresenceEvent::ViewerLeft { agent } => {
                    LiveEvent::new(PresenceKind::ViewerLeft, agent)
                }
                PresenceEvent::ViewerHidden { agent } => {
                    LiveEvent::new(PresenceKind::ViewerHidden, agent)
                }
                PresenceEvent::ViewerShown { agent } => {
                    LiveEvent::new(PresenceKind::ViewerShown, agent)
                }
            })
            .collect();
        let agent_ref = |id| AgentRef::lookup(&self.core.directory, id);
        let mut direct = Vec::new();
        for change in changes {
            match *change {
                PresenceEvent::Claimed { .. } => {
                    self.core.metrics.claims.inc();
                }
                PresenceEvent::Released { agent, reason, by } => {
                    self.core.metrics.claims.dec();

                    if reason.is_taken() && by != Some(agent) {
                        let frame = ServerFrame::ClaimLost {
                            ticket: ticket_id,
                            by: by.map(agent_ref),
                            reason: Some(reason),
                        }
                        .encode();
                        for session in self.presence.sessions_of(agent) {
                            if let Some(viewer) = self.tabs.get(&session) {
                                direct.push((viewer.mailslot.clone(), frame.clone()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        self.events_publication(&events, direct)
    }

    fn is_idle(&self) -> bool {
        self.pipeline.is_empty()
            && self.presence.is_empty()
            && self.dirty_drafts.is_empty()
            && self.ticket.as_ref().is_none_or(|t| t.lock.is_none())
    }
}

/// One `presence` frame's change: `kind` of `agent`, with a reason and who caused it.
struct LiveEvent {
    kind: PresenceKind,
    agent: AgentId,
    reason: Option<ReleaseReason>,
    by: Option<AgentId>,
}

impl LiveEvent {
    fn new(kind: PresenceKind, agent: AgentId) -> LiveEvent {
        LiveEvent {
            kind,
            agent,
            reason: None,
            by: None,
        }
    }
}

impl Actor for TicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.metrics.ticket_actors.inc();
        let loaded = self
            .core
            .store
            .read()
            .and_then(|tx| Ok((reads::ticket(&tx, self.id)?, reads::drafts(&tx, self.id)?)));
        match loaded {
            Ok((ticket, drafts)) => {
                self.ticket = ticket;
                self.drafts = drafts.into_iter().map(|d| ((d.agent, d.kind), d)).collect();
            }
            Err(error) => {
                tracing::error!(ticket = %self.id, error = &error as &dyn std::error::Error, "cannot load ticket");
                self.core.registry.forget_ticket(self.id, &ctx.address());
                ctx.stop();
                return;
            }
        }
        self.schedule_lock_expiry(ctx);
        if self
            .ticket
            .as_ref()
            .is_some_and(|t| t.lock.is_some() && !t.deleted)
        {
            // After a restart, snapshots must show the lock before anyone opens the ticket.
            self.publish_events(&[]);
        }
        ctx.run_interval(drafts::PERSIST_EVERY, |act, ctx| act.persist_drafts(ctx));
        let idle_stop = self.core.config.idle_stop;
        ctx.run_interval(idle_stop / 2, move |act, ctx| {
            if act.is_idle() && act.last_activity.elapsed() >= idle_stop {
                act.core.registry.forget_ticket(act.id, &ctx.address());
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.core.registry.forget_ticket(self.id, &ctx.address());
        self.core.metrics.ticket_actors.dec();
    }
}

/// A decision the actor commits: its change, and what else publishing needs.
trait Decision {
    type Rest: 'static;
    fn split(self) -> (Change, Self::Rest);
}

impl Decision for Change {
    type Rest = ();
    fn split(self) -> (Change, ()) {
        (self, ())
    }
}

impl<T: 'static> Decision for (Change, T) {
    type Rest = T;
    fn split(self) -> (Change, T) {
        self
    }
}
