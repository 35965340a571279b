//! The fuzz targets of the HTTP fallback transport's framing (`tickcast_shared::fallback`,
//! "HTTP fallback" in `docs/PROTOCOL.md`): the upstream batch the server splits
//! (`fallback_batch`) and the downstream stream a Rust client reassembles from body
//! chunks (`fallback_stream`, what the bots' `bot-client/src/transport.rs` does). As in
//! `decoders.rs`, one copy serves the libFuzzer targets and the plain `cargo test` replay
//! of the committed seeds and regressions (`shared/tests/fuzz_regressions.rs`); it needs only
//! `tickcast-shared`, so it can be included by path like `decoders.rs`.
//!
//! Each function takes arbitrary bytes and must return without panicking: a framing error
//! is a pass; a panic (the decoder's own, or a failed assertion here) is a finding.

use tickcast_shared::fallback::{
    BatchError, FRAME_HEADER_BYTES, KIND_CLOSE, KIND_MESSAGE, LENGTH_BYTES, StreamDecoder, StreamError, StreamFrame,
    push_batch_message, push_close_frame, push_message_frame, split_batch,
};

/// `fallback_batch`: what the server does with the body of a `POST /http/send`,
/// [`split_batch`]. Checks that a split batch is its messages back to back and re-encodes
/// ([`push_batch_message`]) to exactly its bytes, so no byte is skipped or read twice;
/// and that an error names the real place the framing broke: its fields match the
/// bytes, and everything before the broken length is a valid batch.
pub fn fallback_batch(data: &[u8]) {
    match split_batch(data) {
        Ok(ranges) => {
            assert!(
                ranges.len() <= data.len() / LENGTH_BYTES,
                "{} messages in {} bytes",
                ranges.len(),
                data.len()
            );
            let mut again = Vec::with_capacity(data.len());
            for range in ranges {
                assert_eq!(range.start, again.len() + LENGTH_BYTES, "messages are not back to back");
                let payload = data.get(range.clone()).expect("a message's range is in the batch");
                push_batch_message(&mut again, payload);
            }
            assert_eq!(again, data, "a split batch does not re-encode to its bytes");
        }
        Err(BatchError::TruncatedLength { at, total }) => {
            assert_eq!(total, data.len(), "the error names another batch's size");
            assert!(
                at < total && total - at < LENGTH_BYTES,
                "a length at byte {at} of {total} is not truncated"
            );
            assert!(
                split_batch(&data[..at]).is_ok(),
                "the bytes before byte {at} are not a batch"
            );
        }
        Err(BatchError::TruncatedMessage { length, at, total }) => {
            assert_eq!(total, data.len(), "the error names another batch's size");
            assert!(
                (LENGTH_BYTES..=total).contains(&at),
                "a payload at byte {at} of {total}"
            );
            let start = at - LENGTH_BYTES;
            assert_eq!(
                data[start..at],
                length.to_be_bytes(),
                "the error names a length not at byte {start}"
            );
            assert!(
                usize::try_from(length).map_or(true, |length| length > total - at),
                "a message of {length} bytes at byte {at} fits in {total}"
            );
            assert!(
                split_batch(&data[..start]).is_ok(),
                "the bytes before byte {start} are not a batch"
            );
        }
    }
}

/// Bytes of a [`fallback_stream`] input before the body: the chunk size and the limit.
pub const STREAM_PREFIX: usize = 2;
/// The bots' `max_frame_bytes` (`MAX_FRAME_BYTES` in `bot-client/src/transport.rs`).
pub const BOTS_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// The `max_frame_bytes` a [`fallback_stream`] input's second byte selects: 255 the bots'
/// limit, anything else 16 bytes a step (0 to 4064), so that inputs of libFuzzer's size
/// reach the limit.
pub fn stream_limit(byte: u8) -> usize {
    if byte == u8::MAX {
        BOTS_MAX_FRAME_BYTES
    } else {
        usize::from(byte) * 16
    }
}

/// `fallback_stream`: what a Rust client does with the body of `GET /http/stream`. The
/// input is `[chunk: u8][limit: u8][body...]`: the body is pushed into one
/// [`StreamDecoder`] `chunk` bytes at a time (0: all at once), the frames drained after
/// each push as the bots do, with the `max_frame_bytes` [`stream_limit`] selects. Checks:
///
/// - however the body is cut, the decoder returns the frames and then the error (or the
///   bytes left pending) that a whole-body reading of `docs/PROTOCOL.md`'s framing gives
///   (`reference_stream` here);
/// - the frames re-encode ([`push_message_frame`], [`push_close_frame`]) to exactly the
///   bytes they were read from, and those and the pending bytes are the whole body;
/// - lengths are bounded: no payload over the limit, and once drained fewer than a
///   header and a payload of the limit are held (the decoder's memory bound).
pub fn fallback_stream(data: &[u8]) {
    let Some(([chunk, limit], body)) = data.split_first_chunk::<STREAM_PREFIX>() else {
        return;
    };
    let limit = stream_limit(*limit);
    let chunk = match chunk {
        0 => body.len().max(1),
        chunk => usize::from(*chunk),
    };
    let mut decoder = StreamDecoder::new(limit);
    let mut frames = Vec::new();
    let mut end = Ok(0);
    'chunks: for piece in body.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(error) => {
                    end = Err(error);
                    break 'chunks;
                }
            }
        }
        let pending = decoder.pending_bytes();
        assert!(
            pending < FRAME_HEADER_BYTES + limit,
            "{pending} bytes held after draining, with a {limit}-byte limit"
        );
        end = Ok(pending);
    }

    let (expected_frames, expected_end) = reference_stream(body, limit);
    assert_eq!(frames, expected_frames, "the frames differ from the framing's");
    assert_eq!(end, expected_end, "the stream ends differently from the framing's");

    let mut again = Vec::with_capacity(body.len());
    for frame in &frames {
        match frame {
            StreamFrame::Message(payload) => {
                assert!(payload.len() <= limit, "a {}-byte message frame", payload.len());
                push_message_frame(&mut again, payload);
            }
            StreamFrame::Close { code, reason } => {
                assert!(2 + reason.len() <= limit, "a {}-byte close reason", reason.len());
                push_close_frame(&mut again, *code, reason);
            }
        }
    }
    assert!(
        body.starts_with(&again),
        "the frames do not re-encode to the bytes read"
    );
    if let Ok(pending) = end {
        assert_eq!(again.len() + pending, body.len(), "bytes neither returned nor pending");
    }
}

/// The downstream framing read from a whole body, straight from `docs/PROTOCOL.md`: the
/// frames, then the first error, or the bytes of an incomplete last frame.
fn reference_stream(body: &[u8], limit: usize) -> (Vec<StreamFrame>, Result<usize, StreamError>) {
    let mut frames = Vec::new();
    let mut rest = body;
    let end = loop {
        let Some(&kind) = rest.first() else {
            break Ok(0);
        };
        if matches!(frames.last(), Some(StreamFrame::Close { .. })) {
            break Err(StreamError::AfterClose);
        }
        if kind != KIND_MESSAGE && kind != KIND_CLOSE {
            break Err(StreamError::UnknownKind(kind));
        }
        let Some(header) = rest.first_chunk::<FRAME_HEADER_BYTES>() else {
            break Ok(rest.len());
        };
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let Some(payload_length) = usize::try_from(length).ok().filter(|length| *length <= limit) else {
            break Err(StreamError::TooLong { length, limit });
        };
        let Some(payload) = rest.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + payload_length) else {
            break Ok(rest.len());
        };
        if kind == KIND_MESSAGE {
            frames.push(StreamFrame::Message(payload.to_vec()));
        } else {
            let Some((code, reason)) = payload.split_first_chunk::<2>() else {
                break Err(StreamError::BadClose);
            };
            let Ok(reason) = std::str::from_utf8(reason) else {
                break Err(StreamError::BadClose);
            };
            frames.push(StreamFrame::Close {
                code: u16::from_be_bytes(*code),
                reason: reason.to_owned(),
            });
        }
        rest = &rest[FRAME_HEADER_BYTES + payload_length..];
    };
    (frames, end)
}
