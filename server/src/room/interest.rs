//! Interest management: which entities each client is sent.
//!
//! At capture every replicated entity gets an [`EntityMeta`]: its position (from the
//! game's registered spatial component) and its [`Relevance`]. Writers then ask an
//! [`InterestGrid`], built once per snapshot, for the entities near their client's
//! viewpoint: a uniform grid whose cells are as wide as the interest radius, so a query
//! reads nine cells. Always-relevant entities are kept in their own list. A game can add
//! its own rule on top with [`RelevanceRule`].

use super::ClientId;
use bevy_ecs::prelude::*;
use glam::Vec2;
use rustc_hash::FxHashMap;
use tickcast_shared::NetId;

/// Who may see an entity. Insert it on an entity to change the default (`Spatial`).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Relevance {
    /// Seen by clients whose viewpoint is within the interest radius.
    #[default]
    Spatial,
    /// Seen by every client, wherever it is (scoreboards, flags, bosses).
    Always,
    /// Seen, within the radius, only by clients on this team.
    Team(u16),
    /// Seen by no client (server-side bookkeeping entities).
    Hidden,
}

/// The team of a client's player: put it on the player entity to use `Relevance::Team`.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewerTeam(pub u16);

/// What the interest rules know about an entity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EntityMeta {
    /// Position, if the game registered a spatial component and the entity has it.
    pub position: Option<Vec2>,
    /// Its relevance.
    pub relevance: Relevance,
    /// The team, if the entity is a player with a [`ViewerTeam`].
    pub team: Option<u16>,
}

/// A client looking at the world.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewer {
    /// The client.
    pub client: ClientId,
    /// The entity it controls (always visible to it); `None` for a spectator.
    pub player: Option<NetId>,
    /// Where it looks from.
    pub position: Vec2,
    /// Its team, if any.
    pub team: Option<u16>,
}

/// A game's extra rule: return `false` to hide an entity the default rules would show.
pub type RelevanceRule = fn(&Viewer, &EntityMeta) -> bool;

/// Entity indices (into a snapshot's entity list) bucketed by grid cell.
#[derive(Debug, Default)]
pub struct InterestGrid {
    cell_size: f32,
    cells: FxHashMap<(i32, i32), Vec<Member>>,
    always: Vec<u32>,
    unplaced: Vec<u32>,
}

/// An entity in a cell, with what a query tests kept beside its index: a query then reads
/// the cell's members in order instead of each entity's meta at random across the
/// snapshot (`InterestGrid::visible` was 7% of a 500-bot swarm's server CPU).
#[derive(Clone, Copy, Debug)]
struct Member {
    index: u32,
    position: Vec2,
    /// The team that alone may see it (`Relevance::Team`), if any.
    team: Option<u16>,
}

impl InterestGrid {
    /// Buckets every entity of `metas` (indexed like the snapshot's entities).
    pub fn build(metas: &[EntityMeta], radius: f32) -> InterestGrid {
        let mut grid = InterestGrid {
            cell_size: radius.max(1.0),
            ..InterestGrid::default()
        };
        for (index, meta) in metas.iter().enumerate() {
            let index = index as u32;
            match (meta.relevance, meta.position) {
                (Relevance::Hidden, _) => {}
                (Relevance::Always, _) => grid.always.push(index),
                (relevance, Some(position)) => {
                    let team = match relevance {
                        Relevance::Team(team) => Some(team),
                        _ => None,
                    };
                    let member = Member { index, position, team };
                    grid.cells.entry(grid.cell_of(position)).or_default().push(member);
                }
                (_, None) => grid.unplaced.push(index),
            }
        }
        grid
    }

    fn cell_of(&self, point: Vec2) -> (i32, i32) {
        let cell = (point / self.cell_size).floor();
        (cell.x as i32, cell.y as i32)
    }

    /// Appends to `out` the indices of entities `viewer` may see within `radius`, sorted
    /// ascending (which is `NetId` order). Entities without a position are visible to
    /// everyone: a game that registers no spatial component gets no culling.
    ///
    /// `marks` is scratch space the caller keeps between calls: when the world is not
    /// much larger than the view, the order comes from a bitset over the snapshot
    /// (clear, mark, scan) instead of a sort, which is several times cheaper.
    pub fn visible(
        &self,
        viewer: &Viewer,
        radius: f32,
        metas: &[EntityMeta],
        rule: Option<RelevanceRule>,
        out: &mut Vec<u32>,
        marks: &mut Vec<u64>,
    ) {
        out.clear();
        let radius_squared = radius * radius;
        let (cx, cy) = self.cell_of(viewer.position);
        for x in cx - 1..=cx + 1 {
            for y in cy - 1..=cy + 1 {
                let Some(cell) = self.cells.get(&(x, y)) else { continue };
                for member in cell {
                    let near = member.position.distance_squared(viewer.position) <= radius_squared;
                    let team_ok = member.team.is_none() || member.team == viewer.team;
                    if near && team_ok {
                        out.push(member.index);
                    }
                }
            }
        }
        out.extend_from_slice(&self.always);
        out.extend_from_slice(&self.unplaced);
        if let Some(rule) = rule {
            out.retain(|index| rule(viewer, &metas[*index as usize]));
        }
        sort_indices(out, metas.len(), marks);
    }
}

/// Sorts distinct indices below `bound`: by marking them in a bitset and scanning it when
/// the bitset has at most [`WORDS_PER_INDEX`] words per index, by a sort otherwise.
fn sort_indices(indices: &mut Vec<u32>, bound: usize, marks: &mut Vec<u64>) {
    let words = bound.div_ceil(64);
    if indices.len() < 16 || words > indices.len() * WORDS_PER_INDEX {
        indices.sort_unstable();
        return;
    }
    marks.clear();
    marks.resize(words, 0);
    for &index in indices.iter() {
        marks[index as usize / 64] |= 1 << (index % 64);
    }
    indices.clear();
    for (word_index, &word) in marks.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            indices.push(word_index as u32 * 64 + word.trailing_zeros());
            word &= word - 1;
        }
    }
}

/// Bitset words per index up to which [`sort_indices`] scans a bitset rather than sorts.
const WORDS_PER_INDEX: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(x: f32, relevance: Relevance) -> EntityMeta {
        EntityMeta {
            position: Some(Vec2::new(x, 0.0)),
            relevance,
            team: None,
        }
    }

    fn viewer(x: f32, team: Option<u16>) -> Viewer {
        Viewer {
            client: 1,
            player: Some(NetId::from_parts(0, 1)),
            position: Vec2::new(x, 0.0),
            team,
        }
    }

    #[test]
    fn radius_teams_always_and_hidden() {
        let metas = [
            meta(5.0, Relevance::Spatial),
            meta(50.0, Relevance::Spatial),
            meta(500.0, Relevance::Always),
            meta(6.0, Relevance::Team(2)),
            meta(7.0, Relevance::Hidden),
            EntityMeta {
                position: None,
                relevance: Relevance::Spatial,
                team: None,
            },
        ];
        let grid = InterestGrid::build(&metas, 20.0);
        let mut out = Vec::new();
        grid.visible(&viewer(0.0, None), 20.0, &metas, None, &mut out, &mut Vec::new());
        assert_eq!(out, vec![0, 2, 5]);
        grid.visible(&viewer(0.0, Some(2)), 20.0, &metas, None, &mut out, &mut Vec::new());
        assert_eq!(out, vec![0, 2, 3, 5]);
        grid.visible(&viewer(45.0, Some(2)), 20.0, &metas, None, &mut out, &mut Vec::new());
        assert_eq!(out, vec![1, 2, 5]);
        fn no_always(_: &Viewer, meta: &EntityMeta) -> bool {
            meta.relevance != Relevance::Always
        }
        grid.visible(
            &viewer(0.0, None),
            20.0,
            &metas,
            Some(no_always),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(out, vec![0, 5]);
    }

    #[test]
    fn negative_coordinates_and_cell_edges() {
        let metas = [
            meta(-19.0, Relevance::Spatial),
            meta(19.9, Relevance::Spatial),
            meta(-41.0, Relevance::Spatial),
        ];
        let grid = InterestGrid::build(&metas, 20.0);
        let mut out = Vec::new();
        grid.visible(&viewer(0.5, None), 20.0, &metas, None, &mut out, &mut Vec::new());
        assert_eq!(out, vec![0, 1]);
    }

    proptest::proptest! {
        #[test]
        fn sorting_by_bitset_equals_sorting(
            indices in proptest::collection::hash_set(0u32..5_000, 0..400),
            bound_extra in 0usize..3_000,
        ) {
            let mut indices: Vec<u32> = indices.into_iter().collect();
            let bound = indices.iter().max().map_or(0, |max| *max as usize + 1) + bound_extra;
            let mut expected = indices.clone();
            expected.sort_unstable();
            let mut marks = vec![u64::MAX; 3];
            sort_indices(&mut indices, bound, &mut marks);
            proptest::prop_assert_eq!(indices, expected);
        }
    }
}
