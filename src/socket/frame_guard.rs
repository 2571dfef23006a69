//! Refuses an oversized WebSocket frame from its header, before any of its
//! payload is buffered.
//!
//! The frame codec checks a frame's size only once the whole frame has
//! arrived, so a client announcing a 1 GiB frame and streaming it would be
//! buffered in full. [`FrameGuard`] sits between the connection's bytes and the
//! socket's inlet ([`super::inlet`]), follows the frame headers in the byte
//! stream (RFC 6455 §5.2), and ends the stream with [`PayloadError::Overflow`]
//! as soon as a header announces more than the limit. Fragmented messages are
//! bounded separately by the inlet's message limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;

pub struct FrameGuard<S> {
    inner: S,
    max_payload: u64,
    /// Bytes of the current frame's payload still to pass through.
    payload_left: u64,
    /// The header being read (at most 14 bytes), empty between frames.
    header: Vec<u8>,
    failed: bool,
}

impl<S> FrameGuard<S> {
    pub fn new(inner: S, max_payload: usize) -> FrameGuard<S> {
        FrameGuard {
            inner,
            max_payload: max_payload as u64,
            payload_left: 0,
            header: Vec::with_capacity(14),
            failed: false,
        }
    }

    /// Follows the frames in `chunk`; `false` if a header announces too much.
    fn admit(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            if self.payload_left > 0 {
                let skipped = self.payload_left.min(chunk.len() as u64);
                self.payload_left -= skipped;
                chunk = &chunk[skipped as usize..];
                continue;
            }
            self.header.push(chunk[0]);
            chunk = &chunk[1..];
            let Some(length) = announced_length(&self.header) else {
                continue;
            };
            if length > self.max_payload {
                return false;
            }
            self.payload_left = length;
            self.header.clear();
        }
        true
    }
}

/// The payload length of a complete frame header, or `None` while incomplete.
fn announced_length(header: &[u8]) -> Option<u64> {
    let [_, second, rest @ ..] = header else {
        return None;
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (length, extended) = match second & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            2,
        ),
        127 => (u64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 8),
        short => (u64::from(short), 0),
    };
    (rest.len() == extended + mask).then_some(length)
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for FrameGuard<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next
            && !self.admit(chunk)
        {
            self.failed = true;
            return Poll::Ready(Some(Err(PayloadError::Overflow)));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max: usize) -> FrameGuard<futures_util::stream::Empty<Result<Bytes, PayloadError>>> {
        FrameGuard::new(futures_util::stream::empty(), max)
    }

    fn masked_frame(payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_split() {
        let stream: Vec<u8> = [
            masked_frame(b"hi"),
            masked_frame(&[7; 300]),
            masked_frame(&[9; 1000]),
        ]
        .concat();
        for split in [1, 3, 13, 64, stream.len()] {
            let mut guard = guard(1000);
            assert!(
                stream.chunks(split).all(|chunk| guard.admit(chunk)),
                "split {split}"
            );
            assert_eq!((guard.payload_left, guard.header.len()), (0, 0));
        }
    }

    #[test]
    fn an_oversized_header_is_refused_before_its_payload() {
        let mut header = vec![0x81, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 30).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        let mut guard = guard(65536);
        assert!(guard.admit(&masked_frame(b"ok")));
        assert!(
            guard.admit(&header[..5]),
            "an incomplete header is not judged yet"
        );
        assert!(!guard.admit(&header[5..]));
        assert!(!self::guard(10).admit(&masked_frame(&[0; 126])));
    }
}
