//! The delta codec: [`diff`] and [`apply`] as pure functions, and the bit-packed body
//! they travel in: one encoder ([`BodyWriter`], with [`encode_body`] its one-call form)
//! and one decoder ([`apply_body`], which decodes and applies in one pass).
//!
//! A delta takes a client from the state it holds (its baseline) to a target state:
//! - `despawns`: entities to drop;
//! - `updates`: field-level changes to held entities (only the fields that changed, each
//!   as the wrapping difference `current - baseline`, which is small for smooth motion);
//! - `spawns`: entities sent whole; a spawn of a held entity replaces it (used when an
//!   entity's set of components changed).
//!
//! `apply(baseline, diff(baseline, current)) == current` is property-tested below, and so
//! is the trip through the bit-packed body. `docs/PROTOCOL.md` specifies the body's bits.
//!
//! [`apply_body`] is what a `ClientMirror` runs: each entity is looked up once, each
//! update's fields change as they are read, and only the changed part of the entity's
//! hash is recomputed. Property tests and the fuzz targets hold it to a slow reference,
//! `decode_body` then [`apply`] (built for tests, and with the `reference` feature).

use crate::bits::{BitError, BitReader, BitWriter, exp_golomb_len, zigzag};
use crate::net_id::NetId;
use crate::state::{ComponentKind, ComponentState, EntityState, Fields, HashChange, entity_hash};
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use thiserror::Error;

/// Exp-Golomb order for field deltas and values: 3 bits cover -2..=1, 5 bits -6..=5.
const FIELD_ORDER: u32 = 2;

/// One changed field of a held entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDelta {
    /// Position of the component in the entity's kind-sorted component list.
    pub component: u8,
    /// Position of the field within the component.
    pub field: u8,
    /// `current - baseline`, wrapping.
    pub delta: i32,
}

/// Field-level changes to one held entity, sorted by (component, field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityUpdate {
    /// The entity.
    pub id: NetId,
    /// Its changed fields.
    pub changes: SmallVec<[FieldDelta; 4]>,
}

impl EntityUpdate {
    /// Bit length of the summed absolute field deltas: a cheap measure of how large the
    /// change is (0 for none, 32 for the largest), for prioritising.
    #[inline]
    pub fn magnitude_bits(&self) -> u8 {
        let magnitude = self
            .changes
            .iter()
            .fold(0u32, |sum, change| sum.saturating_add(change.delta.unsigned_abs()));
        (u32::BITS - magnitude.leading_zeros()) as u8
    }
}

/// What changed between two states of a client's view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Entities to drop, sorted by `NetId`.
    pub despawns: Vec<NetId>,
    /// Held entities with changed fields, sorted by `NetId`.
    pub updates: Vec<EntityUpdate>,
    /// Entities sent whole (new, or replacing a held one), sorted by `NetId`.
    pub spawns: Vec<EntityState>,
}

impl Delta {
    /// Whether applying this delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.spawns.is_empty() && self.updates.is_empty() && self.despawns.is_empty()
    }

    /// Entities spawned, updated or despawned.
    pub fn entities_changed(&self) -> usize {
        self.spawns.len() + self.updates.len() + self.despawns.len()
    }

    /// Empties the delta, keeping its allocations.
    pub fn clear(&mut self) {
        self.spawns.clear();
        self.updates.clear();
        self.despawns.clear();
    }
}

/// How one entity differs between two states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityDiff {
    /// Identical.
    Same,
    /// Same components with some fields changed.
    Update(EntityUpdate),
    /// The set or shape of components changed: send it whole.
    Replace,
}

/// Compares one entity's two states (same `NetId`), in one pass over the fields.
pub fn diff_entity(before: &EntityState, after: &EntityState) -> EntityDiff {
    if before.components.len() != after.components.len() {
        return EntityDiff::Replace;
    }
    let mut update = EntityUpdate {
        id: after.id,
        changes: SmallVec::new(),
    };
    for (component, (a, b)) in before.components.iter().zip(&after.components).enumerate() {
        if a.kind != b.kind || a.fields.len() != b.fields.len() {
            return EntityDiff::Replace;
        }
        for (field, (old, new)) in a.fields.iter().zip(&b.fields).enumerate() {
            if old != new {
                update.changes.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta: new.wrapping_sub(*old),
                });
            }
        }
    }
    if update.changes.is_empty() {
        EntityDiff::Same
    } else {
        EntityDiff::Update(update)
    }
}

/// Computes the delta from `baseline` to `current`; both sorted by `NetId`.
pub fn diff(baseline: &[EntityState], current: &[EntityState]) -> Delta {
    let mut delta = Delta::default();
    diff_into(baseline, current, &mut delta);
    delta
}

/// [`diff`] into an existing delta (cleared first), reusing its allocations.
pub fn diff_into(baseline: &[EntityState], current: &[EntityState], delta: &mut Delta) {
    delta.clear();
    let (mut old, mut new) = (baseline.iter().peekable(), current.iter().peekable());
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(before), Some(after)) => before.id.cmp(&after.id),
        };
        match order {
            Ordering::Less => delta.despawns.extend(old.next().map(|e| e.id)),
            Ordering::Greater => delta.spawns.extend(new.next().cloned()),
            Ordering::Equal => {
                let (Some(before), Some(after)) = (old.next(), new.next()) else {
                    break;
                };
                match diff_entity(before, after) {
                    EntityDiff::Same => {}
                    EntityDiff::Update(update) => delta.updates.push(update),
                    EntityDiff::Replace => delta.spawns.push(after.clone()),
                }
            }
        }
    }
}

/// Bits an index gap is assumed to cost when budgeting (the real cost depends on which
/// other entities go in the same body; gaps under 31 cost at most this).
pub const ASSUMED_INDEX_GAP_BITS: usize = 9;

/// Bits `update` will cost in a body (index gap estimated), for byte budgeting.
pub fn update_cost_bits(update: &EntityUpdate, held: &EntityState) -> usize {
    let mut bits = ASSUMED_INDEX_GAP_BITS + held.components.len();
    let mut last_component = None;
    for change in &update.changes {
        if last_component != Some(change.component) {
            last_component = Some(change.component);
            bits += held
                .components
                .get(usize::from(change.component))
                .map_or(0, |c| c.fields.len());
        }
        bits += exp_golomb_len(zigzag(change.delta), FIELD_ORDER) as usize;
    }
    bits
}

/// Bits spawning `entity` will cost in a body (index gap estimated).
pub fn spawn_cost_bits(entity: &EntityState) -> usize {
    let mut bits = ASSUMED_INDEX_GAP_BITS
        + exp_golomb_len(entity.id.generation() >> 1, 0) as usize
        + exp_golomb_len(entity.components.len() as u32, 0) as usize;
    let mut next_kind = 0u32;
    for component in &entity.components {
        let kind = u32::from(component.kind.0);
        bits += exp_golomb_len(kind.wrapping_sub(next_kind), 0) as usize;
        next_kind = kind + 1;
        bits += exp_golomb_len(component.fields.len() as u32, 0) as usize;
        bits += component
            .fields
            .iter()
            .map(|v| exp_golomb_len(zigzag(*v), FIELD_ORDER) as usize)
            .sum::<usize>();
    }
    bits
}

/// Bits despawning an entity costs (index gap estimated).
pub const DESPAWN_COST_BITS: usize = ASSUMED_INDEX_GAP_BITS;

/// Why a delta could not be applied: the client does not hold the state the delta was
/// taken against. Any of these means client and server have diverged.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApplyError {
    /// An update or despawn named an entity the mirror does not hold.
    #[error("entity {0} is not in the mirror")]
    UnknownEntity(NetId),
    /// An update named a component or field the entity does not have.
    #[error("entity {0} has no such component or field")]
    NoSuchField(NetId),
    /// A spawned entity has components out of order or duplicated.
    #[error("entity {0} has unsorted or duplicate components")]
    MalformedEntity(NetId),
}

/// An entity as a mirror holds it: its state and the hash the checksum sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldEntity {
    /// The state.
    pub state: EntityState,
    /// [`entity_hash`] of `state`.
    pub hash: u32,
}

impl HeldEntity {
    /// Wraps a state, hashing it.
    pub fn new(state: EntityState) -> HeldEntity {
        let hash = entity_hash(&state);
        HeldEntity { state, hash }
    }
}

/// Where a predicted body finds each entity's motion: the updates the receiver applied
/// in its previous frame (the `Delta` that frame's body decoded to; empty after an idle
/// frame), walked in `NetId` order as the body's updates come.
#[derive(Debug)]
struct Motions<'a> {
    updates: &'a [EntityUpdate],
    at: usize,
}

impl<'a> Motions<'a> {
    fn new(previous: &'a Delta) -> Motions<'a> {
        Motions {
            updates: &previous.updates,
            at: 0,
        }
    }

    /// The changes the previous frame's update of `id` made (sorted by component and
    /// field), or none. Ids must come in ascending order.
    #[inline(always)]
    fn of(&mut self, id: NetId) -> &'a [FieldDelta] {
        while self.at < self.updates.len() && self.updates[self.at].id < id {
            self.at += 1;
        }
        match self.updates.get(self.at) {
            Some(update) if update.id == id => &update.changes,
            _ => &[],
        }
    }
}

/// Where a receiver keeps its held entities: what [`decode_body`] looks up and
/// [`apply`] changes. Implemented for a `BTreeMap` keyed by `NetId`; a client may keep
/// them however suits it (say, a vector indexed by slot).
pub trait HeldStore {
    /// The held entity in slot `index` (whatever its generation; the lowest if several).
    fn by_slot(&self, index: u32) -> Option<&HeldEntity>;
    /// [`HeldStore::by_slot`], to change in place.
    fn by_slot_mut(&mut self, index: u32) -> Option<&mut HeldEntity> {
        let id = self.by_slot(index)?.state.id;
        self.get_mut(id)
    }
    /// The held entity `id`, to change in place.
    fn get_mut(&mut self, id: NetId) -> Option<&mut HeldEntity>;
    /// Drops entity `id`, returning it.
    fn remove(&mut self, id: NetId) -> Option<HeldEntity>;
    /// Holds `held` under its id, returning the entity it replaced, if any.
    fn insert(&mut self, held: HeldEntity) -> Option<HeldEntity>;
}

impl HeldStore for BTreeMap<NetId, HeldEntity> {
    fn by_slot(&self, index: u32) -> Option<&HeldEntity> {
        self.range(NetId::from_parts(index, 1)..)
            .next()
            .filter(|(id, _)| id.index() == index)
            .map(|(_, held)| held)
    }

    fn by_slot_mut(&mut self, index: u32) -> Option<&mut HeldEntity> {
        self.range_mut(NetId::from_parts(index, 1)..)
            .next()
            .filter(|(id, _)| id.index() == index)
            .map(|(_, held)| held)
    }

    fn get_mut(&mut self, id: NetId) -> Option<&mut HeldEntity> {
        BTreeMap::get_mut(self, &id)
    }

    fn remove(&mut self, id: NetId) -> Option<HeldEntity> {
        BTreeMap::remove(self, &id)
    }

    fn insert(&mut self, held: HeldEntity) -> Option<HeldEntity> {
        BTreeMap::insert(self, held.state.id, held)
    }
}

/// Applies `delta` to a mirror, keeping `checksum` (the wrapping sum of held entity
/// hashes) up to date. On error the mirror may be partly updated.
pub fn apply(mirror: &mut (impl HeldStore + ?Sized), checksum: &mut u32, delta: &Delta) -> Result<(), ApplyError> {
    for id in &delta.despawns {
        let gone = mirror.remove(*id).ok_or(ApplyError::UnknownEntity(*id))?;
        *checksum = checksum.wrapping_sub(gone.hash);
    }
    for update in &delta.updates {
        let held = mirror.get_mut(update.id).ok_or(ApplyError::UnknownEntity(update.id))?;
        for change in &update.changes {
            let field = held
                .state
                .components
                .get_mut(usize::from(change.component))
                .and_then(|c| c.fields.get_mut(usize::from(change.field)))
                .ok_or(ApplyError::NoSuchField(update.id))?;
            *field = field.wrapping_add(change.delta);
        }
        let hash = entity_hash(&held.state);
        *checksum = checksum.wrapping_sub(held.hash).wrapping_add(hash);
        held.hash = hash;
    }
    for spawn in &delta.spawns {
        if !spawn.is_well_formed() {
            return Err(ApplyError::MalformedEntity(spawn.id));
        }
        let held = HeldEntity::new(spawn.clone());
        *checksum = checksum.wrapping_add(held.hash);
        if let Some(replaced) = mirror.insert(held) {
            *checksum = checksum.wrapping_sub(replaced.hash);
        }
    }
    Ok(())
}

/// Why a body could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BodyError {
    /// The bits ran out or a value was malformed.
    #[error("snapshot body: {0}")]
    Bits(#[from] BitError),
    /// An update or despawn named a slot the mirror does not hold.
    #[error("snapshot body names entity slot {0}, which the mirror does not hold")]
    UnknownSlot(u32),
    /// Entities out of order, too many components or fields, or bits after the end.
    #[error("snapshot body is malformed: {0}")]
    Malformed(&'static str),
}

/// Most components one entity may have on the wire, and fields one component.
pub const MAX_COMPONENTS: u32 = 32;
/// Most fields one component may have on the wire.
pub const MAX_FIELDS: u32 = 32;

/// Writes the slot index of each id as gaps from the previous one (ascending order).
#[derive(Debug)]
struct IndexGaps {
    next: u32,
}

impl IndexGaps {
    fn new() -> IndexGaps {
        IndexGaps { next: 0 }
    }

    #[inline]
    fn write(&mut self, writer: &mut BitWriter, index: u32) {
        writer.write_exp_golomb(index.wrapping_sub(self.next), 0);
        self.next = index.wrapping_add(1);
    }

    #[inline(always)]
    fn read(&mut self, reader: &mut BitReader) -> Result<u32, BodyError> {
        let gap = reader.read_exp_golomb(0)?;
        let index = self
            .next
            .checked_add(gap)
            .ok_or(BodyError::Malformed("entity index overflow"))?;
        self.next = index
            .checked_add(1)
            .ok_or(BodyError::Malformed("entity index overflow"))?;
        Ok(index)
    }
}

/// The shape of the entities a receiver holds, which updates are encoded against: an
/// update carries one bit per held component and one bit per field of each changed one.
pub trait HeldShape {
    /// Number of components held for `id`.
    fn components(&self, id: NetId) -> usize;
    /// Number of fields of the `component`-th held component of `id`.
    fn fields(&self, id: NetId, component: usize) -> usize;
}

impl HeldShape for BTreeMap<NetId, HeldEntity> {
    fn components(&self, id: NetId) -> usize {
        self.get(&id).map_or(0, |held| held.state.components.len())
    }

    fn fields(&self, id: NetId, component: usize) -> usize {
        self.get(&id)
            .and_then(|held| held.state.components.get(component))
            .map_or(0, |c| c.fields.len())
    }
}

/// A baseline given as entities sorted by `NetId` (what [`diff`] takes).
impl HeldShape for [EntityState] {
    fn components(&self, id: NetId) -> usize {
        self.binary_search_by_key(&id, |e| e.id)
            .map_or(0, |at| self[at].components.len())
    }

    fn fields(&self, id: NetId, component: usize) -> usize {
        self.binary_search_by_key(&id, |e| e.id)
            .ok()
            .and_then(|at| self[at].components.get(component))
            .map_or(0, |c| c.fields.len())
    }
}

/// Encodes `checksum` and `delta` as a bit-packed body, appending to `out`. Updates are
/// encoded against `held`, the state the receiver holds before applying.
pub fn encode_body(checksum: Option<u32>, delta: &Delta, held: &(impl HeldShape + ?Sized), out: Vec<u8>) -> Vec<u8> {
    let mut body = BodyWriter::new(out, checksum, Coding::Plain, &delta.despawns, delta.updates.len());
    for update in &delta.updates {
        body.update(update, |component| {
            (component < held.components(update.id)).then(|| held.fields(update.id, component))
        });
    }
    body.finish(delta.spawns.iter())
}

/// Writes the fields part of an update (everything after its index gap): per held
/// component a changed bit, and per field of a changed component a changed bit and the
/// delta. `fields(c)` is the field count of held component `c`, `None` past the last.
fn write_update_fields(writer: &mut BitWriter, update: &EntityUpdate, fields: impl Fn(usize) -> Option<usize>) {
    let changes = &update.changes[..];
    let mut next = 0;
    let mut component = 0;
    while let Some(field_count) = fields(component) {
        let in_component = changes[next..]
            .iter()
            .take_while(|change| usize::from(change.component) == component)
            .count();
        writer.write_bit(in_component > 0);
        if in_component > 0 {
            // One bit per field of the held component (the receiver knows how many).
            let mut changed = changes[next..next + in_component].iter().peekable();
            next += in_component;
            for field in 0..field_count {
                match changed.next_if(|change| usize::from(change.field) == field) {
                    Some(change) => {
                        writer.write_bit(true);
                        writer.write_signed(change.delta, FIELD_ORDER);
                    }
                    None => writer.write_bit(false),
                }
            }
        }
        component += 1;
    }
}

/// An update's fields part encoded ahead of time, to be copied into many bodies: what a
/// server shares between every client holding the same baseline of an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedUpdate {
    /// Where it starts in its buffer, in bytes (each starts on a byte boundary).
    pub start: u32,
    /// Its length in bits.
    pub bits: u32,
}

impl EncodedUpdate {
    /// Appends the fields part of `update` (against `held`, the state it applies to) to
    /// `buffer`, byte-aligned, and returns where it is.
    pub fn append(buffer: &mut Vec<u8>, update: &EntityUpdate, held: &EntityState) -> EncodedUpdate {
        let start = buffer.len();
        let mut writer = BitWriter::new(std::mem::take(buffer));
        write_update_fields(&mut writer, update, |component| {
            held.components.get(component).map(|c| c.fields.len())
        });
        let bits = writer.bit_len() - start * 8;
        *buffer = writer.finish();
        EncodedUpdate {
            start: start as u32,
            bits: bits as u32,
        }
    }

    /// Bits it will cost in a body, index gap estimated, like [`update_cost_bits`].
    pub fn cost_bits(&self) -> usize {
        ASSUMED_INDEX_GAP_BITS + self.bits as usize
    }
}

/// How a body's updates are coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// Each changed field as `current - held`.
    Plain,
    /// Each field against its prediction, `held + motion`, the motion being what the
    /// receiver's previous frame changed the entity by (see `docs/PROTOCOL.md`): an entity
    /// moving steadily costs one bit per component.
    Predicted,
}

/// Writes a body piece by piece, in wire order: despawns (given whole), then updates one
/// at a time (encoded here or copied pre-encoded), then spawns. [`encode_body`] is the
/// one-call form; a server uses this to mix shared pre-encoded updates with its own.
#[derive(Debug)]
pub struct BodyWriter {
    writer: BitWriter,
    gaps: IndexGaps,
    updates_left: usize,
}

impl BodyWriter {
    /// Starts a body appending to `out`: the checksum, how its updates are coded, the
    /// despawns, and the number of updates that will follow (exactly that many must be
    /// written: with [`BodyWriter::update`] and [`BodyWriter::encoded_update`] in a plain
    /// body, with [`BodyWriter::predicted_update`] in a predicted one).
    pub fn new(out: Vec<u8>, checksum: Option<u32>, coding: Coding, despawns: &[NetId], updates: usize) -> BodyWriter {
        let mut writer = BitWriter::new(out);
        writer.write_bit(checksum.is_some());
        if let Some(checksum) = checksum {
            writer.write_bits(checksum, 32);
        }
        writer.write_bit(coding == Coding::Predicted);
        writer.write_exp_golomb(despawns.len() as u32, 0);
        let mut gaps = IndexGaps::new();
        for id in despawns {
            gaps.write(&mut writer, id.index());
        }
        writer.write_exp_golomb(updates as u32, 0);
        BodyWriter {
            writer,
            gaps: IndexGaps::new(),
            updates_left: updates,
        }
    }

    /// Writes the next update (ascending `NetId`) against the held shape: `fields(c)` is
    /// the field count of held component `c`, `None` past the last.
    pub fn update(&mut self, update: &EntityUpdate, fields: impl Fn(usize) -> Option<usize>) {
        self.next_update(update.id);
        write_update_fields(&mut self.writer, update, fields);
    }

    /// Writes the next update (ascending `NetId`) from its pre-encoded fields part in
    /// `buffer`.
    #[inline]
    pub fn encoded_update(&mut self, id: NetId, encoded: EncodedUpdate, buffer: &[u8]) {
        self.next_update(id);
        self.writer
            .append_bits(&buffer[encoded.start as usize..], encoded.bits as usize);
    }

    /// Writes the next update (ascending `NetId`) of a predicted body: `held` becomes
    /// `new` (same shape), each field coded against `held + motion`, where `motion` is
    /// what the receiver's previous frame changed the entity by (sorted changes; `None`
    /// or empty if that frame did not update it).
    pub fn predicted_update(&mut self, held: &EntityState, motion: Option<&[FieldDelta]>, new: &EntityState) {
        self.next_update(new.id);
        let motion = motion.unwrap_or_default();
        for (component, (before, after)) in held.components.iter().zip(&new.components).enumerate() {
            let misses = |(field, (old, new)): (usize, (&i32, &i32))| {
                let moved = motion
                    .iter()
                    .find(|m| usize::from(m.component) == component && usize::from(m.field) == field)
                    .map_or(0, |m| m.delta);
                new.wrapping_sub(old.wrapping_add(moved))
            };
            let any = before
                .fields
                .iter()
                .zip(&after.fields)
                .enumerate()
                .any(|f| misses(f) != 0);
            self.writer.write_bit(any);
            if any {
                for field in before.fields.iter().zip(&after.fields).enumerate() {
                    let residual = misses(field);
                    self.writer.write_bit(residual != 0);
                    if residual != 0 {
                        self.writer.write_signed(residual, FIELD_ORDER);
                    }
                }
            }
        }
    }

    #[inline]
    fn next_update(&mut self, id: NetId) {
        debug_assert!(self.updates_left > 0, "more updates than announced");
        self.updates_left = self.updates_left.saturating_sub(1);
        self.gaps.write(&mut self.writer, id.index());
    }

    /// Writes the spawns (ascending `NetId`) and returns the body.
    pub fn finish<'a>(mut self, spawns: impl ExactSizeIterator<Item = &'a EntityState>) -> Vec<u8> {
        debug_assert_eq!(self.updates_left, 0, "fewer updates than announced");
        let writer = &mut self.writer;
        writer.write_exp_golomb(spawns.len() as u32, 0);
        let mut gaps = IndexGaps::new();
        for spawn in spawns {
            gaps.write(writer, spawn.id.index());
            writer.write_exp_golomb(spawn.id.generation() >> 1, 0);
            writer.write_exp_golomb(spawn.components.len() as u32, 0);
            let mut next_kind = 0u32;
            for component in &spawn.components {
                let kind = u32::from(component.kind.0);
                writer.write_exp_golomb(kind.wrapping_sub(next_kind), 0);
                next_kind = kind + 1;
                writer.write_exp_golomb(component.fields.len() as u32, 0);
                for value in &component.fields {
                    writer.write_signed(*value, FIELD_ORDER);
                }
            }
        }
        self.writer.finish()
    }
}

#[cfg(any(test, feature = "reference"))]
/// A decoded body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedBody {
    /// The checksum of the state after applying, if sent.
    pub checksum: Option<u32>,
    /// The changes.
    pub delta: Delta,
}

/// Decodes a body produced by [`encode_body`] against the mirror it applies to. Never
/// panics; every inconsistency with the mirror is an error. The reference decoder:
/// [`apply_body`] decodes and applies in one pass, and is held to this one.
#[cfg(any(test, feature = "reference"))]
pub fn decode_body(
    bytes: &[u8],
    mirror: &(impl HeldStore + ?Sized),
    previous: &Delta,
) -> Result<DecodedBody, BodyError> {
    let mut reader = BitReader::new(bytes);
    let checksum = read_checksum(&mut reader)?;
    let predicted = reader.read_bit()?;
    let mut motions = Motions::new(previous);
    let held = |index: u32| mirror.by_slot(index).ok_or(BodyError::UnknownSlot(index));
    let mut delta = Delta::default();
    let despawns = reader.read_exp_golomb(0)?;
    let mut gaps = IndexGaps::new();
    for _ in 0..despawns {
        let held = held(gaps.read(&mut reader)?)?;
        delta.despawns.push(held.state.id);
    }
    let updates = reader.read_exp_golomb(0)?;
    let mut gaps = IndexGaps::new();
    for _ in 0..updates {
        let entity = held(gaps.read(&mut reader)?)?;
        let mut update = EntityUpdate {
            id: entity.state.id,
            changes: SmallVec::new(),
        };
        if predicted {
            read_predicted_fields(&mut reader, entity, motions.of(entity.state.id), &mut update.changes)?;
        } else {
            read_update_fields(&mut reader, &entity.state, &mut update.changes)?;
        }
        delta.updates.push(update);
    }
    read_spawns(&mut reader, &mut delta.spawns)?;
    read_end(&reader)?;
    Ok(DecodedBody { checksum, delta })
}

/// Decodes a body and applies it to `mirror` in the same pass: what [`decode_body`] then
/// [`apply`] do, with each entity looked up once, each update's fields changed as they
/// are read, and only the changed part of its hash recomputed ([`HashChange`]). Keeps
/// `checksum` (the wrapping sum of held entity hashes) up to date and leaves in `delta`
/// (cleared first, its allocations reused) what was applied; returns the body's checksum,
/// if sent. `previous` is what the receiver's previous frame applied (its `delta`; empty
/// after an idle frame): a predicted body's motions.
///
/// Never panics. On error the mirror may be partly updated (each held entity's hash still
/// matches its state, and `checksum` is still their sum) and `delta` holds what was
/// applied before the error. Entities are looked up as the body goes, so an update is
/// resolved against the mirror after the body's despawns (a server never sends an
/// update of an entity it despawns in the same body).
pub fn apply_body(
    bytes: &[u8],
    mirror: &mut (impl HeldStore + ?Sized),
    checksum: &mut u32,
    delta: &mut Delta,
    previous: &Delta,
) -> Result<Option<u32>, BodyError> {
    delta.clear();
    let mut reader = BitReader::new(bytes);
    let sent = read_checksum(&mut reader)?;
    let predicted = reader.read_bit()?;
    let mut motions = Motions::new(previous);
    let despawns = reader.read_exp_golomb(0)?;
    let mut gaps = IndexGaps::new();
    for _ in 0..despawns {
        let index = gaps.read(&mut reader)?;
        let id = mirror.by_slot(index).ok_or(BodyError::UnknownSlot(index))?.state.id;
        if let Some(gone) = mirror.remove(id) {
            *checksum = checksum.wrapping_sub(gone.hash);
        }
        delta.despawns.push(id);
    }
    let updates = reader.read_exp_golomb(0)?;
    let mut gaps = IndexGaps::new();
    for _ in 0..updates {
        let index = gaps.read(&mut reader)?;
        let held = mirror.by_slot_mut(index).ok_or(BodyError::UnknownSlot(index))?;
        let mut update = EntityUpdate {
            id: held.state.id,
            changes: SmallVec::new(),
        };
        let read = if predicted {
            read_and_apply_predicted(&mut reader, held, motions.of(update.id), &mut update.changes)
        } else {
            read_and_apply_update(&mut reader, held, &mut update.changes)
        };
        // A body that breaks off inside an update leaves it partly applied: rehash it all.
        let hash = match read {
            Ok(hash) => hash,
            Err(_) => entity_hash(&held.state),
        };
        *checksum = checksum.wrapping_sub(held.hash).wrapping_add(hash);
        held.hash = hash;
        read?;
        delta.updates.push(update);
    }
    read_spawns(&mut reader, &mut delta.spawns)?;
    for spawn in &delta.spawns {
        // Decoded kinds strictly increase: every spawn is well formed.
        let held = HeldEntity::new(spawn.clone());
        *checksum = checksum.wrapping_add(held.hash);
        if let Some(replaced) = mirror.insert(held) {
            *checksum = checksum.wrapping_sub(replaced.hash);
        }
    }
    read_end(&reader)?;
    Ok(sent)
}

/// Reads a body's checksum flag and checksum.
fn read_checksum(reader: &mut BitReader) -> Result<Option<u32>, BodyError> {
    Ok(if reader.read_bit()? {
        Some(reader.read_bits(32)?)
    } else {
        None
    })
}

/// Checks that only padding follows the spawns.
fn read_end(reader: &BitReader) -> Result<(), BodyError> {
    if reader.only_padding_left() {
        Ok(())
    } else {
        Err(BodyError::Malformed("bits after the end of the body"))
    }
}

/// [`read_update_fields`] applying each change to `held` as it is read; returns the hash
/// of the changed state (`held.hash` is left as it was). On error `held` may be partly
/// changed.
#[inline(always)]
fn read_and_apply_update(
    reader: &mut BitReader,
    held: &mut HeldEntity,
    changes: &mut SmallVec<[FieldDelta; 4]>,
) -> Result<u32, BodyError> {
    let mut hash = HashChange::new();
    for (component, state) in held.state.components.iter_mut().enumerate() {
        hash.component();
        if !reader.read_bit()? {
            for value in &state.fields {
                hash.field(*value, *value);
            }
            continue;
        }
        let before = changes.len();
        for (field, value) in state.fields.iter_mut().enumerate() {
            if reader.read_bit()? {
                let delta = reader.read_signed(FIELD_ORDER)?;
                let old = *value;
                *value = old.wrapping_add(delta);
                hash.field(old, *value);
                changes.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta,
                });
            } else {
                hash.field(*value, *value);
            }
        }
        if changes.len() == before {
            return Err(BodyError::Malformed("a changed component changes no field"));
        }
    }
    if changes.is_empty() {
        return Err(BodyError::Malformed("an update changes nothing"));
    }
    Ok(hash.rehash(held.hash))
}

/// [`read_predicted_fields`] applying each change to `held` as it is read; returns the
/// hash of the changed state, as [`read_and_apply_update`] does.
#[inline(always)]
fn read_and_apply_predicted(
    reader: &mut BitReader,
    held: &mut HeldEntity,
    motion: &[FieldDelta],
    changes: &mut SmallVec<[FieldDelta; 4]>,
) -> Result<u32, BodyError> {
    let HeldEntity { state, hash } = held;
    let mut motion = motion.iter().peekable();
    let mut rehash = HashChange::new();
    for (component, state) in state.components.iter_mut().enumerate() {
        rehash.component();
        let coded = reader.read_bit()?;
        let mut missed = false;
        for (field, value) in state.fields.iter_mut().enumerate() {
            let moved = motion_of(&mut motion, component, field);
            let delta = predicted_delta(reader, coded, moved, &mut missed)?;
            let old = *value;
            *value = old.wrapping_add(delta);
            rehash.field(old, *value);
            if delta != 0 {
                changes.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta,
                });
            }
        }
        if coded && !missed {
            return Err(BodyError::Malformed("a changed component changes no field"));
        }
    }
    // An entity left as it was is not listed at all: a server never sends this.
    if changes.is_empty() {
        return Err(BodyError::Malformed("an update changes nothing"));
    }
    Ok(rehash.rehash(*hash))
}

/// What `motion` (a walk over sorted changes) says field `field` of component
/// `component` moved by, stepping past it; 0 if it is not listed.
#[inline(always)]
fn motion_of(
    motion: &mut std::iter::Peekable<std::slice::Iter<'_, FieldDelta>>,
    component: usize,
    field: usize,
) -> i32 {
    motion
        .next_if(|change| usize::from(change.component) == component && usize::from(change.field) == field)
        .map_or(0, |change| change.delta)
}

/// One field of a predicted update: its `motion`, plus the residual when the component
/// is `coded` and the field's bit is set (which sets `missed`).
#[inline(always)]
fn predicted_delta(reader: &mut BitReader, coded: bool, motion: i32, missed: &mut bool) -> Result<i32, BodyError> {
    if coded && reader.read_bit()? {
        *missed = true;
        Ok(motion.wrapping_add(reader.read_signed(FIELD_ORDER)?))
    } else {
        Ok(motion)
    }
}

/// Reads the fields part of a predicted update of `held` (whose previous-frame changes
/// are `motion`) into `changes`, as plain deltas (prediction plus residual).
#[cfg(any(test, feature = "reference"))]
fn read_predicted_fields(
    reader: &mut BitReader,
    held: &HeldEntity,
    motion: &[FieldDelta],
    changes: &mut SmallVec<[FieldDelta; 4]>,
) -> Result<(), BodyError> {
    let mut motion = motion.iter().peekable();
    for (component, state) in held.state.components.iter().enumerate() {
        let coded = reader.read_bit()?;
        let mut missed = false;
        for field in 0..state.fields.len() {
            let moved = motion_of(&mut motion, component, field);
            let delta = predicted_delta(reader, coded, moved, &mut missed)?;
            if delta != 0 {
                changes.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta,
                });
            }
        }
        if coded && !missed {
            return Err(BodyError::Malformed("a changed component changes no field"));
        }
    }
    if changes.is_empty() {
        return Err(BodyError::Malformed("an update changes nothing"));
    }
    Ok(())
}

/// Reads the fields part of an update of `entity` (one bit per held component, one per
/// field of each changed one, then each changed field's delta) into `changes`.
#[cfg(any(test, feature = "reference"))]
#[inline(always)]
fn read_update_fields(
    reader: &mut BitReader,
    entity: &EntityState,
    changes: &mut SmallVec<[FieldDelta; 4]>,
) -> Result<(), BodyError> {
    for (component, state) in entity.components.iter().enumerate() {
        if !reader.read_bit()? {
            continue;
        }
        let before = changes.len();
        for field in 0..state.fields.len() {
            if reader.read_bit()? {
                let delta = reader.read_signed(FIELD_ORDER)?;
                changes.push(FieldDelta {
                    component: component as u8,
                    field: field as u8,
                    delta,
                });
            }
        }
        if changes.len() == before {
            return Err(BodyError::Malformed("a changed component changes no field"));
        }
    }
    if changes.is_empty() {
        return Err(BodyError::Malformed("an update changes nothing"));
    }
    Ok(())
}

/// Reads the spawn list of a body into `spawns`.
fn read_spawns(reader: &mut BitReader, spawns: &mut Vec<EntityState>) -> Result<(), BodyError> {
    let count = reader.read_exp_golomb(0)?;
    let mut gaps = IndexGaps::new();
    for _ in 0..count {
        let index = gaps.read(reader)?;
        let generation = reader.read_exp_golomb(0)?;
        let id = NetId::from_parts(index, generation.wrapping_shl(1) | 1);
        let count = reader.read_exp_golomb(0)?;
        if count > MAX_COMPONENTS {
            return Err(BodyError::Malformed("too many components"));
        }
        let mut entity = EntityState {
            id,
            components: SmallVec::new(),
        };
        let mut next_kind = 0u32;
        for _ in 0..count {
            let kind = next_kind
                .checked_add(reader.read_exp_golomb(0)?)
                .filter(|kind| *kind <= u32::from(u8::MAX))
                .ok_or(BodyError::Malformed("component kind out of range"))?;
            next_kind = kind + 1;
            let fields = reader.read_exp_golomb(0)?;
            if fields > MAX_FIELDS {
                return Err(BodyError::Malformed("too many fields"));
            }
            let mut values = Fields::new();
            for _ in 0..fields {
                values.push(reader.read_signed(FIELD_ORDER)?);
            }
            entity.components.push(ComponentState {
                kind: ComponentKind(kind as u8),
                fields: values,
            });
        }
        spawns.push(entity);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::checksum;
    use proptest::prelude::*;

    /// Arbitrary worlds: up to 40 entities drawn from 64 slots, each with a subset of 4
    /// component kinds with 0..=5 fields, so diffs see spawns, despawns, replacements
    /// and field changes of every size.
    pub(crate) fn world() -> impl Strategy<Value = Vec<EntityState>> {
        let field = prop_oneof![-3i32..3, any::<i32>()];
        let component = (0u8..4, prop::collection::vec(field, 0..=5));
        let entity = (0u32..64, 1u32..3, prop::collection::btree_map(0u8..4, component, 0..4));
        prop::collection::vec(entity, 0..40).prop_map(|entities| {
            let mut by_slot = BTreeMap::new();
            for (index, generation, components) in entities {
                let id = NetId::from_parts(index, generation * 2 - 1);
                let components = components
                    .into_iter()
                    .map(|(kind, (_, fields))| ComponentState {
                        kind: ComponentKind(kind),
                        fields: Fields::from_vec(fields),
                    })
                    .collect();
                by_slot.insert(index, EntityState { id, components });
            }
            by_slot.into_values().collect()
        })
    }

    pub(crate) fn mirror_of(world: &[EntityState]) -> (BTreeMap<NetId, HeldEntity>, u32) {
        let mirror: BTreeMap<_, _> = world.iter().map(|e| (e.id, HeldEntity::new(e.clone()))).collect();
        let sum = checksum(world);
        (mirror, sum)
    }

    proptest! {
        #[test]
        fn apply_of_diff_reaches_current(baseline in world(), current in world()) {
            let delta = diff(&baseline, &current);
            let (mut mirror, mut sum) = mirror_of(&baseline);
            apply(&mut mirror, &mut sum, &delta).unwrap();
            let reached: Vec<EntityState> = mirror.into_values().map(|held| held.state).collect();
            prop_assert_eq!(&reached, &current);
            prop_assert_eq!(sum, checksum(&current));
        }

        #[test]
        fn diff_of_equal_worlds_is_empty(world in world()) {
            prop_assert!(diff(&world, &world).is_empty());
        }

        #[test]
        fn bodies_round_trip_through_bits(baseline in world(), current in world(), with_checksum: bool) {
            let delta = diff(&baseline, &current);
            let (mirror, _) = mirror_of(&baseline);
            let sum = with_checksum.then(|| checksum(&current));
            let bytes = encode_body(sum, &delta, &mirror, Vec::new());
            prop_assert_eq!(&encode_body(sum, &delta, baseline.as_slice(), Vec::new()), &bytes, "slice and map shapes agree");
            let decoded = decode_body(&bytes, &mirror, &Delta::default()).unwrap();
            prop_assert_eq!(decoded.checksum, sum);
            prop_assert_eq!(decoded.delta, delta);
        }

        #[test]
        fn pre_encoded_updates_make_the_same_body(baseline in world(), current in world(), junk in 0usize..5) {
            let delta = diff(&baseline, &current);
            let direct = encode_body(Some(7), &delta, baseline.as_slice(), Vec::new());
            // Encode each update's fields part into a shared buffer (after some junk, so
            // starts are not zero), then copy them into a body at whatever alignment.
            let mut buffer = vec![0xA5; junk];
            let encoded: Vec<EncodedUpdate> = delta
                .updates
                .iter()
                .map(|update| {
                    let held = &baseline[baseline.binary_search_by_key(&update.id, |e| e.id).unwrap()];
                    let encoded = EncodedUpdate::append(&mut buffer, update, held);
                    prop_assert_eq!(encoded.cost_bits(), update_cost_bits(update, held), "same estimate either way");
                    Ok(encoded)
                })
                .collect::<Result<_, TestCaseError>>()?;
            let mut body = BodyWriter::new(Vec::new(), Some(7), Coding::Plain, &delta.despawns, delta.updates.len());
            for (update, encoded) in delta.updates.iter().zip(encoded) {
                body.encoded_update(update.id, encoded, &buffer);
            }
            prop_assert_eq!(body.finish(delta.spawns.iter()), direct);
        }

        #[test]
        fn decoding_garbage_never_panics(baseline in world(), bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let (mirror, _) = mirror_of(&baseline);
            let _ = decode_body(&bytes, &mirror, &Delta::default());
        }

        #[test]
        fn decoding_mutated_bodies_never_panics(
            baseline in world(),
            current in world(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let (mirror, _) = mirror_of(&baseline);
            let mut bytes = encode_body(Some(1), &diff(&baseline, &current), &mirror, Vec::new());
            if !bytes.is_empty() {
                for (at, value) in flips {
                    let at = at.index(bytes.len());
                    bytes[at] = value;
                }
            }
            if let Ok(body) = decode_body(&bytes, &mirror, &Delta::default()) {
                let (mut mirror, mut sum) = mirror_of(&baseline);
                let _ = apply(&mut mirror, &mut sum, &body.delta);
            }
        }
    }

    /// Edits of a world: (entity, component, field, delta) picks, applied by [`edited`].
    pub(crate) fn edits()
    -> impl Strategy<Value = Vec<(prop::sample::Index, prop::sample::Index, prop::sample::Index, i32)>> {
        let delta = prop_oneof![-3i32..3, any::<i32>()];
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                delta,
            ),
            0..24,
        )
    }

    /// `world` with some fields changed (same ids and shapes: what updates carry), and
    /// every `drop_every`-th entity gone if that is not zero.
    pub(crate) fn edited(
        world: &[EntityState],
        edits: &[(prop::sample::Index, prop::sample::Index, prop::sample::Index, i32)],
        drop_every: usize,
    ) -> Vec<EntityState> {
        let mut world = world.to_vec();
        for (entity, component, field, delta) in edits {
            if world.is_empty() {
                break;
            }
            let at = entity.index(world.len());
            let components = &mut world[at].components;
            if components.is_empty() {
                continue;
            }
            let picked = component.index(components.len());
            let fields = &mut components[picked].fields;
            if !fields.is_empty() {
                let at = field.index(fields.len());
                fields[at] = fields[at].wrapping_add(*delta);
            }
        }
        if drop_every > 0 {
            world = world
                .into_iter()
                .enumerate()
                .filter(|(at, _)| at % drop_every != 1)
                .map(|(_, e)| e)
                .collect();
        }
        world
    }

    /// Whether every held hash is its entity's hash and `sum` their sum: what
    /// [`apply_body`] keeps true whatever it is given.
    fn consistent(mirror: &BTreeMap<NetId, HeldEntity>, sum: u32) -> bool {
        mirror.values().all(|held| held.hash == entity_hash(&held.state))
            && sum == checksum(mirror.values().map(|held| &held.state))
    }

    proptest! {
        #[test]
        fn apply_body_does_what_decode_then_apply_do(
            baseline in world(),
            steps in prop::collection::vec((edits(), 0usize..6, prop::option::weighted(0.2, world())), 1..5),
            with_checksum: bool,
        ) {
            let (mut fused, mut fused_sum) = mirror_of(&baseline);
            let (mut model, mut model_sum) = mirror_of(&baseline);
            // One delta reused across bodies, as a mirror reuses it.
            let mut applied = Delta {
                updates: vec![EntityUpdate::default(); 3],
                ..Delta::default()
            };
            let mut previous = baseline;
            for (edits, drop_every, replaced) in steps {
                // Mostly the same entities with changed fields, sometimes another world.
                let current = replaced.unwrap_or_else(|| edited(&previous, &edits, drop_every));
                let delta = diff(&previous, &current);
                let sum = with_checksum.then(|| checksum(&current));
                let bytes = encode_body(sum, &delta, previous.as_slice(), Vec::new());
                let decoded = decode_body(&bytes, &model, &Delta::default()).unwrap();
                apply(&mut model, &mut model_sum, &decoded.delta).unwrap();
                prop_assert_eq!(apply_body(&bytes, &mut fused, &mut fused_sum, &mut applied, &Delta::default()), Ok(sum));
                prop_assert_eq!(&applied, &delta);
                prop_assert_eq!(&fused, &model);
                prop_assert_eq!(fused_sum, model_sum);
                prop_assert_eq!(fused_sum, checksum(&current));
                previous = current;
            }
        }

        #[test]
        fn apply_body_never_panics_and_keeps_hashes_and_checksum_consistent(
            baseline in world(),
            current in world(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            garbage in prop::collection::vec(any::<u8>(), 0..64),
            use_garbage: bool,
        ) {
            let (mut mirror, mut sum) = mirror_of(&baseline);
            let mut bytes = encode_body(Some(1), &diff(&baseline, &current), baseline.as_slice(), Vec::new());
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let bytes = if use_garbage { garbage } else { bytes };
            let mut delta = Delta::default();
            let result = apply_body(&bytes, &mut mirror, &mut sum, &mut delta, &Delta::default());
            prop_assert!(consistent(&mirror, sum), "{:?}", result);
            if result.is_ok() {
                // Whatever it decoded, it is what decoding then applying would have done.
                let (mut model, mut model_sum) = mirror_of(&baseline);
                let decoded = decode_body(&bytes, &model, &Delta::default());
                prop_assert!(decoded.is_ok(), "{:?}", decoded);
                if let Ok(decoded) = decoded {
                    prop_assert_eq!(&decoded.delta, &delta);
                    prop_assert_eq!(apply(&mut model, &mut model_sum, &decoded.delta), Ok(()));
                    prop_assert_eq!(&model, &mirror);
                    prop_assert_eq!(model_sum, sum);
                }
            }
        }
    }

    #[test]
    fn an_idle_body_is_one_byte_and_a_moved_entity_a_few() {
        let entity = |x: i32| EntityState {
            id: NetId::from_parts(5, 1),
            components: [ComponentState {
                kind: ComponentKind(0),
                fields: [x, 300, 7].into_iter().collect(),
            }]
            .into_iter()
            .collect(),
        };
        let (mirror, _) = mirror_of(&[entity(100)]);
        let idle = encode_body(None, &Delta::default(), &mirror, Vec::new());
        assert_eq!(idle, vec![0b0011_1000], "no checksum, plain, three empty lists");
        let moved = encode_body(None, &diff(&[entity(100)], &[entity(103)]), &mirror, Vec::new());
        // checksum flag 1, coding 1, despawns 1, updates 3, slot gap 5 (index 5), component
        // bit 1, field bits 3, delta 3 -> 5 bits, spawns 1: 21 bits
        assert_eq!(moved.len(), 3, "{moved:02x?}");
        let decoded = decode_body(&moved, &mirror, &Delta::default()).unwrap();
        assert_eq!(decoded.delta.updates[0].changes[0].delta, 3);
    }

    /// A predicted body of the change from `held` to `current`, for a receiver whose
    /// previous frame applied `previous`.
    fn predicted_body(
        held: &BTreeMap<NetId, HeldEntity>,
        current: &[EntityState],
        previous: &Delta,
        sum: u32,
    ) -> Vec<u8> {
        let baseline: Vec<EntityState> = held.values().map(|h| h.state.clone()).collect();
        let delta = diff(&baseline, current);
        let mut body = BodyWriter::new(
            Vec::new(),
            Some(sum),
            Coding::Predicted,
            &delta.despawns,
            delta.updates.len(),
        );
        let mut motions = Motions::new(previous);
        for update in &delta.updates {
            let after = current.iter().find(|e| e.id == update.id).unwrap();
            body.predicted_update(&held[&update.id].state, Some(motions.of(update.id)), after);
        }
        body.finish(delta.spawns.iter())
    }

    #[test]
    fn a_steady_mover_costs_a_bit_per_component_in_a_predicted_body() {
        let entity = |x: i32, y: i32| EntityState {
            id: NetId::from_parts(5, 1),
            components: [ComponentState {
                kind: ComponentKind(0),
                fields: [x, y, 7].into_iter().collect(),
            }]
            .into_iter()
            .collect(),
        };
        let (mut mirror, mut sum) = mirror_of(&[entity(0, 0)]);
        let (mut delta, mut previous) = (Delta::default(), Delta::default());
        // Sends `next` in a predicted body and applies it; returns the body's size.
        let mut send = |next: &EntityState, mirror: &mut BTreeMap<NetId, HeldEntity>| {
            std::mem::swap(&mut delta, &mut previous);
            let world = std::slice::from_ref(next);
            let body = predicted_body(mirror, world, &previous, checksum(world));
            let sent = apply_body(&body, mirror, &mut sum, &mut delta, &previous).unwrap();
            assert_eq!(sent, Some(sum), "the checksum verifies");
            assert_eq!(mirror[&next.id].state, *next);
            body.len()
        };
        let sizes: Vec<usize> = (1..6)
            .map(|step| send(&entity(500 * step, -300 * step), &mut mirror))
            .collect();
        // The first update has no motion to go on (the previous frame did not update the
        // entity): both deltas are coded in full. From the second on the entity moves as
        // predicted: checksum flag and 32 bits, coding, despawns, updates, gap, one
        // component bit, spawns: 41 bits.
        assert!(sizes[0] > 6, "{sizes:?}");
        assert!(sizes[1..].iter().all(|&size| size == 6), "{sizes:?}");
        // A frame that leaves the entity alone leaves no motion: the next update is coded
        // against the held value again.
        send(&entity(2500, -1500), &mut mirror);
        assert!(
            send(&entity(3000, -1800), &mut mirror) > 6,
            "no motion after an idle frame"
        );
    }

    #[test]
    fn an_update_with_no_bits_is_the_prediction_and_one_that_changes_nothing_is_malformed() {
        let id = NetId::from_parts(0, 1);
        let (mirror, sum) = mirror_of(&[EntityState {
            id,
            components: [ComponentState {
                kind: ComponentKind(0),
                fields: [1].into_iter().collect(),
            }]
            .into_iter()
            .collect(),
        }]);
        // No checksum, coding, despawns 0, updates 1, gap 0, component bit 0, spawns 0.
        let plain = [0b0010_1010, 0b1000_0000];
        let predicted = [0b0110_1010, 0b1000_0000];
        let moved = Delta {
            updates: vec![EntityUpdate {
                id,
                changes: [FieldDelta {
                    component: 0,
                    field: 0,
                    delta: 5,
                }]
                .into_iter()
                .collect(),
            }],
            ..Delta::default()
        };
        let still = Delta::default();
        let mut delta = Delta::default();
        for (body, previous) in [(&plain[..], &still), (&plain[..], &moved), (&predicted[..], &still)] {
            let error = apply_body(body, &mut mirror.clone(), &mut sum.clone(), &mut delta, previous).unwrap_err();
            assert_eq!(error, BodyError::Malformed("an update changes nothing"));
        }
        // Moved by 5 in the previous frame: no bits set means "moved by 5 again".
        let (mut mirror, mut sum) = (mirror, sum);
        apply_body(&predicted, &mut mirror, &mut sum, &mut delta, &moved).unwrap();
        assert_eq!(mirror[&id].state.components[0].fields[0], 6);
    }

    proptest! {
        /// Across any sequence of worlds, a predicted body takes a receiver to the next
        /// world exactly: `apply(b, diff(b, c)) == c` with every field coded against its
        /// prediction, spawns, despawns and replacements included; and the one-pass
        /// decoder agrees with the reference decoder.
        #[test]
        fn predicted_bodies_reach_every_world(worlds in prop::collection::vec(world(), 1..8)) {
            let (mut mirror, mut sum) = mirror_of(&[]);
            let mut reference = mirror.clone();
            let mut reference_sum = 0;
            let (mut delta, mut previous) = (Delta::default(), Delta::default());
            for world in &worlds {
                std::mem::swap(&mut delta, &mut previous);
                let body = predicted_body(&mirror, world, &previous, checksum(world));
                let decoded = decode_body(&body, &reference, &previous).unwrap();
                apply(&mut reference, &mut reference_sum, &decoded.delta).unwrap();
                let sent = apply_body(&body, &mut mirror, &mut sum, &mut delta, &previous).unwrap();
                prop_assert_eq!(sent, Some(sum));
                let reached: Vec<EntityState> = mirror.values().map(|held| held.state.clone()).collect();
                prop_assert_eq!(&reached, world);
                prop_assert_eq!(&mirror, &reference);
                prop_assert_eq!(&delta, &decoded.delta);
            }
        }

        #[test]
        fn cost_estimates_bound_the_encoded_size(baseline in world(), current in world()) {
            let delta = diff(&baseline, &current);
            let (mirror, _) = mirror_of(&baseline);
            let estimate: usize = delta.updates.iter().map(|u| update_cost_bits(u, &mirror[&u.id].state)).sum::<usize>()
                + delta.spawns.iter().map(spawn_cost_bits).sum::<usize>()
                + delta.despawns.len() * DESPAWN_COST_BITS;
            let exact = encode_body(None, &delta, &mirror, Vec::new()).len() * 8;
            // 64 slots: every gap fits the assumed 9 bits; header is 4 bits plus counts.
            prop_assert!(exact <= estimate + 4 + 3 * 13 + 7, "exact {} estimate {}", exact, estimate);
        }
    }

    #[test]
    fn applying_against_the_wrong_baseline_is_an_error() {
        let id = NetId::from_parts(3, 1);
        let delta = Delta {
            despawns: vec![id],
            ..Delta::default()
        };
        assert_eq!(
            apply(&mut BTreeMap::new(), &mut 0, &delta),
            Err(ApplyError::UnknownEntity(id))
        );
        let (mirror, _) = mirror_of(&[]);
        let bytes = encode_body(None, &delta, &mirror, Vec::new());
        assert_eq!(
            decode_body(&bytes, &mirror, &Delta::default()),
            Err(BodyError::UnknownSlot(3))
        );
    }
}
