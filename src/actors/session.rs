//! The session actor: one agent's browser tab.
//!
//! It owns what the tab is doing: its inbox subscription, the one ticket it
//! has open, and its visibility. It outlives its socket: a socket lost without
//! a close frame detaches it for `reconnect_grace_s`, during which a `hello`
//! with `resume` re-attaches a new socket; after that it stops.
//!
//! Every way out releases the tab's ticket with its reason: another `open`
//! (`switched`), `close` (`closed`), `leave` (`left`), subscribing another
//! inbox (`inbox_changed`), hidden for `hidden_release_s` (`hidden`), and the
//! session ending (`disconnected`). The ticket actor decides what that
//! releases; a release for a tab it no longer knows changes nothing.
//!
//! The socket closes with 4401 when the token it was opened with expires (its
//! connection watches that, and the session ends with the socket) or is
//! revoked (logout, password change).
//!
//! Invariants:
//! - Frames reach the client only through the current [`Outlet`], which the
//!   session's [`Mailslot`] holds; frames from an older connection of the
//!   same session are ignored. Others put frames for the tab in its mailslot;
//!   while the session waits for a ticket or inbox to answer, those frames
//!   wait behind the answer's frame (see [`Self::wait_holding`]).
//! - A client that cannot keep up (outlet backlog full) is disconnected, never
//!   buffered without bound.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::Value;
use tracing::Instrument;

use super::inbox::{Subscribe, Unsubscribe};
use super::ticket::{
    CloseTab, ForceRelease, Open, ReleaseHidden, Revalidate, SetHidden, UpdateDraft,
};
use crate::accounts::token::{Credential, Revocation};
use crate::core::Core;
use crate::domain::access::can_view_inbox;
use crate::domain::presence::ReleaseReason;
use crate::domain::{Agent, InboxId, SessionId, TicketId};
use crate::error::Error;
use crate::protocol::close::ServerClose;
use crate::protocol::dto::{AgentDto, seconds};
use crate::protocol::frames::{ClientFrame, Incoming, ServerFrame};
use crate::socket::connection::Ended;
use crate::socket::outlet::Outlet;

use super::mailslot::{Mailslot, Overflowed};

/// A new socket for this session (a fresh one, or a resume). Answers `false`
/// if the session is stopping and cannot take it.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Attach {
    pub outlet: Outlet,
    /// The token the socket's `hello` carried.
    pub credential: Credential,
    pub reference: Option<Value>,
    pub resumed: bool,
}

/// A client frame read from connection `connection`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Inbound {
    pub connection: u64,
    pub incoming: Incoming,
}

/// Connection `connection` ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketEnded {
    pub connection: u64,
    pub cause: Ended,
}

/// The agent's access changed (memberships, role): drop what it may no longer see.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Recheck;

/// Tokens were revoked: a session opened with one of them ends (4401).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Revoke(pub Revocation);

/// Ends the session now, closing its socket for the reason given (agent
/// disabled, server shutting down).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect(pub ServerClose);

pub struct SessionActor {
    id: SessionId,
    core: Arc<Core>,
    agent: Arc<Agent>,
    /// Where the tab's frames go: the attached socket's outlet.
    mailslot: Mailslot,
    /// The attached socket's connection.
    connection: Option<u64>,
    inbox: Option<InboxId>,
    /// The ticket this tab has open.
    opened: Option<TicketId>,
    hidden: bool,
    hidden_timer: Option<SpawnHandle>,
    /// The inbox this tab counts as attending for chat availability (see [`Self::attend`]).
    attending: Option<InboxId>,
    grace: Option<SpawnHandle>,
    /// The token of the attached socket (its connection ends the socket, and so
    /// this session, when the token expires).
    credential: Option<Credential>,
    /// `session{session agent}`, under the span of the upgrade request that
    /// started the session (a resumed session keeps it): its handlers (all but
    /// the hot path of frames, which does not pass through it) and its asks
    /// to tickets run inside it.
    span: tracing::Span,
}

impl SessionActor {
    pub fn new(core: Arc<Core>, agent: Arc<Agent>, ctx: &Context<Self>) -> SessionActor {
        let id = SessionId::new();
        let overflowed = ctx.address().downgrade().recipient();
        let mailslot = Mailslot::new(overflowed, core.metrics.slow_sessions_dropped.clone());
        SessionActor {
            span: tracing::error_span!("session", session = %id, agent = %agent.id),
            id,
            core,
            agent,
            mailslot,
            connection: None,
            inbox: None,
            opened: None,
            hidden: false,
            hidden_timer: None,
            attending: None,
            grace: None,
            credential: None,
        }
    }

    /// Keeps chat availability in step with this tab: it attends its
    /// subscribed inbox while a socket is attached and the tab is visible.
    fn attend(&mut self) {
        let attending = self
            .inbox
            .filter(|_| self.connection.is_some() && !self.hidden);
        if attending != self.attending {
            self.attending = attending;
            self.core.attend(self.id, attending);
        }
    }

    /// The agent as the directory knows it now (role and memberships may change).
    fn fresh_agent(&self) -> Arc<Agent> {
        self.core
            .directory
            .agent(self.agent.id)
            .unwrap_or_else(|| self.agent.clone())
    }

    /// Releases the tab's open ticket (if any) with `reason`.
    fn release(&mut self, reason: ReleaseReason) {
        if let Some(ticket) = self.opened.take() {
            // The ticket actor is alive: it does not stop while this tab is on it.
            self.core.ticket(ticket).do_send(CloseTab {
                session: self.id,
                reason,
            });
        }
    }

    fn open(
        &mut self,
        ticket: TicketId,
        take_over: bool,
        reference: Option<Value>,
        ctx: &mut Context<Self>,
    ) {
        if self.opened.is_some_and(|t| t != ticket) {
            self.release(ReleaseReason::Switched);
        }
        let open = Open {
            session: self.id,
            agent: self.fresh_agent(),
            mailslot: self.mailslot.clone(),
            take_over,
            hidden: self.hidden,
        };
        let core = self.core.clone();
        // `wait`: later frames of this tab see the ticket open (or refused).
        self.wait_holding(
            ctx,
            async move { core.ask_ticket(ticket, open).await }
                .instrument(self.span.clone())
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(opened) => {
                        act.opened = Some(ticket);
                        if act.hidden {
                            act.arm_hidden_timer(ctx);
                        }
                        let frame = ServerFrame::Opened {
                            reference,
                            ticket,
                            claimed: opened.claimed,
                            presence: opened.presence,
                            drafts: opened.drafts,
                        };
                        act.send(frame.encode());
                        if let Some(visitor) = opened.visitor {
                            act.send(visitor);
                        }
                    }
                    Err(error) => {
                        if act.opened == Some(ticket) {
                            // A failed re-open: make sure the ticket lets go of this tab too.
                            act.release(ReleaseReason::Closed);
                        }
                        act.send_error(reference, &error);
                    }
                }),
        );
    }

    fn force_release(
        &mut self,
        ticket: TicketId,
        reference: Option<Value>,
        ctx: &mut Context<Self>,
    ) {
        let core = self.core.clone();
        let request = ForceRelease {
            by: self.fresh_agent(),
        };
        self.wait_holding(
            ctx,
            async move { core.ask_ticket(ticket, request).await }
                .instrument(self.span.clone())
                .into_actor(self)
                .map(move |result, act, _| {
                    if let Err(error) = result {
                        act.send_error(reference, &error);
                    }
                }),
        );
    }

    /// While hidden, the tab's ticket is released after `hidden_release_s`
    /// (counted from hiding, or from opening a ticket while hidden).
    fn arm_hidden_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.hidden_timer.take() {
            ctx.cancel_future(timer);
        }
        let after = Duration::from_millis(self.core.directory.settings().hidden_release_ms);
        self.hidden_timer = Some(ctx.run_later(after, |act, _| {
            act.hidden_timer = None;
            if let Some(ticket) = act.opened {
                act.core
                    .ticket(ticket)
                    .do_send(ReleaseHidden { session: act.id });
            }
        }));
    }

    fn set_hidden(&mut self, hidden: bool, ctx: &mut Context<Self>) {
        if hidden == self.hidden {
            return;
        }
        self.hidden = hidden;
        if let Some(timer) = self.hidden_timer.take() {
            ctx.cancel_future(timer);
        }
        if hidden {
            self.arm_hidden_timer(ctx);
        }
        if let Some(ticket) = self.opened {
            self.core.ticket(ticket).do_send(SetHidden {
                session: self.id,
                hidden,
            });
        }
    }

    /// Sends a frame to the client; a client too slow to take it is
    /// disconnected ([`Overflowed`]).
    fn send(&mut self, frame: ByteString) {
        self.mailslot.put_own(frame);
    }

    /// Runs `ask` (a question to a ticket or inbox, then what the session does
    /// with the answer) before any other message of this tab; frames others
    /// put for the tab meanwhile go out after the answer's frames.
    fn wait_holding<F>(&mut self, ctx: &mut Context<Self>, ask: F)
    where
        F: ActorFuture<Self, Output = ()> + 'static,
    {
        self.mailslot.hold();
        ctx.wait(ask.map(|(), act, _| act.mailslot.release()));
    }

    fn send_error(&mut self, reference: Option<Value>, error: &Error) {
        let frame = ServerFrame::Error {
            reference,
            code: error.code(),
            message: error.to_string(),
        };
        self.send(frame.encode());
    }

    fn handle_frame(
        &mut self,
        reference: Option<Value>,
        frame: ClientFrame,
        ctx: &mut Context<Self>,
    ) {
        match frame {
            ClientFrame::Ping => self.send(ServerFrame::Pong { reference }.encode()),
            ClientFrame::Hello { .. } => {
                self.send_error(reference, &Error::bad_request("already authenticated"));
            }
            ClientFrame::Subscribe { inbox } => self.subscribe(inbox, reference, ctx),
            ClientFrame::Leave => {
                self.release(ReleaseReason::Left);
                self.unsubscribe();
            }
            ClientFrame::Open { ticket, take_over } => self.open(ticket, take_over, reference, ctx),
            ClientFrame::Close { ticket } => {
                if self.opened == Some(ticket) {
                    self.release(ReleaseReason::Closed);
                }
            }
            ClientFrame::ForceRelease { ticket } => self.force_release(ticket, reference, ctx),
            ClientFrame::Visibility { hidden } => self.set_hidden(hidden, ctx),
            ClientFrame::Draft { ticket, kind, body } => {
                let update = UpdateDraft {
                    session: self.id,
                    agent: self.fresh_agent(),
                    kind,
                    body,
                };
                let core = self.core.clone();
                // `wait`: a tab's keystrokes reach the ticket in the order typed.
                self.wait_holding(
                    ctx,
                    async move { core.ask_ticket(ticket, update).await }
                        .instrument(self.span.clone())
                        .into_actor(self)
                        .map(move |result, act, _| {
                            if let Err(error) = result {
                                act.send_error(reference, &error);
                            }
                        }),
                );
            }
        }
    }

    fn subscribe(&mut self, inbox: InboxId, reference: Option<Value>, ctx: &mut Context<Self>) {
        let fresh = self.fresh_agent();
        if self.core.directory.inbox(inbox).is_none() || !can_view_inbox(&fresh, inbox) {
            if self.inbox == Some(inbox) {
                // Re-subscribing (e.g. on resume) after losing the membership ends the subscription.
                self.unsubscribe();
            }
            return self.send_error(reference, &Error::NotFound);
        }
        if self.inbox.is_some_and(|current| current != inbox) {
            self.release(ReleaseReason::InboxChanged);
        }
        self.unsubscribe();
        let core = self.core.clone();
        let request = Subscribe {
            session: self.id,
            agent: self.agent.id,
            mailslot: self.mailslot.clone(),
        };
        let subscribe = async move {
            // Retried: an idle inbox actor may stop between lookup and delivery.
            for _ in 0..3 {
                let addr = core.inbox(inbox);
                if let Ok(presence) = addr.send(request.clone()).await {
                    return Some(presence);
                }
            }
            None
        };
        // Later frames of this tab are handled after the subscription exists,
        // and the inbox's frames reach it after the snapshot.
        self.wait_holding(
            ctx,
            subscribe
                .into_actor(self)
                .map(move |presence, act, _| match presence {
                    Some(presence) => {
                        act.inbox = Some(inbox);
                        act.attend();
                        act.send(
                            ServerFrame::Snapshot {
                                reference,
                                inbox,
                                presence,
                            }
                            .encode(),
                        );
                    }
                    None => act.send_error(reference, &Error::Unavailable),
                }),
        );
    }

    fn unsubscribe(&mut self) {
        if let Some(addr) = self
            .inbox
            .take()
            .and_then(|inbox| self.core.registry.live_inbox(inbox))
        {
            addr.do_send(Unsubscribe { session: self.id });
        }
    }

    /// Closes the socket with `close` and stops; the tab's claim is released as `disconnected`.
    fn end(&mut self, close: ServerClose, ctx: &mut Context<Self>) {
        if let Some(outlet) = self.detach(None) {
            outlet.close(close);
        }
        ctx.stop();
    }

    /// Detaches the socket of `connection` (any if `None`): answers its outlet.
    fn detach(&mut self, connection: Option<u64>) -> Option<Outlet> {
        let outlet = self.mailslot.detach(connection)?;
        self.connection = None;
        Some(outlet)
    }

    /// Attaches a socket: `welcome` is its first frame, then (on a resume
    /// while subscribed) a fresh snapshot.
    fn attach(
        &mut self,
        outlet: Outlet,
        reference: Option<Value>,
        resumed: bool,
        ctx: &mut Context<Self>,
    ) {
        self.connection = Some(outlet.connection);
        if let Some(old) = self
            .mailslot
            .attach(outlet, self.welcome(reference, resumed))
        {
            old.close(ServerClose::Resumed);
        }
        if let (true, Some(inbox)) = (resumed, self.inbox) {
            // A fresh snapshot: the client may have missed anything while away.
            self.subscribe(inbox, None, ctx);
        }
    }

    fn welcome(&self, reference: Option<Value>, resumed: bool) -> ByteString {
        let agent = self
            .core
            .directory
            .agent(self.agent.id)
            .unwrap_or_else(|| self.agent.clone());
        let frame = ServerFrame::Welcome {
            reference,
            session: self.id,
            agent: AgentDto::from(&*agent),
            resumed,
            heartbeat_s: seconds(self.core.config.ws.heartbeat.as_millis() as u64),
        };
        frame.encode()
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let _entered = self.span.enter();
        tracing::debug!("session started");
        self.core.metrics.sessions.inc();
        self.core.registry.register_session(
            self.id,
            self.agent.id,
            ctx.address().downgrade(),
            self.mailslot.clone(),
        );
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        tracing::debug!("session ended");
        self.release(ReleaseReason::Disconnected);
        self.unsubscribe();
        self.detach(None);
        self.attend();
        self.core.registry.unregister_session(self.id);
        self.core.metrics.sessions.dec();
    }
}

impl Handler<Attach> for SessionActor {
    type Result = bool;

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) -> bool {
        let _entered = self.span.clone().entered();
        if ctx.state() != ActorState::Running {
            return false;
        }
        if let Some(grace) = self.grace.take() {
            ctx.cancel_future(grace);
        }
        self.credential = Some(msg.credential);
        self.attach(msg.outlet, msg.reference, msg.resumed, ctx);
        self.attend();
        true
    }
}

impl Handler<Inbound> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if self.connection != Some(msg.connection) {
            return;
        }
        match msg.incoming.frame {
            Ok(frame) => self.handle_frame(msg.incoming.reference, frame, ctx),
            Err(message) => self.send_error(msg.incoming.reference, &Error::BadRequest(message)),
        }
        self.attend();
    }
}

impl Handler<Overflowed> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Overflowed, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        tracing::warn!("outbound backlog full; disconnecting");
        ctx.stop();
    }
}

impl Handler<SocketEnded> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: SocketEnded, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if self.detach(Some(msg.connection)).is_none() {
            return;
        }
        self.attend();
        match msg.cause {
            Ended::ClientClosed | Ended::ServerClosed => ctx.stop(),
            Ended::Lost => {
                let grace =
                    Duration::from_millis(self.core.directory.settings().reconnect_grace_ms);
                self.grace = Some(ctx.run_later(grace, |_, ctx| ctx.stop()));
            }
        }
    }
}

impl Handler<Recheck> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Recheck, _: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let agent = self.fresh_agent();
        if let Some(inbox) = self.inbox.filter(|i| !can_view_inbox(&agent, *i)) {
            self.unsubscribe();
            let error = Error::forbidden(format!(
                "you are no longer a member of inbox {inbox}; the subscription ended"
            ));
            self.send_error(None, &error);
            self.attend();
        }
        if let Some(ticket) = self.opened {
            // The ticket decides: if the agent cannot see it any more, it sends `access_revoked`.
            self.core
                .ticket(ticket)
                .do_send(Revalidate { agent: agent.id });
        }
    }
}

impl Handler<Revoke> for SessionActor {
    type Result = ();

    fn handle(&mut self, Revoke(revocation): Revoke, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if self
            .credential
            .as_ref()
            .is_some_and(|credential| revocation.covers(&credential.digest))
        {
            self.end(ServerClose::TokenRevoked, ctx);
        }
    }
}

impl Handler<Disconnect> for SessionActor {
    type Result = ();

    fn handle(&mut self, Disconnect(close): Disconnect, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if close == ServerClose::AgentDisabled
            && let Some(ticket) = self.opened
        {
            // A disabled agent loses access: its ticket hears `revoked`, the tab `access_revoked`.
            self.send(ServerFrame::AccessRevoked { ticket }.encode());
            self.release(ReleaseReason::Revoked);
        }
        self.end(close, ctx);
    }
}
