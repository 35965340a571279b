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
    readonly bounds: {
        readonly min: [number, number];
        readonly max: [number, number];
    };
    readonly cubeHalf: number;
    readonly pusherHalf: number;
}
/** The cubes game's `/game.json`, or null for another game (or a malformed document). */
export declare function parseCubesInfo(value: unknown): CubesInfo | null;
/** The `Shape` values. */
export declare const Shape: {
    readonly Cube: 0;
    readonly Pusher: 1;
};
/** Input button bits of the cubes game. */
export declare const CubesButtons: {
    readonly Dash: 1;
    readonly Jump: 2;
};
/** The cubes input of a stick (x right, z down the screen) and the held buttons. */
export declare function cubesInput(x: number, z: number, dash: boolean, jump: boolean): InputValues;
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
export declare function quaternion(rotation: Readonly<Record<string, number>>): [number, number, number, number];
/** The pose of an entity with a `Position` (and a `Rotation`), or null. */
export declare function poseOf(entity: WorldEntity): Pose | null;
/** The entity's `Shape`, or null. */
export declare function shapeOf(entity: WorldEntity): number | null;
/** Colours of the view. */
export interface CubesColors {
    readonly self: string;
    readonly player: string;
}
/**
 * Draws the bodies (world units; the context's transform maps x/z to the screen) that lie
 * within `halfW` x `halfH` of the camera: cubes first, then pushers, the local one last.
 */
export declare function drawCubes(ctx: CanvasRenderingContext2D, entities: readonly WorldEntity[], ownIndex: number | null, info: CubesInfo | null, camera: {
    x: number;
    z: number;
    halfW: number;
    halfH: number;
}, colors: CubesColors): void;
