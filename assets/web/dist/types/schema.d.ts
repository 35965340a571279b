/**
 * The game's schema, announced in the Welcome (since protocol v3), and the generic decoding of
 * quantized fields to world values that it allows.
 *
 * A component field travels as an integer; its world value is `integer * scale`. A field
 * with `wrap > 0` lives in `[0, wrap)` and wraps around (an angle), so it is interpolated
 * the short way round. With this, a client renders any game's entities by name with no
 * game-specific decoding.
 */
import type { EntityState } from './mirror.js';
/** One field of a replicated component. */
export interface FieldSchema {
    readonly name: string;
    /** World value per integer step. */
    readonly scale: number;
    /** 0: linear. Otherwise the integer lives in `[0, wrap)` and wraps around. */
    readonly wrap: number;
}
/** One replicated component type. */
export interface ComponentSchema {
    /** Its kind on the wire (0 to 255). */
    readonly kind: number;
    readonly name: string;
    readonly fields: readonly FieldSchema[];
}
/**
 * How an input field travels (protocol v5): `float` as a float 32 within `[min, max]`;
 * `step` as the integer count `k` of steps, the value being `k * step` (float 32) within
 * `[min, max]`; `bits` as an unsigned integer holding only bits of the mask `max`.
 */
export type InputKind = 'float' | 'step' | 'bits';
/** One input field after `seq` and `view_tick`, in wire order, as the game declares it. */
export interface InputFieldSchema {
    readonly name: string;
    readonly kind: InputKind;
    /** Smallest value accepted (0 for bits). */
    readonly min: number;
    /** Largest value accepted (the mask, for bits). */
    readonly max: number;
    /** The step of a `step` field (0 for a float, 1 for bits). */
    readonly step: number;
}
/** What the server announces about its game. */
export interface GameSchema {
    readonly game: string;
    /** Sorted by kind. */
    readonly components: readonly ComponentSchema[];
    readonly input: readonly InputFieldSchema[];
}
/** An entity's components as world values, by component name then field name. */
export type WorldComponents = Record<string, Record<string, number>>;
/** An entity decoded to world values. */
export interface WorldEntity {
    readonly id: EntityState['id'];
    readonly components: WorldComponents;
}
/**
 * Field values of an input in game units, by the schema's field names (missing fields
 * send 0): a step field's value (not its count), a bit field's set of bits.
 */
export type InputValues = Readonly<Record<string, number>>;
/** Decodes quantized fields to world values with a {@link GameSchema}. */
export declare class SchemaDecoder {
    readonly schema: GameSchema;
    private readonly byKind;
    private readonly byName;
    constructor(schema: GameSchema);
    /** The component of `kind` (a stand-in with unit fields if the schema lacks it). */
    component(kind: number, fieldCount?: number): ComponentSchema;
    /** The kind of the component called `name`, if the schema has one. */
    kindOf(name: string): number | undefined;
    /** The world value of field `at` of a `kind` component holding `value`. */
    fieldValue(kind: number, at: number, value: number): number;
    /** One component's fields as world values by field name. */
    decodeComponent(kind: number, fields: readonly number[]): Record<string, number>;
    /** An entity's components as world values, e.g. `{Transform2: {x: 12.3, y: 4.5, angle: 1.2}}`. */
    decode(entity: EntityState): WorldEntity;
    /**
     * The input fields in wire order as they will travel, as each field's kind says: a
     * float as a float 32, a step field as its integer step count, a bit field as an
     * integer of the mask's bits. Each is clamped to its announced range first (the server
     * closes the connection on an out-of-range value); non-finite values count as 0.
     */
    inputFields(values: InputValues): number[];
    /**
     * The game's values of wire fields (as {@link inputFields} makes them), by name: what
     * the server will act on, bit for bit (a step field's value is `count * step` in float
     * 32). Prediction steps with exactly these values.
     */
    inputValues(fields: readonly number[]): Record<string, number>;
}
/** The wire value of `value` for `field` (see {@link SchemaDecoder.inputFields}). */
export declare function wireValue(field: InputFieldSchema, value: number): number;
/**
 * `value` clamped to `[min, max]` and rounded to a float 32 that is still within the
 * range when compared as a double (2π as a float 32 is slightly more than 2π).
 */
export declare function toFloat32Within(value: number, min: number, max: number): number;
/** The world value of `integer` for `field`: `integer * scale`, wrapped into range first. */
export declare function worldValue(field: FieldSchema, integer: number): number;
/** `value` modulo `wrap`, in `[0, wrap)`. */
export declare function wrapInteger(value: number, wrap: number): number;
