//! The socket pump of one chat visitor's WebSocket (`/ws/visitor`): its
//! `hello` (channel, origin, identity), its place among the visitor's
//! sockets, then the shared read loop (heartbeats, rate limit, close)
//! handing frames to the [`VisitorActor`].
//!
//! Invariants:
//! - Nothing reaches the visitor actor before a valid hello admitted the
//!   visitor on an enabled channel that allows the page's origin.
//! - A visitor's sockets are counted (`visitor.max_sockets_per_visitor`),
//!   and the count is given back when the socket ends, however it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::error::PayloadError;
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::Stream;

use super::connection::{Pace, close_for_error, read_loop};
use super::inlet::{Inlet, Message};
use super::outlet::{Outlet, Watch};
use crate::actors::visitor::{FromSocket, Join, Leave, VisitorActor};
use crate::channels::admission::{self, Admitted, Refused};
use crate::core::Core;
use crate::domain::VisitorId;
use crate::protocol::close::ServerClose;
use crate::protocol::visitor::{VisitorFrame, VisitorIncoming};

/// How long a closing socket may take to deliver its last frames.
const CLOSE_WINDOW: Duration = Duration::from_secs(5);

/// Where the page that opened the socket comes from.
pub enum PageOrigin {
    /// The Tandem server's own pages (the demo shop).
    Own,
    Other(String),
}

/// Serves one upgraded visitor socket until it ends; `slot` is the socket's
/// place in its address's count, given back at the end.
pub async fn serve<S, T>(
    core: Arc<Core>,
    slot: T,
    outlet: Outlet,
    watch: Watch,
    mut inlet: Inlet<S>,
    origin: PageOrigin,
) where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    core.metrics.visitor_sockets.inc();
    if let Some((visitor, actor)) = Box::pin(join(&core, &mut inlet, &outlet, &origin)).await {
        let config = &core.config.visitor;
        let pace = Pace {
            per_s: config.frames_per_s,
            burst: config.frames_burst,
        };
        let connection = outlet.connection;
        let mut forward = |text: Option<ByteString>| -> Pin<Box<dyn Future<Output = ()>>> {
            let incoming = match text {
                Some(text) => VisitorIncoming::parse(&text),
                None => VisitorIncoming {
                    reference: None,
                    frame: Err("binary frames are not supported".into()),
                },
            };
            let sent = actor.send(FromSocket {
                connection,
                incoming,
            });
            Box::pin(async move {
                let _ = sent.await;
            })
        };
        read_loop(&core, &mut inlet, &outlet, &watch, pace, None, &mut forward).await;
        actor.do_send(Leave { connection });
        core.visitors.close_socket(visitor);
    }
    drop(outlet);
    watch.finish(CLOSE_WINDOW).await;
    core.metrics.visitor_sockets.dec();
    drop(slot);
}

/// Takes the socket from its hello to its visitor's actor; `None` if the
/// socket was closed instead.
async fn join<S>(
    core: &Arc<Core>,
    inlet: &mut Inlet<S>,
    outlet: &Outlet,
    origin: &PageOrigin,
) -> Option<(VisitorId, Addr<VisitorActor>)>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let (reference, frame) = hello(core, inlet, outlet).await?;
    let VisitorFrame::Hello {
        channel,
        visitor_token,
        identity,
        last_message,
        hidden,
    } = frame
    else {
        outlet.close(ServerClose::InvalidHello);
        return None;
    };
    let channel = core.channels.by_key(&channel).filter(|c| match origin {
        PageOrigin::Own => c.enabled,
        PageOrigin::Other(origin) => c.allows(origin),
    });
    let Some(channel) = channel else {
        outlet.close(ServerClose::ChannelUnavailable);
        return None;
    };
    let Admitted { visitor, token } =
        match admission::admit(&core.store, &channel, visitor_token, identity).await {
            Ok(admitted) => admitted,
            Err(refused) => {
                outlet.close(match refused {
                    Refused::IdentityRequired => ServerClose::IdentityRequired,
                    Refused::IdentityNotVerified => ServerClose::IdentityNotVerified,
                    Refused::Invalid(_) => ServerClose::InvalidHello,
                    Refused::Store(_) => ServerClose::ShuttingDown,
                });
                return None;
            }
        };
    let max = core.config.visitor.max_sockets_per_visitor;
    if !core.visitors.try_open_socket(visitor.id, max) {
        outlet.close(ServerClose::TooManyVisitorSockets);
        return None;
    }
    // A visitor actor that is stopping refuses; the next one takes the socket.
    for _ in 0..3 {
        let actor = core.visitor(&visitor);
        let join = Join {
            outlet: outlet.clone(),
            reference: reference.clone(),
            token: token.clone(),
            last_message,
            hidden,
        };
        if let Ok(true) = actor.send(join).await {
            return Some((visitor.id, actor));
        }
    }
    core.visitors.close_socket(visitor.id);
    outlet.close(ServerClose::ShuttingDown);
    None
}

/// Waits for the first data frame, parsed; closes the socket and returns
/// `None` if it is not a visitor frame in time.
async fn hello<S>(
    core: &Core,
    inlet: &mut Inlet<S>,
    outlet: &Outlet,
) -> Option<(Option<serde_json::Value>, VisitorFrame)>
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
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(payload))) => {
                let _ = outlet.pong(payload);
                continue;
            }
            Some(Ok(Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                outlet.close(ServerClose::BinaryHello);
                return None;
            }
            Some(Ok(Message::Close(_))) | None => return None,
            Some(Err(error)) => {
                close_for_error(outlet, &error);
                return None;
            }
        };
        let incoming = VisitorIncoming::parse(&text);
        return match incoming.frame {
            Ok(frame) => Some((incoming.reference, frame)),
            Err(_) => {
                outlet.close(ServerClose::InvalidHello);
                None
            }
        };
    }
}
