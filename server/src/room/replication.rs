//! Declared replication: which components go on the wire, and `NetId`s for entities.
//!
//! A game calls [`ReplicationRegistry::replicate`] once per replicated component type;
//! the capture then quantizes every registered component of every [`Replicated`] entity
//! without further game code. `NetId`s come from a slotmap whose values are the bevy
//! `Entity`s; walking it in slot order yields entities already sorted by `NetId`, the
//! order the delta codec needs.

use super::interest::{EntityMeta, Relevance, RelevanceRule, ViewerTeam};
use bevy_ecs::prelude::*;
use glam::Vec2;
use slotmap::SlotMap;
use tickcast_shared::{ComponentKind, ComponentState, Components, EntityState, Fields, NetId, Replicate};

/// Marks an entity as replicated. Its `NetId` is assigned at the next capture (or at
/// once for players, whose `NetId` goes in the `Welcome`).
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct Replicated {
    net_id: Option<NetId>,
}

impl Replicated {
    /// The entity's `NetId`, once assigned.
    pub fn net_id(&self) -> Option<NetId> {
        self.net_id
    }
}

type CaptureFn = fn(&EntityRef, &mut Fields) -> bool;
type PositionFn = Box<dyn Fn(&EntityRef) -> Option<Vec2> + Send + Sync>;

/// The replicated component types of a game, sorted by kind, and what interest
/// management needs to know: where entities are and any extra relevance rule.
#[derive(Default)]
pub struct ReplicationRegistry {
    captures: Vec<(ComponentKind, CaptureFn)>,
    position: Option<PositionFn>,
    rule: Option<RelevanceRule>,
}

fn capture_component<C: Component + Replicate>(entity: &EntityRef, out: &mut Fields) -> bool {
    match entity.get::<C>() {
        Some(component) => {
            component.quantize(out);
            true
        }
        None => false,
    }
}

impl ReplicationRegistry {
    /// Replicates component `C` with its own quantizer.
    ///
    /// # Panics
    /// If another registered component already uses `C::KIND`: that is a bug in the
    /// game's setup, caught when the room starts.
    pub fn replicate<C: Component + Replicate>(&mut self) -> &mut Self {
        let at = match self.captures.binary_search_by_key(&C::KIND, |(kind, _)| *kind) {
            Ok(_) => panic!("{} is registered twice", C::KIND),
            Err(at) => at,
        };
        self.captures.insert(at, (C::KIND, capture_component::<C>));
        self
    }

    /// Declares where entities are, for interest management: the position of an entity
    /// is `position(&C)` of its component `C`. Entities without `C` are seen by everyone.
    pub fn spatial<C: Component>(&mut self, position: fn(&C) -> Vec2) -> &mut Self {
        self.position = Some(Box::new(move |entity: &EntityRef| entity.get::<C>().map(position)));
        self
    }

    /// Adds a game rule on top of radius, team and `Relevance`: entities it rejects are
    /// not sent to that viewer.
    pub fn relevance_rule(&mut self, rule: RelevanceRule) -> &mut Self {
        self.rule = Some(rule);
        self
    }

    /// The game's extra relevance rule, if any.
    pub fn rule(&self) -> Option<RelevanceRule> {
        self.rule
    }

    /// Quantizes every registered component `entity` has, sorted by kind.
    fn capture_entity(&self, entity: &EntityRef) -> Components {
        let mut components = Components::new();
        let mut fields = Fields::new();
        for (kind, capture) in &self.captures {
            fields.clear();
            if capture(entity, &mut fields) {
                components.push(ComponentState {
                    kind: *kind,
                    fields: fields.clone(),
                });
            }
        }
        components
    }
}

/// Replication state of a room: the registry and the `NetId <-> Entity` map.
#[derive(Resource)]
pub struct Replication {
    registry: ReplicationRegistry,
    net_ids: SlotMap<NetId, Entity>,
    unassigned: Option<QueryState<(Entity, &'static mut Replicated)>>,
}

impl Replication {
    pub(crate) fn new(registry: ReplicationRegistry) -> Replication {
        Replication {
            registry,
            net_ids: SlotMap::with_key(),
            unassigned: None,
        }
    }

    /// The entity behind `net_id`, if it is still replicated.
    pub fn entity(&self, net_id: NetId) -> Option<Entity> {
        self.net_ids.get(net_id).copied()
    }

    /// Number of entities with a `NetId`.
    pub fn len(&self) -> usize {
        self.net_ids.len()
    }

    /// Whether no entity is replicated.
    pub fn is_empty(&self) -> bool {
        self.net_ids.is_empty()
    }

    /// Gives `entity` (which must carry [`Replicated`]) its `NetId` now rather than at
    /// the next capture; used for players, who learn theirs in the `Welcome`.
    pub(crate) fn assign(world: &mut World, entity: Entity) -> NetId {
        let net_id = world.resource_mut::<Replication>().net_ids.insert(entity);
        match world.get_mut::<Replicated>(entity) {
            Some(mut replicated) => replicated.net_id = Some(net_id),
            None => {
                world.entity_mut(entity).insert(Replicated { net_id: Some(net_id) });
            }
        }
        net_id
    }

    /// Captures every replicated entity, sorted by `NetId`, with its interest metadata
    /// at the same index. Entities despawned since the last capture lose their `NetId`
    /// here (slotmap generations keep it from being confused with the next entity in
    /// that slot).
    pub(crate) fn capture(&mut self, world: &mut World) -> (Vec<EntityState>, Vec<EntityMeta>) {
        let query = self.unassigned.get_or_insert_with(|| world.query());
        for (entity, mut replicated) in query.iter_mut(world) {
            if replicated.net_id.is_none() {
                replicated.net_id = Some(self.net_ids.insert(entity));
            }
        }
        let mut entities = Vec::with_capacity(self.net_ids.len());
        let mut metas = Vec::with_capacity(self.net_ids.len());
        let mut gone = Vec::new();
        for (net_id, entity) in &self.net_ids {
            match world.get_entity(*entity) {
                Ok(entity_ref) if entity_ref.contains::<Replicated>() => {
                    entities.push(EntityState {
                        id: net_id,
                        components: self.registry.capture_entity(&entity_ref),
                    });
                    metas.push(EntityMeta {
                        position: self
                            .registry
                            .position
                            .as_ref()
                            .and_then(|position| position(&entity_ref)),
                        relevance: entity_ref.get::<Relevance>().copied().unwrap_or_default(),
                        team: entity_ref.get::<ViewerTeam>().map(|team| team.0),
                    });
                }
                _ => gone.push(net_id),
            }
        }
        for net_id in gone {
            self.net_ids.remove(net_id);
        }
        (entities, metas)
    }
}
