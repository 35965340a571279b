//! A server frame as a client decodes it (ServerMsg::decode, then a first snapshot applied).
//! The checks live in `src/`, shared with the regression replay under `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::server_msg(data));
