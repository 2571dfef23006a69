//! The socket pump of one WebSocket connection: hello handshake, heartbeats,
//! frame limits, and a bounded outbound queue. It runs as two local tasks on
//! the HTTP worker that accepted the socket (the socket halves are not `Send`);
//! everything the agent does is forwarded to its [`SessionActor`], which may
//! live on another thread and may outlive this connection (resume).
//!
//! Invariants:
//! - The first data frame must be a valid `hello` within `ws.hello_timeout_s`.
//! - Memory per socket is bounded: outbound frames wait in a queue limited in
//!   frames and bytes; a client that does not read past that is closed (4008).
//!   Inbound, one frame at a time waits for its session to take it: the
//!   next is read only then (backpressure into the client's TCP buffers).
//! - A client that sends nothing for 3 × heartbeat is lost (no close frame):
//!   its session keeps its claims for the reconnect grace period.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use actix_web::error::PayloadError;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use tokio::sync::{mpsc, oneshot};

use super::session::{Attach, Inbound, SessionActor, SocketEnded};
use crate::accounts::token::Credential;
use crate::core::Core;
use crate::domain::{Agent, SessionId};
use crate::protocol::frames::{ClientFrame, Incoming};

/// Close codes of PROTOCOL.md (and 4008 for a client too slow to read).
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const INVALID_UTF8: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const SLOW_CONSUMER: u16 = 4008;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const DISABLED: u16 = 4403;
    pub const HELLO_TIMEOUT: u16 = 4408;
    pub const TOO_MANY_SOCKETS: u16 = 4409;
    pub const TOO_FAST: u16 = 4429;
}

enum Outbound {
    Text(ByteString),
    Ping,
    Pong(bytes::Bytes),
}

/// Why an outlet refused a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum OutletError {
    /// The backlog limit was reached: the client is not reading.
    Backlog,
    /// The socket is gone.
    Closed,
}

/// The sending side of one socket, held by its session actor. Cheap to clone.
#[derive(Clone)]
pub struct Outlet {
    queue: mpsc::Sender<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    closer: Arc<Mutex<Option<oneshot::Sender<CloseReason>>>>,
    /// Tells this connection apart from a later one of the same session.
    pub connection: u64,
}

impl Outlet {
    /// Queues a text frame without waiting.
    pub fn send(&self, text: ByteString) -> Result<(), OutletError> {
        let len = text.len();
        if self.queued_bytes.load(Ordering::Relaxed) + len > self.max_bytes {
            return Err(OutletError::Backlog);
        }
        match self.queue.try_send(Outbound::Text(text)) {
            Ok(()) => {
                self.queued_bytes.fetch_add(len, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(OutletError::Backlog),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(OutletError::Closed),
        }
    }

    /// Closes the socket with `code` (first call wins; later calls do nothing).
    pub fn close(&self, code: u16, description: &str) {
        if let Some(closer) = self.closer.lock().expect("closer lock").take() {
            let _ = closer.send(CloseReason {
                code: CloseCode::from(code),
                description: Some(description.into()),
            });
        }
    }
}

static NEXT_CONNECTION: AtomicUsize = AtomicUsize::new(1);

/// How long a closing socket may take to deliver its last frames and the close frame.
const CLOSE_WINDOW: Duration = Duration::from_secs(5);

/// Serves one upgraded socket until it ends.
pub async fn serve(core: Arc<Core>, session: actix_ws::Session, stream: actix_ws::MessageStream) {
    core.metrics.sockets.inc();
    let ws = &core.config.ws;
    let mut stream = stream
        .max_frame_size(ws.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(ws.max_frame_bytes);
    let (queue, queue_rx) = mpsc::channel(ws.max_backlog_frames);
    let (closer, close_rx) = oneshot::channel();
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let outlet = Outlet {
        queue,
        queued_bytes: queued_bytes.clone(),
        max_bytes: ws.max_backlog_bytes,
        closer: Arc::new(Mutex::new(Some(closer))),
        connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed) as u64,
    };
    let writer = actix_web::rt::spawn(write_loop(
        session,
        queue_rx,
        close_rx,
        queued_bytes,
        core.clone(),
    ));

    if let Some(hello) = handshake(&core, &mut stream, &outlet).await {
        let agent = hello.agent.id;
        if core
            .registry
            .try_open_socket(agent, ws.max_sockets_per_agent)
        {
            let addr = attach(&core, hello, outlet.clone()).await;
            let ended = read_loop(&core, &mut stream, &outlet, &addr).await;
            addr.do_send(SocketEnded {
                connection: outlet.connection,
                cause: ended,
            });
            core.registry.close_socket(agent);
        } else {
            outlet.close(close::TOO_MANY_SOCKETS, "too many sockets for this agent");
        }
    }
    drop(outlet);
    let _ = writer.await;
    core.metrics.sockets.dec();
}

/// A valid `hello`: who the socket belongs to.
struct Hello {
    agent: Arc<Agent>,
    credential: Credential,
    reference: Option<serde_json::Value>,
    resume: Option<SessionId>,
}

/// Waits for a valid `hello`; closes the socket and returns `None` otherwise.
async fn handshake(
    core: &Arc<Core>,
    stream: &mut AggregatedMessageStream,
    outlet: &Outlet,
) -> Option<Hello> {
    let deadline = tokio::time::sleep(core.config.ws.hello_timeout);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            _ = &mut deadline => {
                outlet.close(close::HELLO_TIMEOUT, "no hello in time");
                return None;
            }
            message = stream.recv() => message,
        };
        let text = match message {
            Some(Ok(AggregatedMessage::Text(text))) => text,
            Some(Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                outlet.close(close::UNAUTHORIZED, "the first frame must be a hello");
                return None;
            }
            Some(Ok(AggregatedMessage::Close(_))) | None => return None,
            Some(Err(error)) => {
                close_for_protocol_error(outlet, &error);
                return None;
            }
        };
        let incoming = Incoming::parse(&text);
        let Ok(ClientFrame::Hello { token, resume }) = incoming.frame else {
            outlet.close(close::UNAUTHORIZED, "the first frame must be a valid hello");
            return None;
        };
        return match core.directory.authenticate_credential(&token) {
            Some((agent, credential)) => Some(Hello {
                agent,
                credential,
                reference: incoming.reference,
                resume,
            }),
            None => {
                outlet.close(close::UNAUTHORIZED, "bad or missing token");
                None
            }
        };
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
    let addr = SessionActor::new(core.clone(), agent).start();
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

/// Reads frames until the socket ends, forwarding data frames to the session.
async fn read_loop(
    core: &Arc<Core>,
    stream: &mut AggregatedMessageStream,
    outlet: &Outlet,
    session: &Addr<SessionActor>,
) -> Ended {
    let ws = &core.config.ws;
    let mut heartbeat = tokio::time::interval(ws.heartbeat);
    heartbeat.tick().await;
    let mut last_seen = Instant::now();
    // The liveness deadline, 3 heartbeats after the last frame: one timer per
    // socket, re-armed only when it fires (not on every frame), so a silent
    // socket is closed at 3 × heartbeat, not at the next ping tick after it.
    let liveness = tokio::time::sleep(ws.heartbeat * 3);
    tokio::pin!(liveness);
    let mut bucket = TokenBucket::new(ws.frames_per_s, ws.frames_burst);
    // The frame handed to the session and not yet taken: the next one is read
    // only after it, so a client that sends faster than its session decides
    // waits in its own TCP buffers, not in server memory.
    let mut handing: Option<std::pin::Pin<Box<actix::dev::Request<SessionActor, Inbound>>>> = None;
    loop {
        let message = tokio::select! {
            _ = &mut liveness => {
                if last_seen.elapsed() >= ws.heartbeat * 3 {
                    outlet.close(close::GOING_AWAY, "no frame for three heartbeats");
                    return Ended::Lost;
                }
                liveness.as_mut().reset((last_seen + ws.heartbeat * 3).into());
                continue;
            }
            _ = heartbeat.tick() => {
                if outlet.queue.try_send(Outbound::Ping).is_err() {
                    core.metrics.slow_sessions_dropped.inc();
                    outlet.close(close::SLOW_CONSUMER, "outbound backlog limit reached");
                    return Ended::ServerClosed;
                }
                continue;
            }
            _ = async { handing.as_mut().expect("guarded").await }, if handing.is_some() => {
                handing = None;
                continue;
            }
            message = stream.recv(), if handing.is_none() => message,
        };
        last_seen = Instant::now();
        let text = match message {
            Some(Ok(AggregatedMessage::Text(text))) => Some(text),
            Some(Ok(AggregatedMessage::Binary(_))) => None,
            Some(Ok(AggregatedMessage::Ping(payload))) => {
                let _ = outlet.queue.try_send(Outbound::Pong(payload));
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Close(_))) => return Ended::ClientClosed,
            None => return Ended::Lost,
            Some(Err(error)) => {
                return if close_for_protocol_error(outlet, &error) {
                    Ended::ServerClosed
                } else {
                    Ended::Lost
                };
            }
        };
        if !bucket.take(Instant::now()) {
            outlet.close(close::TOO_FAST, "too many frames too fast");
            return Ended::ServerClosed;
        }
        let incoming = match text {
            Some(text) => Incoming::parse(&text),
            None => Incoming {
                reference: None,
                frame: Err("binary frames are not supported".into()),
            },
        };
        handing = Some(Box::pin(session.send(Inbound {
            connection: outlet.connection,
            incoming,
        })));
    }
}

/// Closes the socket for a client's protocol violation; `false` if the error
/// is the connection breaking (nothing to close: the socket is lost).
fn close_for_protocol_error(outlet: &Outlet, error: &ProtocolError) -> bool {
    let (code, text) = match error {
        ProtocolError::Overflow => (close::TOO_BIG, "frame too big"),
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            (close::INVALID_UTF8, "text frame is not valid UTF-8")
        }
        // `FrameGuard` refused a frame from its header.
        ProtocolError::Io(e)
            if e.get_ref()
                .and_then(|inner| inner.downcast_ref::<PayloadError>())
                .is_some_and(|inner| matches!(inner, PayloadError::Overflow)) =>
        {
            (close::TOO_BIG, "frame too big")
        }
        // actix-ws reports an oversized fragmented message as a plain I/O error.
        ProtocolError::Io(e) if e.to_string().contains("maximum continuation size") => {
            (close::TOO_BIG, "message too big")
        }
        ProtocolError::Io(_) => return false,
        _ => (1002, "protocol error"),
    };
    outlet.close(code, text);
    true
}

/// Sends queued frames to the socket until the outlet is dropped or closed.
async fn write_loop(
    mut session: actix_ws::Session,
    mut queue: mpsc::Receiver<Outbound>,
    mut close_rx: oneshot::Receiver<CloseReason>,
    queued_bytes: Arc<AtomicUsize>,
    core: Arc<Core>,
) {
    let reason = loop {
        let next = tokio::select! {
            biased;
            reason = &mut close_rx => break reason.ok(),
            next = queue.recv() => next,
        };
        let sent = match next {
            Some(Outbound::Text(text)) => {
                queued_bytes.fetch_sub(text.len(), Ordering::Relaxed);
                let sent = tokio::select! {
                    biased;
                    reason = &mut close_rx => break reason.ok(),
                    sent = session.text(text) => sent,
                };
                core.metrics.events_sent.inc();
                sent
            }
            Some(Outbound::Ping) => session.ping(b"").await,
            Some(Outbound::Pong(payload)) => session.pong(&payload).await,
            None => break None,
        };
        if sent.is_err() {
            return;
        }
    };
    // Frames queued before the close go out first (e.g. `access_revoked` before 4403).
    // A client that does not read cannot stall this: it gets CLOSE_WINDOW to take
    // them and the close frame (a merely slow one learns why: 4008), then the
    // connection is dropped. Until then its memory stays within the backlog limits.
    let flush_and_close = async {
        while let Ok(outbound) = queue.try_recv() {
            if let Outbound::Text(text) = outbound
                && session.text(text).await.is_err()
            {
                return;
            }
        }
        let _ = session.close(reason).await;
    };
    let _ = tokio::time::timeout(CLOSE_WINDOW, flush_and_close).await;
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
