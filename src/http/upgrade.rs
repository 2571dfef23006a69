//! The requests actix-http hands over as upgrades (a `GET` with
//! `Upgrade: websocket`, or a `CONNECT`), with their raw connection: the
//! HTTP/1 dispatcher lets go of the connection (its read and write buffers
//! with it) and calls [`Upgrade`].
//!
//! Each one still goes through the application (routes, middleware, request
//! span and id, the checks of `http::ws`), called here. An answer that carries
//! a [`Starter`] (a `101 Switching Protocols` from `http::ws`) is written out
//! and the socket is served on the connection ([`Starter::spawn`]); any other
//! answer is written out whole and the connection ends.
//!
//! Invariants:
//! - The answer's head is encoded by the connection's own HTTP/1 codec, as the
//!   dispatcher would have (same headers).
//! - The bytes the client sent after its request head reach the socket first.
//! - Such a request has no body: handlers see an empty one.

use std::convert::Infallible;
use std::rc::Rc;

use actix_codec::{AsyncRead, AsyncWrite, Encoder, Framed};
use actix_http::body::{BodySize, MessageBody};
use actix_http::{ConnectionType, HttpMessage, Request, Response, StatusCode, h1};
use actix_service::Service;
use actix_web::dev::ServiceResponse;
use bytes::{Bytes, BytesMut};
use futures_util::future::LocalBoxFuture;
use tokio::io::AsyncWriteExt;

use crate::socket::wire::{Sockets, Starter};

/// Marks a request that came the upgrade way (in its extensions).
pub struct Upgraded;

/// The upgrade service of one worker: `app` is its own instance of the application.
pub struct Upgrade<S> {
    pub app: Rc<S>,
    pub sockets: Sockets,
}

impl<T, S, B> Service<(Request, Framed<T, h1::Codec>)> for Upgrade<S>
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ();
    type Error = Infallible;
    type Future = LocalBoxFuture<'static, Result<(), Infallible>>;

    actix_service::always_ready!();

    fn call(&self, (req, framed): (Request, Framed<T, h1::Codec>)) -> Self::Future {
        req.extensions_mut().insert(Upgraded);
        let (app, sockets) = (self.app.clone(), self.sockets.clone());
        Box::pin(async move {
            let mut response: Response<B> = match app.call(req).await {
                Ok(response) => response.into(),
                Err(error) => {
                    // As the dispatcher answers a failed service call.
                    let response: Response<_> = error.error_response().into();
                    let (head, body) = response.into_parts();
                    if let Err(error) = answer(framed, head, body).await {
                        tracing::debug!(%error, "upgrade request: answer not sent");
                    }
                    return Ok(());
                }
            };
            let starter = response.extensions_mut().remove::<Starter>();
            let (head, body) = response.into_parts();
            match starter {
                Some(starter) if head.status() == StatusCode::SWITCHING_PROTOCOLS => {
                    drop(body);
                    let parts = framed.into_parts();
                    let (mut io, mut codec) = (parts.io, parts.codec);
                    let mut buf = BytesMut::new();
                    let head_sent = async {
                        codec.encode(h1::Message::Item((head, BodySize::None)), &mut buf)?;
                        io.write_all(&buf).await?;
                        io.flush().await
                    };
                    if let Err(error) = head_sent.await {
                        tracing::debug!(%error, "upgrade: 101 not sent");
                        return Ok(());
                    }
                    // An exact copy: the dispatcher's read buffer is let go.
                    let early = Bytes::copy_from_slice(&parts.read_buf);
                    drop((codec, buf, parts.read_buf, parts.write_buf));
                    starter.spawn(io, early, &sockets);
                }
                _ => {
                    if let Err(error) = answer(framed, head, body).await {
                        tracing::debug!(%error, "upgrade request: answer not sent");
                    }
                }
            }
            Ok(())
        })
    }
}

/// Writes a whole answer (its body collected) and ends the connection.
async fn answer<T, B>(
    framed: Framed<T, h1::Codec>,
    mut head: Response<()>,
    body: B,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    B: MessageBody,
{
    let body = actix_http::body::to_bytes(body).await.map_err(|error| {
        let error: Box<dyn std::error::Error> = error.into();
        std::io::Error::other(error.to_string())
    })?;
    // The connection is not reused after an upgrade request.
    head.head_mut().set_connection_type(ConnectionType::Close);
    let parts = framed.into_parts();
    let (mut io, mut codec) = (parts.io, parts.codec);
    let mut buf = BytesMut::new();
    codec.encode(
        h1::Message::Item((head, BodySize::Sized(body.len() as u64))),
        &mut buf,
    )?;
    codec.encode(h1::Message::Chunk(Some(body)), &mut buf)?;
    codec.encode(h1::Message::Chunk(None), &mut buf)?;
    io.write_all(&buf).await?;
    io.flush().await?;
    io.shutdown().await
}
