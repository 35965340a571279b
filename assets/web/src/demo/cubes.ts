/**
 * The cubes game (3D: players push a pile of physics cubes) in the demo page, seen from
 * above: each cube a square turned by its yaw, lighter while it is tilted or in the air,
 * pushers larger and in the players' colours, the local one highlighted.
 *
 * Nothing here decodes the wire: the SDK gives every entity as world values by the
 * Welcome schema's names (`Position` x, y, z; `Rotation` largest, a, b, c; `Shape`). The
 * only game knowledge is how to read those: y is up and the floor is x/z (drawn with x to
 * the right and z down the screen), and a rotation is "smallest three" (the component
 * `largest` is left out and is `sqrt(1 - a² - b² - c²)`).
 */

import type { InputValues, WorldEntity } from '../index.js';

/** What `/game.json` says of a cubes room. */
export interface CubesInfo {
  /** The floor on x/z: `min` and `max` as `[x, z]`. */
  readonly bounds: { readonly min: [number, number]; readonly max: [number, number] };
  readonly cubeHalf: number;
  readonly pusherHalf: number;
}

/** The cubes game's `/game.json`, or null for another game (or a malformed document). */
export function parseCubesInfo(value: unknown): CubesInfo | null {
  const root = value as { game?: unknown; map?: { bounds?: { min?: unknown; max?: unknown } }; tuning?: Record<string, unknown> };
  if (root?.game !== 'cubes') return null;
  const point = (v: unknown): [number, number] | null =>
    Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) ? [v[0], v[1]] : null;
  const min = point(root.map?.bounds?.min);
  const max = point(root.map?.bounds?.max);
  const number = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback);
  if (min === null || max === null) return null;
  return {
    bounds: { min, max },
    cubeHalf: number(root.tuning?.['cube_half'], 0.5),
    pusherHalf: number(root.tuning?.['pusher_half'], 1),
  };
}

/** The `Shape` values. */
export const Shape = { Cube: 0, Pusher: 1 } as const;

/** Input button bits of the cubes game. */
export const CubesButtons = { Dash: 1, Jump: 2 } as const;

/** The cubes input of a stick (x right, z down the screen) and the held buttons. */
export function cubesInput(x: number, z: number, dash: boolean, jump: boolean): InputValues {
  const length = Math.hypot(x, z);
  const k = length > 1 ? 1 / length : 1;
  return {
    move_x: x * k,
    move_z: z * k,
    buttons: (dash ? CubesButtons.Dash : 0) | (jump ? CubesButtons.Jump : 0),
  };
}

/** Where a body is and how it is turned, as drawn from above. */
export interface Pose {
  readonly x: number;
  /** Height of its centre. */
  readonly y: number;
  readonly z: number;
  /** Turn of its front (local +x) on the floor, radians from +x towards +z (clockwise on screen). */
  readonly yaw: number;
  /** How upright it is: the y component of its local up, 1 when flat on a face. */
  readonly upright: number;
}

/** A quaternion `[x, y, z, w]` from a smallest-three rotation's world values. */
export function quaternion(rotation: Readonly<Record<string, number>>): [number, number, number, number] {
  const largest = Math.round(rotation['largest'] ?? 3);
  const others = [rotation['a'] ?? 0, rotation['b'] ?? 0, rotation['c'] ?? 0];
  // Between two snapshots that drop different components the blend of a, b, c can leave
  // the unit sphere for a frame; clamp rather than take the root of a negative.
  const dropped = Math.sqrt(Math.max(0, 1 - others.reduce((sum, v) => sum + v * v, 0)));
  const q: number[] = [];
  for (let k = 0, next = 0; k < 4; k++) q.push(k === largest ? dropped : others[next++]!);
  return q as [number, number, number, number];
}

/** The pose of an entity with a `Position` (and a `Rotation`), or null. */
export function poseOf(entity: WorldEntity): Pose | null {
  const position = entity.components['Position'];
  if (position === undefined) return null;
  const [x, y, z, w] = quaternion(entity.components['Rotation'] ?? {});
  // The rotated +x axis (front) and +y axis (up), from the quaternion's matrix.
  const frontX = 1 - 2 * (y * y + z * z);
  const frontZ = 2 * (x * z - w * y);
  const upY = 1 - 2 * (x * x + z * z);
  return { x: position['x'] ?? 0, y: position['y'] ?? 0, z: position['z'] ?? 0, yaw: Math.atan2(frontZ, frontX), upright: upY };
}

/** The entity's `Shape`, or null. */
export function shapeOf(entity: WorldEntity): number | null {
  return entity.components['Shape']?.['shape'] ?? null;
}

/** Colours of the view. */
export interface CubesColors {
  readonly self: string;
  readonly player: string;
}

/**
 * Draws the bodies (world units; the context's transform maps x/z to the screen) that lie
 * within `halfW` x `halfH` of the camera: cubes first, then pushers, the local one last.
 */
export function drawCubes(
  ctx: CanvasRenderingContext2D,
  entities: readonly WorldEntity[],
  ownIndex: number | null,
  info: CubesInfo | null,
  camera: { x: number; z: number; halfW: number; halfH: number },
  colors: CubesColors,
): void {
  const cubeHalf = info?.cubeHalf ?? 0.5;
  const pusherHalf = info?.pusherHalf ?? 1;
  const drawn = entities
    .map((entity) => ({ entity, pose: poseOf(entity), shape: shapeOf(entity) }))
    .filter((body): body is { entity: WorldEntity; pose: Pose; shape: number | null } => body.pose !== null)
    .filter(({ pose }) => Math.abs(pose.x - camera.x) < camera.halfW + 3 && Math.abs(pose.z - camera.z) < camera.halfH + 3);
  const rank = (body: { entity: WorldEntity; shape: number | null }) =>
    body.shape === Shape.Pusher ? (body.entity.id.index === ownIndex ? 2 : 1) : 0;
  drawn.sort((a, b) => rank(a) - rank(b));
  for (const { entity, pose, shape } of drawn) {
    const pusher = shape === Shape.Pusher;
    const own = pusher && entity.id.index === ownIndex;
    const half = pusher ? pusherHalf : cubeHalf;
    // Off the floor (a hop, a jump) it looks nearer: a little larger.
    const lift = Math.max(0, pose.y - half);
    const size = half * (1 + 0.18 * lift);
    ctx.save();
    ctx.translate(pose.x, pose.z);
    ctx.rotate(pose.yaw);
    if (own) {
      ctx.shadowColor = colors.self;
      ctx.shadowBlur = 18;
    }
    if (pusher) {
      ctx.fillStyle = own ? colors.self : colors.player;
    } else {
      // Lighter while tumbling (tilted) or in the air.
      const stir = Math.min(1, (1 - Math.max(0, pose.upright)) * 3 + lift);
      ctx.fillStyle = `hsl(${215 - 25 * stir} ${20 + 45 * stir}% ${38 + 30 * stir}%)`;
    }
    ctx.fillRect(-size, -size, 2 * size, 2 * size);
    ctx.shadowBlur = 0;
    ctx.strokeStyle = 'rgba(9, 12, 19, 0.7)';
    ctx.lineWidth = 0.06;
    ctx.strokeRect(-size, -size, 2 * size, 2 * size);
    if (pusher) {
      // Its front.
      ctx.fillStyle = 'rgba(9, 12, 19, 0.6)';
      ctx.fillRect(size * 0.35, -size * 0.25, size * 0.5, size * 0.5);
    }
    ctx.restore();
  }
}
