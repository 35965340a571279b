//! A uniform spatial hash for "what is near this point" queries, rebuilt each tick.
//!
//! Hit tests check a projectile only against targets in the cells its reach overlaps
//! (usually one or two, not the 3 x 3 block around it), so their cost grows with local
//! density rather than with projectiles x targets.

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
    /// The largest radius inserted since the last clear.
    max_radius: f32,
}

impl SpatialGrid {
    /// An empty grid with square cells of `cell_size` units.
    pub fn new(cell_size: f32) -> SpatialGrid {
        SpatialGrid {
            cell_size,
            cells: FxHashMap::default(),
            max_radius: 0.0,
        }
    }

    fn cell_of(&self, point: Vec2) -> (i32, i32) {
        let cell = (point / self.cell_size).floor();
        (cell.x as i32, cell.y as i32)
    }

    /// Empties every cell, keeping allocations.
    pub fn clear(&mut self) {
        self.cells.values_mut().for_each(Vec::clear);
        self.max_radius = 0.0;
    }

    /// Adds a circle at `centre` with `radius`.
    pub fn insert(&mut self, entity: Entity, centre: Vec2, radius: f32) {
        let cell = self.cell_of(centre);
        self.cells.entry(cell).or_default().push((entity, centre, radius));
        self.max_radius = self.max_radius.max(radius);
    }

    /// Every circle that may come within `reach` of `point` (a superset: the caller
    /// tests the distance): those whose centre lies in a cell overlapping the square of
    /// half-side `reach` plus the largest radius around `point`.
    pub fn near(&self, point: Vec2, reach: f32) -> impl Iterator<Item = &Circle> {
        let extent = Vec2::splat(reach + self.max_radius);
        let (low_x, low_y) = self.cell_of(point - extent);
        let (high_x, high_y) = self.cell_of(point + extent);
        let span = |low: i32, high: i32| (i64::from(high) - i64::from(low) + 1).max(0);
        // A reach covering many more cells than are occupied (a huge radius) walks the
        // cells that exist instead of every cell in range.
        let wide = span(low_x, high_x).saturating_mul(span(low_y, high_y)) > 4 * self.cells.len() as i64 + 64;
        let every_cell = wide.then(|| self.cells.values().flatten());
        let in_range = (!wide).then(|| {
            (low_x..=high_x)
                .flat_map(move |x| (low_y..=high_y).map(move |y| (x, y)))
                .filter_map(|cell| self.cells.get(&cell))
                .flatten()
        });
        every_cell.into_iter().flatten().chain(in_range.into_iter().flatten())
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
        let found: Vec<Entity> = grid.near(Vec2::new(3.9, 3.9), 0.2).map(|(e, _, _)| *e).collect();
        assert_eq!(found, vec![near], "a neighbouring cell within reach is searched");
        assert_eq!(
            grid.near(Vec2::new(1.0, 1.0), 0.2).count(),
            0,
            "cells out of reach are not"
        );
        grid.clear();
        assert_eq!(grid.near(Vec2::new(4.5, 4.5), 0.2).count(), 0);
    }

    #[test]
    fn every_circle_within_reach_is_found() {
        let mut grid = SpatialGrid::new(4.0);
        let mut world = World::new();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut circles = Vec::new();
        for _ in 0..400 {
            let entity = world.spawn_empty().id();
            let centre = Vec2::new(rng.f32() * 40.0 - 20.0, rng.f32() * 40.0 - 20.0);
            // Now and then a circle far larger than a cell, which widens every search.
            let radius = if rng.usize(..100) == 0 { 30.0 } else { rng.f32() * 1.5 };
            grid.insert(entity, centre, radius);
            circles.push((entity, centre, radius));
        }
        for _ in 0..400 {
            let point = Vec2::new(rng.f32() * 44.0 - 22.0, rng.f32() * 44.0 - 22.0);
            let reach = rng.f32();
            let found: Vec<Entity> = grid.near(point, reach).map(|(e, _, _)| *e).collect();
            for (entity, centre, radius) in &circles {
                if centre.distance(point) <= radius + reach {
                    assert!(
                        found.contains(entity),
                        "{centre} (radius {radius}) is within {reach} of {point}"
                    );
                }
            }
        }

        // A circle far wider than the grid: the search takes the occupied-cells path and
        // still finds it, and every other circle, once each.
        let huge = world.spawn_empty().id();
        grid.insert(huge, Vec2::new(5_000.0, 5_000.0), 10_000.0);
        let found: Vec<Entity> = grid.near(Vec2::ZERO, 0.1).map(|(e, _, _)| *e).collect();
        assert!(found.contains(&huge));
        assert_eq!(found.len(), circles.len() + 1, "every circle, each once");
    }
}
