//! An HTTP request head through the server's WebSocket upgrade check.
//! The checks live in `src/`, shared with the regression replay under `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::upgrade_request(data));
