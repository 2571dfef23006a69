//! Tabs opening, closing, hiding and force-releasing the ticket.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use super::{Change, TicketActor, refuse};
use crate::actors::inbox::Viewer;
use crate::actors::session::Deliver;
use crate::domain::access::TicketAction;
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::presence::ReleaseReason;
use crate::domain::ticket::Ticket;
use crate::domain::{Agent, AgentId, SessionId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::{DraftDto, PresenceDto};

/// A tab opens the ticket: claim it if free, else view (or take it over).
#[derive(Message, Clone)]
#[rtype(result = "Result<Opened, Error>")]
pub struct Open {
    pub session: SessionId,
    pub agent: Arc<Agent>,
    pub recipient: Recipient<Deliver>,
    pub take_over: bool,
    pub hidden: bool,
}

pub struct Opened {
    pub claimed: bool,
    pub presence: PresenceDto,
    pub drafts: Vec<DraftDto>,
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
    /// asked) and publishes what changed; answers whether the tab holds the claim.
    fn open_tab(&mut self, msg: Open, can_claim: bool) -> bool {
        let Open {
            session,
            agent,
            recipient,
            take_over,
            hidden,
        } = msg;
        let (claimed, changes) = self.presence.open(
            session,
            agent.id,
            can_claim,
            take_over,
            hidden,
            Timestamp::now(),
        );
        let viewer = Viewer {
            session,
            agent: agent.id,
            recipient,
        };
        self.tabs.insert(session, viewer);
        self.publish_presence(&changes);
        claimed
    }

    fn opened(&self, claimed: bool, ticket: &Ticket) -> Opened {
        Opened {
            claimed,
            presence: self.presence_dto(ticket),
            drafts: self.draft_dtos(ticket),
        }
    }
}

impl Handler<Open> for TicketActor {
    type Result = AtomicResponse<Self, Result<Opened, Error>>;

    fn handle(&mut self, msg: Open, _: &mut Context<Self>) -> Self::Result {
        let (session, opener) = (msg.session, msg.agent.id);
        let ticket = match self.authorize(&msg.agent, TicketAction::View) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let newly_read = !ticket.read_by.contains(&opener);
        let can_claim = self.authorize(&msg.agent, TicketAction::Claim).is_ok();
        let holder = self.presence.claim().map(|c| c.agent);
        let takes_over = msg.take_over && can_claim && holder.is_some_and(|h| h != opener);
        if !newly_read && !takes_over {
            // Nothing to write (the read mark is there already): presence only,
            // without cloning the ticket (its read marks grow with the team).
            let claimed = self.open_tab(msg, can_claim);
            self.last_activity = Instant::now();
            let opened = self.live().map(|ticket| self.opened(claimed, ticket));
            return AtomicResponse::new(Box::pin(fut::ready(opened)));
        }
        // Opening marks the ticket read for the opener (durable before `opened`).
        let mut change = Change::of(ticket.clone());
        change.after.read_by.insert(opener);
        if let Some(holder) = holder.filter(|_| takes_over) {
            // A take-over is history: decided and published only once that is on disk.
            change.history.push(claim_forced(holder, opener));
            return self.commit(change, move |act, ticket, _| {
                let claimed = act.open_tab(msg, can_claim);
                Ok(act.opened(claimed, ticket))
            });
        }
        // Otherwise presence (memory only) goes out at once; the read mark follows.
        // Should that write fail, the tab is taken off the ticket again.
        let claimed = self.open_tab(msg, can_claim);
        AtomicResponse::new(Box::pin(self.write(change).map(
            move |written, act, _| match written {
                Ok(ticket) => {
                    act.tell_own_sessions(&ticket, opener, "read"); // every tab of the opener
                    Ok(act.opened(claimed, &ticket))
                }
                Err(error) => {
                    let undone = act.presence.close(session, ReleaseReason::Disconnected);
                    act.tabs.remove(&session);
                    act.publish_presence(&undone);
                    Err(error)
                }
            },
        )))
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
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: ForceRelease, _: &mut Context<Self>) -> Self::Result {
        let ticket = match self.authorize(&msg.by, TicketAction::Claim) {
            Ok(t) => t.clone(),
            Err(e) => return refuse(e),
        };
        let Some(holder) = self
            .presence
            .claim()
            .map(|c| c.agent)
            .filter(|h| *h != msg.by.id)
        else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(())))); // nothing of anyone else's to release
        };
        let mut change = Change::of(ticket);
        change.history.push(claim_forced(holder, msg.by.id));
        self.commit(change, move |act, _, _| {
            let changes = act
                .presence
                .release_claim(ReleaseReason::Forced, Some(msg.by.id));
            act.publish_presence(&changes);
            Ok(())
        })
    }
}
