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

/// Hash of one entity: CRC-32 (the common one: ISO-HDLC, as zlib and `crc32fast` compute
/// it) over its id, component count, and each component's kind, field count and fields
/// (little-endian).
///
/// Computed straight from the values, four bytes (or a component's two header bytes) at
/// a time through four lookup tables, with no buffer in between: entities are a few dozen
/// bytes, too short for the hasher's wide loops to pay for gathering the bytes first,
/// and a mirror rehashes every entity a snapshot changes. `cargo bench -p
/// tickcast-benches --bench hash` measures it against `crc32fast`; the figures are in
/// `tickcast_server::tuning`.
pub fn entity_hash(entity: &EntityState) -> u32 {
    let mut crc = Crc32::new();
    crc.word(entity.id.index());
    crc.word(entity.id.generation());
    crc.word(entity.components.len() as u32);
    for component in &entity.components {
        crc.pair(component.kind.0, component.fields.len() as u8);
        for field in &component.fields {
            crc.word(*field as u32);
        }
    }
    crc.finish()
}

/// The reflected CRC-32 polynomial.
const CRC_POLYNOMIAL: u32 = 0xEDB8_8320;

/// Slicing tables: `CRC_TABLES[k][b]` is the CRC register after byte `b` followed by `k`
/// zero bytes, so four bytes go through in four lookups.
static CRC_TABLES: [[u32; 256]; 4] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 4] {
    let mut tables = [[0u32; 256]; 4];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC_POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][byte] = crc;
        byte += 1;
    }
    let mut k = 1;
    while k < 4 {
        let mut byte = 0;
        while byte < 256 {
            let previous = tables[k - 1][byte];
            tables[k][byte] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            byte += 1;
        }
        k += 1;
    }
    tables
}

/// A CRC-32 register, fed whole little-endian values.
#[derive(Debug)]
struct Crc32(u32);

impl Crc32 {
    fn new() -> Crc32 {
        Crc32(!0)
    }

    /// Feeds the four little-endian bytes of `value`.
    #[inline(always)]
    fn word(&mut self, value: u32) {
        let x = self.0 ^ value;
        self.0 = CRC_TABLES[3][(x & 0xff) as usize]
            ^ CRC_TABLES[2][((x >> 8) & 0xff) as usize]
            ^ CRC_TABLES[1][((x >> 16) & 0xff) as usize]
            ^ CRC_TABLES[0][(x >> 24) as usize];
    }

    /// Feeds the bytes `first`, `second`.
    #[inline(always)]
    fn pair(&mut self, first: u8, second: u8) {
        let x = self.0 ^ u32::from(u16::from_le_bytes([first, second]));
        self.0 = (x >> 16) ^ CRC_TABLES[1][(x & 0xff) as usize] ^ CRC_TABLES[0][((x >> 8) & 0xff) as usize];
    }

    fn finish(self) -> u32 {
        !self.0
    }
}

/// How an entity's [`entity_hash`] changes as some of its fields change (its id and the
/// kinds and sizes of its components staying the same), fed the entity's components in
/// order, as the hash reads them, with each field's old and new value.
///
/// CRC-32 is affine over GF(2): the hashes of two equal-length inputs differ by the CRC
/// (no initial or final inversion) of the inputs' XOR. That XOR is zero up to the first
/// changed field, where the register is still zero, so the work starts there: an update
/// costs the bytes from its first changed field to the end of the entity, not all of them.
#[derive(Debug)]
pub(crate) struct HashChange(Crc32);

impl HashChange {
    /// No change yet.
    #[inline(always)]
    pub(crate) fn new() -> HashChange {
        HashChange(Crc32(0))
    }

    /// The next component's header (kind and field count, unchanged).
    #[inline(always)]
    pub(crate) fn component(&mut self) {
        if self.0.0 != 0 {
            self.0.pair(0, 0);
        }
    }

    /// The next field, which was `old` and is now `new`.
    #[inline(always)]
    pub(crate) fn field(&mut self, old: i32, new: i32) {
        let difference = (old ^ new) as u32;
        // A zero register stays zero through zero bytes.
        if self.0.0 != 0 || difference != 0 {
            self.0.word(difference);
        }
    }

    /// The hash of the changed entity, given its hash before (after feeding every
    /// component, the unchanged ones after the last change included).
    #[inline(always)]
    pub(crate) fn rehash(self, before: u32) -> u32 {
        before ^ self.0.0
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
        /// Any shape, up to 40 components of 20 fields: the same hash as `crc32fast` over
        /// the bytes.
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

    proptest! {
        /// Whatever fields change (some, all, none, to anything), the hash changed field
        /// by field is the hash of the changed entity.
        #[test]
        fn a_hash_changed_field_by_field_is_the_new_entity_hash(
            index in any::<u32>(),
            components in prop::collection::vec(
                (any::<u8>(), prop::collection::vec((any::<i32>(), prop_oneof![Just(None), any::<i32>().prop_map(Some)]), 0..12)),
                0..8,
            ),
        ) {
            let entity = |new: bool| EntityState {
                id: NetId::from_parts(index, 3),
                components: components
                    .iter()
                    .map(|(kind, fields)| ComponentState {
                        kind: ComponentKind(*kind),
                        fields: fields.iter().map(|(old, change)| if new { change.unwrap_or(*old) } else { *old }).collect(),
                    })
                    .collect(),
            };
            let mut change = HashChange::new();
            for (_, fields) in &components {
                change.component();
                for (old, new) in fields {
                    change.field(*old, new.unwrap_or(*old));
                }
            }
            prop_assert_eq!(change.rehash(entity_hash(&entity(false))), entity_hash(&entity(true)));
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
