//! The sending side of one WebSocket: a bounded queue that the session's
//! mailslot and the connection fill without waiting ([`Outlet`]), drained by
//! the socket's [`OutboundBody`], which the socket's writer (see
//! [`super::wire`]) polls whenever the connection can take more bytes. No
//! task and no second channel sit in between, and an idle socket's queue
//! holds no allocation.
//!
//! Invariants:
//! - Memory per socket is bounded: the queue is limited in frames and bytes;
//!   past either limit a frame is refused ([`OutletError::Backlog`]).
//! - Frames queued before a close go out before the close frame; nothing is
//!   queued after it. The close happens once: on the first [`Outlet::close`],
//!   or, without a code, when the last [`Outlet`] handle is dropped.
//! - A close that cannot be delivered is abandoned by the connection after its
//!   close window ([`Watch::abandon`]): the queue is dropped and the body ends.
//! - Frames queued together leave together: the body encodes everything
//!   queued into one chunk (up to [`CHUNK_BYTES`]), written with one call, and
//!   a batch of frames wakes the writer at most once.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_http::ws::{CloseCode, CloseReason, OpCode, Parser};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;
use prometheus_client::metrics::counter::Counter;

use crate::protocol::close::ServerClose;

/// Why an outlet refused a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum OutletError {
    /// The backlog limit was reached: the client is not reading.
    Backlog,
    /// The socket is closing or gone.
    Closed,
}

enum Frame {
    Text(ByteString),
    Ping,
    Pong(Bytes),
}

impl Frame {
    /// Its length on the wire (a server frame: header and payload, no mask).
    fn encoded_len(&self) -> usize {
        let payload = match self {
            Frame::Text(text) => text.len(),
            Frame::Ping => 0,
            Frame::Pong(payload) => payload.len(),
        };
        let header = match payload {
            0..126 => 2,
            126..65536 => 4,
            _ => 10,
        };
        header + payload
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Frames are accepted.
    Open,
    /// A close was asked for: the queue drains, then the close frame goes out.
    Closing,
    /// The close frame went out, or the close was abandoned: the body ends.
    Closed,
    /// The body was dropped: the connection is over.
    Gone,
}

struct State {
    queue: VecDeque<Frame>,
    /// Bytes of the text frames in `queue`.
    bytes: usize,
    stage: Stage,
    /// The close frame's code and reason (`None`: a close frame without a code).
    reason: Option<CloseReason>,
    /// Live [`Outlet`] handles; the last one dropped closes the socket.
    outlets: usize,
    /// The body, waiting for a frame.
    body: Option<Waker>,
    /// The connection's task, waiting for the close to begin or the body to end.
    pump: Option<Waker>,
}

struct Shared {
    state: Mutex<State>,
    max_frames: usize,
    max_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("outlet lock")
    }
}

impl State {
    /// Moves to `stage` and wakes whoever waits on a change.
    fn enter(&mut self, stage: Stage) -> [Option<Waker>; 2] {
        self.stage = stage;
        if stage != Stage::Open && stage != Stage::Closing {
            self.queue = VecDeque::new();
            self.bytes = 0;
        }
        [self.body.take(), self.pump.take()]
    }

    fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
        if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *slot = Some(cx.waker().clone());
        }
    }
}

fn wake(wakers: [Option<Waker>; 2]) {
    wakers.into_iter().flatten().for_each(Waker::wake);
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// A new socket's outlet, the body that writes it to the socket, and the
/// connection's watch on both. `events_sent` counts the text frames written.
pub fn open(
    max_frames: usize,
    max_bytes: usize,
    events_sent: Counter,
) -> (Outlet, OutboundBody, Watch) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            bytes: 0,
            stage: Stage::Open,
            reason: None,
            outlets: 1,
            body: None,
            pump: None,
        }),
        max_frames,
        max_bytes,
    });
    let outlet = Outlet {
        shared: shared.clone(),
        connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
    };
    let body = OutboundBody {
        shared: shared.clone(),
        events_sent,
    };
    (outlet, body, Watch { shared })
}

/// The sending side of one socket, held by its session actor (and the
/// connection). Cheap to clone; the socket closes when the last one is dropped.
pub struct Outlet {
    shared: Arc<Shared>,
    /// Tells this connection apart from a later one of the same session.
    pub connection: u64,
}

impl Outlet {
    /// Queues a text frame without waiting.
    pub fn send(&self, text: ByteString) -> Result<(), OutletError> {
        self.send_all([text])
    }

    /// Queues text frames in order without waiting, waking the socket once;
    /// past a limit the rest are refused.
    pub fn send_all(&self, texts: impl IntoIterator<Item = ByteString>) -> Result<(), OutletError> {
        self.push(texts.into_iter().map(|text| {
            let len = text.len();
            (Frame::Text(text), len)
        }))
    }

    /// Queues a ping; fails like [`Outlet::send`].
    pub fn ping(&self) -> Result<(), OutletError> {
        self.push([(Frame::Ping, 0)])
    }

    /// Queues the answer to a client's ping; fails like [`Outlet::send`].
    pub fn pong(&self, payload: Bytes) -> Result<(), OutletError> {
        self.push([(Frame::Pong(payload), 0)])
    }

    fn push(&self, frames: impl IntoIterator<Item = (Frame, usize)>) -> Result<(), OutletError> {
        let (result, waker) = {
            let mut state = self.shared.lock();
            if state.stage != Stage::Open {
                return Err(OutletError::Closed);
            }
            let (mut result, queued) = (Ok(()), state.queue.len());
            for (frame, len) in frames {
                if state.queue.len() >= self.shared.max_frames
                    || state.bytes + len > self.shared.max_bytes
                {
                    result = Err(OutletError::Backlog);
                    break;
                }
                state.queue.push_back(frame);
                state.bytes += len;
            }
            let waker = if state.queue.len() > queued {
                state.body.take()
            } else {
                None
            };
            (result, waker)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        result
    }

    /// Closes the socket with `close`'s code and text once the frames queued
    /// so far are out (first call wins; later calls do nothing).
    pub fn close(&self, close: ServerClose) {
        begin_close(
            &self.shared,
            Some(CloseReason {
                code: CloseCode::from(close.code()),
                description: Some(close.text().into()),
            }),
        );
    }
}

fn begin_close(shared: &Shared, reason: Option<CloseReason>) {
    let wakers = {
        let mut state = shared.lock();
        if state.stage != Stage::Open {
            return;
        }
        state.reason = reason;
        state.enter(Stage::Closing)
    };
    wake(wakers);
}

impl Clone for Outlet {
    fn clone(&self) -> Outlet {
        self.shared.lock().outlets += 1;
        Outlet {
            shared: self.shared.clone(),
            connection: self.connection,
        }
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.lock();
            state.outlets -= 1;
            state.outlets == 0
        };
        if last {
            begin_close(&self.shared, None);
        }
    }
}

/// The connection's view of its outlet: when the close begins, when the body
/// is done, and abandoning a close that cannot be delivered.
#[derive(Clone)]
pub struct Watch {
    shared: Arc<Shared>,
}

impl Watch {
    fn poll_until(&self, cx: &mut Context<'_>, done: impl Fn(Stage) -> bool) -> Poll<()> {
        let mut state = self.shared.lock();
        if done(state.stage) {
            return Poll::Ready(());
        }
        State::register(&mut state.pump, cx);
        Poll::Pending
    }

    /// Ready once a close was asked for (or the socket is gone).
    pub fn poll_close_begun(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_until(cx, |stage| stage != Stage::Open)
    }

    /// Ready once the body writes nothing more: the close frame went out, the
    /// close was abandoned, or the connection is gone.
    pub fn poll_ended(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_until(cx, |stage| matches!(stage, Stage::Closed | Stage::Gone))
    }

    /// Drops whatever is still queued and ends the body without a close frame.
    pub fn abandon(&self) {
        let wakers = {
            let mut state = self.shared.lock();
            if !matches!(state.stage, Stage::Open | Stage::Closing) {
                return;
            }
            state.enter(Stage::Closed)
        };
        wake(wakers);
    }

    /// Waits for the close to begin, then for the body to end; a close not
    /// delivered within `window` is abandoned.
    pub async fn finish(&self, window: Duration) {
        poll_fn(|cx| self.poll_close_begun(cx)).await;
        let ended = poll_fn(|cx| self.poll_ended(cx));
        if tokio::time::timeout(window, ended).await.is_err() {
            self.abandon();
        }
    }
}

/// Frames are encoded in chunks of at most this size (a larger frame is a
/// chunk of its own): what one write hands the kernel, and the largest
/// transient allocation of a busy socket.
const CHUNK_BYTES: usize = 8 * 1024;

/// The socket's outbound stream: encodes queued frames when the writer asks
/// for more, then the close frame, then ends. The writer writes each chunk
/// whole before it asks again.
pub struct OutboundBody {
    shared: Arc<Shared>,
    events_sent: Counter,
}

impl Stream for OutboundBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut buf = BytesMut::new();
        let wakers = {
            let mut state = this.shared.lock();
            // The chunk is allocated once, at its size: the frames that fit
            // (the first one always does).
            let (mut frames, mut len, mut text_bytes) = (0, 0, 0);
            for frame in &state.queue {
                let next = frame.encoded_len();
                if frames > 0 && len + next > CHUNK_BYTES {
                    break;
                }
                (frames, len) = (frames + 1, len + next);
                if let Frame::Text(text) = frame {
                    text_bytes += text.len();
                }
            }
            buf.reserve(len);
            state.bytes -= text_bytes;
            for frame in state.queue.drain(..frames) {
                match frame {
                    Frame::Text(text) => {
                        this.events_sent.inc();
                        Parser::write_message(&mut buf, text.as_bytes(), OpCode::Text, true, false);
                    }
                    Frame::Ping => Parser::write_message(&mut buf, b"", OpCode::Ping, true, false),
                    Frame::Pong(payload) => {
                        Parser::write_message(&mut buf, payload, OpCode::Pong, true, false);
                    }
                }
            }
            if state.queue.is_empty() {
                // An idle socket keeps no queue allocation.
                state.queue = VecDeque::new();
            }
            if !buf.is_empty() {
                return Poll::Ready(Some(Ok(buf.freeze())));
            }
            match state.stage {
                Stage::Open => {
                    State::register(&mut state.body, cx);
                    return Poll::Pending;
                }
                Stage::Closing => {
                    Parser::write_close(&mut buf, state.reason.take(), false);
                    state.enter(Stage::Closed)
                }
                Stage::Closed | Stage::Gone => return Poll::Ready(None),
            }
        };
        wake(wakers);
        Poll::Ready(Some(Ok(buf.freeze())))
    }
}

impl Drop for OutboundBody {
    fn drop(&mut self) {
        let wakers = self.shared.lock().enter(Stage::Gone);
        wake(wakers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn next(body: &mut OutboundBody) -> Poll<Option<Bytes>> {
        let mut cx = Context::from_waker(Waker::noop());
        body.poll_next_unpin(&mut cx)
            .map(|item| item.map(|chunk| chunk.unwrap()))
    }

    #[test]
    fn the_backlog_is_bounded_in_frames_and_bytes() {
        let (outlet, _body, _watch) = open(3, 10, Counter::default());
        assert_eq!(outlet.send("12345".into()), Ok(()));
        assert_eq!(outlet.send("123456".into()), Err(OutletError::Backlog));
        assert_eq!(outlet.send("1234".into()), Ok(()));
        assert_eq!(outlet.ping(), Ok(()));
        assert_eq!(outlet.pong(Bytes::new()), Err(OutletError::Backlog));
    }

    #[test]
    fn queued_frames_go_out_before_the_close_frame_and_nothing_after() {
        let (outlet, mut body, watch) = open(8, 1024, Counter::default());
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(next(&mut body), Poll::Pending);
        outlet.send("hi".into()).unwrap();
        outlet.close(ServerClose::SlowConsumer);
        assert_eq!(outlet.send("late".into()), Err(OutletError::Closed));
        assert!(watch.poll_close_begun(&mut cx).is_ready());
        assert!(watch.poll_ended(&mut cx).is_pending());
        assert_eq!(
            next(&mut body),
            Poll::Ready(Some(Bytes::from_static(b"\x81\x02hi")))
        );
        assert_eq!(
            next(&mut body),
            Poll::Ready(Some(Bytes::from_static(
                b"\x88\x20\x0f\xa8outbound backlog limit reached"
            )))
        );
        assert!(watch.poll_ended(&mut cx).is_ready());
        assert_eq!(next(&mut body), Poll::Ready(None));
    }

    #[test]
    fn frames_queued_together_leave_in_chunks_of_at_most_chunk_bytes() {
        let (outlet, mut body, _watch) = open(8, 1 << 20, Counter::default());
        let half = "x".repeat(CHUNK_BYTES / 2);
        outlet
            .send_all([half.as_str(), &half, "small"].map(Into::into))
            .unwrap();
        let first = CHUNK_BYTES / 2 + 4;
        assert!(matches!(next(&mut body), Poll::Ready(Some(chunk)) if chunk.len() == first));
        assert!(matches!(next(&mut body), Poll::Ready(Some(chunk)) if chunk.len() == first + 7));
        assert_eq!(next(&mut body), Poll::Pending, "nothing queued");
        outlet.send_all(["a", "b", "c"].map(Into::into)).unwrap();
        assert_eq!(
            next(&mut body),
            Poll::Ready(Some(Bytes::from_static(b"\x81\x01a\x81\x01b\x81\x01c")))
        );
    }

    #[test]
    fn the_last_handle_dropped_closes_without_a_code() {
        let (outlet, mut body, _watch) = open(8, 1024, Counter::default());
        let other = outlet.clone();
        drop(outlet);
        assert_eq!(next(&mut body), Poll::Pending);
        drop(other);
        assert_eq!(
            next(&mut body),
            Poll::Ready(Some(Bytes::from_static(b"\x88\x00")))
        );
        assert_eq!(next(&mut body), Poll::Ready(None));
    }

    #[test]
    fn an_abandoned_close_drops_the_queue_and_ends_the_body() {
        let (outlet, mut body, watch) = open(8, 1024, Counter::default());
        outlet.send("never read".into()).unwrap();
        outlet.close(ServerClose::ShuttingDown);
        watch.abandon();
        assert_eq!(next(&mut body), Poll::Ready(None));
        drop(body);
        assert_eq!(outlet.send("x".into()), Err(OutletError::Closed));
    }
}
