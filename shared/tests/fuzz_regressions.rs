//! Replays the fuzz targets' committed inputs under plain `cargo test`, with no nightly and
//! no libFuzzer: every file of `shared/fuzz/regressions/<target>/` (crash inputs kept as
//! regression tests) and of `shared/fuzz/seeds/<target>/` goes through the same calls and
//! checks as the fuzz target (`shared/fuzz/src/decoders.rs`, included here by path). The
//! `upgrade_request` target needs the server and is replayed by `.ci/fuzz.sh` only.
//! See `docs/FUZZING.md`.

#[path = "../fuzz/src/decoders.rs"]
mod decoders;

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
