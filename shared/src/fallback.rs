//! The HTTP fallback transport's framing (see "HTTP fallback" in `docs/PROTOCOL.md`):
//! how the same binary messages the WebSocket carries travel over plain HTTP when a
//! network blocks WebSocket upgrades. Bytes in, bytes out; the server and the bots share
//! it, and the TypeScript SDK implements the same.
//!
//! - **Upstream** (`POST /http/send`): a *batch*, client messages one after another,
//!   each as `[length: u32 big-endian][payload]` ([`push_batch_message`],
//!   [`split_batch`]).
//! - **Downstream** (`GET /http/stream`): a streamed body of *frames*,
//!   `[kind: u8][length: u32 big-endian][payload]`: kind [`KIND_MESSAGE`] holds one
//!   server message (a WebSocket binary frame's payload), kind [`KIND_CLOSE`] the close
//!   code (`u16` big-endian) and the UTF-8 reason the WebSocket would have closed with,
//!   and is the last frame ([`push_message_frame`], [`push_close_frame`],
//!   [`StreamDecoder`]).
//!
//! Nothing here panics on any input: every length is checked against what is there.

use std::ops::Range;
use thiserror::Error;

/// Downstream frame kind: one server message.
pub const KIND_MESSAGE: u8 = 1;
/// Downstream frame kind: the session's close, with code and reason; the last frame.
pub const KIND_CLOSE: u8 = 2;
/// Bytes of a downstream frame's header: kind and length.
pub const FRAME_HEADER_BYTES: usize = 5;
/// Bytes of an upstream message's length prefix.
pub const LENGTH_BYTES: usize = 4;

/// Appends one client message to an upstream batch.
pub fn push_batch_message(batch: &mut Vec<u8>, payload: &[u8]) {
    batch.extend_from_slice(&wire_length(payload.len()).to_be_bytes());
    batch.extend_from_slice(payload);
}

/// A length as the 4-byte field carries it; a payload past 4 GiB (never made here:
/// messages are bytes to kilobytes) would saturate and then fail the reader's checks.
fn wire_length(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// Why an upstream batch is not a sequence of length-prefixed messages.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer than 4 bytes left where a length must start.
    #[error("truncated length at byte {at} of {total}")]
    TruncatedLength {
        /// Where the length starts.
        at: usize,
        /// The batch's size.
        total: usize,
    },
    /// A length that runs past the end of the batch.
    #[error("a message of {length} bytes at byte {at} runs past the end of the {total}-byte batch")]
    TruncatedMessage {
        /// The length read.
        length: u32,
        /// Where the message's payload starts.
        at: usize,
        /// The batch's size.
        total: usize,
    },
}

/// The byte ranges of the messages in `batch`, in order; an error if its framing is
/// broken anywhere (then none of it should be used). An empty batch holds no messages.
pub fn split_batch(batch: &[u8]) -> Result<Vec<Range<usize>>, BatchError> {
    let mut messages = Vec::new();
    let mut at = 0;
    while at < batch.len() {
        let length = read_u32(batch, at).ok_or(BatchError::TruncatedLength { at, total: batch.len() })?;
        let start = at + LENGTH_BYTES;
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| start.checked_add(length))
            .filter(|end| *end <= batch.len())
            .ok_or(BatchError::TruncatedMessage {
                length,
                at: start,
                total: batch.len(),
            })?;
        messages.push(start..end);
        at = end;
    }
    Ok(messages)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at.checked_add(LENGTH_BYTES)?)?;
    Some(u32::from_be_bytes(field.try_into().ok()?))
}

/// Appends a kind-1 frame carrying one server message.
pub fn push_message_frame(stream: &mut Vec<u8>, payload: &[u8]) {
    stream.push(KIND_MESSAGE);
    stream.extend_from_slice(&wire_length(payload.len()).to_be_bytes());
    stream.extend_from_slice(payload);
}

/// Appends the kind-2 frame that ends a stream: the close code and reason.
pub fn push_close_frame(stream: &mut Vec<u8>, code: u16, reason: &str) {
    stream.push(KIND_CLOSE);
    stream.extend_from_slice(&wire_length(2 + reason.len()).to_be_bytes());
    stream.extend_from_slice(&code.to_be_bytes());
    stream.extend_from_slice(reason.as_bytes());
}

/// One downstream frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamFrame {
    /// A server message: the bytes of one WebSocket binary frame.
    Message(Vec<u8>),
    /// The session closed with this code and reason; nothing follows.
    Close {
        /// The WebSocket close code.
        code: u16,
        /// Why.
        reason: String,
    },
}

/// Why a downstream body is not a sequence of frames.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StreamError {
    /// A kind other than 1 or 2.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// A frame longer than the decoder accepts.
    #[error("a frame of {length} bytes is over the {limit}-byte limit")]
    TooLong {
        /// The length read.
        length: u32,
        /// The decoder's limit.
        limit: usize,
    },
    /// A close frame shorter than its code, or whose reason is not UTF-8.
    #[error("malformed close frame")]
    BadClose,
    /// A frame after the close frame.
    #[error("a frame after the close")]
    AfterClose,
}

/// Reassembles downstream frames from body chunks as they arrive, however the chunks
/// cut them. Holds at most one frame's bytes (bounded by its `max_frame_bytes`).
#[derive(Debug)]
pub struct StreamDecoder {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already returned as frames.
    consumed: usize,
    max_frame_bytes: usize,
    closed: bool,
}

impl StreamDecoder {
    /// A decoder refusing frames over `max_frame_bytes` of payload.
    pub fn new(max_frame_bytes: usize) -> StreamDecoder {
        StreamDecoder {
            buffer: Vec::new(),
            consumed: 0,
            max_frame_bytes,
            closed: false,
        }
    }

    /// Adds a chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.consumed > 0 {
            self.buffer.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<StreamFrame>, StreamError> {
        let rest = &self.buffer[self.consumed..];
        let Some(&kind) = rest.first() else {
            return Ok(None);
        };
        if self.closed {
            return Err(StreamError::AfterClose);
        }
        if kind != KIND_MESSAGE && kind != KIND_CLOSE {
            return Err(StreamError::UnknownKind(kind));
        }
        let Some(length) = read_u32(rest, 1) else {
            return Ok(None);
        };
        let payload_length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.max_frame_bytes)
            .ok_or(StreamError::TooLong {
                length,
                limit: self.max_frame_bytes,
            })?;
        let Some(payload) = rest.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + payload_length) else {
            return Ok(None);
        };
        let frame = if kind == KIND_MESSAGE {
            StreamFrame::Message(payload.to_vec())
        } else {
            let (code, reason) = payload.split_first_chunk::<2>().ok_or(StreamError::BadClose)?;
            let reason = std::str::from_utf8(reason).map_err(|_| StreamError::BadClose)?;
            self.closed = true;
            StreamFrame::Close {
                code: u16::from_be_bytes(*code),
                reason: reason.to_owned(),
            }
        };
        self.consumed += FRAME_HEADER_BYTES + payload_length;
        Ok(Some(frame))
    }

    /// Bytes received and not yet returned as a frame: a body that ends with some left
    /// was cut mid-frame.
    pub fn pending_bytes(&self) -> usize {
        self.buffer.len() - self.consumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_batch_splits_into_its_messages_and_broken_framing_is_named() {
        let mut batch = Vec::new();
        push_batch_message(&mut batch, b"hello");
        push_batch_message(&mut batch, b"");
        push_batch_message(&mut batch, &[7; 300]);
        let ranges = split_batch(&batch).unwrap();
        let messages: Vec<&[u8]> = ranges.into_iter().map(|range| &batch[range]).collect();
        assert_eq!(messages, [&b"hello"[..], b"", &[7; 300][..]]);
        assert_eq!(split_batch(&[]), Ok(Vec::new()));
        assert_eq!(
            split_batch(&[0, 0, 1]),
            Err(BatchError::TruncatedLength { at: 0, total: 3 })
        );
        assert_eq!(
            split_batch(&[0, 0, 0, 9, 1, 2]).unwrap_err().to_string(),
            "a message of 9 bytes at byte 4 runs past the end of the 6-byte batch"
        );
        assert_eq!(
            split_batch(&[0xff, 0xff, 0xff, 0xff]),
            Err(BatchError::TruncatedMessage {
                length: u32::MAX,
                at: 4,
                total: 4
            })
        );
    }

    #[test]
    fn frames_come_out_whole_however_the_body_is_cut() {
        let mut body = Vec::new();
        push_message_frame(&mut body, b"welcome");
        push_message_frame(&mut body, &[1; 1000]);
        push_close_frame(&mut body, 1008, "input flood: more than 240 inputs in one second");
        for cut in [1, 2, 3, 5, 7, 64, body.len()] {
            let mut decoder = StreamDecoder::new(4096);
            let mut frames = Vec::new();
            for chunk in body.chunks(cut) {
                decoder.push(chunk);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    frames.push(frame);
                }
            }
            assert_eq!(decoder.pending_bytes(), 0);
            assert_eq!(
                frames,
                [
                    StreamFrame::Message(b"welcome".to_vec()),
                    StreamFrame::Message(vec![1; 1000]),
                    StreamFrame::Close {
                        code: 1008,
                        reason: "input flood: more than 240 inputs in one second".to_owned()
                    }
                ],
                "cut every {cut} bytes"
            );
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        let decode = |bytes: &[u8]| {
            let mut decoder = StreamDecoder::new(16);
            decoder.push(bytes);
            decoder.next_frame()
        };
        assert_eq!(decode(&[3, 0, 0, 0, 0]), Err(StreamError::UnknownKind(3)));
        assert_eq!(
            decode(&[1, 0, 0, 0, 17]),
            Err(StreamError::TooLong { length: 17, limit: 16 })
        );
        assert_eq!(decode(&[2, 0, 0, 0, 1, 3]), Err(StreamError::BadClose));
        assert_eq!(decode(&[2, 0, 0, 0, 3, 3, 0xe8, 0xff]), Err(StreamError::BadClose));
        assert_eq!(decode(&[1, 0, 0]), Ok(None), "a header still coming");
        let mut after = Vec::new();
        push_close_frame(&mut after, 1000, "");
        push_message_frame(&mut after, b"late");
        let mut decoder = StreamDecoder::new(16);
        decoder.push(&after);
        assert!(matches!(
            decoder.next_frame(),
            Ok(Some(StreamFrame::Close { code: 1000, .. }))
        ));
        assert_eq!(decoder.next_frame(), Err(StreamError::AfterClose));
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), cut in 1usize..8) {
            let _ = split_batch(&bytes);
            let mut decoder = StreamDecoder::new(32);
            for chunk in bytes.chunks(cut) {
                decoder.push(chunk);
                while let Ok(Some(_)) = decoder.next_frame() {}
            }
        }

        #[test]
        fn batches_round_trip(messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..10)) {
            let mut batch = Vec::new();
            for message in &messages {
                push_batch_message(&mut batch, message);
            }
            let back: Vec<Vec<u8>> = split_batch(&batch).unwrap().into_iter().map(|range| batch[range].to_vec()).collect();
            prop_assert_eq!(back, messages);
        }
    }
}
