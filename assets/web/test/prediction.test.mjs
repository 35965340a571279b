// Prediction with the arena's rule and map, and interpolation between buffered snapshots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArenaMap,
  arenaPredictionModel,
  decodeServerMessage,
  dequantizePosition,
  HeldEntity,
  interpolateField,
  Interpolator,
  parseGameInfo,
  Predictor,
  quantizeAngle,
  quantizePosition,
  SchemaDecoder,
  stepArenaPlayer,
} from '../dist/tickcast.js';
import { encodeWelcome } from '../tools/encoder.mjs';

// assets/maps/arena.toml as GET /game.json describes it.
const GAME = parseGameInfo({
  game: 'arena',
  map: {
    name: 'arena',
    bounds: { min: [0, 0], max: [100, 60] },
    walls: [
      { min: [20, 12], max: [24, 28] },
      { min: [76, 32], max: [80, 48] },
      { min: [42, 27], max: [58, 33] },
      { min: [10, 45], max: [24, 48] },
      { min: [76, 12], max: [90, 15] },
    ],
    spawns: [[8, 8], [92, 8], [8, 52], [92, 52], [50, 10], [50, 50], [32, 30], [68, 30]],
  },
  tuning: { player_speed: 8, player_radius: 0.6, drone_radius: 0.5, projectile_radius: 0.15 },
});
const MAP = new ArenaMap(GAME.map);
const MODEL = arenaPredictionModel(MAP, GAME.tuning);
const DT = 1 / 60;
const input = (move_x, move_y, aim = 0) => ({ move_x, move_y, aim, buttons: 0 });
const at = (x, y) => ({ x: dequantizePosition(quantizePosition(x)), y: dequantizePosition(quantizePosition(y)), angle: 0 });
/** The player's entity as the server would send it. */
const playerEntity = (state, hp = 10) =>
  HeldEntity.of(0, 1, new Map([[0, [quantizePosition(state.x), quantizePosition(state.y), quantizeAngle(state.angle)]], [1, [hp]], [2, [0]], [3, [0, 0]]]));

test('full stick moves 8/60 units a tick, snapped to the 1/100 grid', () => {
  const next = stepArenaPlayer(MAP, GAME.tuning, at(8, 8), input(1, 0), DT);
  // 8 + 0.1333 snaps to 8.13; the server's state is the float 32 of field 813.
  assert.equal(quantizePosition(next.x), 813);
  assert.equal(next.x, Math.fround(813 * Math.fround(0.01)));
  assert.equal(next.y, at(8, 8).y);
  // A diagonal stick is clamped to length 1: 0.0943 a tick on each axis, 0.09 on the grid.
  const diagonal = stepArenaPlayer(MAP, GAME.tuning, at(8, 8), input(1, 1), DT);
  assert.deepEqual([quantizePosition(diagonal.x), quantizePosition(diagonal.y)], [809, 809]);
  // A still stick moves nothing but turns to the aim.
  const still = stepArenaPlayer(MAP, GAME.tuning, at(8, 8), input(0, 0, 1.5), DT);
  assert.deepEqual([still.x, still.y, still.angle], [at(8, 8).x, at(8, 8).y, Math.fround(1.5)]);
});

test('walls and bounds stop the player at its radius', () => {
  let state = at(18, 20);
  for (let n = 0; n < 60; n++) state = stepArenaPlayer(MAP, GAME.tuning, state, input(1, 0), DT);
  // The wall's face is x = 20; the centre stops 0.6 before it.
  assert.equal(quantizePosition(state.x), 1940);
  assert.equal(quantizePosition(state.y), 2000);
  state = at(1, 30);
  for (let n = 0; n < 60; n++) state = stepArenaPlayer(MAP, GAME.tuning, state, input(-1, 0), DT);
  assert.equal(quantizePosition(state.x), 60);
  // Sliding along a wall: pushing into it diagonally keeps moving along it.
  state = at(19.4, 20);
  const slid = stepArenaPlayer(MAP, GAME.tuning, state, input(1, 1), DT);
  assert.equal(quantizePosition(slid.x), 1940);
  assert.ok(quantizePosition(slid.y) > 2000);
});

test('a reconciliation with acked inputs replays to where the server ends up', () => {
  const inputs = Array.from({ length: 40 }, (_, n) => input(Math.cos(n / 6), Math.sin(n / 4), n / 10));
  // The server's side: the same rule from the spawn, one input per tick.
  const server = [at(18, 20)];
  for (const value of inputs) server.push(MODEL.step(server[server.length - 1], value, DT));

  const predictor = new Predictor(MODEL, 60);
  assert.equal(predictor.reconcile(null, playerEntity(server[0])), null);
  inputs.forEach((value, seq) => predictor.input(seq, value, seq));
  const predicted = predictor.state;
  assert.deepEqual(predicted, server[40]);

  // A snapshot acks input 24: the server's state after inputs 0..=24.
  const error = predictor.reconcile(24, playerEntity(server[25]));
  assert.equal(error, 0);
  assert.equal(predictor.unacknowledged, 15);
  assert.deepEqual([predictor.state.x, predictor.state.y], [server[40].x, server[40].y]);

  // The server disagrees (it was shoved 1 unit): the replay starts from its state.
  const shoved = { ...server[30], x: server[30].x + 1 };
  const corrected = predictor.reconcile(29, playerEntity(shoved));
  assert.ok(Math.abs(corrected - 1) < 0.011, String(corrected));
  let replay = MODEL.fromServer(playerEntity(shoved));
  for (const value of inputs.slice(30)) replay = MODEL.step(replay, value, DT);
  assert.deepEqual(predictor.state, replay);
  assert.notDeepEqual(predictor.state, server[40]);
});

test('a dead player is not predicted; the prediction resumes from the server', () => {
  const predictor = new Predictor(MODEL, 60);
  predictor.reconcile(null, playerEntity(at(50, 10), 0));
  assert.equal(predictor.state, null);
  predictor.input(0, input(1, 0), 0);
  assert.equal(predictor.state, null);
  predictor.reconcile(null, playerEntity(at(50, 10)));
  // Input 0 is not acked yet: replayed on the live player.
  assert.equal(quantizePosition(predictor.state.x), 5013);
});

const schema = new SchemaDecoder(decodeServerMessage(encodeWelcome()).schema);
const entity = (index, generation, x, angle, hp = 3) => HeldEntity.of(index, generation, new Map([[0, [x, 0, angle]], [1, [hp]]]));

test('interpolation picks the two snapshots around the render time', () => {
  // 50 Hz ticks (20 ms each, exact in binary floating point). Snapshots every 2 ticks,
  // each arriving exactly on time.
  const interpolator = new Interpolator(schema, { delayMs: 100, tickRate: 50 });
  const ms = (tick) => tick * 20;
  for (let tick = 100; tick <= 120; tick += 2) {
    interpolator.push(tick, new Map([[0, entity(0, 1, tick * 10, 0)]]), ms(tick));
  }
  // At the newest arrival, the render time is 100 ms (5 ticks) back: tick 115.
  const now = ms(120);
  let pair = interpolator.pair(now);
  assert.deepEqual([pair.from.tick, pair.to.tick], [114, 116]);
  assert.equal(pair.t, 0.5);
  // Half a snapshot earlier: exactly on snapshot 114.
  pair = interpolator.pair(now - ms(1));
  assert.deepEqual([pair.from.tick, pair.to.tick, pair.t], [114, 116, 0]);
  // A snapshot 15 ms late (jitter) moves the clock by only 1% of that.
  interpolator.push(122, new Map([[0, entity(0, 1, 1220, 0)]]), ms(122) + 15);
  pair = interpolator.pair(now);
  assert.deepEqual([pair.from.tick, pair.to.tick], [114, 116]);
  assert.ok(Math.abs(pair.t - (0.5 - 0.15 / 40)) < 1e-9, String(pair.t));
  const x = interpolator.entity(0, now).components.Transform2.x;
  assert.ok(Math.abs(x - (1140 + 20 * pair.t) * Math.fround(0.01)) < 1e-9, String(x));
  // Past the newest snapshot, the newest alone (no extrapolation).
  pair = interpolator.pair(now + 1000);
  assert.deepEqual([pair.from.tick, pair.to.tick, pair.t], [122, 122, 1]);
});

test('interpolation wraps angles the short way, steps discrete fields, snaps in new entities', () => {
  const angle = schema.schema.components[0].fields[2];
  // 4090 -> 6 is 12 steps forward through 0, not 4084 back.
  assert.equal(interpolateField(angle, 4090, 6, 0.5), 0);
  assert.ok(Math.abs(interpolateField(angle, 4090, 6, 0.25) - 4093 * angle.scale) < 1e-12);
  assert.ok(Math.abs(interpolateField(angle, 6, 4090, 0.25) - 3 * angle.scale) < 1e-12);

  const interpolator = new Interpolator(schema, { delayMs: 0, tickRate: 60 });
  interpolator.push(10, new Map([[0, entity(0, 1, 0, 4090, 3)], [1, entity(1, 1, 0, 0)], [2, entity(2, 1, 500, 0)]]), 1000);
  interpolator.push(12, new Map([[0, entity(0, 1, 200, 6, 2)], [2, entity(2, 3, 900, 0)], [3, entity(3, 1, 700, 0)]]), 1000 + 2000 / 60);
  const halfway = 1000 + 1000 / 60;
  const seen = new Map(interpolator.sample(halfway).map((e) => [e.id.index, e.components]));
  assert.deepEqual([...seen.keys()].sort(), [0, 2, 3], 'the despawned entity 1 is gone');
  assert.ok(Math.abs(seen.get(0).Transform2.x - 100 * Math.fround(0.01)) < 1e-9);
  assert.equal(seen.get(0).Transform2.angle, 0);
  assert.equal(seen.get(0).Health.hp, 2, 'hp steps to the newer value');
  // Slot 2 holds another generation now: no blending with its predecessor.
  assert.ok(Math.abs(seen.get(2).Transform2.x - 900 * Math.fround(0.01)) < 1e-9);
  // Entity 3 appeared: drawn where it is.
  assert.ok(Math.abs(seen.get(3).Transform2.x - 700 * Math.fround(0.01)) < 1e-9);
});
