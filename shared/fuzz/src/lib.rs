//! tickcast's libFuzzer targets, as plain functions of the input bytes: each file in
//! `fuzz_targets/` is one line calling one of these. See `docs/FUZZING.md`.

pub mod decoders;
#[cfg(feature = "server")]
pub mod upgrade;

pub use decoders::{client_msg, server_msg, snapshot_apply};
#[cfg(feature = "server")]
pub use upgrade::upgrade_request;
