//! The visitor actor: one chat visitor with at least one socket (several
//! tabs or devices of one verified person share it).
//!
//! It owns the visitor's sockets, its open conversation, its live state
//! (online, away, gone; typing), and the typing indicators of the agents
//! answering it.
//!
//! Invariants:
//! - The visitor's `message` frames are handled one at a time
//!   (`AtomicResponse`): a `client_id` is looked up, and the message is
//!   stored, before the next one is looked at, so a resend (same
//!   `client_id`, any socket) is answered with the stored message and never
//!   stored twice. The store keeps `client_id`s in the message's own
//!   transaction, so this holds across restarts.
//! - A message is answered (`message` with `ref`) only after its commit;
//!   the visitor's other sockets get the same message without `ref`.
//! - Frames reach a socket in the order this actor handles events; what
//!   ticket actors tell it arrives in their decision order.
//! - The actor stops when its last socket ends (the visitor is then `gone`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::Value;

use crate::core::Core;
use crate::domain::channel::Channel;
use crate::domain::decisions::ConflictReason;
use crate::domain::message::Message;
use crate::domain::visitor::{self, Live, Visitor, VisitorState};
use crate::domain::{AgentId, MessageId, TicketId};
use crate::error::Error;
use crate::protocol::close::ServerClose;
use crate::protocol::frames::ServerFrame;
use crate::protocol::visitor::{
    ChannelInfoDto, ConversationDto, ConversationStatus, TypingAgent, VisitorDto, VisitorFrame,
    VisitorIncoming, VisitorMessageDto, VisitorServerFrame,
};
use crate::socket::outlet::{Outlet, OutletError};
use crate::store::reads;

use super::ticket::{GiveContact, MarkSeen, OpenConversation, Receive, VisitorChanged};

/// Conversations listed in a welcome.
const WELCOME_CONVERSATIONS: usize = 20;
/// Messages per conversation in a welcome without `last_message`.
const WELCOME_MESSAGES: usize = 200;
/// How far before `last_message` a catching-up welcome starts (commits of
/// different conversations may overlap).
const CATCH_UP_MARGIN_MS: i64 = 2_000;

/// A new socket of this visitor. Answers `false` if the actor is stopping.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Join {
    /// The visitor as admitted (a verified hello may have renamed it).
    pub visitor: Visitor,
    pub outlet: Outlet,
    pub reference: Option<Value>,
    pub token: String,
    pub last_message: Option<MessageId>,
    pub hidden: bool,
}

/// A socket of this visitor ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub connection: u64,
}

/// A frame from one of the visitor's sockets (answered when taken, so the
/// socket reads its next frame only then).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FromSocket {
    pub connection: u64,
    pub incoming: VisitorIncoming,
}

/// What a ticket actor tells the visitor of its conversation.
#[derive(Message)]
#[rtype(result = "()")]
pub enum ToVisitor {
    /// A message the visitor did not send itself over its socket (`author`:
    /// the replying agent, whose typing indicator it ends).
    Message {
        message: Box<Message>,
        author: Option<AgentId>,
    },
    Conversation(ConversationDto),
    /// An agent read the visitor's messages up to `message`.
    Read {
        conversation: TicketId,
        message: MessageId,
    },
    /// An agent's reply draft changed (`typing`: it is not empty).
    AgentTyping {
        conversation: TicketId,
        agent: AgentId,
        typing: bool,
    },
}

/// Someone can answer now, or nobody can any more.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Availability(pub bool);

/// Closes every socket of the visitor (its channel was disabled or deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shut(pub ServerClose);

struct Socket {
    outlet: Outlet,
    hidden: bool,
}

pub struct VisitorActor {
    core: Arc<Core>,
    visitor: Visitor,
    sockets: HashMap<u64, Socket>,
    /// The conversation new messages go to; `None`: none is open (or not known yet).
    open: Option<TicketId>,
    /// Conversations listed in the last welcome, and opened since (their
    /// viewers hear the visitor's live state).
    conversations: Vec<TicketId>,
    live: Live,
    typing_timer: Option<SpawnHandle>,
    agent_typing: HashMap<(TicketId, AgentId), SpawnHandle>,
}

impl VisitorActor {
    pub fn new(core: Arc<Core>, visitor: Visitor) -> VisitorActor {
        VisitorActor {
            core,
            visitor,
            sockets: HashMap::new(),
            open: None,
            conversations: Vec::new(),
            live: Live::default(),
            typing_timer: None,
            agent_typing: HashMap::new(),
        }
    }

    fn typing_timeout(&self) -> Duration {
        self.core.config.visitor.typing_timeout
    }

    /// Sends `frame` to every socket but `except`; a socket that cannot keep up is closed.
    fn broadcast(&mut self, frame: &ByteString, except: Option<u64>) {
        for (connection, socket) in &self.sockets {
            if Some(*connection) != except {
                send(&socket.outlet, frame.clone());
            }
        }
    }

    fn send_to(&self, connection: u64, frame: ByteString) {
        if let Some(socket) = self.sockets.get(&connection) {
            send(&socket.outlet, frame);
        }
    }

    fn send_error(&self, connection: u64, reference: Option<Value>, error: &Error) {
        let frame = ServerFrame::Error {
            reference,
            code: error.code(),
            message: error.to_string(),
        };
        self.send_to(connection, frame.encode());
    }

    /// Recomputes online/away/gone and tells the viewers of the visitor's
    /// conversations when it (or `typing`) changed.
    fn set_live(&mut self, typing: bool) {
        let state = if self.sockets.is_empty() {
            VisitorState::Gone
        } else if self.sockets.values().all(|s| s.hidden) {
            VisitorState::Away
        } else {
            VisitorState::Online
        };
        let live = Live {
            state,
            typing: typing && state != VisitorState::Gone,
        };
        if live == self.live {
            return;
        }
        self.live = live;
        // Written before the tickets are told (see `actors::visitors`).
        self.core.visitors.set_live(self.visitor.id, live);
        for ticket in &self.conversations {
            if let Some(addr) = self.core.registry.live_ticket(*ticket) {
                addr.do_send(VisitorChanged {
                    visitor: self.visitor.id,
                    live,
                });
            }
        }
    }

    fn remember(&mut self, conversation: TicketId) {
        if !self.conversations.contains(&conversation) {
            self.conversations.push(conversation);
        }
    }

    /// The welcome for a new socket: the visitor's conversations (see
    /// docs/protocol.md §9.6 "Welcome and catching up").
    fn welcome(&mut self, join: &Join) -> Result<ByteString, Error> {
        let tx = self.core.store.read()?;
        let tickets = reads::visitor_tickets(&tx, self.visitor.id, WELCOME_CONVERSATIONS)?;
        let since = match join.last_message {
            Some(last) => tickets
                .iter()
                .find_map(|t| reads::message(&tx, t.id, last).transpose())
                .transpose()?
                .map(|m| m.created_at.millis() - CATCH_UP_MARGIN_MS),
            None => None,
        };
        let mut conversations = Vec::new();
        for t in tickets.iter().filter(|t| !t.deleted) {
            let public = reads::messages(&tx, t.id)?
                .into_iter()
                .filter(|m| m.is_public() && since.is_none_or(|s| m.created_at.millis() >= s));
            let mut messages: Vec<_> = public.map(|m| VisitorMessageDto::new(&m)).collect();
            if since.is_none() && messages.len() > WELCOME_MESSAGES {
                messages.drain(..messages.len() - WELCOME_MESSAGES);
            }
            conversations.push(ConversationDto::new(t, messages));
        }
        self.open = conversations
            .iter()
            .find(|c| c.status != ConversationStatus::Closed)
            .map(|c| c.id);
        for c in &conversations {
            self.remember(c.id);
        }
        let channel = self.channel()?;
        Ok(VisitorServerFrame::Welcome {
            reference: join.reference.clone(),
            visitor_token: join.token.clone(),
            visitor: VisitorDto::from(&self.visitor),
            conversations,
            online: self.core.visitors.online(channel.inbox),
            channel: ChannelInfoDto::from(&*channel),
        }
        .encode())
    }

    /// The visitor's channel, if it still admits visitors.
    fn channel(&self) -> Result<Arc<Channel>, Error> {
        self.core
            .channels
            .get(self.visitor.channel)
            .filter(|c| c.enabled)
            .ok_or_else(|| Error::forbidden("this chat is unavailable"))
    }

    fn handle_frame(
        &mut self,
        connection: u64,
        reference: Option<Value>,
        frame: VisitorFrame,
        ctx: &mut Context<Self>,
    ) -> Option<ResponseActFuture<Self, ()>> {
        match frame {
            VisitorFrame::Hello { .. } => {
                let error = Error::bad_request("already greeted");
                self.send_error(connection, reference, &error);
            }
            VisitorFrame::Message { body, client_id } => {
                return Some(self.receive(connection, reference, body, client_id));
            }
            VisitorFrame::Typing { typing } => self.visitor_typing(typing, ctx),
            VisitorFrame::Read {
                conversation,
                message,
            } => {
                let core = self.core.clone();
                let visitor = self.visitor.id;
                let seen = async move {
                    core.ask_ticket(conversation, MarkSeen { visitor, message })
                        .await
                };
                return Some(Box::pin(seen.into_actor(self).map(
                    move |result, act, _| {
                        if let Err(error) = result {
                            act.send_error(connection, reference, &error);
                        }
                    },
                )));
            }
            VisitorFrame::Contact { email, name } => {
                return Some(self.contact(connection, reference, email, name));
            }
            VisitorFrame::Visibility { hidden } => {
                if let Some(socket) = self.sockets.get_mut(&connection) {
                    socket.hidden = hidden;
                }
                self.set_live(self.live.typing);
            }
            VisitorFrame::Ping => {
                self.send_to(connection, ServerFrame::Pong { reference }.encode());
            }
        }
        None
    }

    fn visitor_typing(&mut self, typing: bool, ctx: &mut Context<Self>) {
        if let Some(timer) = self.typing_timer.take() {
            ctx.cancel_future(timer);
        }
        if typing {
            let timeout = self.typing_timeout();
            self.typing_timer = Some(ctx.run_later(timeout, |act, _| {
                act.typing_timer = None;
                act.set_live(false);
            }));
        }
        self.set_live(typing);
    }

    /// A `message` frame: answered with the stored message, exactly once.
    fn receive(
        &mut self,
        connection: u64,
        reference: Option<Value>,
        body: String,
        client_id: String,
    ) -> ResponseActFuture<Self, ()> {
        let decided = (|| {
            visitor::validate_client_id(&client_id).map_err(Error::BadRequest)?;
            let tx = self.core.store.read()?;
            let stored = reads::client_message(&tx, self.visitor.id.as_u128(), &client_id)?;
            Ok::<_, Error>((stored, self.channel()?))
        })();
        let (stored, channel) = match decided {
            Ok(found) => found,
            Err(error) => {
                self.send_error(connection, reference, &error);
                return Box::pin(fut::ready(()));
            }
        };
        let core = self.core.clone();
        let visitor = self.visitor.clone();
        let open = self.open;
        let deliver = async move {
            if let Some(message) = stored {
                return Ok((message, false));
            }
            if let Some(ticket) = open {
                let receive = Receive {
                    visitor: visitor.id,
                    body: body.clone(),
                    client_id: client_id.clone(),
                };
                match core.ask_ticket(ticket, receive).await {
                    Err(Error::NotFound | Error::Conflict(ConflictReason::ConversationClosed)) => {}
                    other => return other.map(|m| (m, false)),
                }
            }
            let opening = OpenConversation {
                channel,
                visitor,
                body,
                client_id,
            };
            let message = core.ask_ticket(TicketId::new(), opening).await?;
            Ok((message, true))
        };
        Box::pin(deliver.into_actor(self).map(move |result, act, _| {
            let (message, opened): (Message, bool) = match result {
                Ok(done) => done,
                Err(error) => return act.send_error(connection, reference, &error),
            };
            let conversation = message.ticket;
            if opened || act.open.is_none() {
                act.open = Some(conversation);
            }
            act.remember(conversation);
            let dto = VisitorMessageDto::new(&message);
            let answer = |reference| {
                VisitorServerFrame::Message {
                    reference,
                    conversation,
                    message: dto.clone(),
                }
                .encode()
            };
            act.send_to(connection, answer(reference));
            act.broadcast(&answer(None), Some(connection));
            // Sending ends the visitor's typing.
            act.set_live(false);
        }))
    }

    /// The offline form: the visitor's e-mail (and name), on the visitor and
    /// as the open conversation's contact.
    fn contact(
        &mut self,
        connection: u64,
        reference: Option<Value>,
        email: String,
        name: Option<String>,
    ) -> ResponseActFuture<Self, ()> {
        let checked = visitor::validate_email(&email).and_then(|email| {
            let name = name
                .filter(|n| !n.trim().is_empty())
                .map(|n| visitor::validate_name(&n))
                .transpose()?;
            Ok((email, name))
        });
        let (email, name) = match checked {
            Ok(checked) => checked,
            Err(message) => {
                self.send_error(connection, reference, &Error::BadRequest(message));
                return Box::pin(fut::ready(()));
            }
        };
        let mut updated = self.visitor.clone();
        updated.email = Some(email.clone());
        if let Some(name) = name {
            updated.name = name;
        }
        let core = self.core.clone();
        let open = self.open;
        let visitor = updated.id;
        let stored = updated.clone();
        let save = async move {
            core.store
                .write(move |tx| crate::store::writes::put_visitor(tx, &stored))
                .await?;
            if let Some(ticket) = open {
                match core
                    .ask_ticket(ticket, GiveContact { visitor, email })
                    .await
                {
                    Ok(()) | Err(Error::NotFound) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok::<_, Error>(())
        };
        Box::pin(save.into_actor(self).map(move |result, act, _| {
            if let Err(error) = result {
                return act.send_error(connection, reference, &error);
            }
            act.visitor = updated;
            let frame = VisitorServerFrame::Contact {
                reference,
                visitor: VisitorDto::from(&act.visitor),
            };
            act.send_to(connection, frame.encode());
        }))
    }

    fn agent_typing(
        &mut self,
        conversation: TicketId,
        agent: AgentId,
        typing: bool,
        ctx: &mut Context<Self>,
    ) {
        let key = (conversation, agent);
        let was = match self.agent_typing.remove(&key) {
            Some(timer) => {
                ctx.cancel_future(timer);
                true
            }
            None => false,
        };
        if typing {
            let timeout = self.typing_timeout();
            let timer = ctx.run_later(timeout, move |act, ctx| {
                act.agent_typing.remove(&key);
                act.send_agent_typing(key, false, ctx);
            });
            self.agent_typing.insert(key, timer);
        }
        if typing != was {
            self.send_agent_typing(key, typing, ctx);
        }
    }

    fn send_agent_typing(
        &mut self,
        (conversation, agent): (TicketId, AgentId),
        typing: bool,
        _: &mut Context<Self>,
    ) {
        // A name only where replies are signed with it.
        let agent = self
            .core
            .directory
            .settings()
            .sign_replies
            .then(|| self.core.directory.agent(agent))
            .flatten()
            .map(|a| TypingAgent {
                name: a.name.clone(),
            });
        let frame = VisitorServerFrame::Typing {
            conversation,
            agent,
            typing,
        };
        self.broadcast(&frame.encode(), None);
    }
}

/// Queues a frame; a socket that cannot keep up is closed (4008), never buffered without bound.
fn send(outlet: &Outlet, frame: ByteString) {
    if outlet.send(frame) == Err(OutletError::Backlog) {
        outlet.close(ServerClose::SlowConsumer);
    }
}

impl Actor for VisitorActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.core.metrics.visitor_actors.inc();
    }

    /// Unregistered as soon as it stops taking sockets, so the next socket
    /// of this visitor starts a fresh actor instead of finding this one.
    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        self.core.visitors.forget(self.visitor.id, &ctx.address());
        Running::Stop
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.core.metrics.visitor_actors.dec();
    }
}

impl Handler<Join> for VisitorActor {
    type Result = bool;

    fn handle(&mut self, join: Join, ctx: &mut Context<Self>) -> bool {
        if ctx.state() != ActorState::Running {
            return false;
        }
        self.visitor = join.visitor.clone();
        if self.channel().is_err() {
            // Disabled or deleted since the hello was admitted.
            join.outlet.close(ServerClose::ChannelUnavailable);
            return true;
        }
        match self.welcome(&join) {
            Ok(frame) => send(&join.outlet, frame),
            Err(error) => {
                tracing::warn!(visitor = %self.visitor.id, %error, "cannot welcome a visitor");
                join.outlet.close(ServerClose::ShuttingDown);
                return true;
            }
        }
        let socket = Socket {
            outlet: join.outlet,
            hidden: join.hidden,
        };
        self.sockets.insert(socket.outlet.connection, socket);
        self.set_live(self.live.typing);
        true
    }
}

impl Handler<Leave> for VisitorActor {
    type Result = ();

    fn handle(&mut self, leave: Leave, ctx: &mut Context<Self>) {
        self.sockets.remove(&leave.connection);
        self.set_live(self.live.typing);
        if self.sockets.is_empty() {
            ctx.stop();
        }
    }
}

impl Handler<FromSocket> for VisitorActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: FromSocket, ctx: &mut Context<Self>) -> Self::Result {
        let FromSocket {
            connection,
            incoming,
        } = msg;
        let work = match incoming.frame {
            _ if !self.sockets.contains_key(&connection) => None,
            Ok(frame) => self.handle_frame(connection, incoming.reference, frame, ctx),
            Err(message) => {
                self.send_error(connection, incoming.reference, &Error::BadRequest(message));
                None
            }
        };
        AtomicResponse::new(work.unwrap_or_else(|| Box::pin(fut::ready(()))))
    }
}

impl Handler<ToVisitor> for VisitorActor {
    type Result = ();

    fn handle(&mut self, msg: ToVisitor, ctx: &mut Context<Self>) {
        let frame = match msg {
            ToVisitor::Message { message, author } => {
                if let Some(agent) = author {
                    // Sending ends the author's typing indicator, before the message shows.
                    self.agent_typing(message.ticket, agent, false, ctx);
                }
                VisitorServerFrame::Message {
                    reference: None,
                    conversation: message.ticket,
                    message: VisitorMessageDto::new(&message),
                }
            }
            ToVisitor::Conversation(conversation) => {
                if conversation.status == ConversationStatus::Closed
                    && self.open == Some(conversation.id)
                {
                    self.open = None;
                } else if conversation.status != ConversationStatus::Closed && self.open.is_none() {
                    self.open = Some(conversation.id);
                }
                VisitorServerFrame::Conversation { conversation }
            }
            ToVisitor::Read {
                conversation,
                message,
            } => VisitorServerFrame::Read {
                conversation,
                message,
            },
            ToVisitor::AgentTyping {
                conversation,
                agent,
                typing,
            } => return self.agent_typing(conversation, agent, typing, ctx),
        };
        self.broadcast(&frame.encode(), None);
    }
}

impl Handler<Availability> for VisitorActor {
    type Result = ();

    fn handle(&mut self, Availability(online): Availability, _: &mut Context<Self>) {
        let frame = VisitorServerFrame::Availability { online }.encode();
        self.broadcast(&frame, None);
    }
}

impl Handler<Shut> for VisitorActor {
    type Result = ();

    fn handle(&mut self, Shut(close): Shut, ctx: &mut Context<Self>) {
        for socket in self.sockets.values() {
            socket.outlet.close(close);
        }
        self.sockets.clear();
        self.set_live(false);
        ctx.stop();
    }
}
