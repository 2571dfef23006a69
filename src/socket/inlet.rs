//! The receiving side of one WebSocket: decodes the client's frames from the
//! connection's bytes (a stream of chunks, see [`super::wire::Incoming`]) and
//! joins fragmented messages.
//!
//! Invariants:
//! - A frame larger than the frame limit, or a fragmented message larger than
//!   the message limit, is an error; the fragments of a refused message are
//!   skipped up to its last one, never kept.
//! - Text is valid UTF-8 or an error.
//! - Reading ends once the socket's outbound body is done (its close frame is
//!   out, or the connection is gone): what was already received is still read.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use actix_web::error::PayloadError;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;

use super::outlet::Watch;

/// A client message, fragments joined.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Text(ByteString),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    Close(Option<CloseReason>),
}

/// Why reading failed.
#[derive(Debug)]
pub enum InletError {
    /// The frame codec refused a frame (a frame over the limit is `Overflow`).
    Protocol(ProtocolError),
    /// A fragmented message grew past the message limit.
    MessageTooBig,
    /// A text message is not valid UTF-8.
    InvalidUtf8,
    /// The bytes stopped: the connection broke, or the frame guard refused a header.
    Payload(PayloadError),
}

/// The fragments of the message being joined.
#[derive(Default)]
struct Fragments {
    parts: Vec<Bytes>,
    len: usize,
    text: bool,
    /// The message went over the limit: its remaining fragments are skipped.
    skipping: bool,
}

pub struct Inlet<S> {
    payload: S,
    buf: BytesMut,
    codec: Codec,
    fragments: Fragments,
    max_message: usize,
    /// No more bytes will be read: the body ended, or the outbound side is done.
    closing: bool,
    watch: Watch,
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Inlet<S> {
    /// Reads `payload`: frames up to `max_frame` bytes, messages up to
    /// `max_message`, until `watch` reports the outbound side done.
    pub fn new(payload: S, max_frame: usize, max_message: usize, watch: Watch) -> Inlet<S> {
        Inlet {
            payload,
            buf: BytesMut::new(),
            codec: Codec::new().max_size(max_frame),
            fragments: Fragments::default(),
            max_message,
            closing: false,
            watch,
        }
    }

    /// The next message; `None` once the connection is over.
    pub async fn recv(&mut self) -> Option<Result<Message, InletError>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, InletError>>> {
        loop {
            match self.codec.decode(&mut self.buf) {
                Err(error) => return Poll::Ready(Some(Err(InletError::Protocol(error)))),
                Ok(Some(frame)) => match self.message(frame) {
                    Ok(None) => continue,
                    Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                    Err(error) => return Poll::Ready(Some(Err(error))),
                },
                Ok(None) => {}
            }
            if self.buf.is_empty() {
                // Let go of the chunk this was split from: an idle socket holds no buffer.
                self.buf = BytesMut::new();
            }
            if !self.closing && self.watch.poll_ended(cx).is_ready() {
                self.closing = true;
            }
            if self.closing {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    if self.buf.is_empty() {
                        self.buf = BytesMut::from(bytes);
                    } else {
                        self.buf.extend_from_slice(&bytes);
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    self.closing = true;
                    return Poll::Ready(Some(Err(InletError::Payload(error))));
                }
                Poll::Ready(None) => self.closing = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The message a frame completes, if any.
    fn message(&mut self, frame: Frame) -> Result<Option<Message>, InletError> {
        let f = &mut self.fragments;
        let (bytes, last) = match frame {
            Frame::Text(bytes) => return text(bytes).map(Some),
            Frame::Binary(bytes) => return Ok(Some(Message::Binary(bytes))),
            Frame::Ping(bytes) => return Ok(Some(Message::Ping(bytes))),
            Frame::Pong(bytes) => return Ok(Some(Message::Pong(bytes))),
            Frame::Close(reason) => return Ok(Some(Message::Close(reason))),
            Frame::Continuation(Item::FirstText(bytes)) => {
                f.text = true;
                (bytes, false)
            }
            Frame::Continuation(Item::FirstBinary(bytes)) => {
                f.text = false;
                (bytes, false)
            }
            Frame::Continuation(Item::Continue(bytes)) => (bytes, false),
            Frame::Continuation(Item::Last(bytes)) => (bytes, true),
        };
        if f.skipping {
            f.skipping = !last;
            return Ok(None);
        }
        f.len += bytes.len();
        if f.len > self.max_message {
            let skipping = !last;
            *f = Fragments {
                skipping,
                ..Fragments::default()
            };
            return Err(InletError::MessageTooBig);
        }
        if !bytes.is_empty() {
            f.parts.push(bytes);
        }
        if !last {
            return Ok(None);
        }
        let Fragments {
            parts,
            len,
            text: is_text,
            ..
        } = std::mem::take(f);
        let mut joined = BytesMut::with_capacity(len);
        parts.iter().for_each(|part| joined.extend_from_slice(part));
        let joined = joined.freeze();
        if is_text {
            text(joined).map(Some)
        } else {
            Ok(Some(Message::Binary(joined)))
        }
    }
}

fn text(bytes: Bytes) -> Result<Message, InletError> {
    ByteString::try_from(bytes)
        .map(Message::Text)
        .map_err(|_| InletError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use actix_http::ws::{OpCode, Parser};
    use futures_util::FutureExt;
    use futures_util::stream::{self, StreamExt};
    use prometheus_client::metrics::counter::Counter;

    use super::*;
    use crate::protocol::close::ServerClose;
    use crate::socket::outlet;

    fn frame(op: OpCode, fin: bool, payload: &[u8]) -> Bytes {
        let mut buf = BytesMut::new();
        Parser::write_message(&mut buf, payload, op, fin, true);
        buf.freeze()
    }

    /// Reads `chunks` (then a body that stays open) with a 16-byte message limit.
    fn read(chunks: Vec<Bytes>) -> Vec<Result<Message, String>> {
        let (_outlet, _body, watch) = outlet::open(8, 1024, Counter::default());
        let payload = stream::iter(chunks.into_iter().map(Ok)).chain(stream::pending());
        let mut inlet = Inlet::new(payload, 16, 16, watch);
        std::iter::from_fn(|| inlet.recv().now_or_never().flatten())
            .map(|r| r.map_err(|e| format!("{e:?}")))
            .collect()
    }

    #[test]
    fn frames_split_anywhere_are_read_whole() {
        let bytes = [
            frame(OpCode::Text, true, b"hello"),
            frame(OpCode::Ping, true, b""),
        ]
        .concat();
        let chunks = bytes.chunks(3).map(Bytes::copy_from_slice).collect();
        assert_eq!(
            read(chunks),
            [
                Ok(Message::Text("hello".into())),
                Ok(Message::Ping(Bytes::new()))
            ]
        );
    }

    #[test]
    fn fragments_are_joined_and_control_frames_pass_between_them() {
        let chunks = vec![
            frame(OpCode::Text, false, b"he"),
            frame(OpCode::Ping, true, b"p"),
            frame(OpCode::Continue, false, b""),
            frame(OpCode::Continue, true, b"llo"),
        ];
        assert_eq!(
            read(chunks),
            [
                Ok(Message::Ping("p".into())),
                Ok(Message::Text("hello".into()))
            ]
        );
    }

    #[test]
    fn a_message_over_the_limit_is_refused_and_its_rest_skipped() {
        let chunks = vec![
            frame(OpCode::Binary, false, &[1; 10]),
            frame(OpCode::Continue, false, &[2; 10]),
            frame(OpCode::Continue, false, &[3; 10]),
            frame(OpCode::Continue, true, &[4; 10]),
            frame(OpCode::Text, true, b"next"),
        ];
        assert_eq!(
            read(chunks),
            [
                Err("MessageTooBig".into()),
                Ok(Message::Text("next".into()))
            ]
        );
    }

    #[test]
    fn bad_utf8_and_oversized_frames_are_errors() {
        assert_eq!(
            read(vec![frame(OpCode::Text, true, &[0xff, 0xfe])]),
            [Err("InvalidUtf8".into())]
        );
        let [Err(error)] = &read(vec![frame(OpCode::Text, true, &[b'a'; 17])])[..] else {
            panic!("one error expected");
        };
        assert!(error.contains("Overflow"), "{error}");
    }

    #[test]
    fn reading_ends_once_the_close_frame_is_out() {
        let (outlet, mut body, watch) = outlet::open(8, 1024, Counter::default());
        let payload =
            stream::iter([Ok(frame(OpCode::Text, true, b"sent"))]).chain(stream::pending());
        let mut inlet = Inlet::new(payload, 16, 16, watch);
        assert!(inlet.recv().now_or_never().is_some());
        assert!(
            inlet.recv().now_or_never().is_none(),
            "the body is still open"
        );
        outlet.close(ServerClose::Resumed);
        assert!(
            body.next().now_or_never().flatten().is_some(),
            "the close frame"
        );
        assert_eq!(inlet.recv().now_or_never().map(|m| m.is_none()), Some(true));
    }
}
