//! Declared replication: which components go on the wire, and `NetId`s for entities.
//!
//! A game calls [`ReplicationRegistry::replicate`] once per replicated component type;
//! the capture then quantizes every registered component of every [`Replicated`] entity
//! without further game code. `NetId`s come from a slotmap whose values are the bevy
//! `Entity`s; walking it in slot order yields entities already sorted by `NetId`, the
//! order the delta codec needs.
//!
//! A capture ranks the `NetId`s once (slot order) and then walks each registered
//! component's storage with a query, copying each entity's component with its rank: no
//! per-entity component lookups, which hash the type and find the entity's table row
//! every time (they were most of a capture's cost). Quantizing the copies, the rest of
//! the cost, needs no world, so it happens off the tick thread
//! ([`CapturedState::quantize`]).

use super::interest::{EntityMeta, Relevance, RelevanceRule, ViewerTeam};
use bevy_ecs::prelude::*;
use glam::Vec2;
use slotmap::SlotMap;
use tickcast_shared::{
    ComponentKind, ComponentSchema, ComponentState, Components, EntityState, Fields, NetId, Replicate,
};

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

/// Copies one registered component of every replicated entity that has it, walking
/// the component's storage in order (a query) rather than looking the component up
/// entity by entity: a per-entity `EntityRef::get` hashes the type and finds the
/// entity's table row each time, which was most of a capture.
trait ColumnCapture: Send + Sync {
    /// Copies the component of every entity that has it, with the entity's rank.
    fn copy(&mut self, world: &mut World, ranks: &Ranks) -> Box<dyn CopiedColumn>;
}

/// One component's copies, quantized later (off the tick thread).
trait CopiedColumn: Send {
    /// Quantizes each copy into `entities[rank]` (appending a component: columns are
    /// quantized in kind order).
    fn quantize_into(&self, entities: &mut [EntityState]);
}

/// A [`ColumnCapture`] of component `C`.
struct Column<C: Component> {
    kind: ComponentKind,
    query: Option<QueryState<(Entity, &'static Replicated, &'static C)>>,
}

impl<C: Component + Replicate + Clone> ColumnCapture for Column<C> {
    fn copy(&mut self, world: &mut World, ranks: &Ranks) -> Box<dyn CopiedColumn> {
        let query = self.query.get_or_insert_with(|| world.query());
        // Sized once: a collect would grow it step by step (the filter hides the count).
        let mut values = Vec::with_capacity(ranks.held.len());
        for (entity, replicated, component) in query.iter(world) {
            if let Some(rank) = ranks.rank(entity, replicated) {
                values.push((rank as u32, component.clone()));
            }
        }
        Box::new(Copied::<C> {
            kind: self.kind,
            values,
        })
    }
}

/// A [`CopiedColumn`] of component `C`.
struct Copied<C> {
    kind: ComponentKind,
    values: Vec<(u32, C)>,
}

impl<C: Replicate + Send> CopiedColumn for Copied<C> {
    fn quantize_into(&self, entities: &mut [EntityState]) {
        for (rank, component) in &self.values {
            let mut fields = Fields::new();
            component.quantize(&mut fields);
            entities[*rank as usize].components.push(ComponentState {
                kind: self.kind,
                fields,
            });
        }
    }
}

/// The replicated state of a room copied at a snapshot tick: each registered
/// component's values, not yet quantized, with the entities' `NetId`s (sorted) and
/// interest metadata. Quantizing is most of a capture's cost, and it needs nothing from
/// the world, so the tick thread only copies and [`CapturedState::quantize`] runs on a
/// connection worker.
pub struct CapturedState {
    ids: Vec<NetId>,
    columns: Vec<Box<dyn CopiedColumn>>,
    /// Interest metadata of each entity, in `ids` order.
    metas: Vec<EntityMeta>,
}

impl CapturedState {
    /// Every entity's quantized state, sorted by `NetId`, and its metadata.
    pub fn quantize(self) -> (Vec<EntityState>, Vec<EntityMeta>) {
        let mut entities: Vec<EntityState> = self
            .ids
            .iter()
            .map(|id| EntityState {
                id: *id,
                components: Components::new(),
            })
            .collect();
        for column in &self.columns {
            column.quantize_into(&mut entities);
        }
        (entities, self.metas)
    }
}

/// Where entities are, from the game's spatial component.
trait PositionCapture: Send + Sync {
    /// Sets the position of every entity that has the component.
    fn capture(&mut self, world: &mut World, ranks: &Ranks, metas: &mut [EntityMeta]);
}

/// A [`PositionCapture`] from component `C`.
struct PositionOf<C: Component> {
    position: fn(&C) -> Vec2,
    query: Option<QueryState<(Entity, &'static Replicated, &'static C)>>,
}

impl<C: Component> PositionCapture for PositionOf<C> {
    fn capture(&mut self, world: &mut World, ranks: &Ranks, metas: &mut [EntityMeta]) {
        let query = self.query.get_or_insert_with(|| world.query());
        for (entity, replicated, component) in query.iter(world) {
            if let Some(rank) = ranks.rank(entity, replicated) {
                metas[rank].position = Some((self.position)(component));
            }
        }
    }
}

/// Where each replicated entity goes in a capture: its rank in `NetId` order.
#[derive(Default)]
struct Ranks {
    /// Rank of the entity holding each `NetId` slot, [`Ranks::NONE`] for none.
    of_slot: Vec<u32>,
    /// The `NetId` and entity of each rank.
    held: Vec<(NetId, Entity)>,
}

impl Ranks {
    const NONE: u32 = u32::MAX;

    /// Ranks the entities of `net_ids` (walked in slot order, hence `NetId` order).
    fn fill(&mut self, net_ids: &SlotMap<NetId, Entity>) {
        self.of_slot.fill(Ranks::NONE);
        self.held.clear();
        for (rank, (net_id, entity)) in net_ids.iter().enumerate() {
            let slot = net_id.index() as usize;
            if slot >= self.of_slot.len() {
                self.of_slot.resize(slot + 1, Ranks::NONE);
            }
            self.of_slot[slot] = rank as u32;
            self.held.push((net_id, *entity));
        }
    }

    /// Drops the ranks of entities not `present`, renumbering the rest in order, and
    /// returns the dropped `NetId`s.
    fn keep_present(&mut self, present: &[bool]) -> Vec<NetId> {
        let mut gone = Vec::new();
        let mut next = 0u32;
        for (rank, (net_id, _)) in self.held.iter().enumerate() {
            let slot = net_id.index() as usize;
            if present[rank] {
                self.of_slot[slot] = next;
                next += 1;
            } else {
                self.of_slot[slot] = Ranks::NONE;
                gone.push(*net_id);
            }
        }
        let mut keep = present.iter();
        self.held.retain(|_| keep.next().copied().unwrap_or(false));
        gone
    }

    /// The rank of `entity`, if the `NetId` its `Replicated` names is still its own.
    #[inline]
    fn rank(&self, entity: Entity, replicated: &Replicated) -> Option<usize> {
        let net_id = replicated.net_id?;
        let rank = *self.of_slot.get(net_id.index() as usize)? as usize;
        (self.held.get(rank)? == &(net_id, entity)).then_some(rank)
    }
}

/// The replicated component types of a game, sorted by kind, and what interest
/// management needs to know: where entities are and any extra relevance rule.
#[derive(Default)]
pub struct ReplicationRegistry {
    columns: Vec<(ComponentKind, Box<dyn ColumnCapture>)>,
    /// What each registered component declares, sorted by kind (for the `Welcome`).
    schemas: Vec<ComponentSchema>,
    position: Option<Box<dyn PositionCapture>>,
    rule: Option<RelevanceRule>,
}

impl ReplicationRegistry {
    /// Replicates component `C` with its own quantizer. A capture copies the component
    /// on the tick thread (hence `Clone`) and quantizes the copy elsewhere.
    ///
    /// # Panics
    /// If another registered component already uses `C::KIND`: that is a bug in the
    /// game's setup, caught when the room starts.
    pub fn replicate<C: Component + Replicate + Clone>(&mut self) -> &mut Self {
        let at = match self.columns.binary_search_by_key(&C::KIND, |(kind, _)| *kind) {
            Ok(_) => panic!("{} is registered twice", C::KIND),
            Err(at) => at,
        };
        let column = Column::<C> {
            kind: C::KIND,
            query: None,
        };
        self.columns.insert(at, (C::KIND, Box::new(column)));
        self.schemas.insert(at, ComponentSchema::of::<C>());
        self
    }

    /// What every registered component declares, sorted by kind.
    pub fn schemas(&self) -> &[ComponentSchema] {
        &self.schemas
    }

    /// Declares where entities are, for interest management: the position of an entity
    /// is `position(&C)` of its component `C`. Entities without `C` are seen by everyone.
    pub fn spatial<C: Component>(&mut self, position: fn(&C) -> Vec2) -> &mut Self {
        self.position = Some(Box::new(PositionOf::<C> { position, query: None }));
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
}

/// Replication state of a room: the registry and the `NetId <-> Entity` map.
#[derive(Resource)]
pub struct Replication {
    registry: ReplicationRegistry,
    net_ids: SlotMap<NetId, Entity>,
    unassigned: Option<QueryState<(Entity, &'static mut Replicated)>>,
    /// Every replicated entity with what interest management reads besides position.
    present: Option<PresentQuery>,
    ranks: Ranks,
}

/// [`Replication::present`]'s query.
type PresentQuery = QueryState<(
    Entity,
    &'static Replicated,
    Option<&'static Relevance>,
    Option<&'static ViewerTeam>,
)>;

impl Replication {
    pub(crate) fn new(registry: ReplicationRegistry) -> Replication {
        Replication {
            registry,
            net_ids: SlotMap::with_key(),
            unassigned: None,
            present: None,
            ranks: Ranks::default(),
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
    /// at the same index; the components are copied, to be quantized by
    /// [`CapturedState::quantize`]. Entities despawned since the last capture lose their
    /// `NetId` here (slotmap generations keep it from being confused with the next
    /// entity in that slot).
    pub(crate) fn capture(&mut self, world: &mut World) -> CapturedState {
        let query = self.unassigned.get_or_insert_with(|| world.query());
        for (entity, mut replicated) in query.iter_mut(world) {
            if replicated.net_id.is_none() {
                replicated.net_id = Some(self.net_ids.insert(entity));
            }
        }
        self.ranks.fill(&self.net_ids);
        let unplaced = EntityMeta {
            position: None,
            relevance: Relevance::default(),
            team: None,
        };
        let mut metas = vec![unplaced; self.ranks.held.len()];
        let mut present = vec![false; self.ranks.held.len()];
        let query = self.present.get_or_insert_with(|| world.query());
        for (entity, replicated, relevance, team) in query.iter(world) {
            if let Some(rank) = self.ranks.rank(entity, replicated) {
                present[rank] = true;
                metas[rank].relevance = relevance.copied().unwrap_or_default();
                metas[rank].team = team.map(|team| team.0);
            }
        }
        // Entities despawned (or no longer replicated) since the last capture.
        if present.contains(&false) {
            for net_id in self.ranks.keep_present(&present) {
                self.net_ids.remove(net_id);
            }
            let mut keep = present.iter();
            metas.retain(|_| keep.next().copied().unwrap_or(false));
        }
        let columns = self
            .registry
            .columns
            .iter_mut()
            .map(|(_, column)| column.copy(world, &self.ranks))
            .collect();
        if let Some(position) = &mut self.registry.position {
            position.capture(world, &self.ranks, &mut metas);
        }
        CapturedState {
            ids: self.ranks.held.iter().map(|(net_id, _)| *net_id).collect(),
            columns,
            metas,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::FieldDecl;
    use tickcast_shared::state::Fields;

    #[derive(Component, Clone, Copy)]
    struct Place(Vec2);

    impl Replicate for Place {
        const KIND: ComponentKind = ComponentKind(0);
        const NAME: &'static str = "Place";
        const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("x"), FieldDecl::integer("y")];

        fn quantize(&self, out: &mut Fields) {
            out.extend([self.0.x as i32, self.0.y as i32]);
        }

        fn dequantize(fields: &[i32]) -> Option<Self> {
            let [x, y] = *fields else { return None };
            Some(Place(Vec2::new(x as f32, y as f32)))
        }
    }

    #[derive(Component, Clone, Copy)]
    struct Level(i32);

    impl Replicate for Level {
        const KIND: ComponentKind = ComponentKind(5);
        const NAME: &'static str = "Level";
        const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("level")];

        fn quantize(&self, out: &mut Fields) {
            out.push(self.0);
        }

        fn dequantize(fields: &[i32]) -> Option<Self> {
            let [level] = *fields else { return None };
            Some(Level(level))
        }
    }

    fn replication() -> Replication {
        let mut registry = ReplicationRegistry::default();
        // Registered out of kind order on purpose: components still come out sorted.
        registry
            .replicate::<Level>()
            .replicate::<Place>()
            .spatial::<Place>(|place| place.0);
        Replication::new(registry)
    }

    #[test]
    fn a_capture_lists_entities_in_net_id_order_with_sorted_components_and_their_metas() {
        let mut world = World::new();
        let mut replication = replication();
        // Different archetypes, so the columns are walked table by table.
        let both = world
            .spawn((Replicated::default(), Place(Vec2::new(1.0, 2.0)), Level(7)))
            .id();
        let level_only = world.spawn((Replicated::default(), Level(3), ViewerTeam(4))).id();
        let hidden = world
            .spawn((Replicated::default(), Place(Vec2::new(5.0, 6.0)), Relevance::Hidden))
            .id();
        let unreplicated = world.spawn((Place(Vec2::ZERO), Level(1))).id();

        let (entities, metas) = replication.capture(&mut world).quantize();
        assert_eq!(entities.len(), 3, "only replicated entities are captured");
        assert!(
            entities.windows(2).all(|pair| pair[0].id < pair[1].id),
            "sorted by NetId"
        );
        let ids: Vec<NetId> = entities.iter().map(|e| e.id).collect();
        let of = |entity: Entity| {
            let id = world
                .get::<Replicated>(entity)
                .and_then(Replicated::net_id)
                .expect("assigned");
            ids.iter().position(|captured| *captured == id).expect("captured")
        };
        assert!(world.get::<Replicated>(unreplicated).is_none());

        let at = of(both);
        let kinds: Vec<u8> = entities[at].components.iter().map(|c| c.kind.0).collect();
        assert_eq!(kinds, [0, 5]);
        assert_eq!(entities[at].components[0].fields.as_slice(), [1, 2]);
        assert_eq!(entities[at].components[1].fields.as_slice(), [7]);
        assert_eq!(metas[at].position, Some(Vec2::new(1.0, 2.0)));
        assert_eq!(metas[at].relevance, Relevance::default());

        let at = of(level_only);
        assert_eq!(entities[at].components.len(), 1);
        assert_eq!(metas[at].position, None, "no spatial component: seen by everyone");
        assert_eq!(metas[at].team, Some(4));

        let at = of(hidden);
        assert_eq!(metas[at].relevance, Relevance::Hidden);
        assert_eq!(metas[at].position, Some(Vec2::new(5.0, 6.0)));
    }

    #[test]
    fn despawned_and_unreplicated_entities_leave_the_capture_and_their_net_ids_go() {
        let mut world = World::new();
        let mut replication = replication();
        let kept = world.spawn((Replicated::default(), Level(1))).id();
        let despawned = world.spawn((Replicated::default(), Level(2))).id();
        let unmarked = world.spawn((Replicated::default(), Level(3))).id();
        let (entities, _) = replication.capture(&mut world).quantize();
        assert_eq!(entities.len(), 3);
        assert_eq!(replication.len(), 3);

        world.despawn(despawned);
        world.entity_mut(unmarked).remove::<Replicated>();
        let (entities, metas) = replication.capture(&mut world).quantize();
        assert_eq!(entities.len(), 1);
        assert_eq!(metas.len(), 1);
        assert_eq!(entities[0].components[0].fields.as_slice(), [1]);
        assert_eq!(replication.len(), 1, "their NetIds are released");
        let kept_id = world.get::<Replicated>(kept).and_then(Replicated::net_id);
        assert_eq!(Some(entities[0].id), kept_id);

        // A copied `Replicated` names a NetId that is not its entity's: not captured twice.
        let copy = *world.get::<Replicated>(kept).expect("replicated");
        world.spawn((copy, Level(9)));
        let (entities, _) = replication.capture(&mut world).quantize();
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0].components[0].fields.as_slice(), [1]);
    }
}
