//! An HTTP fallback stream (the body of `GET /http/stream`) as a Rust client reassembles
//! it from chunks. The checks live in `src/`, shared with the regression replay under
//! `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::fallback_stream(data));
