//! Arena maps: bounds, walls and spawn points, loaded from TOML (`assets/maps/`).
//!
//! Every moving body is resolved against the walls every tick, so a map keeps a coarse
//! grid of which walls are near each cell ([`WallGrid`]): a body tests only the walls
//! listed for its cell (on the large map 0.08 on average, at most 2, of 24), not all of
//! them, with exactly the same result.

use bevy_ecs::prelude::*;
use glam::Vec2;
use serde::Deserialize;
use std::path::Path;
use thiserror::Error;

/// The embedded default map (`assets/maps/arena.toml`).
pub const EMBEDDED_MAP: &str = include_str!("../../../assets/maps/arena.toml");

/// An axis-aligned box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Lowest corner.
    pub min: Vec2,
    /// Highest corner.
    pub max: Vec2,
}

impl Rect {
    /// Whether `point` lies inside (or on the edge).
    pub fn contains(&self, point: Vec2) -> bool {
        point.cmpge(self.min).all() && point.cmple(self.max).all()
    }

    /// The point of the box nearest `point`.
    pub fn closest_point(&self, point: Vec2) -> Vec2 {
        point.clamp(self.min, self.max)
    }

    /// Where the ray `origin + t * direction` (`t >= 0`) first enters the box, as `t`;
    /// 0 if it starts inside (the slab test).
    pub fn ray_entry(&self, origin: Vec2, direction: Vec2) -> Option<f32> {
        let (mut near, mut far) = (0.0f32, f32::INFINITY);
        for axis in 0..2 {
            if direction[axis] == 0.0 {
                if origin[axis] < self.min[axis] || origin[axis] > self.max[axis] {
                    return None;
                }
                continue;
            }
            let a = (self.min[axis] - origin[axis]) / direction[axis];
            let b = (self.max[axis] - origin[axis]) / direction[axis];
            near = near.max(a.min(b));
            far = far.min(a.max(b));
        }
        (near <= far).then_some(near)
    }
}

/// A loaded, validated map.
#[derive(Resource, Clone, Debug)]
pub struct Map {
    /// Its name.
    pub name: String,
    /// The playable floor.
    pub bounds: Rect,
    /// Solid boxes.
    pub walls: Vec<Rect>,
    /// Where players appear.
    pub spawns: Vec<Vec2>,
    /// Which walls are near each part of the floor.
    grid: WallGrid,
}

/// Side of a [`WallGrid`] cell, in world units (larger on floors that would need more
/// than [`MAX_WALL_CELLS`] cells).
const WALL_CELL: f32 = 8.0;
/// Most cells a [`WallGrid`] has.
const MAX_WALL_CELLS: usize = 1 << 16;
/// A cell lists every wall within this distance of it. A circle of radius `r` may use
/// its cell's list when `2 r` plus [`WALL_SLACK`] is at most this: every wall it could
/// touch while moving up to `r` is then on the list.
const WALL_REACH: f32 = 2.0;
/// Room for rounding in the cell a centre falls in (an f32 step at 10 000 units is
/// about 0.001).
const WALL_SLACK: f32 = 0.1;

/// The walls within [`WALL_REACH`] of each cell of a uniform grid over the floor.
#[derive(Clone, Debug, Default)]
struct WallGrid {
    origin: Vec2,
    cell: f32,
    columns: usize,
    rows: usize,
    /// Cell `i`'s walls are `walls[starts[i]..starts[i + 1]]`, ascending.
    starts: Vec<u32>,
    walls: Vec<u32>,
}

impl WallGrid {
    fn build(bounds: Rect, walls: &[Rect]) -> WallGrid {
        let size = bounds.max - bounds.min;
        let area_per_cell = size.x * size.y / MAX_WALL_CELLS as f32;
        let cell = WALL_CELL.max(area_per_cell.sqrt() * 1.01);
        let columns = ((size.x / cell).ceil() as usize).max(1);
        let rows = ((size.y / cell).ceil() as usize).max(1);
        let mut grid = WallGrid {
            origin: bounds.min,
            cell,
            columns,
            rows,
            starts: Vec::with_capacity(columns * rows + 1),
            walls: Vec::new(),
        };
        for row in 0..rows {
            for column in 0..columns {
                grid.starts.push(grid.walls.len() as u32);
                let min = bounds.min + Vec2::new(column as f32, row as f32) * cell - WALL_REACH;
                let max = min + cell + 2.0 * WALL_REACH;
                let near = walls
                    .iter()
                    .enumerate()
                    .filter(|(_, wall)| wall.min.cmple(max).all() && wall.max.cmpge(min).all());
                grid.walls.extend(near.map(|(at, _)| at as u32));
            }
        }
        grid.starts.push(grid.walls.len() as u32);
        grid
    }

    /// The walls near `point`'s cell, or `None` off the grid.
    fn near(&self, point: Vec2) -> Option<&[u32]> {
        let cell = ((point - self.origin) / self.cell).floor();
        if !(cell.x >= 0.0 && cell.y >= 0.0) {
            return None;
        }
        let (column, row) = (cell.x as usize, cell.y as usize);
        if column >= self.columns || row >= self.rows {
            return None;
        }
        let at = row * self.columns + column;
        Some(&self.walls[self.starts[at] as usize..self.starts[at + 1] as usize])
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    name: String,
    width: f32,
    height: f32,
    #[serde(default)]
    walls: Vec<WallFile>,
    spawns: Vec<[f32; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WallFile {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// Why a map could not be loaded.
#[derive(Debug, Error)]
pub enum MapError {
    /// The file could not be read.
    #[error("reading map {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// Not valid map TOML.
    #[error("parsing map: {0}")]
    Parse(#[from] toml::de::Error),
    /// Parsed, but unusable.
    #[error("invalid map: {0}")]
    Invalid(String),
}

impl Map {
    /// Loads `"embedded"` or a TOML file.
    pub fn load(source: &str) -> Result<Map, MapError> {
        if source == "embedded" {
            return Map::parse(EMBEDDED_MAP);
        }
        let text = std::fs::read_to_string(Path::new(source)).map_err(|e| MapError::Read {
            path: source.to_string(),
            source: e,
        })?;
        Map::parse(&text)
    }

    /// Parses and validates map TOML.
    pub fn parse(text: &str) -> Result<Map, MapError> {
        let file: MapFile = toml::from_str(text)?;
        let finite_positive = |v: f32| v.is_finite() && v > 0.0;
        if !finite_positive(file.width) || !finite_positive(file.height) {
            return Err(MapError::Invalid("width and height must be positive".into()));
        }
        let bounds = Rect {
            min: Vec2::ZERO,
            max: Vec2::new(file.width, file.height),
        };
        let mut walls = Vec::with_capacity(file.walls.len());
        for wall in &file.walls {
            if !(finite_positive(wall.w) && finite_positive(wall.h) && wall.x.is_finite() && wall.y.is_finite()) {
                return Err(MapError::Invalid(format!(
                    "wall at ({}, {}) has no area",
                    wall.x, wall.y
                )));
            }
            walls.push(Rect {
                min: Vec2::new(wall.x, wall.y),
                max: Vec2::new(wall.x + wall.w, wall.y + wall.h),
            });
        }
        let spawns: Vec<Vec2> = file.spawns.iter().map(|[x, y]| Vec2::new(*x, *y)).collect();
        if spawns.is_empty() {
            return Err(MapError::Invalid("a map needs at least one spawn point".into()));
        }
        for spawn in &spawns {
            if !bounds.contains(*spawn) || walls.iter().any(|wall| wall.contains(*spawn)) {
                return Err(MapError::Invalid(format!(
                    "spawn point ({}, {}) is outside the floor or inside a wall",
                    spawn.x, spawn.y
                )));
            }
        }
        let grid = WallGrid::build(bounds, &walls);
        Ok(Map {
            name: file.name,
            bounds,
            walls,
            spawns,
            grid,
        })
    }

    /// How far along the ray `origin + t * direction` the first wall is, if any.
    pub fn ray_to_wall(&self, origin: Vec2, direction: Vec2) -> Option<f32> {
        self.walls
            .iter()
            .filter_map(|wall| wall.ray_entry(origin, direction))
            .min_by(f32::total_cmp)
    }

    /// Whether `point` is on the floor and in no wall.
    pub fn is_open(&self, point: Vec2) -> bool {
        self.bounds.contains(point) && !self.walls.iter().any(|wall| wall.contains(point))
    }

    /// Moves a circle out of every wall and back inside the bounds. Returns the
    /// corrected centre and whether it touched anything.
    pub fn resolve_circle(&self, centre: Vec2, radius: f32) -> (Vec2, bool) {
        let near = (2.0 * radius + WALL_SLACK <= WALL_REACH)
            .then(|| self.grid.near(centre))
            .flatten();
        let (resolved, touched) = match near {
            Some(near) => match push_out(centre, radius, near.iter().map(|&at| &self.walls[at as usize])) {
                // Moved no further than `radius` in all: every wall it came near was
                // on the cell's list, so testing all of them gives the same result.
                (resolved, touched, moved) if moved <= radius => (resolved, touched),
                _ => self.push_out_of_all(centre, radius),
            },
            None => self.push_out_of_all(centre, radius),
        };
        let inside = resolved.clamp(self.bounds.min + radius, self.bounds.max - radius);
        (inside, touched || inside != resolved)
    }

    /// [`push_out`] against every wall.
    fn push_out_of_all(&self, centre: Vec2, radius: f32) -> (Vec2, bool) {
        let (resolved, touched, _) = push_out(centre, radius, &self.walls);
        (resolved, touched)
    }
}

/// Moves a circle out of each of `walls` in turn. Returns the centre, whether it touched
/// any, and how far it moved in all (the sum of the pushes).
fn push_out<'a>(mut centre: Vec2, radius: f32, walls: impl IntoIterator<Item = &'a Rect>) -> (Vec2, bool, f32) {
    let mut touched = false;
    let mut moved = 0.0;
    for wall in walls {
        let nearest = wall.closest_point(centre);
        let offset = centre - nearest;
        // Most walls are far: compare squares, and take the root only when touching.
        if offset.length_squared() >= radius * radius {
            continue;
        }
        let distance = offset.length();
        touched = true;
        let pushed = if distance > f32::EPSILON {
            nearest + offset / distance * radius
        } else {
            // The centre is inside the wall: leave by the shortest way out.
            let exits = [
                (centre.x - wall.min.x, Vec2::new(wall.min.x - radius, centre.y)),
                (wall.max.x - centre.x, Vec2::new(wall.max.x + radius, centre.y)),
                (centre.y - wall.min.y, Vec2::new(centre.x, wall.min.y - radius)),
                (wall.max.y - centre.y, Vec2::new(centre.x, wall.max.y + radius)),
            ];
            exits
                .into_iter()
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(centre, |(_, exit)| exit)
        };
        moved += pushed.distance(centre);
        centre = pushed;
    }
    (centre, touched, moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_map_loads() {
        let map = Map::load("embedded").unwrap();
        assert_eq!(map.name, "arena");
        assert!(map.spawns.len() >= 4);
        assert!(map.spawns.iter().all(|s| map.is_open(*s)));
    }

    #[test]
    fn the_large_load_test_map_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/maps/large.toml");
        let map = Map::load(path).unwrap();
        assert_eq!((map.name.as_str(), map.spawns.len()), ("large", 64));
    }

    #[test]
    fn bad_maps_are_refused_with_a_reason() {
        let no_spawn = Map::parse("name = \"x\"\nwidth = 10.0\nheight = 10.0\nspawns = []").unwrap_err();
        assert_eq!(
            no_spawn.to_string(),
            "invalid map: a map needs at least one spawn point"
        );
        let walled = "name = \"x\"\nwidth = 10.0\nheight = 10.0\nwalls = [{ x = 0.0, y = 0.0, w = 5.0, h = 5.0 }]\nspawns = [[1.0, 1.0]]";
        assert!(Map::parse(walled).unwrap_err().to_string().contains("inside a wall"));
    }

    #[test]
    fn circles_are_pushed_out_of_walls_and_kept_in_bounds() {
        let map = Map::parse(
            "name = \"x\"\nwidth = 10.0\nheight = 10.0\nwalls = [{ x = 4.0, y = 4.0, w = 2.0, h = 2.0 }]\nspawns = [[1.0, 1.0]]",
        )
        .unwrap();
        let (centre, touched) = map.resolve_circle(Vec2::new(3.8, 5.0), 0.5);
        assert!(touched);
        assert!((centre.x - 3.5).abs() < 1e-5, "{centre}");
        let (inside, touched) = map.resolve_circle(Vec2::new(4.2, 5.0), 0.5);
        assert!(touched && inside.x <= 3.5 + 1e-5, "{inside}");
        let (clamped, _) = map.resolve_circle(Vec2::new(-3.0, 20.0), 0.5);
        assert_eq!(clamped, Vec2::new(0.5, 9.5));
    }

    #[test]
    fn the_wall_grid_resolves_exactly_as_testing_every_wall() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/maps/large.toml");
        let mut rng = fastrand::Rng::with_seed(11);
        for map in [Map::load(path).unwrap(), Map::load("embedded").unwrap()] {
            let size = map.bounds.max - map.bounds.min;
            let mut touching = 0;
            for _ in 0..200_000 {
                // Mostly on the floor, some off it; radii on both sides of the grid's reach.
                let centre = map.bounds.min - 5.0 + Vec2::new(rng.f32() * (size.x + 10.0), rng.f32() * (size.y + 10.0));
                let radius = [0.15, 0.5, 0.6, 1.0, 1.5][rng.usize(..5)];
                let (resolved, touched, _) = push_out(centre, radius, &map.walls);
                let inside = resolved.clamp(map.bounds.min + radius, map.bounds.max - radius);
                let expected = (inside, touched || inside != resolved);
                assert_eq!(map.resolve_circle(centre, radius), expected, "{centre} radius {radius}");
                touching += usize::from(touched);
            }
            assert!(touching > 100, "the sample reaches walls ({touching})");
        }
    }
}
