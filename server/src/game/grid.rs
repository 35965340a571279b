//! A uniform spatial hash for "what is near this point" queries, rebuilt each tick.
//!
//! Hit tests check a projectile only against targets in its own and neighbouring cells,
//! so their cost grows with local density rather than with projectiles x targets.

use bevy_ecs::prelude::*;
use glam::Vec2;
use rustc_hash::FxHashMap;

/// One circle in the grid: entity, centre, radius.
pub type Circle = (Entity, Vec2, f32);

/// Entities bucketed by cell.
#[derive(Debug, Default)]
pub struct SpatialGrid {
    cell_size: f32,
    cells: FxHashMap<(i32, i32), Vec<Circle>>,
}

impl SpatialGrid {
    /// An empty grid with square cells of `cell_size` units.
    pub fn new(cell_size: f32) -> SpatialGrid {
        SpatialGrid {
            cell_size,
            cells: FxHashMap::default(),
        }
    }

    fn cell_of(&self, point: Vec2) -> (i32, i32) {
        let cell = (point / self.cell_size).floor();
        (cell.x as i32, cell.y as i32)
    }

    /// Empties every cell, keeping allocations.
    pub fn clear(&mut self) {
        self.cells.values_mut().for_each(Vec::clear);
    }

    /// Adds a circle at `centre` with `radius` (radius must not exceed the cell size).
    pub fn insert(&mut self, entity: Entity, centre: Vec2, radius: f32) {
        let cell = self.cell_of(centre);
        self.cells.entry(cell).or_default().push((entity, centre, radius));
    }

    /// Every circle within one cell of `point`.
    pub fn near(&self, point: Vec2) -> impl Iterator<Item = &Circle> {
        let (cx, cy) = self.cell_of(point);
        (cx - 1..=cx + 1)
            .flat_map(move |x| (cy - 1..=cy + 1).map(move |y| (x, y)))
            .filter_map(|cell| self.cells.get(&cell))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_finds_neighbours_and_skips_far_ones() {
        let mut grid = SpatialGrid::new(4.0);
        let mut world = World::new();
        let (near, far) = (world.spawn_empty().id(), world.spawn_empty().id());
        grid.insert(near, Vec2::new(4.5, 4.5), 0.5);
        grid.insert(far, Vec2::new(40.0, 40.0), 0.5);
        let found: Vec<Entity> = grid.near(Vec2::new(3.9, 3.9)).map(|(e, _, _)| *e).collect();
        assert_eq!(found, vec![near]);
        grid.clear();
        assert_eq!(grid.near(Vec2::new(4.5, 4.5)).count(), 0);
    }
}
