//! tickcast-shared: everything client and server agree on, with no IO, no clock and no
//! async runtime. Bytes in, bytes out: every piece here is tested without a socket.
//!
//! - [`tick`]: `Tick(u32)` with wrapping order.
//! - [`net_id`]: `NetId`, the wire identity of a replicated entity.
//! - [`state`]: quantized entity state and its checksum.
//! - [`replicate`]: the `Replicate` trait a game implements per component.
//! - [`schema`]: what components' fields and inputs mean, announced in the `Welcome`.
//! - [`quantize`]: configurable quantizers (scalar, Vec2/Vec3, angle, smallest-three quaternion).
//! - [`bits`]: the bit writer and reader under the snapshot body.
//! - [`delta`]: `diff`, `apply` and the bit-packed body.
//! - [`input`]: inputs as the game declares them, their wire form and validation.
//! - [`protocol`]: the messages and their MessagePack encoding.
//! - [`fallback`]: the HTTP fallback transport's framing (batches up, frames down).
//! - [`mirror`]: the client's copy of the world.
//! - [`arena`]: wire types of the reference game.
//! - [`cubes`]: the input of "cubes", the 3D game.

pub mod arena;
pub mod bits;
pub mod cubes;
pub mod delta;
pub mod fallback;
pub mod input;
pub mod mirror;
pub mod net_id;
pub mod protocol;
pub mod quantize;
pub mod replicate;
pub mod schema;
pub mod state;
pub mod tick;

pub use delta::{
    ApplyError, BodyError, BodyWriter, Coding, Delta, EncodedUpdate, EntityDiff, EntityUpdate, FieldDelta, HeldEntity,
    HeldShape, HeldStore, apply, apply_body, diff, diff_entity, diff_into, encode_body, spawn_cost_bits,
    update_cost_bits,
};
#[cfg(any(test, feature = "reference"))]
pub use delta::{DecodedBody, decode_body};
pub use input::{GameInput, Input, InputError, InputField, InputKind};
pub use mirror::{Applied, ClientMirror, MirrorError};
pub use net_id::NetId;
pub use protocol::{
    ClientMsg, DecodeError, EncodeError, Hello, InputAck, PROTOCOL_VERSION, ServerMsg, SnapshotFrame, Spectate, Welcome,
};
pub use replicate::Replicate;
pub use schema::{ComponentSchema, FieldDecl, FieldSchema, InputFieldSchema, Schema};
pub use state::{ComponentKind, ComponentState, Components, EntityState, Fields, checksum, entity_hash};
pub use tick::Tick;
