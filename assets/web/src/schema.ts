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

/** A component kind the schema does not describe: unit scale, fields named `f0`, `f1`... */
function unknownComponent(kind: number, fieldCount: number): ComponentSchema {
  return {
    kind,
    name: `kind${kind}`,
    fields: Array.from({ length: fieldCount }, (_, at) => ({ name: `f${at}`, scale: 1, wrap: 0 })),
  };
}

/** Decodes quantized fields to world values with a {@link GameSchema}. */
export class SchemaDecoder {
  private readonly byKind = new Map<number, ComponentSchema>();
  private readonly byName = new Map<string, ComponentSchema>();

  constructor(readonly schema: GameSchema) {
    for (const component of schema.components) {
      this.byKind.set(component.kind, component);
      this.byName.set(component.name, component);
    }
  }

  /** The component of `kind` (a stand-in with unit fields if the schema lacks it). */
  component(kind: number, fieldCount = 0): ComponentSchema {
    return this.byKind.get(kind) ?? unknownComponent(kind, fieldCount);
  }

  /** The kind of the component called `name`, if the schema has one. */
  kindOf(name: string): number | undefined {
    return this.byName.get(name)?.kind;
  }

  /** The world value of field `at` of a `kind` component holding `value`. */
  fieldValue(kind: number, at: number, value: number): number {
    const field = this.byKind.get(kind)?.fields[at];
    if (field === undefined) {
      return value;
    }
    return worldValue(field, value);
  }

  /** One component's fields as world values by field name. */
  decodeComponent(kind: number, fields: readonly number[]): Record<string, number> {
    const schema = this.component(kind, fields.length);
    const out: Record<string, number> = {};
    for (let at = 0; at < fields.length; at++) {
      const field = schema.fields[at];
      out[field?.name ?? `f${at}`] = field === undefined ? fields[at]! : worldValue(field, fields[at]!);
    }
    return out;
  }

  /** An entity's components as world values, e.g. `{Transform2: {x: 12.3, y: 4.5, angle: 1.2}}`. */
  decode(entity: EntityState): WorldEntity {
    const components: WorldComponents = {};
    for (const [kind, fields] of entity.components) {
      components[this.component(kind, fields.length).name] = this.decodeComponent(kind, fields);
    }
    return { id: entity.id, components };
  }

  /**
   * The input fields in wire order as they will travel, as each field's kind says: a
   * float as a float 32, a step field as its integer step count, a bit field as an
   * integer of the mask's bits. Each is clamped to its announced range first (the server
   * closes the connection on an out-of-range value); non-finite values count as 0.
   */
  inputFields(values: InputValues): number[] {
    return this.schema.input.map((field) => wireValue(field, values[field.name] ?? 0));
  }

  /**
   * The game's values of wire fields (as {@link inputFields} makes them), by name: what
   * the server will act on, bit for bit (a step field's value is `count * step` in float
   * 32). Prediction steps with exactly these values.
   */
  inputValues(fields: readonly number[]): Record<string, number> {
    const values: Record<string, number> = {};
    this.schema.input.forEach((field, at) => {
      const wire = fields[at] ?? 0;
      values[field.name] = field.kind === 'step' ? Math.fround(wire * Math.fround(field.step)) : wire;
    });
    return values;
  }
}

/** The wire value of `value` for `field` (see {@link SchemaDecoder.inputFields}). */
export function wireValue(field: InputFieldSchema, value: number): number {
  const finite = Number.isFinite(value) ? value : 0;
  switch (field.kind) {
    case 'step': {
      const step = Math.fround(field.step);
      const clamped = Math.min(field.max, Math.max(field.min, finite));
      let count = Math.round(clamped / step);
      // The server checks `count * step` in float 32 against the range; rounding may
      // overshoot an end that is not a multiple of the step.
      const within = (k: number) => {
        const product = Math.fround(k * step);
        return product >= field.min && product <= field.max;
      };
      if (!within(count)) {
        count -= Math.sign(Math.fround(count * step) - clamped);
      }
      // `+ 0` turns -0 into 0, which MessagePack writes as an integer.
      return count + 0;
    }
    case 'bits':
      return (Math.max(0, Math.trunc(finite)) & field.max) >>> 0;
    default:
      return toFloat32Within(finite, field.min, field.max);
  }
}

const F32 = new Float32Array(1);
const F32_BITS = new Int32Array(F32.buffer);

/** The next float 32 after the float 32 `value` in the direction of `towards`. */
function nextFloat32(value: number, towards: number): number {
  if (value === towards) {
    return value;
  }
  if (value === 0) {
    // The smallest subnormal on the side of `towards`.
    return towards > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  }
  F32[0] = value;
  // Away from zero is one more in the bit pattern, towards zero one less.
  F32_BITS[0]! += (towards > value) === (value > 0) ? 1 : -1;
  return F32[0]!;
}

/**
 * `value` clamped to `[min, max]` and rounded to a float 32 that is still within the
 * range when compared as a double (2π as a float 32 is slightly more than 2π).
 */
export function toFloat32Within(value: number, min: number, max: number): number {
  let rounded = Math.fround(Math.min(max, Math.max(min, value)));
  if (rounded > max) {
    rounded = nextFloat32(rounded, -Infinity);
  }
  if (rounded < min) {
    rounded = nextFloat32(rounded, Infinity);
  }
  return rounded;
}

/** The world value of `integer` for `field`: `integer * scale`, wrapped into range first. */
export function worldValue(field: FieldSchema, integer: number): number {
  if (field.wrap > 0) {
    return wrapInteger(integer, field.wrap) * field.scale;
  }
  return integer * field.scale;
}

/** `value` modulo `wrap`, in `[0, wrap)`. */
export function wrapInteger(value: number, wrap: number): number {
  const rest = value % wrap;
  return rest < 0 ? rest + wrap : rest;
}
