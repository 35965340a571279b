//! Declared replication: how a game's component becomes wire fields and back.
//!
//! A game implements [`Replicate`] once per replicated component (its kind and its
//! quantizer) and registers it with the server's replication registry. The engine
//! then captures, diffs, encodes and mirrors it without knowing its type, and announces
//! its declared fields to clients ([`crate::schema`]).

use crate::schema::FieldDecl;
use crate::state::{ComponentKind, Fields};

/// A component that is replicated to clients.
///
/// `quantize` runs once per snapshot on the server; `dequantize` runs on clients. For any
/// value `v`, `dequantize(quantize(v))` is the value clients see, and quantizing that
/// again gives the same fields (quantization is idempotent), so a server that snaps its
/// own state to the quantized grid stays in step with its clients.
pub trait Replicate: Sized {
    /// The component's wire identity; unique within a game.
    const KIND: ComponentKind;

    /// The component's name, announced to clients in the `Welcome` schema.
    const NAME: &'static str;

    /// What each quantized field means, in the order `quantize` writes them: announced
    /// in the `Welcome` schema, so generic clients turn fields into world values.
    const FIELDS: &'static [FieldDecl];

    /// Appends this value's quantized fields to `out` (which arrives empty).
    fn quantize(&self, out: &mut Fields);

    /// Rebuilds a value from fields, or `None` if they are not a valid encoding.
    fn dequantize(fields: &[i32]) -> Option<Self>;
}
