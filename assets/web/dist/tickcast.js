// src/errors.ts
var DecodeError = class extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
  kind;
  name = "DecodeError";
};
var ChecksumMismatchError = class extends Error {
  constructor(tick, expected, actual) {
    super(`checksum mismatch at tick ${tick}: server ${hex32(expected)}, mirror ${hex32(actual)}`);
    this.tick = tick;
    this.expected = expected;
    this.actual = actual;
  }
  tick;
  expected;
  actual;
  name = "ChecksumMismatchError";
};
function isDivergence(error) {
  return error instanceof DecodeError || error instanceof ChecksumMismatchError;
}
function hex32(value) {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

// src/bits.ts
function zigzag(value) {
  return (value << 1 ^ value >> 31) >>> 0;
}
function unzigzag(value) {
  return value >>> 1 ^ -(value & 1);
}
var TWO_POW_32 = 4294967296;
var BitReader = class {
  constructor(bytes) {
    this.bytes = bytes;
    this.bitLength = bytes.length * 8;
  }
  bytes;
  position = 0;
  bitLength;
  /** Bits not yet read. */
  remaining() {
    return this.bitLength - this.position;
  }
  /**
   * The next 32 bits, as an unsigned number, zero-padded past the end of the input
   * (callers check {@link remaining} before consuming them).
   */
  peek32() {
    const bytes = this.bytes;
    const at = this.position >>> 3;
    const shift = this.position & 7;
    if (at + 4 < bytes.length) {
      const high = (bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3]) >>> 0;
      return shift === 0 ? high : (high << shift | bytes[at + 4] >>> 8 - shift) >>> 0;
    }
    let window = 0;
    for (let i = 0; i < 5; i++) {
      const byte2 = at + i < bytes.length ? bytes[at + i] : 0;
      window = window * 256 + byte2;
    }
    return Math.floor(window / 2 ** (8 - shift)) % TWO_POW_32;
  }
  /** Reads `count` bits (0 to 32) as an unsigned number. */
  readBits(count) {
    if (count > this.remaining()) {
      throw new DecodeError("truncated", "snapshot body: bitstream ended early");
    }
    if (count === 0) {
      return 0;
    }
    const value = this.peek32() >>> 32 - count;
    this.position += count;
    return value;
  }
  /** Reads one bit. */
  readBit() {
    if (this.position >= this.bitLength) {
      throw new DecodeError("truncated", "snapshot body: bitstream ended early");
    }
    const bit = this.bytes[this.position >>> 3] >>> 7 - (this.position & 7) & 1;
    this.position += 1;
    return bit === 1;
  }
  /** Reads an Exp-Golomb value of order `k` (0 to 3). */
  readExpGolomb(k) {
    const window = this.peek32();
    if (window !== 0) {
      const zeros = Math.clz32(window);
      const total = 2 * zeros + 1 + k;
      if (total <= 32) {
        if (total > this.remaining()) {
          throw new DecodeError("truncated", "snapshot body: bitstream ended early");
        }
        this.position += total;
        const shifted = window >>> 32 - total;
        return shifted - (1 << k);
      }
    }
    return this.readLongExpGolomb(k);
  }
  /** {@link readExpGolomb} for codes longer than one 32-bit window: one bit at a time. */
  readLongExpGolomb(k) {
    let zeros = 0;
    while (!this.readBit()) {
      zeros += 1;
      if (zeros + k > 32) {
        throw new DecodeError("overlong", "snapshot body: bitstream value is too long");
      }
    }
    const length = zeros + k;
    const rest = this.readBits(length);
    const value = 2 ** length + rest - 2 ** k;
    if (value >= TWO_POW_32) {
      throw new DecodeError("overlong", "snapshot body: bitstream value is too long");
    }
    return value;
  }
  /** Reads a zigzag, Exp-Golomb order `k` signed i32. */
  readSigned(k) {
    return unzigzag(this.readExpGolomb(k));
  }
  /** Whether only padding (fewer than 8 zero bits) remains. */
  onlyPaddingLeft() {
    const left = this.remaining();
    return left < 8 && (left === 0 || this.peek32() >>> 32 - left === 0);
  }
};
var BitWriter = class {
  bytes = [];
  current = 0;
  used = 0;
  /** Writes the low `count` bits of the non-negative integer `value` (up to 53 bits). */
  writeBits(value, count) {
    for (let bit = count - 1; bit >= 0; bit--) {
      this.writeBit(Math.floor(value / 2 ** bit) % 2 === 1);
    }
  }
  /** Writes one bit. */
  writeBit(bit) {
    this.current = this.current << 1 | (bit ? 1 : 0);
    this.used += 1;
    if (this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }
  /** Writes the unsigned 32-bit `value` as Exp-Golomb of order `k`. */
  writeExpGolomb(value, k) {
    const shifted = value + 2 ** k;
    let length = 0;
    while (2 ** length <= shifted) {
      length++;
    }
    for (let i = 0; i < length - 1 - k; i++) {
      this.writeBit(false);
    }
    this.writeBits(shifted, length);
  }
  /** Writes a signed i32 as zigzag then Exp-Golomb of order `k`. */
  writeSigned(value, k) {
    this.writeExpGolomb(zigzag(value), k);
  }
  /** Bits written so far. */
  bitLength() {
    return this.bytes.length * 8 + this.used;
  }
  /** Pads with zero bits to a byte boundary and returns the bytes. */
  finish() {
    const out = [...this.bytes];
    if (this.used > 0) {
      out.push(this.current << 8 - this.used & 255);
    }
    return Uint8Array.from(out);
  }
};

// src/crc32.ts
var POLYNOMIAL = 3988292384;
var TABLES = buildTables();
function buildTables() {
  const tables = new Int32Array(4 * 256);
  for (let byte2 = 0; byte2 < 256; byte2++) {
    let crc = byte2;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? crc >>> 1 ^ POLYNOMIAL : crc >>> 1;
    }
    tables[byte2] = crc;
  }
  for (let k = 1; k < 4; k++) {
    for (let byte2 = 0; byte2 < 256; byte2++) {
      const previous = tables[(k - 1) * 256 + byte2];
      tables[k * 256 + byte2] = previous >>> 8 ^ tables[previous & 255];
    }
  }
  return tables;
}
function word(crc, value) {
  const x = crc ^ value;
  return TABLES[768 + (x & 255)] ^ TABLES[512 + (x >>> 8 & 255)] ^ TABLES[256 + (x >>> 16 & 255)] ^ TABLES[x >>> 24 & 255];
}
function byte(crc, value) {
  return crc >>> 8 ^ TABLES[(crc ^ value) & 255];
}
function crc32(bytes) {
  let crc = ~0;
  for (const value of bytes) {
    crc = byte(crc, value);
  }
  return ~crc >>> 0;
}
function entityHash(index, generation, components) {
  return entityHashOf(index, generation, [...components.keys()], [...components.values()]);
}
function entityHashOf(index, generation, kinds, fields) {
  let crc = word(~0, index);
  crc = word(crc, generation);
  crc = word(crc, kinds.length);
  for (let c = 0; c < kinds.length; c++) {
    const values = fields[c];
    crc = byte(byte(crc, kinds[c]), values.length);
    for (let i = 0; i < values.length; i++) {
      crc = word(crc, values[i]);
    }
  }
  return ~crc >>> 0;
}
function hashChangeHeader(register) {
  return register === 0 ? 0 : byte(byte(register, 0), 0);
}
function hashChangeField(register, before, after) {
  const difference = before ^ after;
  return register === 0 && difference === 0 ? 0 : word(register, difference);
}

// src/body.ts
var FIELD_ORDER = 2;
var MAX_COMPONENTS = 32;
var MAX_FIELDS = 32;
var HeldEntity = class _HeldEntity {
  constructor(id, kinds, fields, hash, previousFields = null, updateFrame = 0) {
    this.id = id;
    this.kinds = kinds;
    this.fields = fields;
    this.previousFields = previousFields;
    this.updateFrame = updateFrame;
    this.hash = hash ?? entityHashOf(id.index, id.generation, kinds, fields);
  }
  id;
  kinds;
  fields;
  previousFields;
  updateFrame;
  hash;
  map = null;
  /** An entity from a map of kind to fields (iterated in kind order). */
  static of(index, generation, components) {
    const kinds = [...components.keys()];
    if (kinds.some((kind, at) => at > 0 && kind <= kinds[at - 1])) {
      throw new Error("components must be in increasing kind order");
    }
    return new _HeldEntity({ index, generation }, kinds, [...components.values()]);
  }
  /** Quantized fields by component kind, in kind order. */
  get components() {
    this.map ??= new Map(this.kinds.map((kind, at) => [kind, this.fields[at]]));
    return this.map;
  }
  /**
   * What the update that made this entity changed each field by (`new - old`, wrapping
   * i32; 0 for a field it left alone), flattened over the components in order, then their
   * fields: the motion a predicted body in the frame after {@link updateFrame} adds to the
   * held values. Null for an entity not made by an update (a spawn). Made on each call.
   */
  get motion() {
    const previous = this.previousFields;
    if (previous === null) {
      return null;
    }
    const motion = [];
    this.fields.forEach((fields, c) => {
      fields.forEach((value, at) => motion.push(value - previous[c][at] | 0));
    });
    return motion;
  }
  /** The fields of the `kind` component, if the entity has one. */
  component(kind) {
    const at = this.kinds.indexOf(kind);
    return at < 0 ? void 0 : this.fields[at];
  }
};
var IndexGaps = class {
  next = 0;
  read(reader) {
    const index = this.next + reader.readExpGolomb(0);
    if (index >= 4294967295) {
      throw new DecodeError("malformed", "snapshot body is malformed: entity index overflow");
    }
    this.next = index + 1;
    return index;
  }
};
function malformed(what) {
  return new DecodeError("malformed", `snapshot body is malformed: ${what}`);
}
function unknownSlot(index) {
  return new DecodeError("unknown-slot", `snapshot body names entity slot ${index}, which the mirror does not hold`);
}
var NO_CHANGES = { checksum: null, spawned: [], updated: [], despawned: [] };
function applyBody(bytes, held) {
  const frame = held.frames >>> 0;
  held.frames = frame + 1 >>> 0;
  if (bytes.length === 0) {
    return NO_CHANGES;
  }
  const reader = new BitReader(bytes);
  const entities = held.entities;
  const checksum = reader.readBit() ? reader.readBits(32) : null;
  const predicted = reader.readBit();
  const changes = { checksum, spawned: [], updated: [], despawned: [] };
  const despawns = reader.readExpGolomb(0);
  let gaps = new IndexGaps();
  for (let n = 0; n < despawns; n++) {
    const index = gaps.read(reader);
    const gone = entities.get(index);
    if (gone === void 0) {
      throw unknownSlot(index);
    }
    entities.delete(index);
    held.checksum = held.checksum - gone.hash >>> 0;
    changes.despawned.push(gone);
  }
  const updates = reader.readExpGolomb(0);
  gaps = new IndexGaps();
  for (let n = 0; n < updates; n++) {
    const index = gaps.read(reader);
    const before = entities.get(index);
    if (before === void 0) {
      throw unknownSlot(index);
    }
    const after = readUpdate(reader, before, predicted, frame);
    entities.set(index, after);
    held.checksum = held.checksum - before.hash + after.hash >>> 0;
    changes.updated.push(after);
  }
  const spawns = readSpawns(reader);
  if (!reader.onlyPaddingLeft()) {
    throw malformed("bits after the end of the body");
  }
  for (const spawn of spawns) {
    const replaced = entities.get(spawn.id.index);
    entities.set(spawn.id.index, spawn);
    held.checksum = held.checksum + spawn.hash - (replaced?.hash ?? 0) >>> 0;
    changes.spawned.push(spawn);
  }
  return changes;
}
function readUpdate(reader, before, predicted, frame) {
  const held = before.fields;
  const back = predicted && before.updateFrame === frame - 1 >>> 0 ? before.previousFields : null;
  let fields = null;
  let register = 0;
  let coded = false;
  for (let c = 0; c < held.length; c++) {
    const old = held[c];
    register = hashChangeHeader(register);
    const component = reader.readBit();
    const was = back === null ? old : back[c];
    if (!component && was === old) {
      for (let at = 0; register !== 0 && at < old.length; at++) {
        register = hashChangeField(register, 0, 0);
      }
      continue;
    }
    let changed = null;
    let missed = false;
    for (let at = 0; at < old.length; at++) {
      const value = old[at];
      let next = was === old ? value : 2 * value - was[at] | 0;
      if (component && reader.readBit()) {
        next = next + reader.readSigned(FIELD_ORDER) | 0;
        missed = true;
      }
      if (next !== value) {
        changed ??= old.slice();
        changed[at] = next;
      }
      register = hashChangeField(register, value, next);
    }
    if (component) {
      if (!missed) {
        throw malformed("a changed component changes no field");
      }
      coded = true;
    }
    if (changed !== null) {
      fields ??= held.slice();
      fields[c] = changed;
    }
  }
  if (predicted ? fields === null : !coded) {
    throw malformed("an update changes nothing");
  }
  return new HeldEntity(before.id, before.kinds, fields ?? held, (before.hash ^ register) >>> 0, held, frame);
}
function readSpawns(reader) {
  const count = reader.readExpGolomb(0);
  const spawns = [];
  const gaps = new IndexGaps();
  for (let n = 0; n < count; n++) {
    const index = gaps.read(reader);
    const generation = (reader.readExpGolomb(0) << 1 | 1) >>> 0;
    const componentCount = reader.readExpGolomb(0);
    if (componentCount > MAX_COMPONENTS) {
      throw malformed("too many components");
    }
    const kinds = new Array(componentCount);
    const components = new Array(componentCount);
    let nextKind = 0;
    for (let c = 0; c < componentCount; c++) {
      const kind = nextKind + reader.readExpGolomb(0);
      if (kind > 255) {
        throw malformed("component kind out of range");
      }
      nextKind = kind + 1;
      const fieldCount = reader.readExpGolomb(0);
      if (fieldCount > MAX_FIELDS) {
        throw malformed("too many fields");
      }
      const fields = new Array(fieldCount);
      for (let f = 0; f < fieldCount; f++) {
        fields[f] = reader.readSigned(FIELD_ORDER);
      }
      kinds[c] = kind;
      components[c] = fields;
    }
    spawns.push(new HeldEntity({ index, generation }, kinds, components));
  }
  return spawns;
}

// src/emitter.ts
var Emitter = class {
  listeners = /* @__PURE__ */ new Map();
  /** Calls `listener` on every `type` event until the returned function is called. */
  on(type, listener) {
    let set = this.listeners.get(type);
    if (set === void 0) {
      set = /* @__PURE__ */ new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => this.off(type, listener);
  }
  /** Calls `listener` on the next `type` event only. */
  once(type, listener) {
    const off = this.on(type, (event) => {
      off();
      listener(event);
    });
    return off;
  }
  /** Stops calling `listener` for `type`. */
  off(type, listener) {
    this.listeners.get(type)?.delete(listener);
  }
  emit(type, event) {
    const set = this.listeners.get(type);
    if (set === void 0) {
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
};

// src/mirror.ts
var Mirror = class {
  held = { entities: /* @__PURE__ */ new Map(), checksum: 0, frames: 0 };
  currentTick = null;
  currentAck = null;
  /** The tick of the last applied snapshot, or null before the first. */
  get tick() {
    return this.currentTick;
  }
  /** The last input seq the server acknowledged, or null if none was applied yet. */
  get ack() {
    return this.currentAck;
  }
  /** The checksum of the held state, as the server computes it. */
  get checksum() {
    return this.held.checksum;
  }
  /**
   * Snapshot frames applied since the last reset (u32, wrapping), every one counted: full
   * or delta, empty body or not. Predicted bodies (protocol 4) are decoded against the
   * motion of the entities' updates in the previous frame.
   */
  get frames() {
    return this.held.frames;
  }
  /** Number of held entities. */
  get size() {
    return this.held.entities.size;
  }
  /** The held entities by slot index (unordered; do not modify). */
  get entities() {
    return this.held.entities;
  }
  /** The entity in slot `index`, if held. */
  entityAt(index) {
    return this.held.entities.get(index);
  }
  /** The entity `id`, if held with that generation. */
  get(id) {
    const entity = this.held.entities.get(id.index);
    return entity?.id.generation === id.generation ? entity : void 0;
  }
  /** Every held entity in slot order. */
  sorted() {
    return [...this.held.entities.values()].sort((a, b) => a.id.index - b.id.index);
  }
  /** Forgets everything (a new connection starts from a full snapshot). */
  reset() {
    this.held.entities.clear();
    this.held.checksum = 0;
    this.held.frames = 0;
    this.currentTick = null;
    this.currentAck = null;
  }
  /**
   * Applies one snapshot frame. Throws {@link DecodeError} when the body does not fit the
   * mirror and {@link ChecksumMismatchError} when the result differs from the server's
   * (only if `verifyChecksum`); either way the mirror has diverged and should be reset
   * from a new connection.
   */
  applyFrame(frame, verifyChecksum = true) {
    let tick;
    if (frame.full) {
      tick = frame.tick;
    } else if (this.currentTick === null) {
      throw new DecodeError("no-baseline", "a delta snapshot arrived before the first full snapshot");
    } else {
      tick = this.currentTick + frame.tick >>> 0;
    }
    if (frame.full) {
      this.held.entities.clear();
      this.held.checksum = 0;
    }
    const previousAck = this.currentAck;
    if (frame.ack !== null) {
      this.currentAck = frame.ackAbsolute ? frame.ack : (this.currentAck ?? 0) + frame.ack >>> 0;
    }
    this.currentTick = tick;
    const changes = applyBody(frame.body, this.held);
    let checksumVerified = false;
    if (changes.checksum !== null && verifyChecksum) {
      if (changes.checksum !== this.held.checksum) {
        throw new ChecksumMismatchError(tick, changes.checksum, this.held.checksum);
      }
      checksumVerified = true;
    }
    return {
      tick,
      ack: this.currentAck,
      ackChanged: this.currentAck !== previousAck,
      checksumVerified,
      full: frame.full,
      spawned: changes.spawned,
      updated: changes.updated,
      despawned: changes.despawned
    };
  }
};
function wrappingDiff(a, b) {
  return a - b | 0;
}

// node_modules/@msgpack/msgpack/dist.esm/utils/utf8.mjs
function utf8Count(str) {
  const strLength = str.length;
  let byteLength = 0;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      byteLength++;
      continue;
    } else if ((value & 4294965248) === 0) {
      byteLength += 2;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        byteLength += 3;
      } else {
        byteLength += 4;
      }
    }
  }
  return byteLength;
}
function utf8EncodeJs(str, output, outputOffset) {
  const strLength = str.length;
  let offset = outputOffset;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      output[offset++] = value;
      continue;
    } else if ((value & 4294965248) === 0) {
      output[offset++] = value >> 6 & 31 | 192;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        output[offset++] = value >> 12 & 15 | 224;
        output[offset++] = value >> 6 & 63 | 128;
      } else {
        output[offset++] = value >> 18 & 7 | 240;
        output[offset++] = value >> 12 & 63 | 128;
        output[offset++] = value >> 6 & 63 | 128;
      }
    }
    output[offset++] = value & 63 | 128;
  }
}
var sharedTextEncoder = new TextEncoder();
var TEXT_ENCODER_THRESHOLD = 50;
function utf8EncodeTE(str, output, outputOffset) {
  sharedTextEncoder.encodeInto(str, output.subarray(outputOffset));
}
function utf8Encode(str, output, outputOffset) {
  if (str.length > TEXT_ENCODER_THRESHOLD) {
    utf8EncodeTE(str, output, outputOffset);
  } else {
    utf8EncodeJs(str, output, outputOffset);
  }
}
var CHUNK_SIZE = 4096;
function utf8DecodeJs(bytes, inputOffset, byteLength) {
  let offset = inputOffset;
  const end = offset + byteLength;
  const units = [];
  let result = "";
  while (offset < end) {
    const byte1 = bytes[offset++];
    if ((byte1 & 128) === 0) {
      units.push(byte1);
    } else if ((byte1 & 224) === 192) {
      const byte2 = bytes[offset++] & 63;
      units.push((byte1 & 31) << 6 | byte2);
    } else if ((byte1 & 240) === 224) {
      const byte2 = bytes[offset++] & 63;
      const byte3 = bytes[offset++] & 63;
      units.push((byte1 & 31) << 12 | byte2 << 6 | byte3);
    } else if ((byte1 & 248) === 240) {
      const byte2 = bytes[offset++] & 63;
      const byte3 = bytes[offset++] & 63;
      const byte4 = bytes[offset++] & 63;
      let unit = (byte1 & 7) << 18 | byte2 << 12 | byte3 << 6 | byte4;
      if (unit > 65535) {
        unit -= 65536;
        units.push(unit >>> 10 & 1023 | 55296);
        unit = 56320 | unit & 1023;
      }
      units.push(unit);
    } else {
      units.push(byte1);
    }
    if (units.length >= CHUNK_SIZE) {
      result += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  if (units.length > 0) {
    result += String.fromCharCode(...units);
  }
  return result;
}
var sharedTextDecoder = new TextDecoder();
var TEXT_DECODER_THRESHOLD = 200;
function utf8DecodeTD(bytes, inputOffset, byteLength) {
  const stringBytes = bytes.subarray(inputOffset, inputOffset + byteLength);
  return sharedTextDecoder.decode(stringBytes);
}
function utf8Decode(bytes, inputOffset, byteLength) {
  if (byteLength > TEXT_DECODER_THRESHOLD) {
    return utf8DecodeTD(bytes, inputOffset, byteLength);
  } else {
    return utf8DecodeJs(bytes, inputOffset, byteLength);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/ExtData.mjs
var ExtData = class {
  type;
  data;
  constructor(type, data) {
    this.type = type;
    this.data = data;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/DecodeError.mjs
var DecodeError2 = class _DecodeError extends Error {
  constructor(message) {
    super(message);
    const proto = Object.create(_DecodeError.prototype);
    Object.setPrototypeOf(this, proto);
    Object.defineProperty(this, "name", {
      configurable: true,
      enumerable: false,
      value: _DecodeError.name
    });
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/int.mjs
var UINT32_MAX = 4294967295;
function setUint64(view, offset, value) {
  const high = value / 4294967296;
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function setInt64(view, offset, value) {
  const high = Math.floor(value / 4294967296);
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function getInt64(view, offset) {
  const high = view.getInt32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}
function getUint64(view, offset) {
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}

// node_modules/@msgpack/msgpack/dist.esm/timestamp.mjs
var EXT_TIMESTAMP = -1;
var TIMESTAMP32_MAX_SEC = 4294967296 - 1;
var TIMESTAMP64_MAX_SEC = 17179869184 - 1;
function encodeTimeSpecToTimestamp({ sec, nsec }) {
  if (sec >= 0 && nsec >= 0 && sec <= TIMESTAMP64_MAX_SEC) {
    if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) {
      const rv = new Uint8Array(4);
      const view = new DataView(rv.buffer);
      view.setUint32(0, sec);
      return rv;
    } else {
      const secHigh = sec / 4294967296;
      const secLow = sec & 4294967295;
      const rv = new Uint8Array(8);
      const view = new DataView(rv.buffer);
      view.setUint32(0, nsec << 2 | secHigh & 3);
      view.setUint32(4, secLow);
      return rv;
    }
  } else {
    const rv = new Uint8Array(12);
    const view = new DataView(rv.buffer);
    view.setUint32(0, nsec);
    setInt64(view, 4, sec);
    return rv;
  }
}
function encodeDateToTimeSpec(date) {
  const msec = date.getTime();
  const sec = Math.floor(msec / 1e3);
  const nsec = (msec - sec * 1e3) * 1e6;
  const nsecInSec = Math.floor(nsec / 1e9);
  return {
    sec: sec + nsecInSec,
    nsec: nsec - nsecInSec * 1e9
  };
}
function encodeTimestampExtension(object) {
  if (object instanceof Date) {
    const timeSpec = encodeDateToTimeSpec(object);
    return encodeTimeSpecToTimestamp(timeSpec);
  } else {
    return null;
  }
}
function decodeTimestampToTimeSpec(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (data.byteLength) {
    case 4: {
      const sec = view.getUint32(0);
      const nsec = 0;
      return { sec, nsec };
    }
    case 8: {
      const nsec30AndSecHigh2 = view.getUint32(0);
      const secLow32 = view.getUint32(4);
      const sec = (nsec30AndSecHigh2 & 3) * 4294967296 + secLow32;
      const nsec = nsec30AndSecHigh2 >>> 2;
      return { sec, nsec };
    }
    case 12: {
      const sec = getInt64(view, 4);
      const nsec = view.getUint32(0);
      return { sec, nsec };
    }
    default:
      throw new DecodeError2(`Unrecognized data size for timestamp (expected 4, 8, or 12): ${data.length}`);
  }
}
function decodeTimestampExtension(data) {
  const timeSpec = decodeTimestampToTimeSpec(data);
  return new Date(timeSpec.sec * 1e3 + timeSpec.nsec / 1e6);
}
var timestampExtension = {
  type: EXT_TIMESTAMP,
  encode: encodeTimestampExtension,
  decode: decodeTimestampExtension
};

// node_modules/@msgpack/msgpack/dist.esm/ExtensionCodec.mjs
var ExtensionCodec = class _ExtensionCodec {
  static defaultCodec = new _ExtensionCodec();
  // ensures ExtensionCodecType<X> matches ExtensionCodec<X>
  // this will make type errors a lot more clear
  // eslint-disable-next-line @typescript-eslint/naming-convention
  __brand;
  // built-in extensions
  builtInEncoders = [];
  builtInDecoders = [];
  // custom extensions
  encoders = [];
  decoders = [];
  constructor() {
    this.register(timestampExtension);
  }
  register({ type, encode, decode }) {
    if (type >= 0) {
      this.encoders[type] = encode;
      this.decoders[type] = decode;
    } else {
      const index = -1 - type;
      this.builtInEncoders[index] = encode;
      this.builtInDecoders[index] = decode;
    }
  }
  tryToEncode(object, context) {
    for (let i = 0; i < this.builtInEncoders.length; i++) {
      const encodeExt = this.builtInEncoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = -1 - i;
          return new ExtData(type, data);
        }
      }
    }
    for (let i = 0; i < this.encoders.length; i++) {
      const encodeExt = this.encoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = i;
          return new ExtData(type, data);
        }
      }
    }
    if (object instanceof ExtData) {
      return object;
    }
    return null;
  }
  decode(data, type, context) {
    const decodeExt = type < 0 ? this.builtInDecoders[-1 - type] : this.decoders[type];
    if (decodeExt) {
      return decodeExt(data, type, context);
    } else {
      return new ExtData(type, data);
    }
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/typedArrays.mjs
function isArrayBufferLike(buffer) {
  return buffer instanceof ArrayBuffer || typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}
function ensureUint8Array(buffer) {
  if (buffer instanceof Uint8Array) {
    return buffer;
  } else if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } else if (isArrayBufferLike(buffer)) {
    return new Uint8Array(buffer);
  } else {
    return Uint8Array.from(buffer);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/Encoder.mjs
var DEFAULT_MAX_DEPTH = 100;
var DEFAULT_INITIAL_BUFFER_SIZE = 2048;
var Encoder = class _Encoder {
  extensionCodec;
  context;
  useBigInt64;
  maxDepth;
  initialBufferSize;
  sortKeys;
  forceFloat32;
  ignoreUndefined;
  forceIntegerToFloat;
  pos;
  view;
  bytes;
  entered = false;
  constructor(options) {
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.initialBufferSize = options?.initialBufferSize ?? DEFAULT_INITIAL_BUFFER_SIZE;
    this.sortKeys = options?.sortKeys ?? false;
    this.forceFloat32 = options?.forceFloat32 ?? false;
    this.ignoreUndefined = options?.ignoreUndefined ?? false;
    this.forceIntegerToFloat = options?.forceIntegerToFloat ?? false;
    this.pos = 0;
    this.view = new DataView(new ArrayBuffer(this.initialBufferSize));
    this.bytes = new Uint8Array(this.view.buffer);
  }
  clone() {
    return new _Encoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      maxDepth: this.maxDepth,
      initialBufferSize: this.initialBufferSize,
      sortKeys: this.sortKeys,
      forceFloat32: this.forceFloat32,
      ignoreUndefined: this.ignoreUndefined,
      forceIntegerToFloat: this.forceIntegerToFloat
    });
  }
  reinitializeState() {
    this.pos = 0;
  }
  /**
   * This is almost equivalent to {@link Encoder#encode}, but it returns an reference of the encoder's internal buffer and thus much faster than {@link Encoder#encode}.
   *
   * @returns Encodes the object and returns a shared reference the encoder's internal buffer.
   */
  encodeSharedRef(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encodeSharedRef(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.subarray(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  /**
   * @returns Encodes the object and returns a copy of the encoder's internal buffer.
   */
  encode(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encode(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.slice(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  doEncode(object, depth) {
    if (depth > this.maxDepth) {
      throw new Error(`Too deep objects in depth ${depth}`);
    }
    if (object == null) {
      this.encodeNil();
    } else if (typeof object === "boolean") {
      this.encodeBoolean(object);
    } else if (typeof object === "number") {
      if (!this.forceIntegerToFloat) {
        this.encodeNumber(object);
      } else {
        this.encodeNumberAsFloat(object);
      }
    } else if (typeof object === "string") {
      this.encodeString(object);
    } else if (this.useBigInt64 && typeof object === "bigint") {
      this.encodeBigInt64(object);
    } else {
      this.encodeObject(object, depth);
    }
  }
  ensureBufferSizeToWrite(sizeToWrite) {
    const requiredSize = this.pos + sizeToWrite;
    if (this.view.byteLength < requiredSize) {
      this.resizeBuffer(requiredSize * 2);
    }
  }
  resizeBuffer(newSize) {
    const newBuffer = new ArrayBuffer(newSize);
    const newBytes = new Uint8Array(newBuffer);
    const newView = new DataView(newBuffer);
    newBytes.set(this.bytes);
    this.view = newView;
    this.bytes = newBytes;
  }
  encodeNil() {
    this.writeU8(192);
  }
  encodeBoolean(object) {
    if (object === false) {
      this.writeU8(194);
    } else {
      this.writeU8(195);
    }
  }
  encodeNumber(object) {
    if (!this.forceIntegerToFloat && Number.isSafeInteger(object)) {
      if (object >= 0) {
        if (object < 128) {
          this.writeU8(object);
        } else if (object < 256) {
          this.writeU8(204);
          this.writeU8(object);
        } else if (object < 65536) {
          this.writeU8(205);
          this.writeU16(object);
        } else if (object < 4294967296) {
          this.writeU8(206);
          this.writeU32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(207);
          this.writeU64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      } else {
        if (object >= -32) {
          this.writeU8(224 | object + 32);
        } else if (object >= -128) {
          this.writeU8(208);
          this.writeI8(object);
        } else if (object >= -32768) {
          this.writeU8(209);
          this.writeI16(object);
        } else if (object >= -2147483648) {
          this.writeU8(210);
          this.writeI32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(211);
          this.writeI64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      }
    } else {
      this.encodeNumberAsFloat(object);
    }
  }
  encodeNumberAsFloat(object) {
    if (this.forceFloat32) {
      this.writeU8(202);
      this.writeF32(object);
    } else {
      this.writeU8(203);
      this.writeF64(object);
    }
  }
  encodeBigInt64(object) {
    if (object >= BigInt(0)) {
      this.writeU8(207);
      this.writeBigUint64(object);
    } else {
      this.writeU8(211);
      this.writeBigInt64(object);
    }
  }
  writeStringHeader(byteLength) {
    if (byteLength < 32) {
      this.writeU8(160 + byteLength);
    } else if (byteLength < 256) {
      this.writeU8(217);
      this.writeU8(byteLength);
    } else if (byteLength < 65536) {
      this.writeU8(218);
      this.writeU16(byteLength);
    } else if (byteLength < 4294967296) {
      this.writeU8(219);
      this.writeU32(byteLength);
    } else {
      throw new Error(`Too long string: ${byteLength} bytes in UTF-8`);
    }
  }
  encodeString(object) {
    const maxHeaderSize = 1 + 4;
    const byteLength = utf8Count(object);
    this.ensureBufferSizeToWrite(maxHeaderSize + byteLength);
    this.writeStringHeader(byteLength);
    utf8Encode(object, this.bytes, this.pos);
    this.pos += byteLength;
  }
  encodeObject(object, depth) {
    const ext = this.extensionCodec.tryToEncode(object, this.context);
    if (ext != null) {
      this.encodeExtension(ext);
    } else if (Array.isArray(object)) {
      this.encodeArray(object, depth);
    } else if (ArrayBuffer.isView(object)) {
      this.encodeBinary(object);
    } else if (typeof object === "object") {
      this.encodeMap(object, depth);
    } else {
      throw new Error(`Unrecognized object: ${Object.prototype.toString.apply(object)}`);
    }
  }
  encodeBinary(object) {
    const size = object.byteLength;
    if (size < 256) {
      this.writeU8(196);
      this.writeU8(size);
    } else if (size < 65536) {
      this.writeU8(197);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(198);
      this.writeU32(size);
    } else {
      throw new Error(`Too large binary: ${size}`);
    }
    const bytes = ensureUint8Array(object);
    this.writeU8a(bytes);
  }
  encodeArray(object, depth) {
    const size = object.length;
    if (size < 16) {
      this.writeU8(144 + size);
    } else if (size < 65536) {
      this.writeU8(220);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(221);
      this.writeU32(size);
    } else {
      throw new Error(`Too large array: ${size}`);
    }
    for (const item of object) {
      this.doEncode(item, depth + 1);
    }
  }
  countWithoutUndefined(object, keys) {
    let count = 0;
    for (const key of keys) {
      if (object[key] !== void 0) {
        count++;
      }
    }
    return count;
  }
  encodeMap(object, depth) {
    const keys = Object.keys(object);
    if (this.sortKeys) {
      keys.sort();
    }
    const size = this.ignoreUndefined ? this.countWithoutUndefined(object, keys) : keys.length;
    if (size < 16) {
      this.writeU8(128 + size);
    } else if (size < 65536) {
      this.writeU8(222);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(223);
      this.writeU32(size);
    } else {
      throw new Error(`Too large map object: ${size}`);
    }
    for (const key of keys) {
      const value = object[key];
      if (!(this.ignoreUndefined && value === void 0)) {
        this.encodeString(key);
        this.doEncode(value, depth + 1);
      }
    }
  }
  encodeExtension(ext) {
    if (typeof ext.data === "function") {
      const data = ext.data(this.pos + 6);
      const size2 = data.length;
      if (size2 >= 4294967296) {
        throw new Error(`Too large extension object: ${size2}`);
      }
      this.writeU8(201);
      this.writeU32(size2);
      this.writeI8(ext.type);
      this.writeU8a(data);
      return;
    }
    const size = ext.data.length;
    if (size === 1) {
      this.writeU8(212);
    } else if (size === 2) {
      this.writeU8(213);
    } else if (size === 4) {
      this.writeU8(214);
    } else if (size === 8) {
      this.writeU8(215);
    } else if (size === 16) {
      this.writeU8(216);
    } else if (size < 256) {
      this.writeU8(199);
      this.writeU8(size);
    } else if (size < 65536) {
      this.writeU8(200);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(201);
      this.writeU32(size);
    } else {
      throw new Error(`Too large extension object: ${size}`);
    }
    this.writeI8(ext.type);
    this.writeU8a(ext.data);
  }
  writeU8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setUint8(this.pos, value);
    this.pos++;
  }
  writeU8a(values) {
    const size = values.length;
    this.ensureBufferSizeToWrite(size);
    this.bytes.set(values, this.pos);
    this.pos += size;
  }
  writeI8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setInt8(this.pos, value);
    this.pos++;
  }
  writeU16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }
  writeI16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }
  writeU32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }
  writeI32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }
  writeF32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setFloat32(this.pos, value);
    this.pos += 4;
  }
  writeF64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }
  writeU64(value) {
    this.ensureBufferSizeToWrite(8);
    setUint64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeI64(value) {
    this.ensureBufferSizeToWrite(8);
    setInt64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeBigUint64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigUint64(this.pos, value);
    this.pos += 8;
  }
  writeBigInt64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigInt64(this.pos, value);
    this.pos += 8;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/prettyByte.mjs
function prettyByte(byte2) {
  return `${byte2 < 0 ? "-" : ""}0x${Math.abs(byte2).toString(16).padStart(2, "0")}`;
}

// node_modules/@msgpack/msgpack/dist.esm/CachedKeyDecoder.mjs
var DEFAULT_MAX_KEY_LENGTH = 16;
var DEFAULT_MAX_LENGTH_PER_KEY = 16;
var CachedKeyDecoder = class {
  hit = 0;
  miss = 0;
  caches;
  maxKeyLength;
  maxLengthPerKey;
  constructor(maxKeyLength = DEFAULT_MAX_KEY_LENGTH, maxLengthPerKey = DEFAULT_MAX_LENGTH_PER_KEY) {
    this.maxKeyLength = maxKeyLength;
    this.maxLengthPerKey = maxLengthPerKey;
    this.caches = [];
    for (let i = 0; i < this.maxKeyLength; i++) {
      this.caches.push([]);
    }
  }
  canBeCached(byteLength) {
    return byteLength > 0 && byteLength <= this.maxKeyLength;
  }
  find(bytes, inputOffset, byteLength) {
    const records = this.caches[byteLength - 1];
    FIND_CHUNK: for (const record of records) {
      const recordBytes = record.bytes;
      for (let j = 0; j < byteLength; j++) {
        if (recordBytes[j] !== bytes[inputOffset + j]) {
          continue FIND_CHUNK;
        }
      }
      return record.str;
    }
    return null;
  }
  store(bytes, value) {
    const records = this.caches[bytes.length - 1];
    const record = { bytes, str: value };
    if (records.length >= this.maxLengthPerKey) {
      records[Math.random() * records.length | 0] = record;
    } else {
      records.push(record);
    }
  }
  decode(bytes, inputOffset, byteLength) {
    const cachedValue = this.find(bytes, inputOffset, byteLength);
    if (cachedValue != null) {
      this.hit++;
      return cachedValue;
    }
    this.miss++;
    const str = utf8DecodeJs(bytes, inputOffset, byteLength);
    const slicedCopyOfBytes = Uint8Array.prototype.slice.call(bytes, inputOffset, inputOffset + byteLength);
    this.store(slicedCopyOfBytes, str);
    return str;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/Decoder.mjs
var STATE_ARRAY = "array";
var STATE_MAP_KEY = "map_key";
var STATE_MAP_VALUE = "map_value";
var mapKeyConverter = (key) => {
  if (typeof key === "string" || typeof key === "number") {
    return key;
  }
  throw new DecodeError2("The type of key must be string or number but " + typeof key);
};
var StackPool = class {
  stack = [];
  stackHeadPosition = -1;
  get length() {
    return this.stackHeadPosition + 1;
  }
  top() {
    return this.stack[this.stackHeadPosition];
  }
  pushArrayState(size) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_ARRAY;
    state.position = 0;
    state.size = size;
    state.array = new Array(size);
  }
  pushMapState(size) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_MAP_KEY;
    state.readCount = 0;
    state.size = size;
    state.map = {};
  }
  getUninitializedStateFromPool() {
    this.stackHeadPosition++;
    if (this.stackHeadPosition === this.stack.length) {
      const partialState = {
        type: void 0,
        size: 0,
        array: void 0,
        position: 0,
        readCount: 0,
        map: void 0,
        key: null
      };
      this.stack.push(partialState);
    }
    return this.stack[this.stackHeadPosition];
  }
  release(state) {
    const topStackState = this.stack[this.stackHeadPosition];
    if (topStackState !== state) {
      throw new Error("Invalid stack state. Released state is not on top of the stack.");
    }
    if (state.type === STATE_ARRAY) {
      const partialState = state;
      partialState.size = 0;
      partialState.array = void 0;
      partialState.position = 0;
      partialState.type = void 0;
    }
    if (state.type === STATE_MAP_KEY || state.type === STATE_MAP_VALUE) {
      const partialState = state;
      partialState.size = 0;
      partialState.map = void 0;
      partialState.readCount = 0;
      partialState.type = void 0;
    }
    this.stackHeadPosition--;
  }
  reset() {
    this.stack.length = 0;
    this.stackHeadPosition = -1;
  }
};
var HEAD_BYTE_REQUIRED = -1;
var EMPTY_VIEW = new DataView(new ArrayBuffer(0));
var EMPTY_BYTES = new Uint8Array(EMPTY_VIEW.buffer);
try {
  EMPTY_VIEW.getInt8(0);
} catch (e) {
  if (!(e instanceof RangeError)) {
    throw new Error("This module is not supported in the current JavaScript engine because DataView does not throw RangeError on out-of-bounds access");
  }
}
var MORE_DATA = new RangeError("Insufficient data");
var sharedCachedKeyDecoder = new CachedKeyDecoder();
var Decoder = class _Decoder {
  extensionCodec;
  context;
  useBigInt64;
  rawStrings;
  maxStrLength;
  maxBinLength;
  maxArrayLength;
  maxMapLength;
  maxExtLength;
  keyDecoder;
  mapKeyConverter;
  totalPos = 0;
  pos = 0;
  view = EMPTY_VIEW;
  bytes = EMPTY_BYTES;
  headByte = HEAD_BYTE_REQUIRED;
  stack = new StackPool();
  entered = false;
  constructor(options) {
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.rawStrings = options?.rawStrings ?? false;
    this.maxStrLength = options?.maxStrLength ?? UINT32_MAX;
    this.maxBinLength = options?.maxBinLength ?? UINT32_MAX;
    this.maxArrayLength = options?.maxArrayLength ?? UINT32_MAX;
    this.maxMapLength = options?.maxMapLength ?? UINT32_MAX;
    this.maxExtLength = options?.maxExtLength ?? UINT32_MAX;
    this.keyDecoder = options?.keyDecoder !== void 0 ? options.keyDecoder : sharedCachedKeyDecoder;
    this.mapKeyConverter = options?.mapKeyConverter ?? mapKeyConverter;
  }
  clone() {
    return new _Decoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      rawStrings: this.rawStrings,
      maxStrLength: this.maxStrLength,
      maxBinLength: this.maxBinLength,
      maxArrayLength: this.maxArrayLength,
      maxMapLength: this.maxMapLength,
      maxExtLength: this.maxExtLength,
      keyDecoder: this.keyDecoder
    });
  }
  reinitializeState() {
    this.totalPos = 0;
    this.headByte = HEAD_BYTE_REQUIRED;
    this.stack.reset();
  }
  setBuffer(buffer) {
    const bytes = ensureUint8Array(buffer);
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  appendBuffer(buffer) {
    if (this.headByte === HEAD_BYTE_REQUIRED && !this.hasRemaining(1)) {
      this.setBuffer(buffer);
    } else {
      const remainingData = this.bytes.subarray(this.pos);
      const newData = ensureUint8Array(buffer);
      const newBuffer = new Uint8Array(remainingData.length + newData.length);
      newBuffer.set(remainingData);
      newBuffer.set(newData, remainingData.length);
      this.setBuffer(newBuffer);
    }
  }
  hasRemaining(size) {
    return this.view.byteLength - this.pos >= size;
  }
  createExtraByteError(posToShow) {
    const { view, pos } = this;
    return new RangeError(`Extra ${view.byteLength - pos} of ${view.byteLength} byte(s) found at buffer[${posToShow}]`);
  }
  /**
   * @throws {@link DecodeError}
   * @throws {@link RangeError}
   */
  decode(buffer) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decode(buffer);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      const object = this.doDecodeSync();
      if (this.hasRemaining(1)) {
        throw this.createExtraByteError(this.pos);
      }
      return object;
    } finally {
      this.entered = false;
    }
  }
  *decodeMulti(buffer) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMulti(buffer);
      return;
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      while (this.hasRemaining(1)) {
        yield this.doDecodeSync();
      }
    } finally {
      this.entered = false;
    }
  }
  async decodeAsync(stream) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decodeAsync(stream);
    }
    try {
      this.entered = true;
      let decoded = false;
      let object;
      for await (const buffer of stream) {
        if (decoded) {
          this.entered = false;
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        try {
          object = this.doDecodeSync();
          decoded = true;
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
      if (decoded) {
        if (this.hasRemaining(1)) {
          throw this.createExtraByteError(this.totalPos);
        }
        return object;
      }
      const { headByte, pos, totalPos } = this;
      throw new RangeError(`Insufficient data in parsing ${prettyByte(headByte)} at ${totalPos} (${pos} in the current buffer)`);
    } finally {
      this.entered = false;
    }
  }
  decodeArrayStream(stream) {
    return this.decodeMultiAsync(stream, true);
  }
  decodeStream(stream) {
    return this.decodeMultiAsync(stream, false);
  }
  async *decodeMultiAsync(stream, isArray) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMultiAsync(stream, isArray);
      return;
    }
    try {
      this.entered = true;
      let isArrayHeaderRequired = isArray;
      let arrayItemsLeft = -1;
      for await (const buffer of stream) {
        if (isArray && arrayItemsLeft === 0) {
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        if (isArrayHeaderRequired) {
          arrayItemsLeft = this.readArraySize();
          isArrayHeaderRequired = false;
          this.complete();
        }
        try {
          while (true) {
            yield this.doDecodeSync();
            if (--arrayItemsLeft === 0) {
              break;
            }
          }
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
    } finally {
      this.entered = false;
    }
  }
  doDecodeSync() {
    DECODE: while (true) {
      const headByte = this.readHeadByte();
      let object;
      if (headByte >= 224) {
        object = headByte - 256;
      } else if (headByte < 192) {
        if (headByte < 128) {
          object = headByte;
        } else if (headByte < 144) {
          const size = headByte - 128;
          if (size !== 0) {
            this.pushMapState(size);
            this.complete();
            continue DECODE;
          } else {
            object = {};
          }
        } else if (headByte < 160) {
          const size = headByte - 144;
          if (size !== 0) {
            this.pushArrayState(size);
            this.complete();
            continue DECODE;
          } else {
            object = [];
          }
        } else {
          const byteLength = headByte - 160;
          object = this.decodeString(byteLength, 0);
        }
      } else if (headByte === 192) {
        object = null;
      } else if (headByte === 194) {
        object = false;
      } else if (headByte === 195) {
        object = true;
      } else if (headByte === 202) {
        object = this.readF32();
      } else if (headByte === 203) {
        object = this.readF64();
      } else if (headByte === 204) {
        object = this.readU8();
      } else if (headByte === 205) {
        object = this.readU16();
      } else if (headByte === 206) {
        object = this.readU32();
      } else if (headByte === 207) {
        if (this.useBigInt64) {
          object = this.readU64AsBigInt();
        } else {
          object = this.readU64();
        }
      } else if (headByte === 208) {
        object = this.readI8();
      } else if (headByte === 209) {
        object = this.readI16();
      } else if (headByte === 210) {
        object = this.readI32();
      } else if (headByte === 211) {
        if (this.useBigInt64) {
          object = this.readI64AsBigInt();
        } else {
          object = this.readI64();
        }
      } else if (headByte === 217) {
        const byteLength = this.lookU8();
        object = this.decodeString(byteLength, 1);
      } else if (headByte === 218) {
        const byteLength = this.lookU16();
        object = this.decodeString(byteLength, 2);
      } else if (headByte === 219) {
        const byteLength = this.lookU32();
        object = this.decodeString(byteLength, 4);
      } else if (headByte === 220) {
        const size = this.readU16();
        if (size !== 0) {
          this.pushArrayState(size);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 221) {
        const size = this.readU32();
        if (size !== 0) {
          this.pushArrayState(size);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 222) {
        const size = this.readU16();
        if (size !== 0) {
          this.pushMapState(size);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 223) {
        const size = this.readU32();
        if (size !== 0) {
          this.pushMapState(size);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 196) {
        const size = this.lookU8();
        object = this.decodeBinary(size, 1);
      } else if (headByte === 197) {
        const size = this.lookU16();
        object = this.decodeBinary(size, 2);
      } else if (headByte === 198) {
        const size = this.lookU32();
        object = this.decodeBinary(size, 4);
      } else if (headByte === 212) {
        object = this.decodeExtension(1, 0);
      } else if (headByte === 213) {
        object = this.decodeExtension(2, 0);
      } else if (headByte === 214) {
        object = this.decodeExtension(4, 0);
      } else if (headByte === 215) {
        object = this.decodeExtension(8, 0);
      } else if (headByte === 216) {
        object = this.decodeExtension(16, 0);
      } else if (headByte === 199) {
        const size = this.lookU8();
        object = this.decodeExtension(size, 1);
      } else if (headByte === 200) {
        const size = this.lookU16();
        object = this.decodeExtension(size, 2);
      } else if (headByte === 201) {
        const size = this.lookU32();
        object = this.decodeExtension(size, 4);
      } else {
        throw new DecodeError2(`Unrecognized type byte: ${prettyByte(headByte)}`);
      }
      this.complete();
      const stack = this.stack;
      while (stack.length > 0) {
        const state = stack.top();
        if (state.type === STATE_ARRAY) {
          state.array[state.position] = object;
          state.position++;
          if (state.position === state.size) {
            object = state.array;
            stack.release(state);
          } else {
            continue DECODE;
          }
        } else if (state.type === STATE_MAP_KEY) {
          if (object === "__proto__") {
            throw new DecodeError2("The key __proto__ is not allowed");
          }
          state.key = this.mapKeyConverter(object);
          state.type = STATE_MAP_VALUE;
          continue DECODE;
        } else {
          state.map[state.key] = object;
          state.readCount++;
          if (state.readCount === state.size) {
            object = state.map;
            stack.release(state);
          } else {
            state.key = null;
            state.type = STATE_MAP_KEY;
            continue DECODE;
          }
        }
      }
      return object;
    }
  }
  readHeadByte() {
    if (this.headByte === HEAD_BYTE_REQUIRED) {
      this.headByte = this.readU8();
    }
    return this.headByte;
  }
  complete() {
    this.headByte = HEAD_BYTE_REQUIRED;
  }
  readArraySize() {
    const headByte = this.readHeadByte();
    switch (headByte) {
      case 220:
        return this.readU16();
      case 221:
        return this.readU32();
      default: {
        if (headByte < 160) {
          return headByte - 144;
        } else {
          throw new DecodeError2(`Unrecognized array type byte: ${prettyByte(headByte)}`);
        }
      }
    }
  }
  pushMapState(size) {
    if (size > this.maxMapLength) {
      throw new DecodeError2(`Max length exceeded: map length (${size}) > maxMapLengthLength (${this.maxMapLength})`);
    }
    this.stack.pushMapState(size);
  }
  pushArrayState(size) {
    if (size > this.maxArrayLength) {
      throw new DecodeError2(`Max length exceeded: array length (${size}) > maxArrayLength (${this.maxArrayLength})`);
    }
    this.stack.pushArrayState(size);
  }
  decodeString(byteLength, headerOffset) {
    if (!this.rawStrings || this.stateIsMapKey()) {
      return this.decodeUtf8String(byteLength, headerOffset);
    }
    return this.decodeBinary(byteLength, headerOffset);
  }
  /**
   * @throws {@link RangeError}
   */
  decodeUtf8String(byteLength, headerOffset) {
    if (byteLength > this.maxStrLength) {
      throw new DecodeError2(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength (${this.maxStrLength})`);
    }
    if (this.bytes.byteLength < this.pos + headerOffset + byteLength) {
      throw MORE_DATA;
    }
    const offset = this.pos + headerOffset;
    let object;
    if (this.stateIsMapKey() && this.keyDecoder?.canBeCached(byteLength)) {
      object = this.keyDecoder.decode(this.bytes, offset, byteLength);
    } else {
      object = utf8Decode(this.bytes, offset, byteLength);
    }
    this.pos += headerOffset + byteLength;
    return object;
  }
  stateIsMapKey() {
    if (this.stack.length > 0) {
      const state = this.stack.top();
      return state.type === STATE_MAP_KEY;
    }
    return false;
  }
  /**
   * @throws {@link RangeError}
   */
  decodeBinary(byteLength, headOffset) {
    if (byteLength > this.maxBinLength) {
      throw new DecodeError2(`Max length exceeded: bin length (${byteLength}) > maxBinLength (${this.maxBinLength})`);
    }
    if (!this.hasRemaining(byteLength + headOffset)) {
      throw MORE_DATA;
    }
    const offset = this.pos + headOffset;
    const object = this.bytes.subarray(offset, offset + byteLength);
    this.pos += headOffset + byteLength;
    return object;
  }
  decodeExtension(size, headOffset) {
    if (size > this.maxExtLength) {
      throw new DecodeError2(`Max length exceeded: ext length (${size}) > maxExtLength (${this.maxExtLength})`);
    }
    const extType = this.view.getInt8(this.pos + headOffset);
    const data = this.decodeBinary(
      size,
      headOffset + 1
      /* extType */
    );
    return this.extensionCodec.decode(data, extType, this.context);
  }
  lookU8() {
    return this.view.getUint8(this.pos);
  }
  lookU16() {
    return this.view.getUint16(this.pos);
  }
  lookU32() {
    return this.view.getUint32(this.pos);
  }
  readU8() {
    const value = this.view.getUint8(this.pos);
    this.pos++;
    return value;
  }
  readI8() {
    const value = this.view.getInt8(this.pos);
    this.pos++;
    return value;
  }
  readU16() {
    const value = this.view.getUint16(this.pos);
    this.pos += 2;
    return value;
  }
  readI16() {
    const value = this.view.getInt16(this.pos);
    this.pos += 2;
    return value;
  }
  readU32() {
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }
  readI32() {
    const value = this.view.getInt32(this.pos);
    this.pos += 4;
    return value;
  }
  readU64() {
    const value = getUint64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readI64() {
    const value = getInt64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readU64AsBigInt() {
    const value = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return value;
  }
  readI64AsBigInt() {
    const value = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return value;
  }
  readF32() {
    const value = this.view.getFloat32(this.pos);
    this.pos += 4;
    return value;
  }
  readF64() {
    const value = this.view.getFloat64(this.pos);
    this.pos += 8;
    return value;
  }
};

// src/protocol.ts
var PROTOCOL_VERSION = 5;
var WELCOME_TAG = 0;
var SNAPSHOT_TAG = 1;
var FLAG_FULL = 1;
var FLAG_ACK_ABSOLUTE = 2;
var MAX_SPECTATE_COORDINATE = 1e9;
function checkSpectate(spectate) {
  if (spectate === true) {
    return;
  }
  if (typeof spectate !== "object" || spectate === null) {
    throw new TypeError("spectate must be true (the whole world) or {x, y} (a point)");
  }
  const { x, y } = spectate;
  for (const [name, value] of [["x", x], ["y", y]]) {
    if (typeof value !== "number") {
      throw new TypeError(`spectate.${name} must be a number`);
    }
    if (!Number.isFinite(value) || Math.abs(value) > MAX_SPECTATE_COORDINATE) {
      throw new RangeError(`spectate.${name} must be finite and within ±1e9, not ${value}`);
    }
  }
}
var decoder = new Decoder({
  maxStrLength: 1 << 16,
  maxBinLength: 1 << 26,
  maxArrayLength: 1 << 16,
  maxMapLength: 64,
  maxExtLength: 0
});
var encoder = new Encoder({ forceFloat32: true });
function encodeHello(name, resume = null, spectate = null, protocolVersion = PROTOCOL_VERSION) {
  const token = resume !== null && resume.length > 0 ? resume : null;
  if (spectate !== null) {
    checkSpectate(spectate);
    const watch = spectate === true ? [] : [spectate.x, spectate.y];
    return encoder.encode({ h: [protocolVersion, name, token, watch] });
  }
  if (token !== null) {
    return encoder.encode({ h: [protocolVersion, name, token] });
  }
  return encoder.encode({ h: [protocolVersion, name] });
}
function encodeInput(seq, viewTick, fields) {
  return encoder.encode({ i: [seq >>> 0, viewTick === null ? null : viewTick >>> 0, ...fields] });
}
function decodeServerMessage(bytes) {
  let value;
  try {
    value = decoder.decode(bytes);
  } catch (error) {
    throw new DecodeError("protocol", `malformed message: ${error instanceof Error ? error.message : String(error)}`);
  }
  const message = array(value, "server message");
  const tag = uint(message[0], 8, "tag");
  switch (tag) {
    case WELCOME_TAG:
      return decodeWelcome(message);
    case SNAPSHOT_TAG:
      return decodeSnapshot(message);
    default:
      throw fail(`unknown server message tag ${tag}`);
  }
}
function decodeWelcome(message) {
  const protocolVersion = uint(message[1], 16, "protocol_version");
  if (protocolVersion !== PROTOCOL_VERSION) {
    throw new DecodeError(
      "version",
      `the server speaks protocol version ${protocolVersion}; this client speaks ${PROTOCOL_VERSION}`
    );
  }
  expectLength(message, 9, "welcome");
  const resume = message[8];
  if (!(resume instanceof Uint8Array)) {
    throw fail("welcome resume token is not bin");
  }
  let player = null;
  if (message[3] !== null) {
    const id = array(message[3], "player");
    expectLength(id, 2, "player");
    player = { index: uint(id[0], 32, "player index"), generation: uint(id[1], 32, "player generation") };
  }
  return {
    type: "welcome",
    protocolVersion,
    clientId: uint(message[2], 32, "client_id"),
    player,
    tickRate: positive(uint(message[4], 16, "tick_rate"), "tick_rate"),
    snapshotRate: positive(uint(message[5], 16, "snapshot_rate"), "snapshot_rate"),
    tick: uint(message[6], 32, "tick"),
    schema: decodeSchema(message[7]),
    // A copy: the decoder's bytes may be a view into the message.
    resume: resume.slice()
  };
}
function decodeSchema(value) {
  const schema = array(value, "schema");
  expectLength(schema, 3, "schema");
  const components = array(schema[1], "schema components").map((entry, at) => {
    const component = array(entry, `component ${at}`);
    expectLength(component, 3, `component ${at}`);
    const fields = array(component[2], `component ${at} fields`).map((item) => {
      const field = array(item, `component ${at} field`);
      expectLength(field, 3, `component ${at} field`);
      return {
        name: string(field[0], "field name"),
        scale: finite(field[1], "field scale"),
        wrap: uint(field[2], 32, "field wrap")
      };
    });
    return { kind: uint(component[0], 8, "component kind"), name: string(component[1], "component name"), fields };
  });
  for (let at = 1; at < components.length; at++) {
    if (components[at].kind <= components[at - 1].kind) {
      throw fail("schema components are not sorted by kind");
    }
  }
  const input = array(schema[2], "schema input").map((item) => {
    const field = array(item, "input field");
    expectLength(field, 5, "input field");
    const name = string(field[0], "input field name");
    const kind = string(field[1], "input field kind");
    const min = finite(field[2], "input min");
    const max = finite(field[3], "input max");
    const step = finite(field[4], "input step");
    if (min > max) {
      throw fail(`input field ${name}: the range is empty`);
    }
    if (kind === "float" || kind === "step" && step > 0) {
      return { name, kind, min, max, step };
    }
    if (kind === "bits" && min === 0 && Number.isInteger(max) && max < 2 ** 24) {
      return { name, kind, min, max, step };
    }
    throw fail(`input field ${name}: ${kind} with min ${min}, max ${max}, step ${step} is not a field this client can send`);
  });
  return { game: string(schema[0], "game"), components, input };
}
function decodeSnapshot(message) {
  expectLength(message, 5, "snapshot");
  const flags = uint(message[1], 8, "flags");
  if ((flags & ~(FLAG_FULL | FLAG_ACK_ABSOLUTE)) !== 0) {
    throw fail(`unknown snapshot flags 0x${flags.toString(16).padStart(2, "0")}`);
  }
  const body = message[4];
  if (!(body instanceof Uint8Array)) {
    throw fail("snapshot body is not bin");
  }
  return {
    type: "snapshot",
    full: (flags & FLAG_FULL) !== 0,
    tick: uint(message[2], 32, "tick"),
    ack: message[3] === null ? null : uint(message[3], 32, "input ack"),
    ackAbsolute: (flags & FLAG_ACK_ABSOLUTE) !== 0,
    body
  };
}
function fail(message) {
  return new DecodeError("protocol", `malformed message: ${message}`);
}
function array(value, what) {
  if (!Array.isArray(value)) {
    throw fail(`${what} is not an array`);
  }
  return value;
}
function expectLength(value, length, what) {
  if (value.length !== length) {
    throw fail(`${what} has ${value.length} elements, expected ${length}`);
  }
}
function uint(value, bits, what) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw fail(`${what} is not a u${bits}`);
  }
  return value;
}
function positive(value, what) {
  if (value === 0) {
    throw fail(`${what} is zero`);
  }
  return value;
}
function finite(value, what) {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw fail(`${what} is not a finite number`);
  }
  return value;
}
function string(value, what) {
  if (typeof value !== "string") {
    throw fail(`${what} is not a string`);
  }
  return value;
}

// src/schema.ts
function unknownComponent(kind, fieldCount) {
  return {
    kind,
    name: `kind${kind}`,
    fields: Array.from({ length: fieldCount }, (_, at) => ({ name: `f${at}`, scale: 1, wrap: 0 }))
  };
}
var SchemaDecoder = class {
  constructor(schema) {
    this.schema = schema;
    for (const component of schema.components) {
      this.byKind.set(component.kind, component);
      this.byName.set(component.name, component);
    }
  }
  schema;
  byKind = /* @__PURE__ */ new Map();
  byName = /* @__PURE__ */ new Map();
  /** The component of `kind` (a stand-in with unit fields if the schema lacks it). */
  component(kind, fieldCount = 0) {
    return this.byKind.get(kind) ?? unknownComponent(kind, fieldCount);
  }
  /** The kind of the component called `name`, if the schema has one. */
  kindOf(name) {
    return this.byName.get(name)?.kind;
  }
  /** The world value of field `at` of a `kind` component holding `value`. */
  fieldValue(kind, at, value) {
    const field = this.byKind.get(kind)?.fields[at];
    if (field === void 0) {
      return value;
    }
    return worldValue(field, value);
  }
  /** One component's fields as world values by field name. */
  decodeComponent(kind, fields) {
    const schema = this.component(kind, fields.length);
    const out = {};
    for (let at = 0; at < fields.length; at++) {
      const field = schema.fields[at];
      out[field?.name ?? `f${at}`] = field === void 0 ? fields[at] : worldValue(field, fields[at]);
    }
    return out;
  }
  /** An entity's components as world values, e.g. `{Transform2: {x: 12.3, y: 4.5, angle: 1.2}}`. */
  decode(entity) {
    const components = {};
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
  inputFields(values) {
    return this.schema.input.map((field) => wireValue(field, values[field.name] ?? 0));
  }
  /**
   * The game's values of wire fields (as {@link inputFields} makes them), by name: what
   * the server will act on, bit for bit (a step field's value is `count * step` in float
   * 32). Prediction steps with exactly these values.
   */
  inputValues(fields) {
    const values = {};
    this.schema.input.forEach((field, at) => {
      const wire = fields[at] ?? 0;
      values[field.name] = field.kind === "step" ? Math.fround(wire * Math.fround(field.step)) : wire;
    });
    return values;
  }
};
function wireValue(field, value) {
  const finite2 = Number.isFinite(value) ? value : 0;
  switch (field.kind) {
    case "step": {
      const step = Math.fround(field.step);
      const clamped = Math.min(field.max, Math.max(field.min, finite2));
      let count = Math.round(clamped / step);
      const within = (k) => {
        const product = Math.fround(k * step);
        return product >= field.min && product <= field.max;
      };
      if (!within(count)) {
        count -= Math.sign(Math.fround(count * step) - clamped);
      }
      return count + 0;
    }
    case "bits":
      return (Math.max(0, Math.trunc(finite2)) & field.max) >>> 0;
    default:
      return toFloat32Within(finite2, field.min, field.max);
  }
}
var F32 = new Float32Array(1);
var F32_BITS = new Int32Array(F32.buffer);
function nextFloat32(value, towards) {
  if (value === towards) {
    return value;
  }
  if (value === 0) {
    return towards > 0 ? 1401298464324817e-60 : -1401298464324817e-60;
  }
  F32[0] = value;
  F32_BITS[0] += towards > value === value > 0 ? 1 : -1;
  return F32[0];
}
function toFloat32Within(value, min, max) {
  let rounded = Math.fround(Math.min(max, Math.max(min, value)));
  if (rounded > max) {
    rounded = nextFloat32(rounded, -Infinity);
  }
  if (rounded < min) {
    rounded = nextFloat32(rounded, Infinity);
  }
  return rounded;
}
function worldValue(field, integer) {
  if (field.wrap > 0) {
    return wrapInteger(integer, field.wrap) * field.scale;
  }
  return integer * field.scale;
}
function wrapInteger(value, wrap) {
  const rest = value % wrap;
  return rest < 0 ? rest + wrap : rest;
}

// src/interpolation.ts
var OFFSET_RESET_MS = 1e3;
var OFFSET_RELAX = 0.01;
var MAX_BUFFERED = 256;
function defaultDiscrete(field) {
  return field.scale === 1 && field.wrap === 0;
}
var Interpolator = class {
  constructor(decoder2, options) {
    this.decoder = decoder2;
    this.options = options;
    this.msPerTick = 1e3 / options.tickRate;
    this.isDiscrete = options.isDiscrete ?? defaultDiscrete;
  }
  decoder;
  options;
  buffer = [];
  lastTick = null;
  lastUnwrapped = 0;
  offset = null;
  msPerTick;
  isDiscrete;
  /** Number of buffered snapshots. */
  get length() {
    return this.buffer.length;
  }
  /** Forgets every snapshot and the clock (after a reconnect). */
  reset() {
    this.buffer.length = 0;
    this.lastTick = null;
    this.offset = null;
  }
  /** Buffers the state after the snapshot of `tick`, received at local time `receivedAt` (ms). */
  push(tick, entities, receivedAt) {
    const unwrapped = this.lastTick === null ? tick : this.lastUnwrapped + wrappingDiff(tick, this.lastTick);
    if (this.lastTick !== null && unwrapped <= this.lastUnwrapped) {
      this.reset();
      this.push(tick, entities, receivedAt);
      return;
    }
    this.lastTick = tick;
    this.lastUnwrapped = unwrapped;
    const sample = receivedAt - unwrapped * this.msPerTick;
    if (this.offset === null || Math.abs(sample - this.offset) > OFFSET_RESET_MS) {
      this.offset = sample;
    } else if (sample < this.offset) {
      this.offset = sample;
    } else {
      this.offset += (sample - this.offset) * OFFSET_RELAX;
    }
    this.buffer.push({ tick: unwrapped, entities: new Map(entities) });
    const at = this.renderTick(receivedAt) - 1e3 / this.msPerTick;
    while (this.buffer.length > MAX_BUFFERED || this.buffer.length > 2 && this.buffer[1].tick <= at) {
      this.buffer.shift();
    }
  }
  /** The (unwrapped, fractional) tick to render at local time `now`, or null if empty. */
  renderTick(now) {
    if (this.offset === null) {
      return null;
    }
    return (now - this.offset - this.options.delayMs) / this.msPerTick;
  }
  /**
   * The snapshots around the render time at `now`: before the oldest, the oldest alone;
   * past the newest (the buffer ran dry), the newest alone. Drops snapshots no longer
   * needed.
   */
  pair(now) {
    const at = this.renderTick(now);
    if (at === null || this.buffer.length === 0) {
      return null;
    }
    const buffer = this.buffer;
    while (buffer.length > 2 && buffer[1].tick <= at) {
      buffer.shift();
    }
    const first = buffer[0];
    if (at < first.tick || buffer.length === 1) {
      const only = at < first.tick ? first : buffer[buffer.length - 1];
      return { from: only, to: only, t: 1 };
    }
    for (let i = 0; i + 1 < buffer.length; i++) {
      const from = buffer[i];
      const to = buffer[i + 1];
      if (at < to.tick) {
        return { from, to, t: (at - from.tick) / (to.tick - from.tick) };
      }
    }
    const newest = buffer[buffer.length - 1];
    return { from: newest, to: newest, t: 1 };
  }
  /** Every entity of the render time at `now`, as world values. */
  sample(now) {
    const pair = this.pair(now);
    if (pair === null) {
      return [];
    }
    const out = [];
    for (const [index, to] of pair.to.entities) {
      out.push(this.blend(pair.from.entities.get(index), to, pair.t));
    }
    return out;
  }
  /** One entity at the render time at `now` (null if not in the newer snapshot). */
  entity(index, now) {
    const pair = this.pair(now);
    const to = pair?.to.entities.get(index);
    if (pair === null || to === void 0) {
      return null;
    }
    return this.blend(pair.from.entities.get(index), to, pair.t);
  }
  /** `to` blended from `from` by `t`, as world values (`from` absent: `to` as it is). */
  blend(from, to, t) {
    const same = from !== void 0 && from.id.generation === to.id.generation;
    const components = {};
    for (let c = 0; c < to.kinds.length; c++) {
      const kind = to.kinds[c];
      const toFields = to.fields[c];
      const schema = this.decoder.component(kind, toFields.length);
      const fromFields = !same ? void 0 : from.kinds[c] === kind ? from.fields[c] : from.component(kind);
      const values = {};
      for (let at = 0; at < toFields.length; at++) {
        const field = schema.fields[at] ?? { name: `f${at}`, scale: 1, wrap: 0 };
        const b = toFields[at];
        const a = fromFields?.length === toFields.length ? fromFields[at] : b;
        values[field.name] = interpolateField(field, a, b, this.isDiscrete(field) ? 1 : t);
      }
      components[schema.name] = values;
    }
    return { id: to.id, components };
  }
};
function interpolateField(field, a, b, t) {
  if (field.wrap > 0) {
    const wrap = field.wrap;
    let delta = wrapInteger(b - a, wrap);
    if (delta > wrap / 2) {
      delta -= wrap;
    }
    return wrapInteger(wrapInteger(a, wrap) + delta * t, wrap) * field.scale;
  }
  return (a + (b - a) * t) * field.scale;
}

// src/prediction.ts
var MAX_PENDING = 1024;
var Predictor = class {
  constructor(model, tickRate) {
    this.model = model;
    this.dt = 1 / tickRate;
    this.tickMs = 1e3 / tickRate;
  }
  model;
  pending = [];
  current = null;
  previous = null;
  steppedAt = 0;
  dt;
  tickMs;
  /** The predicted state after the last input, or null while not predicting. */
  get state() {
    return this.current;
  }
  /** Number of inputs sent and not yet acknowledged. */
  get unacknowledged() {
    return this.pending.length;
  }
  /** Forgets everything (a new connection). */
  reset() {
    this.pending.length = 0;
    this.current = null;
    this.previous = null;
  }
  /**
   * Forgets the inputs not yet acknowledged, keeping the state (a resumed session: the
   * inputs sent on the connection that dropped are either covered by the new connection's
   * first ack or were dropped by the server with it; none is to be replayed).
   */
  dropPending() {
    this.pending.length = 0;
  }
  /** Records input `seq` as sent at `now` (ms) and steps the prediction with it. */
  input(seq, input, now) {
    let state = null;
    if (this.current !== null) {
      state = this.model.step(this.current, input, this.dt);
      this.previous = this.current;
      this.current = state;
      this.steppedAt = now;
    }
    this.pending.push({ seq, input, state });
    if (this.pending.length > MAX_PENDING) {
      this.pending.shift();
    }
  }
  /**
   * Takes the server's entity as of the snapshot whose last applied input is `ack` (null:
   * none applied yet) and replays the inputs after it. Returns the prediction error for
   * the acknowledged input (the distance between where it was predicted to leave the
   * player and where the server put it), or null if there is none to measure.
   */
  reconcile(ack, entity) {
    let acked;
    if (ack !== null) {
      while (this.pending.length > 0 && wrappingDiff(this.pending[0].seq, ack) <= 0) {
        acked = this.pending.shift();
      }
      if (acked?.seq !== ack) {
        acked = void 0;
      }
    }
    const server = entity === void 0 ? null : this.model.fromServer(entity);
    if (server === null) {
      this.current = null;
      this.previous = null;
      for (const pending of this.pending) {
        pending.state = null;
      }
      return null;
    }
    const predicted = acked === void 0 ? null : acked.state;
    const error = predicted === null ? null : this.model.distance(predicted, server);
    let state = server;
    for (const pending of this.pending) {
      state = this.model.step(state, pending.input, this.dt);
      pending.state = state;
    }
    if (this.current === null) {
      this.previous = null;
    }
    this.current = state;
    return error;
  }
  /**
   * The state to draw at `now`: blended from the previous prediction to the current one
   * over one tick after the last input, so motion is smooth at any frame rate.
   */
  render(now) {
    if (this.current === null) {
      return null;
    }
    if (this.previous === null) {
      return this.current;
    }
    const t = Math.min(1, Math.max(0, (now - this.steppedAt) / this.tickMs));
    return this.model.blend(this.previous, this.current, t);
  }
};

// src/arena.ts
var f32 = Math.fround;
var ArenaKind = { Transform2: 0, Health: 1, EntityKind: 2, Score: 3 };
var ArenaEntity = { Player: 0, Drone: 1, Projectile: 2 };
function parseGameInfo(value) {
  const fail2 = (what) => {
    throw new Error(`game.json: ${what}`);
  };
  const object = (v, what) => typeof v === "object" && v !== null && !Array.isArray(v) ? v : fail2(`${what} is not an object`);
  const number = (v, what) => typeof v === "number" && Number.isFinite(v) ? v : fail2(`${what} is not a number`);
  const point = (v, what) => Array.isArray(v) && v.length === 2 ? [number(v[0], what), number(v[1], what)] : fail2(`${what} is not a point`);
  const rect = (v, what) => {
    const r = object(v, what);
    return { min: point(r["min"], `${what}.min`), max: point(r["max"], `${what}.max`) };
  };
  const list = (v, what) => Array.isArray(v) ? v : fail2(`${what} is not a list`);
  const root = object(value, "the document");
  const map = object(root["map"], "map");
  const tuning = object(root["tuning"], "tuning");
  return {
    game: typeof root["game"] === "string" ? root["game"] : fail2("game is not a string"),
    map: {
      name: typeof map["name"] === "string" ? map["name"] : fail2("map.name is not a string"),
      bounds: rect(map["bounds"], "map.bounds"),
      walls: list(map["walls"], "map.walls").map((wall, at) => rect(wall, `map.walls[${at}]`)),
      spawns: list(map["spawns"], "map.spawns").map((spawn, at) => point(spawn, `map.spawns[${at}]`))
    },
    tuning: {
      player_speed: number(tuning["player_speed"], "tuning.player_speed"),
      player_radius: number(tuning["player_radius"], "tuning.player_radius"),
      drone_radius: number(tuning["drone_radius"], "tuning.drone_radius"),
      projectile_radius: number(tuning["projectile_radius"], "tuning.projectile_radius")
    }
  };
}
var F32_EPSILON = 11920928955078125e-23;
function toBox(rect) {
  return { minX: f32(rect.min[0]), minY: f32(rect.min[1]), maxX: f32(rect.max[0]), maxY: f32(rect.max[1]) };
}
var ArenaMap = class {
  constructor(info) {
    this.info = info;
    this.bounds = toBox(info.bounds);
    this.walls = info.walls.map(toBox);
  }
  info;
  bounds;
  walls;
  /**
   * Moves a circle out of every wall (in map order) and back inside the bounds, as
   * `Map::resolve_circle`. Returns the corrected centre and whether it touched anything.
   * (The server first tries only the walls near the centre's grid cell; it proves that
   * gives the result of testing every wall, which is what this does.)
   */
  resolveCircle(x, y, radius) {
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
        const exits = [
          [f32(cx - wall.minX), f32(wall.minX - r), cy],
          [f32(wall.maxX - cx), f32(wall.maxX + r), cy],
          [f32(cy - wall.minY), cx, f32(wall.minY - r)],
          [f32(wall.maxY - cy), cx, f32(wall.maxY + r)]
        ];
        let best = exits[0];
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
  isOpen(x, y) {
    const inside = (box) => x >= box.minX && x <= box.maxX && y >= box.minY && y <= box.maxY;
    return inside(this.bounds) && !this.walls.some(inside);
  }
};
var POSITION_STEP = f32(0.01);
var POSITION_LIMIT = 1e6;
var ANGLE_STEPS = 4096;
var TAU32 = f32(2 * Math.PI);
function roundHalfAway(value) {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}
function quantizePosition(value) {
  const scaled = value / POSITION_STEP;
  const rounded = Number.isFinite(scaled) ? roundHalfAway(scaled) : 0;
  return Math.min(POSITION_LIMIT, Math.max(-POSITION_LIMIT, rounded));
}
function dequantizePosition(field) {
  return f32(Math.min(POSITION_LIMIT, Math.max(-POSITION_LIMIT, field)) * POSITION_STEP);
}
function quantizeAngle(radians) {
  const r = f32(radians);
  if (!Number.isFinite(r)) {
    return 0;
  }
  let wrapped = r;
  if (!(r >= 0 && r < TAU32)) {
    const rest = r % TAU32;
    wrapped = rest < 0 ? f32(rest + TAU32) : rest;
  }
  const scaled = f32(f32(wrapped / TAU32) * ANGLE_STEPS);
  return roundHalfAway(scaled) % ANGLE_STEPS;
}
function dequantizeAngle(field) {
  return f32(f32((field >>> 0) % ANGLE_STEPS / ANGLE_STEPS) * TAU32);
}
function stepArenaPlayer(map, tuning, state, input, dt) {
  const step = f32(dt);
  let sx = f32(input["move_x"] ?? 0);
  let sy = f32(input["move_y"] ?? 0);
  const angle = f32(input["aim"] ?? 0);
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
    return { x: state.x, y: state.y, angle };
  }
  const wantedX = f32(state.x + f32(vx * step));
  const wantedY = f32(state.y + f32(vy * step));
  const resolved = map.resolveCircle(wantedX, wantedY, tuning.player_radius);
  return {
    x: dequantizePosition(quantizePosition(resolved.x)),
    y: dequantizePosition(quantizePosition(resolved.y)),
    angle: dequantizeAngle(quantizeAngle(angle))
  };
}
function arenaPredictionModel(map, tuning) {
  return {
    fromServer(entity) {
      const transform = entity.component(ArenaKind.Transform2);
      const health = entity.component(ArenaKind.Health);
      if (transform === void 0 || transform.length !== 3 || health !== void 0 && health[0] === 0) {
        return null;
      }
      return {
        x: dequantizePosition(transform[0]),
        y: dequantizePosition(transform[1]),
        angle: dequantizeAngle(transform[2])
      };
    },
    step: (state, input, dt) => stepArenaPlayer(map, tuning, state, input, dt),
    distance: (a, b) => Math.hypot(a.x - b.x, a.y - b.y),
    blend(a, b, t) {
      let turn = (b.angle - a.angle) % (2 * Math.PI);
      if (turn > Math.PI) turn -= 2 * Math.PI;
      if (turn < -Math.PI) turn += 2 * Math.PI;
      return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, angle: a.angle + turn * t };
    }
  };
}

// src/matchmake.ts
var MatchmakeError = class extends Error {
  constructor(status, reason, retryAfterMs2 = null) {
    super(status === 0 ? `matchmaking failed: ${reason}` : `matchmaking refused (${status}): ${reason}`);
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs2;
  }
  status;
  reason;
  retryAfterMs;
  name = "MatchmakeError";
  /**
   * Whether asking again may get a seat. A 4xx says the request itself is wrong (a
   * malformed body, a token for another room, an unknown kind or room), and it will be
   * the same next time, except 401 (a fresh token may pass), 408 and 429 (asked too
   * slowly or too often) and 409 (a full room frees up). No answer, a 5xx, or a 2xx that
   * was no seat may all pass later.
   */
  get retryable() {
    return this.status < 400 || this.status >= 500 || [401, 408, 409, 429].includes(this.status);
  }
};
var MATCHMAKE_TIMEOUT_MS = 1e4;
function matchmakeUrl(baseUrl) {
  const url = new URL(baseUrl);
  const scheme = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" }[url.protocol];
  if (scheme === void 0) {
    throw new TypeError(`not an http(s) or ws(s) URL: ${baseUrl}`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  return `${scheme}//${url.host}${path}/matchmake${url.search}`;
}
function withQuery(url, key, value) {
  const hash = url.indexOf("#");
  const head = hash < 0 ? url : url.slice(0, hash);
  const tail = hash < 0 ? "" : url.slice(hash);
  const separator = !head.includes("?") ? "?" : head.endsWith("?") || head.endsWith("&") ? "" : "&";
  return `${head}${separator}${encodeURIComponent(key)}=${encodeURIComponent(value)}${tail}`;
}
function seatUrl(seat) {
  return withQuery(seat.wsUrl, "seat", seat.seatToken);
}
function roomUrl(wsUrl, roomId) {
  return withQuery(wsUrl, "room", roomId);
}
async function matchmake(baseUrl, options = {}) {
  const endpoint = matchmakeUrl(baseUrl);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (fetchImpl === void 0) {
    throw new Error("no fetch implementation: pass options.fetch");
  }
  const body = {};
  if (options.kind !== void 0) body["kind"] = options.kind;
  if (options.roomId !== void 0) body["room_id"] = options.roomId;
  const headers = { "content-type": "application/json" };
  const token = typeof options.token === "function" ? await options.token() : options.token;
  if (token !== void 0) {
    if (typeof token !== "string" || token === "") {
      throw new TypeError("the player token is not a non-empty string");
    }
    headers["authorization"] = `Bearer ${token}`;
  }
  const timeoutMs = options.timeoutMs ?? MATCHMAKE_TIMEOUT_MS;
  const abort = typeof AbortController === "function" && timeoutMs > 0 ? new AbortController() : null;
  let timedOut = false;
  const timer = abort === null ? null : setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  let response;
  let text;
  try {
    const init = { method: "POST", headers, body: JSON.stringify(body) };
    if (abort !== null) init.signal = abort.signal;
    response = await fetchImpl(endpoint, init);
    text = await response.text();
  } catch (error) {
    const why = timedOut ? `no answer from ${endpoint} in ${timeoutMs} ms` : `no answer from ${endpoint}: ${describe(error)}`;
    throw new MatchmakeError(0, why);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  if (!response.ok) {
    throw new MatchmakeError(response.status, refusalReason(response.status, text), retryAfterMs(response.headers.get("retry-after")));
  }
  return parseSeat(response.status, text, endpoint);
}
function refusalReason(status, text) {
  try {
    const parsed = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed["error"] === "string") {
      return parsed["error"];
    }
  } catch {
  }
  const trimmed = text.trim();
  return trimmed === "" ? `http ${status}` : trimmed.slice(0, 200);
}
function retryAfterMs(header) {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1e3;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
function parseSeat(status, text, endpoint) {
  const malformed2 = (why) => new MatchmakeError(status, `malformed answer: ${why}`);
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed2("not JSON");
  }
  if (!isRecord(parsed)) throw malformed2("not an object");
  const { room_id: roomId, kind, ws_url: wsUrl, seat_token: seatToken, expires_in_ms: expiresInMs } = parsed;
  if (typeof roomId !== "string" || roomId === "") throw malformed2("no room_id");
  if (typeof kind !== "string") throw malformed2("no kind");
  if (typeof wsUrl !== "string" || wsUrl === "") throw malformed2("no ws_url");
  if (typeof seatToken !== "string" || seatToken === "") throw malformed2("no seat_token");
  if (typeof expiresInMs !== "number" || !Number.isFinite(expiresInMs)) throw malformed2("no expires_in_ms");
  return { roomId, kind, wsUrl: socketUrl(wsUrl, endpoint), seatToken, expiresInMs };
}
function socketUrl(wsUrl, endpoint) {
  if (/^wss?:\/\//i.test(wsUrl)) return wsUrl;
  if (/^https?:\/\//i.test(wsUrl)) return wsUrl.replace(/^http/i, "ws");
  return new URL(wsUrl, endpoint).toString().replace(/^http/, "ws");
}
function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
function describe(error) {
  if (error instanceof Error) {
    const cause = error.cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

// src/transport.ts
var STREAM_MESSAGE = 1;
var STREAM_CLOSE = 2;
var STREAM_HEADER_BYTES = 5;
var MAX_STREAM_FRAME_BYTES = 16 * 1024 * 1024;
var MAX_CLOSE_FRAME_BYTES = 125;
var MAX_SEND_BODY_BYTES = 64 * 1024;
var SEND_PREFIX_BYTES = 4;
var HTTP_OPEN_TIMEOUT_MS = 1e4;
var SEND_FAILURE_GRACE_MS = 1e3;
var strictUtf8 = new TextDecoder("utf-8", { fatal: true });
var StreamFrameReader = class {
  header = new Uint8Array(STREAM_HEADER_BYTES);
  headerFill = 0;
  kind = 0;
  payload = null;
  payloadFill = 0;
  closed = false;
  /** Whether the stream so far ends inside a frame (a cut stream, if it ends here). */
  get midFrame() {
    return !this.closed && (this.headerFill > 0 || this.payload !== null);
  }
  /** Whether the close frame was read. */
  get sawClose() {
    return this.closed;
  }
  /** Reads `chunk`; returns the frames it completes, in order. Throws a {@link DecodeError} on garbage. */
  push(chunk) {
    const frames = [];
    let at = 0;
    while (at < chunk.length && !this.closed) {
      if (this.payload === null) {
        let length;
        if (this.headerFill === 0 && chunk.length - at >= STREAM_HEADER_BYTES) {
          this.kind = chunk[at];
          length = readU32(chunk, at + 1);
          at += STREAM_HEADER_BYTES;
        } else {
          const take2 = Math.min(STREAM_HEADER_BYTES - this.headerFill, chunk.length - at);
          this.header.set(chunk.subarray(at, at + take2), this.headerFill);
          this.headerFill += take2;
          at += take2;
          if (this.headerFill < STREAM_HEADER_BYTES) break;
          this.headerFill = 0;
          this.kind = this.header[0];
          length = readU32(this.header, 1);
        }
        checkHeader(this.kind, length);
        if (chunk.length - at >= length) {
          frames.push(this.frame(chunk.subarray(at, at + length)));
          at += length;
          continue;
        }
        this.payload = new Uint8Array(length);
        this.payloadFill = 0;
      }
      const payload = this.payload;
      const take = Math.min(payload.length - this.payloadFill, chunk.length - at);
      payload.set(chunk.subarray(at, at + take), this.payloadFill);
      this.payloadFill += take;
      at += take;
      if (this.payloadFill === payload.length) {
        this.payload = null;
        frames.push(this.frame(payload));
      }
    }
    return frames;
  }
  frame(payload) {
    if (this.kind === STREAM_MESSAGE) {
      return { kind: "message", payload };
    }
    this.closed = true;
    return decodeClose(payload);
  }
};
function readU32(bytes, at) {
  return (bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3]) >>> 0;
}
function checkHeader(kind, length) {
  if (kind !== STREAM_MESSAGE && kind !== STREAM_CLOSE) {
    throw new DecodeError("malformed", `unknown stream frame kind ${kind}`);
  }
  const limit = kind === STREAM_CLOSE ? MAX_CLOSE_FRAME_BYTES : MAX_STREAM_FRAME_BYTES;
  if (length > limit) {
    throw new DecodeError("overlong", `a stream frame of kind ${kind} claims ${length} bytes (at most ${limit})`);
  }
}
function decodeClose(payload) {
  if (payload.length === 0) {
    return { kind: "close", code: 1005, reason: "" };
  }
  if (payload.length === 1) {
    throw new DecodeError("truncated", "a close frame with one byte of code");
  }
  let reason;
  try {
    reason = strictUtf8.decode(payload.subarray(2));
  } catch {
    throw new DecodeError("malformed", "a close reason that is not UTF-8");
  }
  return { kind: "close", code: payload[0] << 8 | payload[1], reason };
}
function fallbackUrl(wsUrl, endpoint) {
  const url = new URL(wsUrl);
  const scheme = { "ws:": "http:", "wss:": "https:", "http:": "http:", "https:": "https:" }[url.protocol];
  if (scheme === void 0) {
    throw new TypeError(`not a ws(s) or http(s) URL: ${wsUrl}`);
  }
  url.protocol = scheme;
  url.pathname = `${url.pathname.replace(/\/ws\/?$/, "").replace(/\/$/, "")}/http/${endpoint}`;
  if (endpoint !== "connect") url.search = "";
  url.hash = "";
  return url.toString();
}
var HttpSocket = class _HttpSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** Messages are delivered as `ArrayBuffer`s whatever this says (the client sets `arraybuffer`). */
  binaryType = "arraybuffer";
  onopen = null;
  /** `data` is an `ArrayBuffer`. */
  onmessage = null;
  onclose = null;
  onerror = null;
  /** The WebSocket URL it was made with. */
  url;
  /** The session id, once `POST /http/connect` gave one. */
  session = null;
  /** The HTTP status of a refused connect or stream (0: none, or no answer at all). */
  status = 0;
  /** Requests made to `/http/send` (for figures: batching shows as fewer requests than messages). */
  sendRequests = 0;
  state = _HttpSocket.CONNECTING;
  fetch;
  authorization;
  abort = new AbortController();
  queue = [];
  sending = false;
  flushQueued = false;
  sendFailed = false;
  timers = /* @__PURE__ */ new Set();
  constructor(url, protocols, options = {}) {
    const fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (fetch === void 0) {
      throw new TypeError("no fetch implementation for the HTTP transport");
    }
    this.fetch = fetch;
    this.url = url;
    const connectUrl = fallbackUrl(url, "connect");
    const offered = protocols === void 0 ? [] : typeof protocols === "string" ? [protocols] : protocols;
    const token = offered.find((protocol) => protocol.startsWith("token."))?.slice("token.".length);
    this.authorization = token === void 0 ? null : `Bearer ${token}`;
    const timeout = options.openTimeoutMs ?? HTTP_OPEN_TIMEOUT_MS;
    if (timeout > 0 && Number.isFinite(timeout)) {
      this.later(timeout, () => {
        if (this.state === _HttpSocket.CONNECTING) this.fail(`no session within ${timeout} ms`);
      });
    }
    void this.run(connectUrl);
  }
  /** 0 connecting, 1 open, 2 closing, 3 closed, as a WebSocket's. */
  get readyState() {
    return this.state;
  }
  /**
   * Queues one client message (copied) and sends it at once if no request is in flight.
   * Throws before the socket is open, as a WebSocket does; after it closed, drops it.
   */
  send(data) {
    if (this.state === _HttpSocket.CONNECTING) {
      throw new Error("the HTTP transport is not open yet");
    }
    if (this.state !== _HttpSocket.OPEN || this.sendFailed) {
      return;
    }
    if (data.length + SEND_PREFIX_BYTES > MAX_SEND_BODY_BYTES) {
      this.fail(`a message of ${data.length} bytes is too big for one request`, 1009);
      return;
    }
    this.queue.push(data.slice());
    if (!this.sending && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }
  /**
   * Closes the session: the stream is cancelled, which the server takes for the end of
   * the session (as a WebSocket's close), and a close event follows with `code` (1005
   * when none) and `reason`.
   */
  close(code, reason) {
    if (this.state === _HttpSocket.CLOSING || this.state === _HttpSocket.CLOSED) {
      return;
    }
    this.state = _HttpSocket.CLOSING;
    this.stop();
    queueMicrotask(() => {
      this.state = _HttpSocket.CLOSED;
      this.dispatch(this.onclose, { code: code ?? 1005, reason: reason ?? "", wasClean: true });
    });
  }
  async run(connectUrl) {
    try {
      const headers = {};
      if (this.authorization !== null) headers["Authorization"] = this.authorization;
      const connected = await this.fetch(connectUrl, { method: "POST", headers, cache: "no-store", signal: this.abort.signal });
      if (!connected.ok) {
        await this.refused(connected);
        return;
      }
      const session = sessionOf(await connected.text());
      if (session === null) {
        this.fail("the connect answer names no session");
        return;
      }
      this.session = session;
      const stream = await this.fetch(this.endpoint("stream"), { method: "GET", headers, cache: "no-store", signal: this.abort.signal });
      if (!stream.ok || stream.body === null) {
        await this.refused(stream);
        return;
      }
      if (this.state !== _HttpSocket.CONNECTING) {
        return;
      }
      this.state = _HttpSocket.OPEN;
      this.dispatch(this.onopen, {});
      await this.read(stream.body.getReader());
    } catch (error) {
      this.fail(`the HTTP transport failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  async read(reader) {
    const frames = new StreamFrameReader();
    for (; ; ) {
      const { done, value } = await reader.read();
      if (done) break;
      let complete;
      try {
        complete = frames.push(value);
      } catch (error) {
        this.fail(`a malformed stream: ${error.message}`);
        return;
      }
      for (const frame of complete) {
        if (this.state !== _HttpSocket.OPEN) return;
        if (frame.kind === "message") {
          this.dispatch(this.onmessage, { data: ownBuffer(frame.payload) });
        } else {
          this.ended(frame.code, frame.reason);
          return;
        }
      }
    }
    this.fail(frames.midFrame ? "the stream ended inside a frame" : "the stream ended without a close");
  }
  /** A connect or stream answered something other than 2xx: the reason is the body's text. */
  async refused(response) {
    this.status = response.status;
    const text = await response.text().catch(() => "");
    this.fail(`${response.status} ${text.trim()}`.trim());
  }
  endpoint(name) {
    return `${fallbackUrl(this.url, name)}?session=${encodeURIComponent(this.session)}`;
  }
  /** Sends what is queued in one request (up to the body limit), if none is in flight. */
  flush() {
    if (this.sending || this.state !== _HttpSocket.OPEN || this.sendFailed || this.queue.length === 0) {
      return;
    }
    let size = 0;
    let count = 0;
    while (count < this.queue.length && size + SEND_PREFIX_BYTES + this.queue[count].length <= MAX_SEND_BODY_BYTES) {
      size += SEND_PREFIX_BYTES + this.queue[count].length;
      count += 1;
    }
    const body = new Uint8Array(size);
    const view = new DataView(body.buffer);
    let at = 0;
    for (const message of this.queue.splice(0, count)) {
      view.setUint32(at, message.length);
      body.set(message, at + SEND_PREFIX_BYTES);
      at += SEND_PREFIX_BYTES + message.length;
    }
    this.sending = true;
    this.sendRequests += 1;
    this.fetch(this.endpoint("send"), {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body,
      cache: "no-store",
      signal: this.abort.signal
    }).then(
      async (response) => {
        this.sending = false;
        if (response.ok) {
          this.flush();
        } else {
          const text = await response.text().catch(() => "");
          this.sendRefused(`${response.status} ${text.trim()}`.trim());
        }
      },
      (error) => {
        this.sending = false;
        this.sendRefused(error instanceof Error ? error.message : String(error));
      }
    );
  }
  /**
   * A send was refused or failed: nothing more is sent (later messages would arrive out
   * of order). The server closes a session it refuses input from, and its close frame on
   * the stream says why; if none comes soon, the socket fails with 1006.
   */
  sendRefused(why) {
    if (this.state !== _HttpSocket.OPEN) return;
    this.sendFailed = true;
    this.queue.length = 0;
    this.later(SEND_FAILURE_GRACE_MS, () => this.fail(`POST /http/send failed: ${why}`));
  }
  /** The stream's close frame: a clean close with the server's code and reason. */
  ended(code, reason) {
    this.state = _HttpSocket.CLOSED;
    this.stop();
    this.dispatch(this.onclose, { code, reason, wasClean: true });
  }
  /** Fails the connection as a WebSocket does: an error event, then a close with `code` (1006 by default). */
  fail(reason, code = 1006) {
    if (this.state === _HttpSocket.CLOSING || this.state === _HttpSocket.CLOSED) {
      return;
    }
    this.state = _HttpSocket.CLOSED;
    this.stop();
    this.dispatch(this.onerror, {});
    this.dispatch(this.onclose, { code, reason, wasClean: false });
  }
  /** Cancels every request (the server ends the session when its stream goes) and timer. */
  stop() {
    this.queue.length = 0;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
  }
  later(ms, run) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }
  /**
   * Calls a handler the way a WebSocket's event dispatch does: what it throws is reported
   * (rethrown in a microtask: the page's error handlers, Node's uncaught exception) and
   * does not break the transport's own bookkeeping.
   */
  dispatch(handler, event) {
    if (handler === null) return;
    try {
      handler.call(this, event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
};
function sessionOf(text) {
  try {
    const answer = JSON.parse(text);
    const session = answer?.session;
    return typeof session === "string" && session !== "" ? session : null;
  } catch {
    return null;
  }
}
function ownBuffer(bytes) {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}
function httpSocketFactory(options) {
  return class extends HttpSocket {
    constructor(url, protocols) {
      super(url, protocols, options);
    }
  };
}

// src/client.ts
var SpectatorInputError = class extends Error {
  constructor() {
    super("a spectating client sends no inputs (options.spectate is set)");
    this.name = "SpectatorInputError";
  }
};
var PERMANENT_CLOSE_CODES = /* @__PURE__ */ new Set([1002, 1003]);
var DIVERGENCE_CLOSE_CODE = 4e3;
var PROTOCOL_CLOSE_CODE = 4001;
var SILENT_CLOSE_CODE = 4002;
var CONNECT_FAILED_CLOSE_CODE = 4003;
var INVALID_RESUME_REASON = "invalid resume token";
var NEEDS_SEAT_REASON = "joining a room needs a seat";
var ROOM_FAILURES_BEFORE_MATCHMAKE = 2;
var ERROR_CLOSE_GRACE_MS = 250;
var HEALTHY_AFTER_MS = 5e3;
var MAX_SEND_TIMES = 1024;
var WEBSOCKET_OPEN_TIMEOUT_MS = 5e3;
var NO_WELCOME_REASON = "no welcome in time";
var SHORT_LIVED_CUTS_BEFORE_HTTP = 2;
var Window = class {
  constructor(spanMs) {
    this.spanMs = spanMs;
  }
  spanMs;
  times = [];
  values = [];
  add(now, value) {
    this.times.push(now);
    this.values.push(value);
    this.trim(now);
  }
  trim(now) {
    let drop = 0;
    while (drop < this.times.length && this.times[drop] <= now - this.spanMs) {
      drop++;
    }
    if (drop > 0) {
      this.times.splice(0, drop);
      this.values.splice(0, drop);
    }
  }
  sum(now) {
    this.trim(now);
    return this.values.reduce((sum, value) => sum + value, 0);
  }
  mean(now) {
    this.trim(now);
    return this.values.length === 0 ? null : this.sum(now) / this.values.length;
  }
};
function defaultNow() {
  return globalThis.performance?.now() ?? Date.now();
}
var TickcastClient = class _TickcastClient extends Emitter {
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = options;
    this.now = options.now ?? defaultNow;
    if (options.spectate !== void 0) {
      checkSpectate(options.spectate);
    }
    const match = options.matchmake;
    this.match = match === void 0 || match === false ? null : match === true ? {} : match;
    if (this.match !== null) {
      matchmakeUrl(url);
      if (this.match.seat !== void 0) {
        this.pendingSeat = this.match.seat;
        this.matchedRoom = roomOf(this.match.seat);
      }
    }
  }
  url;
  options;
  /** The client's copy of what the server sent. */
  mirror = new Mirror();
  socket = null;
  currentWelcome = null;
  /** The tick rate of the last Welcome (the predictor's). */
  currentTickRate = 0;
  schemaDecoder = null;
  interpolatorInstance = null;
  predictorInstance = null;
  seq = 0;
  sendTimes = [];
  closedByUser = false;
  attempts = 0;
  reconnectTimer = null;
  welcomeTimer = null;
  deadTimer = null;
  errorTimer = null;
  welcomedAt = 0;
  lastReceivedAt = 0;
  connections = 0;
  /** Bumped by every connection attempt and by close(): a token or seat that arrives late for an old attempt is ignored. */
  attempt = 0;
  /** Waiting for a token function or for the matchmaker before the socket can open. */
  preparing = false;
  /** What to ask the matchmaker for (`options.matchmake`); null: a plain client of `url`. */
  match;
  /** A seat the next connection takes (single-use: cleared as it is offered). */
  pendingSeat = null;
  /** The room of the last seat: where reconnections resume. */
  matchedRoom = null;
  /** `?room=` connections in a row that ended before a Welcome. */
  roomFailures = 0;
  /** How the current (or last) socket joined: the plain `url`, a seat, or back to its room. */
  joinedBy = "url";
  /** The URL of the current (or last) socket. */
  socketUrl = null;
  /** The resume token of the last Welcome (null: none, or the session is over). */
  resumeToken = null;
  /** The player of the last Welcome. */
  lastPlayer = null;
  /** Whether this connection's Hello carried a resume token. */
  offeredResume = false;
  resumedSession = false;
  resumes = 0;
  /** The transport of the current (or last) socket. */
  socketTransport = "websocket";
  /** How the current (or last) socket was opened: for the HTTP fallback to open the same. */
  lastOpen = null;
  /** Whether the current socket has opened. */
  socketOpened = false;
  openTimer = null;
  /** Auto: the WebSocket was cut before its Welcome, so the next connection goes over HTTP. */
  httpNext = false;
  /** Auto: this HTTP connection stands in for a WebSocket that failed. */
  fallingBack = false;
  /** Auto: when HTTP worked where the WebSocket did not; connections use it for a while. */
  preferHttpSince = null;
  /**
   * Auto: WebSockets in a row cut within `shortLivedWebSocketMs` of their Welcome. Only a
   * WebSocket that lived longer resets it (HTTP connections in between do not).
   */
  shortLivedCuts = 0;
  /** Auto: why connections last went over HTTP (`stats().fallbackReason`). */
  fallbackReason = null;
  now;
  down = new Window(1e3);
  up = new Window(1e3);
  rtt = new Window(1e3);
  predictionErrors = new Window(1e3);
  snapshots = 0;
  mismatches = 0;
  divergences = 0;
  /** Makes a client and connects it. */
  static connect(url, options = {}) {
    const client = new _TickcastClient(url, options);
    client.connect();
    return client;
  }
  /**
   * Matchmakes at the node whose HTTP base is `baseUrl` (`kind` or `roomId` as asked,
   * the default game otherwise) and connects with the seat. Resolves with the client as
   * soon as it holds the seat and its socket is opening (listen for `welcome`, as after
   * {@link TickcastClient.connect}); rejects with the {@link MatchmakeError} when this
   * first matchmaking is refused (an unknown kind, a full room, a draining node), so the
   * page can say so. Afterwards it is a client with the `matchmake` option: a drop
   * resumes in the same room, and a refused resume matchmakes again.
   */
  static async matchmake(baseUrl, options = {}) {
    const { kind, roomId, fetch, ...rest } = options;
    const request = {};
    if (kind !== void 0) request.kind = kind;
    if (roomId !== void 0) request.roomId = roomId;
    if (fetch !== void 0) request.fetch = fetch;
    const client = new _TickcastClient(baseUrl, { ...rest, matchmake: request });
    client.pendingSeat = await matchmake(baseUrl, { ...request, token: rest.token, timeoutMs: client.matchmakeTimeoutMs() });
    client.connect();
    return client;
  }
  /** The Welcome of the current connection, or null before it. */
  get welcome() {
    return this.currentWelcome;
  }
  /** Decodes quantized fields to world values with the server's schema (null before the Welcome). */
  get schema() {
    return this.schemaDecoder;
  }
  /** The interpolation buffer of the current connection (null before the Welcome). */
  get interpolator() {
    return this.interpolatorInstance;
  }
  /** The local player's predictor (null without a prediction model or before the Welcome). */
  get predictor() {
    return this.predictorInstance;
  }
  /** Whether the client joins as a spectator (`options.spectate`): no player, no inputs. */
  get spectating() {
    return this.options.spectate !== void 0;
  }
  /**
   * The room a matchmaking client was placed in: the last seat's, kept across
   * reconnections (which resume there) until a new seat replaces it. Null before the
   * first seat, and for a plain client of `url` (which joins whatever room the URL names:
   * the node's default room for `/ws`).
   */
  get roomId() {
    return this.matchedRoom?.roomId ?? null;
  }
  /** The room of the last seat with its kind and its node's WebSocket URL (see {@link roomId}). */
  get room() {
    return this.matchedRoom;
  }
  /** Whether the client is welcomed on an open connection. */
  get connected() {
    return this.socket !== null && this.currentWelcome !== null;
  }
  /**
   * Whether the current connection resumed the previous one's session (its Welcome named
   * the same player): the player kept its state and the input `seq` went on.
   */
  get resumed() {
    return this.currentWelcome !== null && this.resumedSession;
  }
  /** The local player's entity as the server last sent it (undefined for a spectator). */
  player() {
    const player = this.currentWelcome?.player ?? null;
    return player === null ? void 0 : this.mirror.get(player);
  }
  /** Every held entity as world values, as of the last snapshot. */
  worldEntities() {
    const decoder2 = this.schemaDecoder;
    if (decoder2 === null) {
      return [];
    }
    return [...this.mirror.entities.values()].map((entity) => decoder2.decode(entity));
  }
  /**
   * Opens the connection (done by {@link TickcastClient.connect}); a no-op if open or
   * opening. With a token function, the socket opens once it has returned a token.
   */
  connect() {
    if (this.socket !== null || this.preparing) {
      return;
    }
    this.closedByUser = false;
    this.clearReconnect();
    this.open(true);
  }
  /**
   * Gets the token, if any, and opens a socket: to `url` for a plain client; for a
   * matchmaking one, with a seat it holds, back to its room when there is a session to
   * resume, or else with a seat it asks the matchmaker for. `direct`: called by
   * `connect()`, which throws what the WebSocket constructor throws; otherwise a failure
   * is a close event and the client tries again later.
   */
  open(direct) {
    const transport = this.pickTransport();
    const attempt = ++this.attempt;
    const seat = this.pendingSeat;
    if (seat !== null) {
      this.pendingSeat = null;
      this.openSeat(transport, seat, direct);
      return;
    }
    this.withToken(attempt, direct, (token, direct2) => {
      const room = this.matchedRoom;
      if (this.match === null) {
        this.openSocket(transport, this.url, token, "url", direct2);
      } else if (room !== null && this.resumeToken !== null) {
        this.openSocket(transport, roomUrl(room.wsUrl, room.roomId), token, "room", direct2);
      } else {
        this.matchmakeAndOpen(transport, attempt, token, direct2);
      }
    });
  }
  /**
   * The transport of the next connection (see {@link ClientOptions.transport}). Auto: a
   * WebSocket, unless there is none here, the last one was cut before its Welcome (or
   * was the second short-lived one in a row), or HTTP worked where a WebSocket did not
   * less than `probeWebSocketAfterMs` ago.
   */
  pickTransport() {
    const mode = this.options.transport ?? "auto";
    if (mode === "http") {
      return "http";
    }
    if (mode === "websocket") {
      this.factory("websocket");
      return "websocket";
    }
    this.fallingBack = false;
    const global = globalThis;
    if (this.options.WebSocket === void 0 && global.WebSocket === void 0) {
      if (this.options.HttpSocket === void 0 && global.fetch === void 0) {
        throw new Error("no WebSocket implementation: pass options.WebSocket");
      }
      this.fallbackReason = "websocket-unavailable";
      return "http";
    }
    if (this.httpNext) {
      this.httpNext = false;
      this.fallingBack = true;
      return "http";
    }
    const since = this.preferHttpSince;
    if (since !== null && this.now() - since < (this.options.probeWebSocketAfterMs ?? 6e4)) {
      return "http";
    }
    return "websocket";
  }
  factory(transport) {
    if (transport === "http") {
      return this.options.HttpSocket ?? HttpSocket;
    }
    const Factory = this.options.WebSocket ?? globalThis.WebSocket;
    if (Factory === void 0) {
      throw new Error("no WebSocket implementation: pass options.WebSocket");
    }
    return Factory;
  }
  get autoTransport() {
    return (this.options.transport ?? "auto") === "auto";
  }
  /**
   * Hands the player token to `then`: `options.token` itself, or what the token function
   * returns (at once, or once its promise settles; `then` is then not direct). A failing
   * token function is a close event, and a retry later.
   */
  withToken(attempt, direct, then) {
    const source = this.options.token;
    if (typeof source !== "function") {
      then(source ?? null, direct);
      return;
    }
    let token;
    try {
      token = source();
    } catch (error) {
      this.connectFailed(`the token function threw: ${describe2(error)}`);
      return;
    }
    if (typeof token === "string") {
      then(token, direct);
      return;
    }
    this.preparing = true;
    Promise.resolve(token).then(
      (value) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        then(value, false);
      },
      (error) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.connectFailed(`the token function failed: ${describe2(error)}`);
      }
    );
  }
  /** Asks the matchmaker for a seat (with the player token, if any) and opens a socket with it. */
  matchmakeAndOpen(transport, attempt, token, direct) {
    const match = this.match;
    if (token !== null && (typeof token !== "string" || token === "")) {
      const error = new TypeError("the player token is not a non-empty string");
      if (direct) throw error;
      this.connectFailed(error.message);
      return;
    }
    this.preparing = true;
    const request = {
      timeoutMs: this.matchmakeTimeoutMs()
    };
    if (match.kind !== void 0) request.kind = match.kind;
    if (match.roomId !== void 0) request.roomId = match.roomId;
    if (match.fetch !== void 0) request.fetch = match.fetch;
    if (token !== null) request.token = token;
    matchmake(this.url, request).then(
      (seat) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.openSeat(transport, seat, false);
      },
      (error) => {
        if (this.attempt !== attempt) return;
        this.preparing = false;
        this.matchmakeFailed(error);
      }
    );
  }
  /** The matchmaker gets as long to answer as the server gets to send its Welcome. */
  matchmakeTimeoutMs() {
    return this.options.welcomeTimeoutMs ?? 1e4;
  }
  /**
   * Opens a socket with `seat`. It carries no player token: the seat was bound to the
   * token that asked for it. Its room becomes the client's.
   */
  openSeat(transport, seat, direct) {
    this.matchedRoom = roomOf(seat);
    this.roomFailures = 0;
    this.openSocket(transport, seatUrl(seat), null, "seat", direct);
  }
  /**
   * The matchmaker refused, or did not answer. A request it cannot place (a malformed
   * body, an unknown kind or room) fails the same way every time, so the client stops;
   * anything else may pass later (a node that drains or restarts, a seat free again in a
   * full room, a fresh token), so it retries with backoff, no sooner than a
   * `Retry-After`. Anything but a MatchmakeError (no fetch at all, say) is a bug to fix.
   */
  matchmakeFailed(error) {
    const refused = error instanceof MatchmakeError ? error : null;
    const retry = refused !== null && refused.retryable;
    this.closed(CONNECT_FAILED_CLOSE_CODE, describe2(error), retry, {
      error: error instanceof Error ? error : new Error(String(error)),
      notBeforeMs: refused?.retryAfterMs ?? null
    });
  }
  openSocket(transport, url, token, joinedBy, direct) {
    if (token !== null && (typeof token !== "string" || token === "")) {
      const error = new TypeError("the player token is not a non-empty string");
      if (direct) throw error;
      this.connectFailed(`could not open the WebSocket: ${error.message}`);
      return;
    }
    let socket;
    try {
      const Factory = this.factory(transport);
      socket = token === null ? new Factory(url) : new Factory(url, ["tickcast", `token.${token}`]);
    } catch (error) {
      if (transport === "websocket" && this.autoTransport) {
        this.fallingBack = true;
        this.fallbackReason = "websocket-unavailable";
        this.openSocket("http", url, token, joinedBy, direct);
        return;
      }
      if (direct) throw error;
      this.connectFailed(`could not open the ${transport === "http" ? "HTTP transport" : "WebSocket"}: ${describe2(error)}`);
      return;
    }
    this.connections += 1;
    this.socket = socket;
    this.socketUrl = url;
    this.joinedBy = joinedBy;
    this.socketTransport = transport;
    this.lastOpen = { url, token, joinedBy };
    this.socketOpened = false;
    socket.binaryType = "arraybuffer";
    if (transport === "websocket" && this.autoTransport) {
      this.openTimer = setTimeout(() => {
        this.openTimer = null;
        if (this.socket === socket) this.fellBack(socket);
      }, WEBSOCKET_OPEN_TIMEOUT_MS);
    }
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.socketOpened = true;
      this.clearOpenTimer();
      if (transport === "http" && this.fallingBack) {
        this.preferHttpSince = this.now();
      }
      const spectate = this.options.spectate ?? null;
      const resume = spectate === null && joinedBy !== "seat" ? this.resumeToken : null;
      this.offeredResume = resume !== null;
      this.sendBytes(encodeHello(this.options.name ?? "", resume, spectate));
      this.welcomeTimer = setTimeout(() => {
        this.drop(PROTOCOL_CLOSE_CODE, NO_WELCOME_REASON, true);
      }, this.options.welcomeTimeoutMs ?? 1e4);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.fellBack(socket)) return;
      this.ended(event.code, event.reason);
      this.closed(event.code, event.reason, !PERMANENT_CLOSE_CODES.has(event.code));
    };
    socket.onerror = () => {
      if (this.socket !== socket || this.errorTimer !== null) return;
      this.errorTimer = setTimeout(() => {
        this.errorTimer = null;
        if (this.socket !== socket || this.fellBack(socket)) return;
        this.ended(1006, "connection failed");
        try {
          socket.close();
        } catch {
        }
        this.closed(1006, "connection failed", true);
      }, ERROR_CLOSE_GRACE_MS);
    };
  }
  /**
   * Auto transport: a WebSocket that failed (or timed out) before it opened is replaced
   * by the HTTP transport at once, with the same URL (seat, room) and token: the same
   * connection attempt, so no close event and no backoff. Returns whether it did.
   */
  fellBack(socket) {
    const last = this.lastOpen;
    if (this.socketTransport !== "websocket" || this.socketOpened || !this.autoTransport || last === null) {
      return false;
    }
    this.detach();
    try {
      socket.close();
    } catch {
    }
    this.connections -= 1;
    this.fallingBack = true;
    this.fallbackReason = "websocket-failed";
    this.openSocket("http", last.url, last.token, last.joinedBy, false);
    return true;
  }
  clearOpenTimer() {
    if (this.openTimer !== null) {
      clearTimeout(this.openTimer);
      this.openTimer = null;
    }
  }
  /**
   * The socket ended (the server closed it, it failed, or the client dropped it):
   * detaches it, and forgets a session that the next connection cannot resume.
   */
  ended(code, reason) {
    const offeredResume = this.offeredResume;
    const welcomed = this.currentWelcome !== null;
    if (this.autoTransport && this.socketTransport === "websocket" && this.socketOpened && !welcomed && !this.closedByUser && (code === 1006 || reason === NO_WELCOME_REASON)) {
      this.httpNext = true;
      this.fallbackReason = "cut-before-welcome";
    }
    if (this.autoTransport && this.socketTransport === "websocket" && welcomed && !this.closedByUser) {
      this.webSocketLived(code);
    }
    this.detach();
    if (offeredResume && code === 1008 && reason === INVALID_RESUME_REASON) {
      this.forgetSession();
    } else if (this.joinedBy === "room" && !welcomed) {
      this.roomFailures += 1;
      if (code === 1008 && reason.startsWith(NEEDS_SEAT_REASON)) {
        this.forgetSession();
      } else if (this.roomFailures >= ROOM_FAILURES_BEFORE_MATCHMAKE) {
        this.forgetSession();
      }
    }
  }
  /**
   * Auto: a welcomed WebSocket ended with `code` (see
   * {@link ClientOptions.shortLivedWebSocketMs}). Counts it when it was cut (no close frame
   * from the server: 1006, or gone silent) within `shortLivedWebSocketMs` of its Welcome,
   * and sends the next connection over HTTP at the second in a row; starts the count over
   * when it lived longer. A close the server sent, or a divergence, says nothing about
   * the path: the count stays as it is.
   */
  webSocketLived(code) {
    const limit = this.options.shortLivedWebSocketMs ?? 3e4;
    if (!(limit > 0)) {
      return;
    }
    if (this.now() - this.welcomedAt >= limit) {
      this.shortLivedCuts = 0;
      return;
    }
    if (code !== 1006 && code !== SILENT_CLOSE_CODE) {
      return;
    }
    this.shortLivedCuts += 1;
    if (this.shortLivedCuts >= SHORT_LIVED_CUTS_BEFORE_HTTP) {
      this.httpNext = true;
      this.fallbackReason = "short-lived";
    }
  }
  /** No socket could be opened: reported as a close, and tried again later. */
  connectFailed(reason) {
    this.closed(CONNECT_FAILED_CLOSE_CODE, reason, true);
  }
  forgetSession() {
    this.resumeToken = null;
    this.lastPlayer = null;
  }
  /** Closes the connection for good (no reconnection). */
  close(code = 1e3, reason = "client closed") {
    this.closedByUser = true;
    this.clearReconnect();
    this.forgetSession();
    this.pendingSeat = null;
    this.attempt += 1;
    this.preparing = false;
    if (this.socket !== null) {
      this.drop(code, reason, false);
    }
  }
  /**
   * Sends one tick of input (fields by the schema's names, clamped to their ranges),
   * assigning the next `seq`, and steps the prediction with it. Returns the seq, or null
   * if not connected. Throws a {@link SpectatorInputError} on a spectating client (the
   * server would close the connection over an input).
   */
  sendInput(values) {
    if (this.spectating) {
      throw new SpectatorInputError();
    }
    const decoder2 = this.schemaDecoder;
    if (!this.connected || decoder2 === null) {
      return null;
    }
    const seq = this.seq;
    this.seq = seq + 1 >>> 0;
    const fields = decoder2.inputFields(values);
    const now = this.now();
    this.sendBytes(encodeInput(seq, this.viewTick(now), fields));
    this.sendTimes.push({ seq, at: now });
    if (this.sendTimes.length > MAX_SEND_TIMES) {
      this.sendTimes.shift();
    }
    if (this.predictorInstance !== null) {
      this.predictorInstance.input(seq, decoder2.inputValues(fields), now);
    }
    return seq;
  }
  /**
   * The tick of the world this client shows at `now` (ms): its interpolated render tick,
   * whole and wrapped to u32, which an Input carries so that the server can judge the
   * action against what the player saw (lag compensation; the server clamps it to the
   * history it keeps). Null before the first snapshot.
   */
  viewTick(now = this.now()) {
    const at = this.interpolatorInstance?.renderTick(now) ?? null;
    if (at === null || !Number.isFinite(at)) {
      return null;
    }
    return Math.floor(at) >>> 0;
  }
  /**
   * Calls `input` once per server tick (at the Welcome's tick rate) and sends what it
   * returns, while connected. Timers are late at times (a busy page, a background tab):
   * missed ticks are made up, at most five at once, and beyond that the loop starts over
   * from now rather than flooding the server. Returns the function that stops the loop.
   * Throws a {@link SpectatorInputError} on a spectating client.
   */
  startInputLoop(input) {
    if (this.spectating) {
      throw new SpectatorInputError();
    }
    let stopped = false;
    let nextAt = null;
    let timer = null;
    const run = () => {
      if (stopped) return;
      const now = this.now();
      const period = 1e3 / (this.currentWelcome?.tickRate ?? 60);
      if (!this.connected) {
        nextAt = null;
      } else {
        nextAt ??= now;
        if (now - nextAt > 5 * period) {
          nextAt = now;
        }
        while (now >= nextAt) {
          this.sendInput(input());
          nextAt += period;
        }
      }
      const wait = nextAt === null ? period : Math.max(0, nextAt - this.now());
      timer = setTimeout(run, wait);
    };
    run();
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    };
  }
  /** Figures of the connection (rates and means over the last second). */
  stats() {
    const now = this.now();
    const socketUrl2 = this.socketUrl ?? this.matchedRoom?.wsUrl ?? this.url;
    return {
      connected: this.connected,
      roomId: this.roomId,
      transport: this.socketTransport,
      fallbackReason: this.socketTransport === "http" && this.autoTransport ? this.fallbackReason : null,
      secure: /^(wss|https):/i.test(socketUrl2),
      rttMs: this.rtt.mean(now),
      downKbps: this.down.sum(now) * 8 / 1e3,
      upKbps: this.up.sum(now) * 8 / 1e3,
      entities: this.mirror.size,
      snapshots: this.snapshots,
      mismatches: this.mismatches,
      divergences: this.divergences,
      reconnects: Math.max(0, this.connections - 1),
      resumes: this.resumes,
      predictionError: this.predictionErrors.mean(now),
      tick: this.mirror.tick,
      ack: this.mirror.ack
    };
  }
  sendBytes(bytes) {
    this.socket?.send(bytes);
    this.up.add(this.now(), bytes.length);
  }
  receive(data) {
    const receivedAt = this.now();
    let bytes;
    if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      this.drop(PROTOCOL_CLOSE_CODE, "the server sent a text frame", true);
      return;
    }
    this.down.add(receivedAt, bytes.length);
    this.lastReceivedAt = receivedAt;
    try {
      const message = decodeServerMessage(bytes);
      if (message.type === "welcome") {
        this.welcomed(message, receivedAt);
      } else {
        this.snapshot(message, receivedAt, bytes.length);
      }
    } catch (error) {
      if (error instanceof DecodeError && error.kind === "version") {
        this.drop(PROTOCOL_CLOSE_CODE, error.message, false);
        return;
      }
      if (!isDivergence(error)) {
        throw error;
      }
      this.diverged(error);
    }
  }
  welcomed(welcome, now) {
    if (this.currentWelcome !== null) {
      throw new DecodeError("protocol", "a second welcome on one connection");
    }
    if (this.welcomeTimer !== null) {
      clearTimeout(this.welcomeTimer);
      this.welcomeTimer = null;
    }
    if (this.spectating !== (welcome.player === null)) {
      this.drop(
        PROTOCOL_CLOSE_CODE,
        this.spectating ? "the welcome of a spectator names a player" : "the welcome names no player",
        true
      );
      return;
    }
    const resumed = this.offeredResume && this.lastPlayer !== null && welcome.player !== null && sameNetId(this.lastPlayer, welcome.player);
    const previousTickRate = this.currentTickRate;
    this.currentWelcome = welcome;
    this.currentTickRate = welcome.tickRate;
    this.resumedSession = resumed;
    this.resumeToken = welcome.resume.length > 0 ? welcome.resume : null;
    this.lastPlayer = welcome.player;
    if (this.socketTransport === "websocket") {
      this.preferHttpSince = null;
    }
    this.roomFailures = 0;
    this.welcomedAt = now;
    this.lastReceivedAt = now;
    this.schemaDecoder = new SchemaDecoder(welcome.schema);
    this.mirror.reset();
    this.sendTimes = [];
    this.interpolatorInstance = new Interpolator(this.schemaDecoder, {
      delayMs: this.options.interpolationDelayMs ?? 100,
      tickRate: welcome.tickRate
    });
    if (resumed) {
      this.resumes += 1;
      if (this.predictorInstance !== null && previousTickRate === welcome.tickRate) {
        this.predictorInstance.dropPending();
      } else {
        this.predictorInstance = this.makePredictor(welcome);
      }
    } else {
      this.seq = 0;
      this.predictorInstance = welcome.player === null ? null : this.makePredictor(welcome);
    }
    this.armDeadTimer();
    this.emit("welcome", welcome);
  }
  makePredictor(welcome) {
    const prediction = this.options.prediction;
    const model = typeof prediction === "function" ? prediction(welcome) : prediction ?? null;
    return model === null ? null : new Predictor(model, welcome.tickRate);
  }
  /**
   * Closes the connection once nothing has arrived for `deadAfterMs`. The timer checks
   * the time of the last message rather than being restarted by each one, and a late
   * timer (a background tab) only checks later.
   */
  armDeadTimer() {
    const limit = this.options.deadAfterMs ?? 5e3;
    if (!(limit > 0) || !Number.isFinite(limit)) {
      return;
    }
    const socket = this.socket;
    const check = () => {
      this.deadTimer = null;
      if (this.socket !== socket || socket === null) return;
      const silent = this.now() - this.lastReceivedAt;
      if (silent >= limit) {
        this.drop(SILENT_CLOSE_CODE, `nothing from the server in ${Math.round(silent)} ms`, true);
      } else {
        this.deadTimer = setTimeout(check, limit - silent);
      }
    };
    this.deadTimer = setTimeout(check, limit);
  }
  snapshot(frame, receivedAt, bytes) {
    const welcome = this.currentWelcome;
    if (welcome === null) {
      throw new DecodeError("protocol", "a snapshot before the welcome");
    }
    const applied = this.mirror.applyFrame(frame, this.options.verifyChecksums ?? true);
    this.snapshots += 1;
    if (this.attempts > 0 && receivedAt - this.welcomedAt >= HEALTHY_AFTER_MS) {
      this.attempts = 0;
    }
    this.interpolatorInstance?.push(applied.tick, this.mirror.entities, receivedAt);
    if (applied.ackChanged && applied.ack !== null) {
      this.acknowledged(applied.ack, receivedAt);
    }
    if (this.predictorInstance !== null && welcome.player !== null) {
      const error = this.predictorInstance.reconcile(applied.ack, this.mirror.get(welcome.player));
      if (error !== null && applied.ackChanged) {
        this.predictionErrors.add(receivedAt, error);
      }
    }
    this.emit("snapshot", { applied, receivedAt, bytes });
  }
  /** Round trip of the newest input the ack covers; forgets the send times it covers. */
  acknowledged(ack, now) {
    let sentAt = null;
    while (this.sendTimes.length > 0 && wrappingDiff(this.sendTimes[0].seq, ack) <= 0) {
      const sent = this.sendTimes.shift();
      if (sent.seq === ack) {
        sentAt = sent.at;
      }
    }
    if (sentAt !== null) {
      this.rtt.add(now, now - sentAt);
    }
  }
  diverged(error) {
    if (error instanceof ChecksumMismatchError) {
      this.mismatches += 1;
    }
    this.divergences += 1;
    this.emit("divergence", { reason: error.message, error, tick: this.mirror.tick });
    this.drop(DIVERGENCE_CLOSE_CODE, error.message, true);
  }
  /** Closes the socket ourselves and reports the close at once (later socket events are ignored). */
  drop(code, reason, reconnect) {
    const socket = this.socket;
    this.ended(code, reason);
    try {
      socket?.close(code, truncateUtf8(reason, 123));
    } catch {
    }
    this.closed(code, reason, reconnect);
  }
  detach() {
    const socket = this.socket;
    if (socket !== null) {
      socket.onopen = socket.onmessage = socket.onerror = null;
      socket.onclose = null;
    }
    this.socket = null;
    this.currentWelcome = null;
    this.clearOpenTimer();
    if (this.welcomeTimer !== null) {
      clearTimeout(this.welcomeTimer);
      this.welcomeTimer = null;
    }
    if (this.deadTimer !== null) {
      clearTimeout(this.deadTimer);
      this.deadTimer = null;
    }
    if (this.errorTimer !== null) {
      clearTimeout(this.errorTimer);
      this.errorTimer = null;
    }
  }
  /**
   * Reports a close and, if `reconnect` (and the options allow), schedules the next
   * connection. `more.error` rides on the event; `more.notBeforeMs` (a `Retry-After`)
   * lengthens the backoff.
   */
  closed(code, reason, reconnect, more = {}) {
    let reconnectInMs = null;
    if (reconnect && !this.closedByUser && (this.options.reconnect ?? true)) {
      const base = this.options.reconnectDelayMs ?? 250;
      const max = this.options.maxReconnectDelayMs ?? 1e4;
      const delay = Math.min(max, base * 2 ** this.attempts) * (0.75 + Math.random() * 0.25);
      this.attempts = Math.min(this.attempts + 1, 30);
      reconnectInMs = Math.round(Math.max(delay, more.notBeforeMs ?? 0));
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (this.socket === null && !this.preparing) {
          this.open(false);
        }
      }, reconnectInMs);
    }
    this.emit("close", more.error === void 0 ? { code, reason, reconnectInMs } : { code, reason, reconnectInMs, error: more.error });
  }
  clearReconnect() {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }
};
function roomOf(seat) {
  return { roomId: seat.roomId, kind: seat.kind, wsUrl: seat.wsUrl };
}
function sameNetId(a, b) {
  return a.index === b.index && a.generation === b.generation;
}
function describe2(error) {
  return error instanceof Error ? error.message : String(error);
}
function truncateUtf8(text, limit) {
  const encoder2 = new TextEncoder();
  if (encoder2.encode(text).length <= limit) {
    return text;
  }
  let out = "";
  for (const char of text) {
    if (encoder2.encode(out + char).length > limit) break;
    out += char;
  }
  return out;
}

// src/index.ts
function connect(url, options = {}) {
  return TickcastClient.connect(url, options);
}
export {
  ArenaEntity,
  ArenaKind,
  ArenaMap,
  BitReader,
  BitWriter,
  CONNECT_FAILED_CLOSE_CODE,
  ChecksumMismatchError,
  DIVERGENCE_CLOSE_CODE,
  DecodeError,
  Emitter,
  FLAG_ACK_ABSOLUTE,
  FLAG_FULL,
  HTTP_OPEN_TIMEOUT_MS,
  HeldEntity,
  HttpSocket,
  Interpolator,
  MATCHMAKE_TIMEOUT_MS,
  MAX_COMPONENTS,
  MAX_FIELDS,
  MAX_SEND_BODY_BYTES,
  MAX_SPECTATE_COORDINATE,
  MAX_STREAM_FRAME_BYTES,
  MatchmakeError,
  Mirror,
  PROTOCOL_CLOSE_CODE,
  PROTOCOL_VERSION,
  Predictor,
  SILENT_CLOSE_CODE,
  SNAPSHOT_TAG,
  STREAM_CLOSE,
  STREAM_MESSAGE,
  SchemaDecoder,
  SpectatorInputError,
  StreamFrameReader,
  TickcastClient,
  WELCOME_TAG,
  applyBody,
  arenaPredictionModel,
  checkSpectate,
  connect,
  crc32,
  decodeServerMessage,
  dequantizeAngle,
  dequantizePosition,
  encodeHello,
  encodeInput,
  entityHash,
  entityHashOf,
  fallbackUrl,
  httpSocketFactory,
  interpolateField,
  isDivergence,
  matchmake,
  matchmakeUrl,
  parseGameInfo,
  quantizeAngle,
  quantizePosition,
  roomUrl,
  seatUrl,
  stepArenaPlayer,
  toFloat32Within,
  unzigzag,
  wireValue,
  withQuery,
  worldValue,
  wrapInteger,
  wrappingDiff,
  zigzag
};
