/**
 * The reference game "arena" on the client: its map (from `GET /game.json`) and its
 * movement rule, for predicting the local player.
 *
 * The rule is `steer_players` and `move_bodies` of `server/src/game/systems.rs`: the stick
 * is clamped to length 1 and scaled by the player speed, the position moves by
 * `velocity * dt`, is pushed out of each wall in turn and kept inside the bounds
 * (`Map::resolve_circle` in `server/src/game/map.rs`), then snapped to the wire's grid.
 * Every operation is rounded to float 32 as the server's are (`Math.fround` after each
 * step, which is exact for +, -, *, / and sqrt of float 32 operands), so a prediction
 * from the server's quantized state lands on the same grid point as the server.
 */

import type { HeldEntity } from './body.js';
import type { PredictionModel } from './prediction.js';
import type { InputValues } from './schema.js';

const f32 = Math.fround;

/** An axis-aligned box in world units. */
export interface Rect {
  readonly min: readonly [number, number];
  readonly max: readonly [number, number];
}

/** The arena map as `GET /game.json` gives it. */
export interface ArenaMapInfo {
  readonly name: string;
  readonly bounds: Rect;
  readonly walls: readonly Rect[];
  readonly spawns: readonly (readonly [number, number])[];
}

/** The arena's tuning as `GET /game.json` gives it. */
export interface ArenaTuning {
  readonly player_speed: number;
  readonly player_radius: number;
  readonly drone_radius: number;
  readonly projectile_radius: number;
}

/** `GET /game.json`. */
export interface GameInfo {
  readonly game: string;
  readonly map: ArenaMapInfo;
  readonly tuning: ArenaTuning;
}

/** Component kinds of the arena (also in the Welcome's schema). */
export const ArenaKind = { Transform2: 0, Health: 1, EntityKind: 2, Score: 3 } as const;
/** Values of the `EntityKind` component. */
export const ArenaEntity = { Player: 0, Drone: 1, Projectile: 2 } as const;

/** Checks the shape of a parsed `game.json`; throws naming the first bad part. */
export function parseGameInfo(value: unknown): GameInfo {
  const fail = (what: string): never => {
    throw new Error(`game.json: ${what}`);
  };
  const object = (v: unknown, what: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${what} is not an object`);
  const number = (v: unknown, what: string): number =>
    typeof v === 'number' && Number.isFinite(v) ? v : fail(`${what} is not a number`);
  const point = (v: unknown, what: string): [number, number] =>
    Array.isArray(v) && v.length === 2 ? [number(v[0], what), number(v[1], what)] : fail(`${what} is not a point`);
  const rect = (v: unknown, what: string): Rect => {
    const r = object(v, what);
    return { min: point(r['min'], `${what}.min`), max: point(r['max'], `${what}.max`) };
  };
  const list = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} is not a list`));
  const root = object(value, 'the document');
  const map = object(root['map'], 'map');
  const tuning = object(root['tuning'], 'tuning');
  return {
    game: typeof root['game'] === 'string' ? root['game'] : fail('game is not a string'),
    map: {
      name: typeof map['name'] === 'string' ? map['name'] : fail('map.name is not a string'),
      bounds: rect(map['bounds'], 'map.bounds'),
      walls: list(map['walls'], 'map.walls').map((wall, at) => rect(wall, `map.walls[${at}]`)),
      spawns: list(map['spawns'], 'map.spawns').map((spawn, at) => point(spawn, `map.spawns[${at}]`)),
    },
    tuning: {
      player_speed: number(tuning['player_speed'], 'tuning.player_speed'),
      player_radius: number(tuning['player_radius'], 'tuning.player_radius'),
      drone_radius: number(tuning['drone_radius'], 'tuning.drone_radius'),
      projectile_radius: number(tuning['projectile_radius'], 'tuning.projectile_radius'),
    },
  };
}

/** Smallest float 32 above 1 minus 1, as Rust's `f32::EPSILON`. */
const F32_EPSILON = 1.1920928955078125e-7;

/** A box as float 32 corners. */
interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

function toBox(rect: Rect): Box {
  return { minX: f32(rect.min[0]), minY: f32(rect.min[1]), maxX: f32(rect.max[0]), maxY: f32(rect.max[1]) };
}

/** The arena's floor and walls, with the server's collision rule. */
export class ArenaMap {
  private readonly bounds: Box;
  private readonly walls: Box[];

  constructor(readonly info: ArenaMapInfo) {
    this.bounds = toBox(info.bounds);
    this.walls = info.walls.map(toBox);
  }

  /**
   * Moves a circle out of every wall (in map order) and back inside the bounds, as
   * `Map::resolve_circle`. Returns the corrected centre and whether it touched anything.
   * (The server first tries only the walls near the centre's grid cell; it proves that
   * gives the result of testing every wall, which is what this does.)
   */
  resolveCircle(x: number, y: number, radius: number): { x: number; y: number; touched: boolean } {
    let cx = f32(x);
    let cy = f32(y);
    const r = f32(radius);
    const rr = f32(r * r);
    let touched = false;
    for (const wall of this.walls) {
      const nx = Math.min(Math.max(cx, wall.minX), wall.maxX);
      const ny = Math.min(Math.max(cy, wall.minY), wall.maxY);
      const ox = f32(cx - nx);
      const oy = f32(cy - ny);
      const lengthSquared = f32(f32(ox * ox) + f32(oy * oy));
      if (lengthSquared >= rr) {
        continue;
      }
      touched = true;
      const distance = f32(Math.sqrt(lengthSquared));
      if (distance > F32_EPSILON) {
        cx = f32(nx + f32(f32(ox / distance) * r));
        cy = f32(ny + f32(f32(oy / distance) * r));
      } else {
        // The centre is inside the wall: leave by the shortest way out (the first of equals).
        const exits: [number, number, number][] = [
          [f32(cx - wall.minX), f32(wall.minX - r), cy],
          [f32(wall.maxX - cx), f32(wall.maxX + r), cy],
          [f32(cy - wall.minY), cx, f32(wall.minY - r)],
          [f32(wall.maxY - cy), cx, f32(wall.maxY + r)],
        ];
        let best = exits[0]!;
        for (const exit of exits) {
          if (exit[0] < best[0]) {
            best = exit;
          }
        }
        cx = best[1];
        cy = best[2];
      }
    }
    const insideX = Math.min(Math.max(cx, f32(this.bounds.minX + r)), f32(this.bounds.maxX - r));
    const insideY = Math.min(Math.max(cy, f32(this.bounds.minY + r)), f32(this.bounds.maxY - r));
    return { x: insideX, y: insideY, touched: touched || insideX !== cx || insideY !== cy };
  }

  /** Whether `(x, y)` is on the floor and in no wall. */
  isOpen(x: number, y: number): boolean {
    const inside = (box: Box) => x >= box.minX && x <= box.maxX && y >= box.minY && y <= box.maxY;
    return inside(this.bounds) && !this.walls.some(inside);
  }
}

/** Position grid of `Transform2` (`POSITION` in `shared/src/arena.rs`): 1/100 unit, within ±10 000. */
const POSITION_STEP = f32(0.01);
const POSITION_LIMIT = 1_000_000;
/** Facing: 2^12 steps per turn. */
const ANGLE_STEPS = 4096;
const TAU32 = f32(2 * Math.PI);

/** Rust's `round`: halves away from zero. */
function roundHalfAway(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

/** A position's field: `ScalarQuantizer::quantize` (the division in double, as there). */
export function quantizePosition(value: number): number {
  const scaled = value / POSITION_STEP;
  const rounded = Number.isFinite(scaled) ? roundHalfAway(scaled) : 0;
  return Math.min(POSITION_LIMIT, Math.max(-POSITION_LIMIT, rounded));
}

/** A position field's value: `ScalarQuantizer::dequantize`. */
export function dequantizePosition(field: number): number {
  return f32(Math.min(POSITION_LIMIT, Math.max(-POSITION_LIMIT, field)) * POSITION_STEP);
}

/** An angle's field: `quantize::angle(radians, 12)`. */
export function quantizeAngle(radians: number): number {
  const r = f32(radians);
  if (!Number.isFinite(r)) {
    return 0;
  }
  let wrapped = r;
  if (!(r >= 0 && r < TAU32)) {
    // `rem_euclid`: the remainder is exact; a negative one moves up by one turn.
    const rest = r % TAU32;
    wrapped = rest < 0 ? f32(rest + TAU32) : rest;
  }
  const scaled = f32(f32(wrapped / TAU32) * ANGLE_STEPS);
  return roundHalfAway(scaled) % ANGLE_STEPS;
}

/** An angle field's value in `[0, 2π)`: `quantize::unangle(value, 12)`. */
export function dequantizeAngle(field: number): number {
  return f32(f32((field >>> 0) % ANGLE_STEPS / ANGLE_STEPS) * TAU32);
}

/** The local player as predicted: float 32 world position and facing. */
export interface ArenaPlayerState {
  readonly x: number;
  readonly y: number;
  readonly angle: number;
}

/**
 * One server tick of a player: `steer_players` then `move_bodies`. `input` holds
 * `move_x`, `move_y`, `aim` as sent (float 32); `dt` is the tick period in seconds.
 */
export function stepArenaPlayer(
  map: ArenaMap,
  tuning: ArenaTuning,
  state: ArenaPlayerState,
  input: InputValues,
  dt: number,
): ArenaPlayerState {
  const step = f32(dt);
  let sx = f32(input['move_x'] ?? 0);
  let sy = f32(input['move_y'] ?? 0);
  const angle = f32(input['aim'] ?? 0);
  // `clamp_length_max(1.0)`: `max * (self / length)` when longer.
  const lengthSquared = f32(f32(sx * sx) + f32(sy * sy));
  if (lengthSquared > 1) {
    const length = f32(Math.sqrt(lengthSquared));
    sx = f32(sx / length);
    sy = f32(sy / length);
  }
  const speed = f32(tuning.player_speed);
  const vx = f32(sx * speed);
  const vy = f32(sy * speed);
  if (vx === 0 && vy === 0) {
    // A still body is not moved (nor snapped): only its facing follows the aim.
    return { x: state.x, y: state.y, angle };
  }
  const wantedX = f32(state.x + f32(vx * step));
  const wantedY = f32(state.y + f32(vy * step));
  const resolved = map.resolveCircle(wantedX, wantedY, tuning.player_radius);
  return {
    x: dequantizePosition(quantizePosition(resolved.x)),
    y: dequantizePosition(quantizePosition(resolved.y)),
    angle: dequantizeAngle(quantizeAngle(angle)),
  };
}

/** The arena's prediction model for the local player (not predicted while dead). */
export function arenaPredictionModel(map: ArenaMap, tuning: ArenaTuning): PredictionModel<ArenaPlayerState> {
  return {
    fromServer(entity: HeldEntity): ArenaPlayerState | null {
      const transform = entity.component(ArenaKind.Transform2);
      const health = entity.component(ArenaKind.Health);
      if (transform === undefined || transform.length !== 3 || (health !== undefined && health[0] === 0)) {
        return null;
      }
      return {
        x: dequantizePosition(transform[0]!),
        y: dequantizePosition(transform[1]!),
        angle: dequantizeAngle(transform[2]!),
      };
    },
    step: (state, input, dt) => stepArenaPlayer(map, tuning, state, input, dt),
    distance: (a, b) => Math.hypot(a.x - b.x, a.y - b.y),
    blend(a, b, t) {
      let turn = (b.angle - a.angle) % (2 * Math.PI);
      if (turn > Math.PI) turn -= 2 * Math.PI;
      if (turn < -Math.PI) turn += 2 * Math.PI;
      return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, angle: a.angle + turn * t };
    },
  };
}
