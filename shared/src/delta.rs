//! The delta codec as two pure functions: [`diff`] and [`apply`].
//!
//! `diff(baseline, current)` lists what a client holding `baseline` needs to reach
//! `current`: entities to spawn whole, components that changed or went away on entities
//! it already has, and entities to despawn. `apply` performs that on a mirror. The
//! property `apply(baseline, diff(baseline, current)) == current` is tested below for
//! arbitrary worlds.

use crate::net_id::NetId;
use crate::state::{ComponentKind, Components, EntityState, cautious_smallvec};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use thiserror::Error;

/// Changes to one entity the client already holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityUpdate {
    /// The entity.
    pub id: NetId,
    /// Components that are new or whose fields changed, whole, sorted by kind.
    #[serde(deserialize_with = "cautious_smallvec")]
    pub changed: Components,
    /// Components the entity no longer has.
    #[serde(deserialize_with = "cautious_smallvec")]
    pub removed: SmallVec<[ComponentKind; 2]>,
}

/// What changed between two states of a client's view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// Entities the client does not hold yet, whole.
    pub spawns: Vec<EntityState>,
    /// Entities the client holds that changed.
    pub updates: Vec<EntityUpdate>,
    /// Entities the client must drop.
    pub despawns: Vec<NetId>,
}

impl Delta {
    /// Whether applying this delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.spawns.is_empty() && self.updates.is_empty() && self.despawns.is_empty()
    }

    /// Empties the delta, keeping its allocations for the next [`diff_into`].
    pub fn clear(&mut self) {
        self.spawns.clear();
        self.updates.clear();
        self.despawns.clear();
    }
}

/// Why a delta could not be applied: the client does not hold the state the delta was
/// taken against. Any of these means client and server have diverged.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApplyError {
    /// A spawn named an entity the mirror already holds.
    #[error("spawn of entity {0} that already exists")]
    SpawnExisting(NetId),
    /// An update or despawn named an entity the mirror does not hold.
    #[error("entity {0} is not in the mirror")]
    UnknownEntity(NetId),
    /// An entity arrived with components out of order or duplicated.
    #[error("entity {0} has unsorted or duplicate components")]
    MalformedEntity(NetId),
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
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(gone), None) => {
                delta.despawns.push(gone.id);
                old.next();
            }
            (None, Some(born)) => {
                delta.spawns.push((*born).clone());
                new.next();
            }
            (Some(before), Some(after)) => match before.id.cmp(&after.id) {
                Ordering::Less => {
                    delta.despawns.push(before.id);
                    old.next();
                }
                Ordering::Greater => {
                    delta.spawns.push((*after).clone());
                    new.next();
                }
                Ordering::Equal => {
                    if before.components != after.components {
                        delta.updates.push(diff_entity(before, after));
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
}

/// Component-level changes of one entity present in both states.
fn diff_entity(before: &EntityState, after: &EntityState) -> EntityUpdate {
    let mut update = EntityUpdate {
        id: after.id,
        ..EntityUpdate::default()
    };
    let (mut old, mut new) = (before.components.iter().peekable(), after.components.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(gone), None) => {
                update.removed.push(gone.kind);
                old.next();
            }
            (None, Some(added)) => {
                update.changed.push((*added).clone());
                new.next();
            }
            (Some(a), Some(b)) => match a.kind.cmp(&b.kind) {
                Ordering::Less => {
                    update.removed.push(a.kind);
                    old.next();
                }
                Ordering::Greater => {
                    update.changed.push((*b).clone());
                    new.next();
                }
                Ordering::Equal => {
                    if a.fields != b.fields {
                        update.changed.push((*b).clone());
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
    update
}

/// Applies `delta` to a mirror keyed by `NetId`. On error the mirror may be partly
/// updated; the caller must treat it as diverged (and ask for a full snapshot).
pub fn apply(mirror: &mut BTreeMap<NetId, EntityState>, delta: &Delta) -> Result<(), ApplyError> {
    for id in &delta.despawns {
        mirror.remove(id).ok_or(ApplyError::UnknownEntity(*id))?;
    }
    for update in &delta.updates {
        let entity = mirror.get_mut(&update.id).ok_or(ApplyError::UnknownEntity(update.id))?;
        entity.components.retain(|c| !update.removed.contains(&c.kind));
        for changed in &update.changed {
            match entity.components.binary_search_by_key(&changed.kind, |c| c.kind) {
                Ok(at) => entity.components[at].fields.clone_from(&changed.fields),
                Err(at) => entity.components.insert(at, changed.clone()),
            }
        }
        if !entity.is_well_formed() {
            return Err(ApplyError::MalformedEntity(update.id));
        }
    }
    for spawn in &delta.spawns {
        if !spawn.is_well_formed() {
            return Err(ApplyError::MalformedEntity(spawn.id));
        }
        if mirror.insert(spawn.id, spawn.clone()).is_some() {
            return Err(ApplyError::SpawnExisting(spawn.id));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::{ComponentState, Fields};
    use proptest::prelude::*;

    /// Arbitrary worlds: up to 40 entities drawn from 64 ids, each with a subset of 4
    /// component kinds with 0..=5 fields, so diffs see spawns, despawns, added and
    /// removed components and changed fields.
    pub(crate) fn world() -> impl Strategy<Value = Vec<EntityState>> {
        let component = (0u8..4, prop::collection::vec(-3i32..3, 0..=5));
        let entity = (0u32..64, 1u32..3, prop::collection::btree_map(0u8..4, component, 0..4));
        prop::collection::vec(entity, 0..40).prop_map(|entities| {
            let mut by_id = BTreeMap::new();
            for (index, generation, components) in entities {
                let id = NetId::from_parts(index, generation * 2 - 1);
                let components = components
                    .into_iter()
                    .map(|(kind, (_, fields))| ComponentState {
                        kind: ComponentKind(kind),
                        fields: Fields::from_vec(fields),
                    })
                    .collect();
                by_id.insert(id, EntityState { id, components });
            }
            by_id.into_values().collect()
        })
    }

    fn mirror_of(world: &[EntityState]) -> BTreeMap<NetId, EntityState> {
        world.iter().map(|e| (e.id, e.clone())).collect()
    }

    proptest! {
        #[test]
        fn apply_of_diff_reaches_current(baseline in world(), current in world()) {
            let delta = diff(&baseline, &current);
            let mut mirror = mirror_of(&baseline);
            apply(&mut mirror, &delta).unwrap();
            let reached: Vec<EntityState> = mirror.into_values().collect();
            prop_assert_eq!(&reached, &current);
            prop_assert_eq!(crate::checksum(&reached), crate::checksum(&current));
        }

        #[test]
        fn diff_of_equal_worlds_is_empty(world in world()) {
            prop_assert!(diff(&world, &world).is_empty());
        }

        #[test]
        fn delta_survives_the_wire(baseline in world(), current in world()) {
            let delta = diff(&baseline, &current);
            let bytes = rmp_serde::to_vec(&delta).unwrap();
            let decoded: Delta = rmp_serde::from_slice(&bytes).unwrap();
            prop_assert_eq!(decoded, delta);
        }
    }

    #[test]
    fn applying_against_the_wrong_baseline_is_an_error() {
        let id = NetId::from_parts(3, 1);
        let delta = Delta {
            despawns: vec![id],
            ..Delta::default()
        };
        assert_eq!(apply(&mut BTreeMap::new(), &delta), Err(ApplyError::UnknownEntity(id)));
    }
}
