//! One upgraded WebSocket on its raw connection: what the `GET /ws` and
//! `GET /ws/visitor` handlers hand over ([`Starter`], in their 101 answer)
//! and the task that serves the socket on the stream actix-http gave up
//! (see `http::upgrade`).
//!
//! The socket's task joins its pump ([`super::connection`] or
//! [`super::visitor`]), which reads the client's frames through
//! [`Incoming`] (a stream over the connection), and its writer, which drains
//! the socket's [`OutboundBody`] straight into the connection.
//!
//! Invariants:
//! - An idle socket holds no read or write buffer: bytes are read into a
//!   stack buffer and handed on as an exact copy; chunks of the outbound body
//!   are written as they are, with no buffer in between.
//! - The bytes the client sent right after its upgrade request are read first.
//! - The write side is shut down once the outbound body ends (the close frame
//!   went out, or the close was abandoned); a writer that cannot get its last
//!   bytes out within [`LINGER`] after the pump ended is dropped. The
//!   connection is then read until the client closes it, for at most
//!   [`DRAIN`], and closed.
//! - [`Sockets`] counts the socket tasks alive, so a shutdown can wait for
//!   their close frames to go out.

use std::cell::RefCell;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::Notify;
use tracing::Instrument;

use super::frame_guard::FrameGuard;
use super::inlet::Inlet;
use super::outlet::{OutboundBody, Outlet, Watch};
use super::visitor::PageOrigin;
use crate::core::{AddressSlot, Core, VisitorAddressSlot};

/// How long the writer may take to get its last bytes out once the socket's
/// pump has ended.
const LINGER: Duration = Duration::from_secs(5);

/// How long a closed socket's connection is read (and what comes dropped)
/// before it is closed: actix-web's client disconnect timeout.
const DRAIN: Duration = Duration::from_secs(1);

/// Bytes read from the connection per turn (on the stack, copied out exactly).
const READ_BYTES: usize = 8 * 1024;

/// Whose socket it is.
pub enum Kind {
    Agent(AddressSlot),
    Visitor(VisitorAddressSlot, PageOrigin),
}

/// Everything an accepted upgrade needs to run its socket once the 101 answer
/// is out; travels in the extensions of that answer.
pub struct Starter {
    pub core: Arc<Core>,
    pub kind: Kind,
    pub outlet: Outlet,
    pub outbound: OutboundBody,
    pub watch: Watch,
    /// The upgrade request's span: the socket's logs, and its session's, carry its id.
    pub span: tracing::Span,
}

impl Starter {
    /// Spawns the socket's task on this worker: `io` is the connection,
    /// `early` what the client sent after its upgrade request.
    pub fn spawn<T>(self, io: T, early: Bytes, sockets: &Sockets)
    where
        T: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let Starter {
            core,
            kind,
            outlet,
            outbound,
            watch,
            span,
        } = self;
        let io = Shared(Rc::new(RefCell::new(io)));
        let incoming = Incoming {
            early: (!early.is_empty()).then_some(early),
            read: io.clone(),
        };
        let alive = sockets.enter();
        let writer = write_out(outbound, io.clone());
        // One task per kind: an agent's socket task is not sized for a visitor's pump.
        match kind {
            Kind::Agent(slot) => {
                let max = core.config.ws.max_frame_bytes;
                let inlet = Inlet::new(FrameGuard::new(incoming, max), max, max, watch.clone());
                let pump = super::connection::serve(core, slot, outlet, watch, inlet);
                actix_web::rt::spawn(run(pump, writer, io, alive).instrument(span));
            }
            Kind::Visitor(slot, origin) => {
                let max = core.config.visitor.max_frame_bytes;
                let inlet = Inlet::new(FrameGuard::new(incoming, max), max, max, watch.clone());
                let pump = super::visitor::serve(core, slot, outlet, watch, inlet, origin);
                actix_web::rt::spawn(run(pump, writer, io, alive).instrument(span));
            }
        }
    }
}

/// Runs the pump and the writer together; once the pump is done the writer
/// gets [`LINGER`] to finish. Then what the client still sends is read and
/// dropped for up to [`DRAIN`], until it closes its side: a connection closed
/// with unread bytes is reset, and the reset can destroy the close frame
/// before the client reads it (as the HTTP dispatcher lingers).
async fn run<T: AsyncRead + Unpin>(
    pump: impl Future<Output = ()>,
    writer: impl Future<Output = ()>,
    io: Shared<T>,
    alive: Alive,
) {
    {
        let (pump, writer) = (pin!(pump), pin!(writer));
        match select(pump, writer).await {
            Either::Left(((), writer)) => {
                let _ = tokio::time::timeout(LINGER, writer).await;
            }
            // The body ended or the connection broke: the pump's inlet stops
            // reading, and the pump ends the socket.
            Either::Right(((), pump)) => pump.await,
        }
    }
    let drain = async {
        let mut incoming = Incoming {
            early: None,
            read: io,
        };
        while let Some(Ok(_)) = incoming.next().await {}
    };
    let _ = tokio::time::timeout(DRAIN, drain).await;
    drop(alive);
}

/// Writes the socket's outbound frames as the body hands them over, then
/// shuts the write side down. Dropping the body on the way out tells the
/// pump the connection is over.
async fn write_out<W: AsyncWrite + Unpin>(mut body: OutboundBody, mut write: W) {
    while let Some(Ok(chunk)) = body.next().await {
        if write.write_all(&chunk).await.is_err() || write.flush().await.is_err() {
            return;
        }
    }
    drop(body);
    let _ = write.shutdown().await;
}

/// The client's bytes, as the request body used to carry them: `early` first,
/// then whatever the connection gives; ends at end of stream.
pub struct Incoming<R> {
    early: Option<Bytes>,
    read: R,
}

impl<R: AsyncRead + Unpin> Stream for Incoming<R> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(early) = this.early.take() {
            return Poll::Ready(Some(Ok(early)));
        }
        let mut buf = [0u8; READ_BYTES];
        let mut filled = ReadBuf::new(&mut buf);
        Poll::Ready(
            match ready!(Pin::new(&mut this.read).poll_read(cx, &mut filled)) {
                Ok(()) if filled.filled().is_empty() => None,
                Ok(()) => Some(Ok(Bytes::copy_from_slice(filled.filled()))),
                Err(error) => Some(Err(PayloadError::Io(error))),
            },
        )
    }
}

/// The connection, shared by the socket's reader and writer: both are polled
/// by the socket's one task, never at the same time.
struct Shared<T>(Rc<RefCell<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        Shared(self.0.clone())
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Shared<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Shared<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_shutdown(cx)
    }
}

/// The socket tasks alive on every worker. Cheap to clone.
#[derive(Clone, Default)]
pub struct Sockets(Arc<SocketsInner>);

#[derive(Default)]
struct SocketsInner {
    alive: AtomicUsize,
    idle: Notify,
}

/// One socket task, counted in [`Sockets`] until it is dropped.
struct Alive(Arc<SocketsInner>);

impl Sockets {
    fn enter(&self) -> Alive {
        self.0.alive.fetch_add(1, Ordering::SeqCst);
        Alive(self.0.clone())
    }

    /// Waits until no socket task is alive.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            if self.0.alive.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        if self.0.alive.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use prometheus_client::metrics::counter::Counter;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::protocol::close::ServerClose;
    use crate::socket::outlet;

    #[tokio::test]
    async fn the_early_bytes_come_first_then_the_connection_until_its_end() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut incoming = Incoming {
            early: Some(Bytes::from_static(b"early")),
            read: server,
        };
        client.write_all(b"later").await.unwrap();
        drop(client);
        assert_eq!(incoming.next().await.unwrap().unwrap(), &b"early"[..]);
        assert_eq!(incoming.next().await.unwrap().unwrap(), &b"later"[..]);
        assert!(incoming.next().await.is_none());
    }

    #[tokio::test]
    async fn the_writer_sends_the_frames_then_the_close_and_ends_the_stream() {
        let (outlet, body, _watch) = outlet::open(8, 1024, Counter::default());
        let (mut client, server) = tokio::io::duplex(1024);
        outlet.send("hi".into()).unwrap();
        outlet.close(ServerClose::ShuttingDown);
        write_out(body, server).await;
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        assert_eq!(received[..4], [0x81, 2, b'h', b'i'], "the text frame");
        assert_eq!(received[4], 0x88, "then the close frame");
    }
}
