//! The replicated state of a world, as the wire sees it.
//!
//! Every replicated component is quantized once, when the server captures a snapshot,
//! into a short list of integer [`Fields`]. From then on the engine only compares and
//! copies integers: diffs are exact, the client mirror holds bit-for-bit what the server
//! captured, and checksums over both agree. The engine never needs to know a component's
//! Rust type, which is what lets a game add components without touching the engine.

use crate::net_id::NetId;
use smallvec::SmallVec;
use std::fmt;

/// Identifies a replicated component type on the wire; a game assigns one per component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentKind(pub u8);

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "component {}", self.0)
    }
}

/// A component's quantized value: up to four fields inline, more spill to the heap.
pub type Fields = SmallVec<[i32; 4]>;

/// One replicated component of one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentState {
    /// Which component this is.
    pub kind: ComponentKind,
    /// Its quantized value, in the layout its [`crate::Replicate`] impl defines.
    pub fields: Fields,
}

/// Components of one entity, sorted by kind, at most one of each kind.
pub type Components = SmallVec<[ComponentState; 4]>;

/// One replicated entity: its identity and its components sorted by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityState {
    /// The entity's network identity.
    pub id: NetId,
    /// Its replicated components, sorted by [`ComponentKind`].
    pub components: Components,
}

impl EntityState {
    /// The component of `kind`, if the entity has it.
    pub fn component(&self, kind: ComponentKind) -> Option<&ComponentState> {
        self.components
            .binary_search_by_key(&kind, |c| c.kind)
            .ok()
            .map(|at| &self.components[at])
    }

    /// Decodes the component `T`, if present and well formed.
    pub fn get<T: crate::Replicate>(&self) -> Option<T> {
        self.component(T::KIND).and_then(|c| T::dequantize(&c.fields))
    }

    /// Whether the components are strictly sorted by kind (no duplicates).
    pub fn is_well_formed(&self) -> bool {
        self.components.windows(2).all(|w| w[0].kind < w[1].kind)
    }
}

/// Hash of one entity: CRC-32 over its id, component count, and each component's kind,
/// field count and fields (little-endian).
///
/// The bytes are gathered into a stack buffer and hashed in one call (the hasher's
/// per-call overhead dominated for such short inputs); entities too large for the buffer
/// are hashed a bufferful at a time, with the same result.
pub fn entity_hash(entity: &EntityState) -> u32 {
    let mut bytes = HashBuffer::new();
    bytes.push(entity.id.index().to_le_bytes());
    bytes.push(entity.id.generation().to_le_bytes());
    bytes.push((entity.components.len() as u32).to_le_bytes());
    for component in &entity.components {
        bytes.push([component.kind.0, component.fields.len() as u8]);
        for field in &component.fields {
            bytes.push(field.to_le_bytes());
        }
    }
    bytes.finish()
}

/// [`entity_hash`]'s input gathered on the stack in fixed-size pieces (so each copy is a
/// plain store, not a `memcpy` call), fed to the hasher whenever it fills.
struct HashBuffer {
    hasher: crc32fast::Hasher,
    buffer: [u8; 128],
    length: usize,
}

impl HashBuffer {
    fn new() -> HashBuffer {
        HashBuffer {
            hasher: crc32fast::Hasher::new(),
            buffer: [0; 128],
            length: 0,
        }
    }

    #[inline(always)]
    fn push<const N: usize>(&mut self, piece: [u8; N]) {
        if self.length + N > self.buffer.len() {
            self.hasher.update(&self.buffer[..self.length]);
            self.length = 0;
        }
        self.buffer[self.length..self.length + N].copy_from_slice(&piece);
        self.length += N;
    }

    fn finish(mut self) -> u32 {
        self.hasher.update(&self.buffer[..self.length]);
        self.hasher.finalize()
    }
}

/// Checksum of a client-visible world: the wrapping sum of [`entity_hash`] over its
/// entities.
///
/// The server sends it with a snapshot; the client keeps the same sum over its mirror
/// after applying that snapshot. A sum (not a hash of the whole) so that both sides can
/// update it in O(changed entities) instead of rehashing everything they hold.
pub fn checksum<'a>(entities: impl IntoIterator<Item = &'a EntityState>) -> u32 {
    entities
        .into_iter()
        .fold(0u32, |sum, entity| sum.wrapping_add(entity_hash(entity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, one hasher update per piece.
    fn reference_hash(entity: &EntityState) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&entity.id.index().to_le_bytes());
        hasher.update(&entity.id.generation().to_le_bytes());
        hasher.update(&(entity.components.len() as u32).to_le_bytes());
        for component in &entity.components {
            hasher.update(&[component.kind.0, component.fields.len() as u8]);
            for field in &component.fields {
                hasher.update(&field.to_le_bytes());
            }
        }
        hasher.finalize()
    }

    proptest! {
        /// Small entities fit the stack buffer; large ones (up to 40 components of 20
        /// fields, far past it) are hashed in pieces: the same hash either way.
        #[test]
        fn entity_hash_matches_its_definition(
            index in any::<u32>(),
            generation in 0u32..1000,
            components in prop::collection::vec((any::<u8>(), prop::collection::vec(any::<i32>(), 0..20)), 0..40),
        ) {
            let entity = EntityState {
                id: NetId::from_parts(index, generation * 2 + 1),
                components: components
                    .into_iter()
                    .map(|(kind, fields)| ComponentState { kind: ComponentKind(kind), fields: fields.into_iter().collect() })
                    .collect(),
            };
            prop_assert_eq!(entity_hash(&entity), reference_hash(&entity));
        }
    }

    #[test]
    fn a_known_entity_hashes_as_the_protocol_says() {
        // CRC-32 of the little-endian bytes 1,0,0,0 | 1,0,0,0 | 0,0,0,0: index 1,
        // generation 1, no components.
        let entity = EntityState {
            id: NetId::from_parts(1, 1),
            components: Components::new(),
        };
        assert_eq!(
            entity_hash(&entity),
            crc32fast::hash(&[1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        );
    }
}
