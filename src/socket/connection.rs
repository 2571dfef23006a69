//! The socket pump of one WebSocket connection: hello handshake, heartbeats,
//! frame limits, and the close of the socket. It runs in the socket's local
//! task on the HTTP worker that accepted the socket (see [`super::wire`]: the
//! raw connection, handed over by the HTTP dispatcher, is not `Send`), reading
//! client frames from its [`Inlet`]; the session's frames reach the socket
//! through its [`Outlet`], whose body the same task writes straight to the
//! connection (see [`super::outlet`]). Everything the agent does is forwarded to
//! its [`SessionActor`], which may live on another thread and may outlive this
//! connection (resume).
//!
//! Invariants:
//! - The first data frame must be a valid `hello` within `ws.hello_timeout_s`.
//! - Memory per socket is bounded: outbound frames wait in a queue limited in
//!   frames and bytes; a client that does not read past that is closed (4008).
//!   Inbound, one frame at a time waits for its session to take it: the
//!   next is read only then (backpressure into the client's TCP buffers).
//!   A closing socket gets `CLOSE_WINDOW` to take its last frames, then they
//!   are dropped.
//! - A client that sends nothing for 3 × heartbeat is lost (no close frame):
//!   its session keeps its claims for the reconnect grace period.
//! - When the token of the socket's `hello` expires, the socket closes (4401)
//!   and its session ends.
//! - An idle socket costs one task and one timer, whatever it waits for.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use actix_http::ws::ProtocolError;
use actix_web::error::PayloadError;
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::Stream;

use super::inlet::{Inlet, InletError, Message};
use super::outlet::{Outlet, OutletError, Watch};
use crate::accounts::token::Credential;
use crate::actors::session::{Attach, Inbound, SessionActor, SocketEnded};
use crate::core::AddressSlot;
use crate::core::Core;
use crate::domain::{Agent, AgentId, SessionId};
use crate::protocol::close::ServerClose;
use crate::protocol::frames::{ClientFrame, Incoming};

/// How long a closing socket may take to deliver its last frames and the close frame.
const CLOSE_WINDOW: Duration = Duration::from_secs(5);

/// Serves one upgraded socket until it ends: `outlet` and `watch` are the
/// socket's sending side (see [`super::outlet`]), `inlet` its receiving side;
/// `slot` (the socket's place in its address's count) is given back at the end.
///
/// Not an `async fn`: its arguments would be stored twice in the socket's task.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps a second copy of its arguments"
)]
pub fn serve<S>(
    core: Arc<Core>,
    slot: AddressSlot,
    outlet: Outlet,
    watch: Watch,
    mut inlet: Inlet<S>,
) -> impl Future<Output = ()>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    async move {
        core.metrics.sockets.inc();
        // Boxed: the task of an idle socket is the size of its read loop, not of its start.
        let opened = Box::pin(open_session(&core, &mut inlet, &outlet)).await;
        if let Some(Opened {
            agent,
            session,
            expires,
        }) = opened
        {
            let ws = &core.config.ws;
            let pace = Pace {
                per_s: ws.frames_per_s,
                burst: ws.frames_burst,
            };
            let connection = outlet.connection;
            let parse = |text: Option<ByteString>| match text {
                Some(text) => Incoming::parse(&text),
                None => Incoming {
                    reference: None,
                    frame: Err("binary frames are not supported".into()),
                },
            };
            let mut forward = forward_to(&session, parse, |incoming| Inbound {
                connection,
                incoming,
            });
            let ended = read_loop(
                &core,
                &mut inlet,
                &outlet,
                &watch,
                pace,
                expires,
                &mut forward,
            )
            .await;
            session.do_send(SocketEnded {
                connection: outlet.connection,
                cause: ended,
            });
            core.registry.close_socket(agent);
        }
        // The socket closes once the session lets go of its outlet too (at once if it
        // already has). Frames queued before the close go out first (e.g.
        // `access_revoked` before 4403). A client that does not read cannot stall
        // this: it gets CLOSE_WINDOW to take them and the close frame (a merely slow
        // one learns why: 4008), then they are dropped. Until then its memory stays
        // within the backlog limits.
        drop(outlet);
        watch.finish(CLOSE_WINDOW).await;
        core.metrics.sockets.dec();
        drop(slot);
    }
}

/// A socket with a session.
struct Opened {
    agent: AgentId,
    session: Addr<SessionActor>,
    /// When the hello's token expires (`None`: too far away to matter).
    expires: Option<Instant>,
}

/// Takes the socket from its `hello` to a (new or resumed) session; `None` if
/// the socket was closed instead.
async fn open_session<S>(core: &Arc<Core>, inlet: &mut Inlet<S>, outlet: &Outlet) -> Option<Opened>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let hello = handshake(core, inlet, outlet).await?;
    let agent = hello.agent.id;
    if !core
        .registry
        .try_open_socket(agent, core.config.ws.max_sockets_per_agent)
    {
        outlet.close(ServerClose::TooManySockets);
        return None;
    }
    let expires = Instant::now().checked_add(hello.credential.expires_at.until());
    let session = attach(core, hello, outlet.clone()).await;
    Some(Opened {
        agent,
        session,
        expires,
    })
}

/// A valid `hello`: who the socket belongs to.
struct Hello {
    agent: Arc<Agent>,
    credential: Credential,
    reference: Option<serde_json::Value>,
    resume: Option<SessionId>,
}

/// Waits for a valid `hello`; closes the socket and returns `None` otherwise.
async fn handshake<S>(core: &Arc<Core>, inlet: &mut Inlet<S>, outlet: &Outlet) -> Option<Hello>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let text = first_text(core, inlet, outlet).await?;
    let incoming = Incoming::parse(&text);
    let Ok(ClientFrame::Hello { token, resume }) = incoming.frame else {
        outlet.close(ServerClose::InvalidHello);
        return None;
    };
    match core.directory.authenticate_credential(&token) {
        Some((agent, credential)) => Some(Hello {
            agent,
            credential,
            reference: incoming.reference,
            resume,
        }),
        None => {
            outlet.close(ServerClose::BadToken);
            None
        }
    }
}

/// The socket's first text frame, within `ws.hello_timeout_s`; the socket is
/// closed (and `None` returned) if it sends none, a binary one, or breaks the protocol.
pub(super) async fn first_text<S>(
    core: &Core,
    inlet: &mut Inlet<S>,
    outlet: &Outlet,
) -> Option<ByteString>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let deadline = tokio::time::sleep(core.config.ws.hello_timeout);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            _ = &mut deadline => {
                outlet.close(ServerClose::HelloTimeout);
                return None;
            }
            message = inlet.recv() => message,
        };
        return match message {
            Some(Ok(Message::Text(text))) => Some(text),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                outlet.close(ServerClose::BinaryHello);
                None
            }
            Some(Ok(Message::Close(_))) | None => None,
            Some(Err(error)) => {
                close_for_error(outlet, &error);
                None
            }
        };
    }
}

/// A [`Forward`] that sends each data frame, parsed by `parse`, to `actor`
/// as the message `wrap` makes, and is done when the actor took it.
pub fn forward_to<'a, A, T, M>(
    actor: &'a actix::Addr<A>,
    parse: impl Fn(Option<ByteString>) -> T + 'a,
    wrap: impl Fn(T) -> M + 'a,
) -> impl FnMut(Option<ByteString>) -> Pin<Box<dyn Future<Output = ()>>> + 'a
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: actix::Message<Result = ()> + Send + 'static,
{
    move |text| {
        let sent = actor.send(wrap(parse(text)));
        Box::pin(async move {
            let _ = sent.await;
        })
    }
}

/// Resumes the named session if it is still in its grace period and belongs to
/// this agent; otherwise starts a new one. Either way the session greets the client.
async fn attach(core: &Arc<Core>, hello: Hello, outlet: Outlet) -> Addr<SessionActor> {
    let Hello {
        agent,
        credential,
        reference,
        resume,
    } = hello;
    if let Some((owner, addr)) = resume.and_then(|id| core.registry.session(id))
        && owner == agent.id
    {
        let attach = Attach {
            outlet: outlet.clone(),
            credential,
            reference: reference.clone(),
            resumed: true,
        };
        if let Ok(true) = addr.send(attach).await {
            return addr;
        }
    }
    let addr = SessionActor::create(|ctx| SessionActor::new(core.clone(), agent, ctx));
    let _ = addr
        .send(Attach {
            outlet,
            credential,
            reference,
            resumed: false,
        })
        .await;
    addr
}

/// How a connection ended, as far as the session is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed the socket (close frame): release at once.
    ClientClosed,
    /// The socket vanished (no close frame, missed heartbeats): keep claims for the grace period.
    Lost,
    /// The server closed it (limits, shutdown, disabled agent).
    ServerClosed,
}

/// How fast a client may send data frames: a sustained rate and a burst.
#[derive(Clone, Copy)]
pub struct Pace {
    pub per_s: f64,
    pub burst: f64,
}

/// A data frame's way to whoever handles it (`None`: a binary frame); the
/// next frame is read only once the returned future is done.
pub type Forward<'a> = dyn FnMut(Option<ByteString>) -> Pin<Box<dyn Future<Output = ()>>> + 'a;

/// Reads frames until the socket ends, handing data frames to `forward`:
/// heartbeats, liveness, the `expires` deadline, the rate limit and the close
/// window are kept here for agent and visitor sockets alike.
pub async fn read_loop<S>(
    core: &Core,
    inlet: &mut Inlet<S>,
    outlet: &Outlet,
    watch: &Watch,
    pace: Pace,
    expires: Option<Instant>,
    forward: &mut Forward<'_>,
) -> Ended
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let ws = &core.config.ws;
    let mut last_seen = Instant::now();
    let mut next_ping = last_seen + ws.heartbeat;
    // Set once a close begins: the socket is given up CLOSE_WINDOW later.
    let mut close_by: Option<Instant> = None;
    // One timer per socket for the next ping, the liveness deadline (3
    // heartbeats after the last frame), the token's expiry and the close
    // window. It is re-armed only when it fires (not on every frame), and a
    // silent socket is closed at 3 × heartbeat, not at the next ping after it.
    let deadline = |last_seen: Instant, next_ping: Instant, close_by: Option<Instant>| {
        [close_by, expires]
            .into_iter()
            .flatten()
            .fold(next_ping.min(last_seen + ws.heartbeat * 3), Instant::min)
    };
    let timer = tokio::time::sleep_until(deadline(last_seen, next_ping, close_by).into());
    tokio::pin!(timer);
    let mut bucket = TokenBucket::new(pace.per_s, pace.burst);
    // The frame handed on and not yet taken: the next one is read only after
    // it, so a client that sends faster than its session (or visitor) decides
    // waits in its own TCP buffers, not in server memory.
    let mut handing: Option<Pin<Box<dyn Future<Output = ()>>>> = None;
    loop {
        let message = tokio::select! {
            () = &mut timer => {
                let now = Instant::now();
                if close_by.is_some_and(|by| now >= by) {
                    // Its last frames and the close frame were not taken in time.
                    watch.abandon();
                    return Ended::ServerClosed;
                }
                if expires.is_some_and(|at| now >= at) {
                    // The session ends with its socket.
                    outlet.close(ServerClose::TokenExpired);
                    return Ended::ServerClosed;
                }
                if now.duration_since(last_seen) >= ws.heartbeat * 3 {
                    outlet.close(ServerClose::HeartbeatTimeout);
                    return Ended::Lost;
                }
                if now >= next_ping {
                    if outlet.ping() == Err(OutletError::Backlog) {
                        core.metrics.slow_sessions_dropped.inc();
                        outlet.close(ServerClose::SlowConsumer);
                        return Ended::ServerClosed;
                    }
                    next_ping = (next_ping + ws.heartbeat).max(now);
                }
                timer.as_mut().reset(deadline(last_seen, next_ping, close_by).into());
                continue;
            }
            _ = async { handing.as_mut().expect("guarded").await }, if handing.is_some() => {
                handing = None;
                continue;
            }
            () = poll_fn(|cx| watch.poll_close_begun(cx)), if close_by.is_none() => {
                close_by = Some(Instant::now() + CLOSE_WINDOW);
                timer.as_mut().reset(deadline(last_seen, next_ping, close_by).into());
                continue;
            }
            message = inlet.recv(), if handing.is_none() => message,
        };
        last_seen = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => Some(text),
            Some(Ok(Message::Binary(_))) => None,
            Some(Ok(Message::Ping(payload))) => {
                let _ = outlet.pong(payload);
                continue;
            }
            Some(Ok(Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) => return Ended::ClientClosed,
            None => return Ended::Lost,
            Some(Err(error)) => {
                return if close_for_error(outlet, &error) {
                    Ended::ServerClosed
                } else {
                    Ended::Lost
                };
            }
        };
        if !bucket.take(Instant::now()) {
            outlet.close(ServerClose::TooFast);
            return Ended::ServerClosed;
        }
        handing = Some(forward(text));
    }
}

/// Closes the socket for a client's protocol violation; `false` if the error
/// is the connection breaking (nothing to close: the socket is lost).
pub(super) fn close_for_error(outlet: &Outlet, error: &InletError) -> bool {
    let close = match error {
        InletError::Protocol(ProtocolError::Overflow) => ServerClose::FrameTooBig,
        // `FrameGuard` refused a frame from its header.
        InletError::Payload(PayloadError::Overflow) => ServerClose::FrameTooBig,
        InletError::MessageTooBig => ServerClose::MessageTooBig,
        InletError::InvalidUtf8 => ServerClose::InvalidUtf8,
        // Reserved bits set (the codec reports it as invalid data).
        InletError::Protocol(ProtocolError::Io(e))
            if e.kind() == std::io::ErrorKind::InvalidData =>
        {
            ServerClose::InvalidUtf8
        }
        InletError::Protocol(ProtocolError::Io(_)) | InletError::Payload(_) => return false,
        InletError::Protocol(_) => ServerClose::ProtocolError,
    };
    outlet.close(close);
    true
}

/// Token bucket for the per-socket data-frame rate limit.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let mut bucket = TokenBucket::new(100.0, 200.0);
        let t0 = bucket.last;
        assert!((0..200).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0));
        assert!(bucket.take(t0 + Duration::from_millis(10)));
        assert!(!bucket.take(t0 + Duration::from_millis(10)));
    }
}
