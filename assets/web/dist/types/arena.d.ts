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
import type { PredictionModel } from './prediction.js';
import type { InputValues } from './schema.js';
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
export declare const ArenaKind: {
    readonly Transform2: 0;
    readonly Health: 1;
    readonly EntityKind: 2;
    readonly Score: 3;
};
/** Values of the `EntityKind` component. */
export declare const ArenaEntity: {
    readonly Player: 0;
    readonly Drone: 1;
    readonly Projectile: 2;
};
/** Checks the shape of a parsed `game.json`; throws naming the first bad part. */
export declare function parseGameInfo(value: unknown): GameInfo;
/** The arena's floor and walls, with the server's collision rule. */
export declare class ArenaMap {
    readonly info: ArenaMapInfo;
    private readonly bounds;
    private readonly walls;
    constructor(info: ArenaMapInfo);
    /**
     * Moves a circle out of every wall (in map order) and back inside the bounds, as
     * `Map::resolve_circle`. Returns the corrected centre and whether it touched anything.
     * (The server first tries only the walls near the centre's grid cell; it proves that
     * gives the result of testing every wall, which is what this does.)
     */
    resolveCircle(x: number, y: number, radius: number): {
        x: number;
        y: number;
        touched: boolean;
    };
    /** Whether `(x, y)` is on the floor and in no wall. */
    isOpen(x: number, y: number): boolean;
}
/** A position's field: `ScalarQuantizer::quantize` (the division in double, as there). */
export declare function quantizePosition(value: number): number;
/** A position field's value: `ScalarQuantizer::dequantize`. */
export declare function dequantizePosition(field: number): number;
/** An angle's field: `quantize::angle(radians, 12)`. */
export declare function quantizeAngle(radians: number): number;
/** An angle field's value in `[0, 2π)`: `quantize::unangle(value, 12)`. */
export declare function dequantizeAngle(field: number): number;
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
export declare function stepArenaPlayer(map: ArenaMap, tuning: ArenaTuning, state: ArenaPlayerState, input: InputValues, dt: number): ArenaPlayerState;
/** The arena's prediction model for the local player (not predicted while dead). */
export declare function arenaPredictionModel(map: ArenaMap, tuning: ArenaTuning): PredictionModel<ArenaPlayerState>;
