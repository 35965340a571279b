//! tickcast's libFuzzer targets, as plain functions of the input bytes: each file in
//! `fuzz_targets/` is one line calling one of these. See `docs/FUZZING.md`.

pub mod decoders;
pub mod fallback;
#[cfg(feature = "server")]
pub mod upgrade;

pub use decoders::{client_msg, server_msg, snapshot_apply};
pub use fallback::{fallback_batch, fallback_stream};
#[cfg(feature = "server")]
pub use upgrade::upgrade_request;
