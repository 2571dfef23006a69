//! The ticket actor: the one place that decides anything about its ticket —
//! every mutation, claim, viewer change, force-release and take-over.
//!
//! Invariants:
//! - Decisions are taken one at a time against the actor's in-memory state.
//!   A decision that must be durable is written through the store and applied
//!   to memory, published and answered only after the commit; the actor looks
//!   at no other message meanwhile (`AtomicResponse`), so memory always equals
//!   disk and "two agents accept at once" has exactly one winner.
//! - Presence (claim, viewers) lives in memory only ([`Presence`]); every
//!   change is published with the ticket's whole presence, serialized once.
//! - The actor stops after `actors.idle_stop_s` without activity and without
//!   viewers; the next message spawns a fresh one that reloads the ticket.
//!
//! Files: [`commands`] (REST mutations), [`presence`] (tabs opening, closing,
//! hiding, force-releasing).

mod commands;
mod presence;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

pub use commands::{Create, Mutate, Op, Patch, Post};
pub use presence::{CloseTab, ForceRelease, GetPresence, Open, Opened, ReleaseHidden, SetHidden};

use super::inbox::{Payload, PresenceUpdate, Publish, Viewer};
use super::session::Deliver;
use crate::core::Core;
use crate::domain::access::{TicketAction, TicketScope, check_ticket};
use crate::domain::history::HistoryEntry;
use crate::domain::message::Message as TicketMessage;
use crate::domain::presence::{Change as PresenceChangeKind, Presence};
use crate::domain::ticket::Ticket;
use crate::domain::{Agent, AgentId, InboxId, SessionId, TicketId};
use crate::error::Error;
use crate::protocol::dto::{AgentRef, PresenceDto, TicketDto};
use crate::protocol::frames::{PresenceChange, ServerFrame, TicketChange};
use crate::store::{reads, writes};

pub struct TicketActor {
    id: TicketId,
    core: Arc<Core>,
    /// `None` until created; deleted tickets stay loaded as tombstones.
    ticket: Option<Ticket>,
    presence: Presence,
    /// How to reach each tab that has the ticket open.
    tabs: HashMap<SessionId, Viewer>,
    last_activity: Instant,
}

/// One decided change, ready to be written.
struct Change {
    after: Ticket,
    messages: Vec<TicketMessage>,
    history: Vec<HistoryEntry>,
    new_ticket: bool,
}

impl Change {
    fn of(after: Ticket) -> Change {
        Change { after, messages: Vec::new(), history: Vec::new(), new_ticket: false }
    }
}

impl TicketActor {
    pub fn new(id: TicketId, core: Arc<Core>) -> TicketActor {
        TicketActor {
            id,
            core,
            ticket: None,
            presence: Presence::default(),
            tabs: HashMap::new(),
            last_activity: Instant::now(),
        }
    }

    fn live(&self) -> Result<&Ticket, Error> {
        self.ticket.as_ref().filter(|t| !t.deleted).ok_or(Error::NotFound)
    }

    /// The live ticket, if `agent` may do `action` on it.
    fn authorize(&self, agent: &Agent, action: TicketAction) -> Result<&Ticket, Error> {
        let ticket = self.live()?;
        check_ticket(agent, TicketScope { inbox: ticket.inbox, shared_with: &ticket.shared_with }, action)?;
        Ok(ticket)
    }

    /// Collision rule: while another agent holds the claim, this is refused.
    fn check_claim(&self, agent: &Agent) -> Result<(), Error> {
        match self.presence.claim() {
            Some(claim) if claim.agent != agent.id => {
                Err(Error::TicketClaimed { holder: AgentRef::lookup(&self.core.directory, claim.agent) })
            }
            _ => Ok(()),
        }
    }

    /// Writes `change` (unless it changes nothing); once committed, applies it
    /// to memory and calls `then`, whose value answers the message.
    fn commit<R: 'static>(
        &mut self,
        change: Change,
        then: impl FnOnce(&mut Self, &Ticket) -> Result<R, Error> + 'static,
    ) -> AtomicResponse<Self, Result<R, Error>> {
        self.last_activity = Instant::now();
        let before = self.ticket.clone();
        let unchanged =
            before.as_ref() == Some(&change.after) && change.messages.is_empty() && change.history.is_empty();
        if unchanged {
            let after = change.after;
            return AtomicResponse::new(Box::pin(
                fut::ready(()).map(move |(), act: &mut Self, _| then(act, &after)),
            ));
        }
        let store = self.core.store.clone();
        let Change { after, messages, history, new_ticket } = change;
        let write = async move {
            store
                .write(move |tx| {
                    let mut after = after;
                    if new_ticket {
                        after.number = writes::allocate_ticket_number(tx)?;
                    }
                    writes::put_ticket(tx, before.as_ref(), &after)?;
                    for message in &messages {
                        writes::put_message(tx, message)?;
                    }
                    for entry in &history {
                        writes::append_history(tx, after.id, entry)?;
                    }
                    Ok(after)
                })
                .await
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(move |written, act, _| {
            let after = written?;
            act.ticket = Some(after.clone());
            then(act, &after)
        })))
    }

    fn viewers(&self) -> Vec<Viewer> {
        self.tabs.values().cloned().collect()
    }

    /// Hands events to the inbox actor, which delivers them to its subscribers
    /// and to this ticket's viewers. The inbox actor is spawned when someone
    /// must be reached or presence must be cached; otherwise only a live one is used.
    fn send_to_inbox(&self, inbox: InboxId, payloads: Vec<Payload>, presence: Option<PresenceUpdate>) {
        let viewers = self.viewers();
        let must_reach = !viewers.is_empty() || presence.as_ref().is_some_and(|p| p.state.is_some());
        let addr = if must_reach {
            Some(self.core.registry.inbox(&self.core, inbox))
        } else {
            self.core.registry.live_inbox(inbox)
        };
        if let Some(addr) = addr {
            addr.do_send(Publish { payloads, viewers, presence });
        }
    }

    /// Sends frames straight to the tabs viewing the ticket.
    fn send_to_viewers(&self, frame: &bytestring::ByteString) {
        for viewer in self.tabs.values() {
            viewer.recipient.do_send(Deliver(frame.clone()));
        }
    }

    /// The `ticket` frame(s) for `t`, one encoding per read state.
    fn ticket_payload(&self, t: &Ticket, action: &'static str, by: AgentId) -> Payload {
        let change = TicketChange { action, by: Some(AgentRef::lookup(&self.core.directory, by)) };
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

    fn publish_ticket(&self, t: &Ticket, action: &'static str, by: AgentId) {
        self.send_to_inbox(t.inbox, vec![self.ticket_payload(t, action, by)], None);
    }

    fn presence_dto(&self, ticket: &Ticket) -> PresenceDto {
        PresenceDto::new(ticket, &self.presence, &self.core.directory)
    }

    /// Publishes presence `changes` (one frame each, all carrying the current
    /// state) and tells former holders whose claim was taken (`claim_lost`).
    fn publish_presence(&self, changes: &[PresenceChangeKind]) {
        let Some(ticket) = &self.ticket else { return };
        if changes.is_empty() {
            return;
        }
        let directory = &self.core.directory;
        let dto = self.presence_dto(ticket);
        let agent_ref = |id| AgentRef::lookup(directory, id);
        let payloads = changes
            .iter()
            .map(|change| {
                let (kind, agent, reason, by) = match *change {
                    PresenceChangeKind::Claimed { agent } => ("claimed", agent, None, None),
                    PresenceChangeKind::Released { agent, reason, by } => {
                        ("released", agent, Some(reason), by)
                    }
                    PresenceChangeKind::ViewerJoined { agent } => ("viewer_joined", agent, None, None),
                    PresenceChangeKind::ViewerLeft { agent } => ("viewer_left", agent, None, None),
                    PresenceChangeKind::ViewerHidden { agent } => ("viewer_hidden", agent, None, None),
                    PresenceChangeKind::ViewerShown { agent } => ("viewer_shown", agent, None, None),
                };
                let change = PresenceChange { kind, agent: agent_ref(agent), reason, by: by.map(agent_ref) };
                Payload::All(
                    ServerFrame::Presence { inbox: ticket.inbox, presence: dto.clone(), change }.encode(),
                )
            })
            .collect();
        let state = (!dto.is_empty()).then(|| serde_json::to_value(&dto).expect("presence serializes"));
        self.send_to_inbox(ticket.inbox, payloads, Some(PresenceUpdate::new(ticket.id, state)));

        for change in changes {
            match *change {
                PresenceChangeKind::Claimed { .. } => {
                    self.core.metrics.claims.inc();
                }
                PresenceChangeKind::Released { agent, reason, by } => {
                    self.core.metrics.claims.dec();

                    if reason.is_taken() && by != Some(agent) {
                        let frame = ServerFrame::ClaimLost {
                            ticket: ticket.id,
                            by: by.map(agent_ref),
                            reason: Some(reason),
                        }
                        .encode();
                        for session in self.presence.sessions_of(agent) {
                            if let Some(viewer) = self.tabs.get(&session) {
                                viewer.recipient.do_send(Deliver(frame.clone()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.presence.is_empty()
    }
}

impl Actor for TicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.metrics.ticket_actors.inc();
        match self.core.store.read().and_then(|tx| reads::ticket(&tx, self.id)) {
            Ok(ticket) => self.ticket = ticket,
            Err(error) => {
                tracing::error!(ticket = %self.id, %error, "cannot load ticket");
                self.core.registry.forget_ticket(self.id, &ctx.address());
                ctx.stop();
                return;
            }
        }
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

fn refuse<R: 'static>(error: Error) -> AtomicResponse<TicketActor, Result<R, Error>> {
    AtomicResponse::new(Box::pin(fut::ready(Err(error))))
}
