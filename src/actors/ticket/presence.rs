//! Tabs opening, closing, hiding and force-releasing the ticket.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use serde_json::value::RawValue;

use super::TicketActor;
use super::pipeline::Publication;
use crate::actors::inbox::Tab;
use crate::actors::mailslot::Mailslot;
use crate::domain::access::TicketAction;
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::presence::{Event as PresenceEvent, Opening, ReleaseReason};
use crate::domain::ticket::Ticket;
use crate::domain::{Agent, AgentId, SessionId, Timestamp};
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
use crate::protocol::dto::{DraftDto, PresenceDto};
use crate::store::writes;

/// A tab opens the ticket: claim it if free, else view (or take it over).
#[derive(Message, Clone)]
#[rtype(result = "Result<Opened, Error>")]
pub struct Open {
    pub session: SessionId,
    pub agent: Arc<Agent>,
    pub mailslot: Mailslot,
    pub take_over: bool,
    pub hidden: bool,
}

pub struct Opened {
    pub claimed: bool,
    /// The ticket's presence, serialized (the same bytes its `presence` frames carry).
    pub presence: Box<RawValue>,
    pub drafts: Vec<DraftDto>,
    /// A chat ticket's `visitor` frame, sent after `opened`.
    pub visitor: Option<bytestring::ByteString>,
}

/// A tab closes the ticket (or leaves, switches, disconnects): releases what it held.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseTab {
    pub session: SessionId,
    pub reason: ReleaseReason,
}

/// A tab was hidden for `hidden_release_s`: it stops holding the claim but keeps viewing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseHidden {
    pub session: SessionId,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct SetHidden {
    pub session: SessionId,
    pub hidden: bool,
}

/// What only the live actor knows, for ticket detail: presence and drafts.
/// `None` for a ticket that does not exist.
#[derive(Message)]
#[rtype(result = "Option<Live>")]
pub struct GetLive;

pub struct Live {
    pub presence: PresenceDto,
    pub drafts: Vec<DraftDto>,
}

impl Handler<GetLive> for TicketActor {
    type Result = Option<Live>;

    fn handle(&mut self, _: GetLive, _: &mut Context<Self>) -> Option<Live> {
        let ticket = self.live().ok()?;
        Some(Live {
            presence: self.presence_dto(ticket),
            drafts: self.draft_dtos(ticket),
        })
    }
}

/// The "x": release another agent's claim without taking it.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct ForceRelease {
    pub by: Arc<Agent>,
}

/// The `claim_forced` entry for `by` releasing `holder`'s claim.
fn claim_forced(holder: AgentId, by: AgentId) -> HistoryEntry {
    HistoryEntry::new(Some(by), HistoryAction::ClaimForced, Timestamp::now())
        .with("agent", holder.to_string())
        .with("by", by.to_string())
}

impl TicketActor {
    /// Puts the tab on the ticket (claiming it if it may, taking it over if
    /// asked); answers whether the tab holds the claim, and what changed.
    fn open_tab(&mut self, msg: Open, can_claim: bool) -> (bool, Vec<PresenceEvent>) {
        let Open {
            session,
            agent,
            mailslot,
            take_over,
            hidden,
        } = msg;
        let opening = Opening {
            session,
            agent: agent.id,
            can_claim,
            take_over,
            hidden,
        };
        let (claimed, changes) = self.presence.open(opening, Timestamp::now());
        let viewer = Tab {
            session,
            agent: agent.id,
            mailslot,
        };
        self.tabs.insert(session, viewer);
        (claimed, changes)
    }

    /// The answer to an open; `publication` is what the open publishes,
    /// whose serialized presence it reuses.
    fn opened(&self, claimed: bool, ticket: &Ticket, publication: &Publication) -> Opened {
        let published = publication
            .as_ref()
            .and_then(|(_, publish)| publish.presence.as_ref()?.state.clone());
        Opened {
            claimed,
            presence: published.unwrap_or_else(|| self.presence_dto(ticket).to_json()),
            drafts: self.draft_dtos(ticket),
            visitor: self.visitor_frame(ticket),
        }
    }
}

impl Handler<Open> for TicketActor {
    type Result = ResponseFuture<Result<Opened, Error>>;

    fn handle(&mut self, msg: Open, ctx: &mut Context<Self>) -> Self::Result {
        let (session, opener) = (msg.session, msg.agent.id);
        let ticket = match self.authorize(&msg.agent, TicketAction::View) {
            Ok(t) => t,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let id = ticket.id;
        // Opening marks the ticket read for the opener; its read marks grow
        // with the team, so the ticket is cloned only when that is new.
        let newly_read = !ticket.read_by.contains(&opener);
        let can_claim = self.authorize(&msg.agent, TicketAction::Claim).is_ok();
        let holder = self.presence.claim().map(|c| c.agent);
        let takes_over = msg.take_over && can_claim && holder.is_some_and(|h| h != opener);
        // A take-over is history.
        let forced = holder
            .filter(|_| takes_over)
            .map(|h| claim_forced(h, opener));
        self.last_activity = Instant::now();
        if !newly_read && forced.is_none() {
            // Nothing to write: presence only.
            let (claimed, changes) = self.open_tab(msg, can_claim);
            let publication = self.presence_publication(&changes);
            let opened = self
                .live()
                .map(|ticket| self.opened(claimed, ticket, &publication));
            if let Some((inbox, publish)) = publication {
                self.emit(inbox, publish);
            }
            return self.answer_in_order(opened);
        }
        // Durable before `opened` and before the take-over is published
        // (pipelined: see `pipeline`); decided now.
        let (reply, answer) = tokio::sync::oneshot::channel();
        // (before, after) of the read mark, applied to memory now.
        let read = match (newly_read, self.ticket.as_mut()) {
            (true, Some(ticket)) => {
                let before = ticket.clone();
                ticket.read_by.insert(opener);
                Some((before, ticket.clone()))
            }
            _ => None,
        };
        let (claimed, changes) = self.open_tab(msg, can_claim);
        let publication = self.presence_publication(&changes);
        let opened = self
            .live()
            .map(|ticket| self.opened(claimed, ticket, &publication));
        let told = read.clone();
        self.write_pipelined(
            ctx,
            move |tx| {
                if let Some((before, after)) = &read {
                    writes::put_ticket(tx, Some(before), after)?;
                }
                if let Some(entry) = &forced {
                    writes::append_history(tx, id, entry)?;
                }
                Ok(())
            },
            publication,
            move |act, _, committed| {
                let opened = committed.and(opened);
                match &opened {
                    Ok(_) => {
                        if newly_read {
                            act.tell_own_sessions(opener, ChangeAction::Read); // every tab of the opener
                        }
                        if let Some((before, after)) = &told {
                            act.tell_visitor_read(Some(before), after);
                        }
                    }
                    Err(_) => {
                        // Not on disk: the tab is taken off the ticket again.
                        let undone = act.presence.close(session, ReleaseReason::Disconnected);
                        act.tabs.remove(&session);
                        act.publish_presence(&undone);
                    }
                }
                let _ = reply.send(opened);
            },
        );
        Box::pin(async move { answer.await.unwrap_or(Err(Error::Unavailable)) })
    }
}

impl Handler<CloseTab> for TicketActor {
    type Result = ();

    fn handle(&mut self, msg: CloseTab, _: &mut Context<Self>) {
        let changes = self.presence.close(msg.session, msg.reason);
        self.tabs.remove(&msg.session);
        self.publish_presence(&changes);
        self.last_activity = Instant::now();
    }
}

impl Handler<ReleaseHidden> for TicketActor {
    type Result = ();

    fn handle(&mut self, msg: ReleaseHidden, _: &mut Context<Self>) {
        let changes = self
            .presence
            .release_tab(msg.session, ReleaseReason::Hidden);
        self.publish_presence(&changes);
    }
}

impl Handler<SetHidden> for TicketActor {
    type Result = ();

    fn handle(&mut self, msg: SetHidden, _: &mut Context<Self>) {
        let changes = self.presence.set_hidden(msg.session, msg.hidden);
        self.publish_presence(&changes);
    }
}

impl Handler<ForceRelease> for TicketActor {
    type Result = ResponseFuture<Result<(), Error>>;

    fn handle(&mut self, msg: ForceRelease, ctx: &mut Context<Self>) -> Self::Result {
        let id = match self.authorize(&msg.by, TicketAction::Claim) {
            Ok(t) => t.id,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let Some(holder) = self
            .presence
            .claim()
            .map(|c| c.agent)
            .filter(|h| *h != msg.by.id)
        else {
            return Box::pin(std::future::ready(Ok(()))); // nothing of anyone else's to release
        };
        // History: acknowledged and published once it is on disk (pipelined).
        let entry = claim_forced(holder, msg.by.id);
        let changes = self
            .presence
            .release_claim(ReleaseReason::Forced, Some(msg.by.id));
        let publication = self.presence_publication(&changes);
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.write_pipelined(
            ctx,
            move |tx| writes::append_history(tx, id, &entry),
            publication,
            move |_, _, committed| {
                let _ = reply.send(committed);
            },
        );
        self.last_activity = Instant::now();
        Box::pin(async move { answer.await.unwrap_or(Err(Error::Unavailable)) })
    }
}
