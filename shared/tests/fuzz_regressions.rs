//! Replays the fuzz targets' committed inputs under plain `cargo test`, with no nightly and
//! no libFuzzer: every file of `shared/fuzz/regressions/<target>/` (crash inputs kept as
//! regression tests) and of `shared/fuzz/seeds/<target>/` goes through the same calls and
//! checks as the fuzz target (`shared/fuzz/src/decoders.rs` and, for the HTTP fallback's
//! framing, `shared/fuzz/src/fallback.rs`, included here by path). The `upgrade_request`
//! target needs the server and is replayed by `.ci/fuzz.sh` only. See `docs/FUZZING.md`.

#[path = "../fuzz/src/decoders.rs"]
mod decoders;
#[path = "../fuzz/src/fallback.rs"]
mod fallback;

use fallback::{STREAM_PREFIX, fallback_batch, fallback_stream, stream_limit};
use tickcast_shared::fallback::{push_batch_message, push_close_frame, push_message_frame};

use std::path::Path;

/// Runs `check` on every file under `fuzz/<kind>/<target>/`, naming the file on a panic;
/// returns how many files there were.
fn replay(kind: &str, target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.is_file()
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    for path in &paths {
        let bytes = std::fs::read(path).expect("read an input");
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(
            outcome.is_ok(),
            "{} fails: replay it with .ci/fuzz.sh or see docs/FUZZING.md",
            path.display()
        );
    }
    paths.len()
}

#[test]
fn client_msg_inputs_pass() {
    replay("regressions", "client_msg", decoders::client_msg);
    assert!(
        replay("seeds", "client_msg", decoders::client_msg) > 0,
        "no seeds found"
    );
}

#[test]
fn server_msg_inputs_pass() {
    replay("regressions", "server_msg", decoders::server_msg);
    assert!(
        replay("seeds", "server_msg", decoders::server_msg) > 0,
        "no seeds found"
    );
}

#[test]
fn snapshot_apply_inputs_pass() {
    replay("regressions", "snapshot_apply", decoders::snapshot_apply);
    assert!(
        replay("seeds", "snapshot_apply", decoders::snapshot_apply) > 0,
        "no seeds found"
    );
}

#[test]
fn fallback_batch_inputs_pass() {
    replay("regressions", "fallback_batch", fallback_batch);
    assert!(replay("seeds", "fallback_batch", fallback_batch) > 0, "no seeds found");
}

#[test]
fn fallback_stream_inputs_pass() {
    replay("regressions", "fallback_stream", fallback_stream);
    assert!(
        replay("seeds", "fallback_stream", fallback_stream) > 0,
        "no seeds found"
    );
}

/// The targets' checks hold on every cut of a body that has every kind of frame and
/// every kind of break, and on every prefix of a batch: what the fuzzer starts from,
/// exhaustively.
#[test]
fn every_cut_and_prefix_passes() {
    let mut batch = Vec::new();
    push_batch_message(&mut batch, b"hello");
    push_batch_message(&mut batch, b"");
    push_batch_message(&mut batch, &[7; 40]);
    for end in 0..=batch.len() {
        fallback_batch(&batch[..end]);
    }

    let mut body = Vec::new();
    push_message_frame(&mut body, b"welcome");
    push_message_frame(&mut body, &[1; 100]);
    push_close_frame(&mut body, 1008, "input flood");
    body.push(1);
    for limit in [0, 1, 2, 7, 16, 112, 255] {
        for chunk in 0..=u8::try_from(body.len()).expect("a short body") {
            for end in 0..=body.len() {
                let mut input = vec![chunk, limit];
                input.extend_from_slice(&body[..end]);
                assert_eq!(input.len(), STREAM_PREFIX + end);
                fallback_stream(&input);
            }
        }
        // A payload of exactly the limit: the boundary of `TooLong`.
        let fits = stream_limit(limit).min(1000);
        let mut at_limit = vec![0, limit];
        push_message_frame(&mut at_limit, &vec![0; fits]);
        fallback_stream(&at_limit);
    }
    // Bytes that are not UTF-8 in a close reason, and an unknown kind.
    fallback_stream(&[0, 1, 2, 0, 0, 0, 4, 0x03, 0xe8, 0xff, 0xfe]);
    fallback_stream(&[3, 1, 9, 0, 0, 0, 0]);
}
