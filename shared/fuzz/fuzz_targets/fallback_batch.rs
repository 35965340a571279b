//! An HTTP fallback batch (the body of `POST /http/send`) as the server splits it.
//! The checks live in `src/`, shared with the regression replay under `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::fallback_batch(data));
