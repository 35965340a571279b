//! A stream of snapshot frames applied to a ClientMirror, against decode_body + apply.
//! The checks live in `src/`, shared with the regression replay under `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::snapshot_apply(data));
