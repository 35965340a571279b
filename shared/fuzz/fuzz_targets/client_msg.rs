//! A client frame as the server decodes it (ClientMsg::decode, then validate).
//! The checks live in `src/`, shared with the regression replay under `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tickcast_fuzz::client_msg(data));
