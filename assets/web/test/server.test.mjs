// The SDK from Node against the real release server (no browser): what only a real server
// proves.
//
// - Session resume after a network drop. The SDK talks to the server through a TCP relay
//   in this process (node:net), so the test can break the connection the way a network
//   does, without a close handshake: reset (both TCP connections torn down with RST) and
//   silent (the SDK's side of the relay stops forwarding and stays open, so only the
//   SDK's dead-server detection notices; the server's side is reset). Either way the SDK
//   must reconnect by itself, get its player back (`resumes`), see its ack continue and
//   keep verifying every checksum.
// - A resume token the server does not know (the server restarted behind the relay) is
//   refused with 1008 and the SDK starts a fresh session without it.
// - Player tokens: with --auth-secret, no token means no Welcome (the upgrade is refused
//   with 401, which a WebSocket sees as close 1006); a token minted by
//   docs/examples/mint_token.py gets in (offered as the subprotocol token.<jwt>), plays,
//   and resumes after a drop with a fresh token from a token function.
// - Spectators: one watching the whole world (the room's interest radius does not apply)
//   and one watching a point: no player in their Welcome, no resume token, snapshots
//   whose checksums verify, every drone (or only those near the point), and not a byte
//   sent after the Hello; a dropped spectator reconnects as a spectator. A raw Input from
//   a spectator is closed with 1008.
// - Matchmaking (rooms, issue 14): POST /matchmake gives a seat in a room other than the
//   default one, the SDK's socket takes it (no token needed) and verifies its snapshots;
//   the seat is single-use (403), a forged one is 401, `?room=` without a resume token is
//   closed with 1008, an unknown room is 404, unknown kinds and rooms are MatchmakeErrors
//   with the server's reason, a full room is 409. A drop resumes in the room through
//   `?room=` (a relay the server advertises with --public-url, so that the test can break
//   the connection), with a player token too; a resume the room refuses (no grace) and a
//   room that is gone (a restarted server) both end in a fresh seat.
// - The cubes game (3D): its Welcome schema alone decodes its positions and smallest-three
//   rotations, and step inputs steer its pusher into the pile.
//
// Needs the release server (`cargo build --release -p tickcast-server`; TICKCAST_SERVER
// overrides the path) and python3 for the token; fails, not skips, without them. Node 20
// needs --experimental-websocket for the global WebSocket (npm test passes it).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import {
  connect,
  CONNECT_FAILED_CLOSE_CODE,
  encodeHello,
  encodeInput,
  matchmake,
  MatchmakeError,
  roomUrl,
  seatUrl,
  SILENT_CLOSE_CODE,
  SpectatorInputError,
  TickcastClient,
} from '../dist/tickcast.js';
import { freePort, mintToken, NPCS, SECRET, serverBinary, sleep, startServer, until } from '../tools/real-server.mjs';

/** Fails with what is missing, rather than skipping. */
function requirements() {
  assert.ok(
    existsSync(serverBinary),
    `the release server is missing: ${serverBinary}\n` +
      'build it with `cargo build --release -p tickcast-server` at the repository root, or set TICKCAST_SERVER to one',
  );
  assert.equal(
    typeof globalThis.WebSocket,
    'function',
    'no global WebSocket: run Node 20 with --experimental-websocket (npm test does)',
  );
}

/**
 * A TCP relay: each connection to it is forwarded to `127.0.0.1:upstream` (changeable).
 * `reset()` tears down the live connections with RST on both sides. `silence()` makes them
 * black holes towards the client: nothing reaches it any more and its socket stays open
 * (the network went silent), while the server's side is reset, so that the server lets
 * the player go at once. (A silence on both sides leaves the server waiting for a pong
 * for seconds, and a client that notices sooner cannot resume until it has.)
 */
async function startRelay(upstream) {
  const pairs = new Set();
  let accepted = 0;
  const server = net.createServer((down) => {
    accepted += 1;
    const up = net.connect(relay.upstream, '127.0.0.1');
    const pair = { down, up, frozen: false };
    pairs.add(pair);
    down.setNoDelay(true);
    up.setNoDelay(true);
    down.on('data', (data) => pair.frozen || up.write(data));
    up.on('data', (data) => pair.frozen || down.write(data));
    const end = () => {
      if (pair.frozen) return;
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    for (const socket of [down, up]) {
      socket.on('error', () => {});
      socket.on('close', end);
    }
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const relay = {
    upstream,
    port: server.address().port,
    get accepted() {
      return accepted;
    },
    reset() {
      for (const pair of pairs) {
        pairs.delete(pair);
        pair.down.resetAndDestroy();
        pair.up.resetAndDestroy();
      }
    },
    silence() {
      for (const pair of pairs) {
        pair.frozen = true;
        pair.up.resetAndDestroy();
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.down.destroy();
        pair.up.destroy();
      }
      pairs.clear();
      await new Promise((done) => server.close(done));
    },
  };
  relay.url = `ws://127.0.0.1:${relay.port}/ws`;
  return relay;
}

/** Records a client's events: Welcomes, closes, and the first snapshot after each Welcome. */
function watch(client) {
  const seen = { welcomes: [], closes: [], firstSnapshots: [], verified: 0, snapshotsSinceWelcome: 0 };
  client.on('welcome', (welcome) => {
    seen.welcomes.push({ welcome, resumed: client.resumed, at: Date.now() });
    seen.snapshotsSinceWelcome = 0;
  });
  client.on('snapshot', ({ applied }) => {
    if (seen.snapshotsSinceWelcome === 0) {
      seen.firstSnapshots.push({ full: applied.full, ack: applied.ack, tick: applied.tick, position: position(client) });
    }
    seen.snapshotsSinceWelcome += 1;
    if (applied.checksumVerified) seen.verified += 1;
  });
  client.on('close', (event) => seen.closes.push(event));
  return seen;
}

/** The local player's position, as the server last sent it. */
function position(client) {
  const entity = client.player();
  return entity === undefined ? undefined : client.schema.decode(entity).components.Transform2;
}

/** Moves in a slow circle, firing now and then: inputs that change every tick. */
function playInputs(client) {
  let n = 0;
  return client.startInputLoop(() => {
    n += 1;
    const angle = n / 60;
    return { move_x: Math.cos(angle), move_y: Math.sin(angle), aim: angle % Math.PI, buttons: n % 30 === 0 ? 1 : 0 };
  });
}

/**
 * Breaks the connection with `breakIt`, then checks the SDK's reconnection resumed the
 * session: the same player, one more resume, an ack that continues, inputs that go on
 * being applied and checksums that keep verifying.
 */
async function dropAndResume(client, seen, breakIt, { expectedCloseCode, resumeWithinMs }) {
  const before = client.stats();
  const player = client.welcome.player;
  const welcomes = seen.welcomes.length;
  const closes = seen.closes.length;
  const lastAck = client.mirror.ack;
  const lastSeq = client.sendInput({ move_x: 0, move_y: 0, aim: 0, buttons: 0 });
  assert.ok(lastAck !== null && lastSeq !== null, 'inputs were sent and acknowledged before the drop');
  const where = position(client);

  const brokeAt = Date.now();
  breakIt();
  await until('the SDK to notice the drop', () => seen.closes.length > closes, resumeWithinMs);
  const close = seen.closes[closes];
  assert.equal(close.code, expectedCloseCode, `the close the SDK saw: ${JSON.stringify(close)}`);
  assert.ok(close.reconnectInMs !== null, 'it reconnects by itself');
  await until('the SDK to be welcomed again', () => seen.welcomes.length > welcomes && client.connected, resumeWithinMs);
  await until('the first snapshot after the Welcome', () => seen.snapshotsSinceWelcome > 0, 5_000);
  const back = seen.welcomes[welcomes];
  const first = seen.firstSnapshots.at(-1);

  assert.deepEqual(back.welcome.player, player, 'the new Welcome names the same player');
  assert.equal(back.resumed, true, 'client.resumed');
  assert.equal(client.stats().resumes, before.resumes + 1, 'stats().resumes counts it');
  assert.equal(client.stats().reconnects, before.reconnects + 1, 'one reconnection');
  assert.ok(back.welcome.resume.length > 0, 'a new resume token');
  assert.equal(first.full, true, 'the first snapshot after the resume is full');
  assert.ok(first.ack !== null && first.ack >= lastAck, `the ack continues: ${first.ack} after ${lastAck} before the drop`);
  // While away the player stands still: it may have moved only by the inputs the server
  // applied between the last snapshot the client saw and the drop (a few ticks at 8 u/s),
  // not walked on at full speed for the second or more it was away.
  const moved = Math.hypot(first.position.x - where.x, first.position.y - where.y);
  assert.ok(moved < 1.5, `the away player stood still (moved ${moved.toFixed(2)} units)`);

  // The seq goes on, and the server applies what follows.
  await until('a new input to be acknowledged', () => client.mirror.ack > lastSeq, 5_000);
  const nextSeq = client.sendInput({ move_x: 0, move_y: 0, aim: 0, buttons: 0 });
  assert.ok(nextSeq > lastSeq, `the seq went on (${nextSeq} after ${lastSeq})`);
  // The first snapshot after the Welcome is of the Welcome's tick or later, so its ack
  // may already name inputs sent after the resume, but only inputs that were sent.
  assert.ok(first.ack < nextSeq, `the first ack names an input that was sent (${first.ack} < ${nextSeq})`);

  // Two more seconds of play: every checksum verifies.
  const verified = seen.verified;
  const snapshots = client.stats().snapshots;
  await sleep(2000);
  const end = client.stats();
  assert.equal(end.connected, true);
  assert.equal(end.mismatches, 0, 'no checksum mismatch');
  assert.equal(end.divergences, 0, 'no divergence');
  assert.equal(end.resumes, before.resumes + 1, 'no further reconnection');
  assert.ok(end.snapshots - snapshots >= 50, `snapshots kept coming (${end.snapshots - snapshots} in 2 s)`);
  assert.ok(seen.verified - verified >= 50, `and their checksums verified (${seen.verified - verified})`);
  assert.ok(client.mirror.size >= NPCS + 1, `the world is there (${client.mirror.size} entities)`);
  return { close, moved, lastAck, firstAck: first.ack, downMs: back.at - brokeAt };
}

test('a dropped connection resumes the session by itself: same player, ack continues, checksums verify', { timeout: 60_000 }, async () => {
  requirements();
  const server = await startServer();
  const relay = await startRelay(server.port);
  // The WebSocket only: two drops within seconds of their Welcomes would send an auto
  // client to HTTP (shortLivedWebSocketMs; server-fallback.test.mjs), and this is about
  // resuming over a WebSocket.
  const client = connect(relay.url, { name: 'resumer', reconnectDelayMs: 100, deadAfterMs: 1500, transport: 'websocket' });
  const seen = watch(client);
  let stopInputs = () => {};
  try {
    await until('the Welcome', () => client.connected);
    assert.equal(client.resumed, false);
    assert.equal(client.welcome.resume.length, 44, 'the Welcome carries a resume token');
    stopInputs = playInputs(client);
    await sleep(1000);
    assert.ok(client.mirror.ack !== null && client.mirror.ack > 30, `a second of inputs acknowledged (ack ${client.mirror.ack})`);

    // A reset: both TCP connections torn down with RST, no close frame.
    const reset = await dropAndResume(client, seen, () => relay.reset(), { expectedCloseCode: 1006, resumeWithinMs: 8_000 });
    console.log(
      `reset: close ${reset.close.code}, welcomed again ${reset.downMs} ms after the drop, ack ${reset.lastAck} -> ${reset.firstAck}, ` +
        `moved ${reset.moved.toFixed(2)} units while away`,
    );

    // A silent network: nothing arrives, nothing closes. The SDK gives up on the socket
    // after deadAfterMs and reconnects.
    const silent = await dropAndResume(client, seen, () => relay.silence(), {
      expectedCloseCode: SILENT_CLOSE_CODE,
      resumeWithinMs: 8_000,
    });
    assert.match(silent.close.reason, /nothing from the server in \d+ ms/);
    console.log(
      `silent: close ${silent.close.code} (${silent.close.reason}), welcomed again ${silent.downMs} ms after the drop, ` +
        `ack ${silent.lastAck} -> ${silent.firstAck}, moved ${silent.moved.toFixed(2)} units while away`,
    );
    assert.equal(client.stats().resumes, 2);
    assert.equal(relay.accepted, 3, 'one connection per reconnection');
    const health = await (await fetch(`${server.base}/healthz`)).json();
    assert.equal(health.clients, 1, 'the server holds one player for the client, not one per connection');
  } finally {
    stopInputs();
    client.close();
    await relay.close();
    await server.stop();
  }
});

test('a resume token the server does not know is refused (1008) and the SDK joins afresh without it', { timeout: 60_000 }, async () => {
  requirements();
  let server = await startServer();
  const relay = await startRelay(server.port);
  const client = connect(relay.url, { name: 'phoenix', reconnectDelayMs: 100, maxReconnectDelayMs: 400 });
  const seen = watch(client);
  let stopInputs = () => {};
  try {
    await until('the Welcome', () => client.connected);
    stopInputs = playInputs(client);
    await sleep(500);
    // A new server (a new resume key) behind the same address.
    await server.stop();
    server = await startServer();
    relay.upstream = server.port;
    await until('a refusal of the resume token', () =>
      seen.closes.some((close) => close.code === 1008 && close.reason === 'invalid resume token'),
    );
    await until('a fresh Welcome', () => seen.welcomes.length === 2 && client.connected);
    assert.equal(client.resumed, false, 'a fresh session');
    assert.equal(client.stats().resumes, 0);
    const refusals = seen.closes.filter((close) => close.code === 1008);
    assert.equal(refusals.length, 1, 'refused once; the next Hello had no token');
    await until('inputs of the new session acknowledged', () => client.mirror.ack !== null && client.mirror.ack > 10);
    assert.ok(client.mirror.ack < 1000, `the seq started over (ack ${client.mirror.ack})`);
    await sleep(1000);
    assert.equal(client.stats().mismatches, 0);
  } finally {
    stopInputs();
    client.close();
    await relay.close();
    await server.stop();
  }
});

test('with --auth-secret, no token gets no Welcome; a minted token plays and resumes', { timeout: 60_000 }, async () => {
  requirements();
  const server = await startServer({ args: ['--auth-secret', SECRET] });
  let stopInputs = () => {};
  const clients = [];
  try {
    // No token: the upgrade is refused (401), which a WebSocket sees as 1006.
    const refused = connect(server.url, { name: 'nobody', reconnect: false });
    clients.push(refused);
    const refusedSeen = watch(refused);
    await until('the refusal', () => refusedSeen.closes.length > 0);
    assert.equal(refusedSeen.closes[0].code, 1006);
    assert.equal(refusedSeen.closes[0].reconnectInMs, null);
    assert.equal(refusedSeen.welcomes.length, 0, 'no Welcome without a token');
    // A forged one is refused the same way.
    const forged = connect(server.url, { name: 'mallory', reconnect: false, token: `${mintToken('p').slice(0, -4)}AAAA` });
    clients.push(forged);
    const forgedSeen = watch(forged);
    await until('the refusal of a forged token', () => forgedSeen.closes.length > 0);
    assert.equal(forgedSeen.closes[0].code, 1006);
    assert.equal(forgedSeen.welcomes.length, 0);

    // A token from the script: offered as a subprotocol, and the server selects tickcast.
    const sockets = [];
    class RecordingWebSocket extends WebSocket {
      constructor(...args) {
        super(...args);
        sockets.push({ socket: this, args });
      }
    }
    const token = mintToken('p');
    const player = connect(server.url, { name: 'p', token, WebSocket: RecordingWebSocket });
    clients.push(player);
    const seen = watch(player);
    await until('the Welcome with a token', () => player.connected);
    assert.deepEqual(sockets[0].args[1], ['tickcast', `token.${token}`]);
    assert.equal(sockets[0].socket.protocol, 'tickcast', 'the server selected the tickcast subprotocol');
    stopInputs = playInputs(player);
    await sleep(1000);
    assert.ok(player.mirror.ack > 30, `it plays (ack ${player.mirror.ack})`);
    assert.equal(player.stats().mismatches, 0);
    stopInputs();

    // A token function: called per connection, a fresh token each time; the resume token
    // is bound to the sub, which stays the same, so the session resumes.
    const relay = await startRelay(server.port);
    let minted = 0;
    const resumer = connect(relay.url, {
      name: 'q',
      reconnectDelayMs: 100,
      token: async () => {
        minted += 1;
        return mintToken('q');
      },
    });
    clients.push(resumer);
    try {
      const resumerSeen = watch(resumer);
      await until('the Welcome with a token function', () => resumer.connected);
      stopInputs = playInputs(resumer);
      await sleep(1000);
      await dropAndResume(resumer, resumerSeen, () => relay.reset(), { expectedCloseCode: 1006, resumeWithinMs: 8_000 });
      assert.equal(minted, 2, 'a token per connection');
    } finally {
      stopInputs();
      await relay.close();
    }
    assert.equal(seen.closes.length, 0, 'the first player stayed connected');
  } finally {
    stopInputs();
    for (const client of clients) client.close();
    await server.stop();
  }
});

/** Every entity a client holds, decoded: `{index, kind, x, y}`. */
function held(client) {
  return client.worldEntities().map((entity) => ({
    index: entity.id.index,
    kind: entity.components.EntityKind?.kind,
    x: entity.components.Transform2?.x,
    y: entity.components.Transform2?.y,
  }));
}

/** A WebSocket class that counts what each socket sends. */
function countingWebSocket() {
  const sockets = [];
  class CountingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.sentMessages = [];
      sockets.push(this);
    }

    send(data) {
      this.sentMessages.push(Uint8Array.from(data));
      super.send(data);
    }
  }
  return { CountingWebSocket, sockets };
}

test('spectators watch the whole world or a point: no player, checksums verify, nothing sent, reconnect as spectators', { timeout: 60_000 }, async () => {
  requirements();
  // An interest radius, so that the whole world is more than a player or a point sees.
  const RADIUS = 12;
  const server = await startServer({ interestRadius: RADIUS });
  const relay = await startRelay(server.port);
  const { CountingWebSocket, sockets } = countingWebSocket();
  const player = connect(server.url, { name: 'player' });
  const world = connect(relay.url, { name: 'watcher', spectate: true, reconnectDelayMs: 100, WebSocket: CountingWebSocket });
  const CENTER = { x: 50, y: 30 };
  const point = connect(server.url, { name: 'pointer', spectate: CENTER });
  const seenWorld = watch(world);
  const seenPoint = watch(point);
  let stopInputs = () => {};
  try {
    await until('the three Welcomes', () => player.connected && world.connected && point.connected);
    // The player walks in a circle without firing (no drone dies while it is counted).
    let n = 0;
    stopInputs = player.startInputLoop(() => {
      n += 1;
      return { move_x: Math.cos(n / 60), move_y: Math.sin(n / 60), aim: 0, buttons: 0 };
    });
    for (const spectator of [world, point]) {
      assert.equal(spectator.welcome.player, null, 'a spectator\'s Welcome names no player');
      assert.equal(spectator.welcome.resume.length, 0, 'and carries no resume token');
      assert.equal(spectator.predictor, null);
      assert.equal(spectator.player(), undefined);
      assert.throws(() => spectator.sendInput({ move_x: 1, move_y: 0, aim: 0, buttons: 0 }), SpectatorInputError);
    }
    assert.ok(player.welcome.player !== null);

    await sleep(2000);
    // (A point may see few entities, standing still at times: snapshots with nothing in
    // them carry no checksum.)
    for (const [name, spectator, seen, checksums] of [['world', world, seenWorld, 40], ['point', point, seenPoint, 1]]) {
      const stats = spectator.stats();
      assert.equal(stats.connected, true, name);
      assert.ok(stats.snapshots >= 50, `${name}: snapshots came (${stats.snapshots} in 2 s)`);
      assert.ok(seen.verified >= checksums, `${name}: their checksums verified (${seen.verified})`);
      assert.equal(stats.mismatches, 0, `${name}: no checksum mismatch`);
      assert.equal(stats.divergences, 0, `${name}: no divergence`);
      assert.equal(stats.ack, null, `${name}: no input was ever acknowledged`);
      assert.equal(stats.upKbps, 0, `${name}: nothing sent in the last second`);
      assert.equal(seen.closes.length, 0, `${name}: the server did not close it`);
    }
    // The whole world: every drone and the player, wherever they are.
    const everything = held(world);
    assert.equal(everything.filter((entity) => entity.kind === 1).length, NPCS, `every drone: ${JSON.stringify(everything)}`);
    assert.ok(world.mirror.get(player.welcome.player) !== undefined, 'the player too');
    // A point: only what is within the radius of it (and a little, for what moved since).
    const near = held(point);
    for (const entity of near) {
      const distance = Math.hypot(entity.x - CENTER.x, entity.y - CENTER.y);
      assert.ok(distance <= RADIUS + 1, `entity ${entity.index} is ${distance.toFixed(1)} units from the point`);
    }
    const interpolated = world.interpolator.sample(performance.now());
    assert.equal(interpolated.length, world.mirror.size, 'every entity is interpolated');
    // The spectator sent its Hello and nothing else.
    assert.equal(sockets.length, 1);
    assert.deepEqual(sockets[0].sentMessages, [encodeHello('watcher', null, true)]);
    console.log(
      `spectators: world ${world.mirror.size} entities, point ${near.length} within ${RADIUS} of (${CENTER.x}, ${CENTER.y}), ` +
        `player ${player.mirror.size}; ${seenWorld.verified} and ${seenPoint.verified} checksums verified`,
    );

    // A drop: the spectator reconnects by itself, as a spectator, with no resume token.
    relay.reset();
    await until('the spectator to be welcomed again', () => seenWorld.welcomes.length === 2 && world.connected, 8_000);
    await until('a second of snapshots after it', () => seenWorld.snapshotsSinceWelcome > 30, 5_000);
    assert.equal(seenWorld.closes[0].code, 1006);
    assert.equal(world.welcome.player, null);
    assert.deepEqual(world.stats().reconnects, 1);
    assert.deepEqual(world.stats().resumes, 0);
    assert.equal(world.stats().mismatches, 0);
    assert.equal(sockets.length, 2);
    assert.deepEqual(decode(sockets[1].sentMessages[0]), { h: [5, 'watcher', null, []] }, 'spectates again, no token');
    assert.equal(sockets[1].sentMessages.length, 1);
  } finally {
    stopInputs();
    for (const client of [player, world, point]) client.close();
    await relay.close();
    await server.stop();
  }
});

test('the server closes a spectator that sends an input (1008)', { timeout: 30_000 }, async () => {
  requirements();
  const server = await startServer();
  try {
    const socket = new WebSocket(server.url);
    socket.binaryType = 'arraybuffer';
    const welcome = new Promise((done) => socket.addEventListener('message', (event) => done(decode(new Uint8Array(event.data))), { once: true }));
    const closed = new Promise((done) => socket.addEventListener('close', (event) => done({ code: event.code, reason: event.reason })));
    await new Promise((done) => socket.addEventListener('open', done, { once: true }));
    socket.send(encodeHello('raw', null, true));
    const message = await welcome;
    assert.equal(message[0], 0, 'a Welcome');
    assert.equal(message[3], null, 'with no player');
    socket.send(encodeInput(0, null, [0, 0, 0, 0]));
    assert.deepEqual(await closed, { code: 1008, reason: 'spectators send no inputs' });
  } finally {
    await server.stop();
  }
});

// Matchmaking.

/**
 * A WebSocket upgrade request by hand, for the refusals a WebSocket hides (it sees 1006):
 * resolves with the HTTP status and body (101 and '' if the upgrade went through; the
 * socket is then closed at once).
 */
function upgradeStatus(url) {
  const target = new URL(url.replace(/^ws/, 'http'));
  return new Promise((done, fail) => {
    const request = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    request.on('response', async (response) => {
      let body = '';
      for await (const chunk of response) body += chunk;
      done({ status: response.statusCode, body: body.trim() });
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      done({ status: 101, body: '' });
    });
    request.on('error', fail);
    request.end();
  });
}

/** Writes `text` to a config file in a fresh temporary folder, removed when the tests end. */
function configFile(name, text) {
  const folder = mkdtempSync(join(tmpdir(), 'tickcast-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

/** GET /rooms, as `{room_id: entry}`. */
async function roomsOf(base) {
  const { rooms } = await (await fetch(`${base}/rooms`)).json();
  return Object.fromEntries(rooms.map((room) => [room.room_id, room]));
}

/** A WebSocket class that records the URL and subprotocols of each socket. */
function recordingWebSocket() {
  const sockets = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      sockets.push({ url, protocols });
    }
  }
  return { RecordingWebSocket, sockets };
}

/** Waits for a snapshot whose checksum verified, after the client's latest Welcome. */
async function verifiedSnapshot(client, seen) {
  const verified = seen.verified;
  await until('a verified snapshot', () => client.connected && seen.verified > verified, 5_000);
}

test('matchmaking: a seat in a room, the socket takes it, snapshots verify; seats are single-use, refusals as the contract says', { timeout: 60_000 }, async () => {
  requirements();
  // Rooms of two (the kind's capacity, which a kind's section in the defaults sets too).
  const config = configFile('rooms-of-two.toml', '[rooms]\ncapacity = 2\n\n[rooms.kinds.arena]\ncapacity = 2\n');
  const server = await startServer({ args: ['--config', config] });
  const clients = [];
  let stopInputs = () => {};
  try {
    // Kind omitted: the node's default game, in a room that is not the default one.
    const seat = await matchmake(server.base);
    assert.equal(seat.kind, 'arena');
    assert.notEqual(seat.roomId, 'default', 'matchmaking never places into the default room');
    assert.equal(seat.wsUrl, server.url, 'made from the bound address');
    assert.match(seat.seatToken, /^[A-Za-z0-9_-]+$/, 'url-safe base64, no padding');
    assert.ok(seat.expiresInMs > 0);

    const client = connect(server.base, { name: 'seated', matchmake: { seat } });
    clients.push(client);
    const seen = watch(client);
    await until('the Welcome with the seat', () => client.connected);
    await verifiedSnapshot(client, seen);
    assert.equal(client.roomId, seat.roomId);
    assert.equal(client.stats().roomId, seat.roomId);
    assert.equal(client.stats().transport, 'websocket');
    assert.ok(client.welcome.player !== null && client.player() !== undefined, 'a player of its own in the room');
    stopInputs = playInputs(client);
    await until('inputs acknowledged', () => client.mirror.ack !== null && client.mirror.ack > 10);
    assert.equal(client.stats().mismatches, 0);

    const rooms = await roomsOf(server.base);
    assert.ok(rooms.default, 'the default room is listed');
    assert.equal(rooms[seat.roomId]?.kind, 'arena');
    assert.equal(rooms[seat.roomId]?.clients, 1, `the room holds the client: ${JSON.stringify(rooms)}`);
    assert.equal(rooms.default.clients, 0, 'not the default room');
    assert.equal((await (await fetch(`${server.base}/healthz`)).json()).clients, 0, '/healthz describes the default room');

    // The seat is taken: a second socket with it is refused before the upgrade.
    assert.deepEqual(await upgradeStatus(seatUrl(seat)), { status: 403, body: 'seat already used' });
    const again = connect(server.base, { name: 'again', matchmake: { seat }, reconnect: false });
    clients.push(again);
    const againSeen = watch(again);
    await until('the reused seat to be refused', () => againSeen.closes.length > 0);
    assert.equal(againSeen.closes[0].code, 1006, 'a WebSocket sees the 403 as 1006');
    assert.equal(againSeen.welcomes.length, 0);
    const forged = seat.seatToken.slice(0, -1) + (seat.seatToken.endsWith('A') ? 'B' : 'A');
    assert.equal((await upgradeStatus(seatUrl({ ...seat, seatToken: forged }))).status, 401, 'a forged seat');

    // Back to the room with no session to resume: closed after the Hello.
    const stranger = connect(roomUrl(server.url, seat.roomId), { name: 'stranger', reconnect: false });
    clients.push(stranger);
    const strangerSeen = watch(stranger);
    await until('the stranger to be closed', () => strangerSeen.closes.length > 0);
    assert.deepEqual(
      [strangerSeen.closes[0].code, strangerSeen.closes[0].reason],
      [1008, 'joining a room needs a seat from /matchmake'],
    );
    assert.equal((await upgradeStatus(roomUrl(server.url, 'no-such-room'))).status, 404);

    // Refusals, as MatchmakeErrors with the server's reasons.
    const unknownKind = await matchmake(server.base, { kind: 'chess' }).catch((error) => error);
    assert.ok(unknownKind instanceof MatchmakeError);
    assert.equal(unknownKind.status, 404, unknownKind.message);
    assert.equal(unknownKind.retryable, false);
    const unknownRoom = await matchmake(server.base, { roomId: 'arena-404' }).catch((error) => error);
    assert.equal(unknownRoom.status, 404, unknownRoom.message);
    const malformed = await fetch(`${server.base}/matchmake`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind": 3}' });
    assert.equal(malformed.status, 400);
    assert.equal(typeof (await malformed.json()).error, 'string');
    // A second player in the same room fills it (capacity 2); a third is refused.
    const second = await TickcastClient.matchmake(server.base, { roomId: seat.roomId, name: 'second' });
    clients.push(second);
    assert.equal(second.roomId, seat.roomId);
    await until('the second player', () => second.connected);
    const full = await matchmake(server.base, { roomId: seat.roomId }).catch((error) => error);
    assert.ok(full instanceof MatchmakeError);
    assert.equal(full.status, 409, full.message);
    assert.equal(full.retryable, true);
    // Both players see each other: one room.
    await until('the first player to see the second', () => client.mirror.get(second.welcome.player) !== undefined);
    // Without a room id the matchmaker places elsewhere rather than refusing.
    const elsewhere = await matchmake(server.base);
    assert.notEqual(elsewhere.roomId, seat.roomId, 'a full room is skipped');
    console.log(`matchmaking: room ${seat.roomId}, ${client.mirror.size} entities, ${seen.verified} checksums verified; then ${elsewhere.roomId}`);
  } finally {
    stopInputs();
    for (const client of clients) client.close();
    await server.stop();
  }
});

/**
 * A relay and a server that advertises it (--public-url), so that every matchmade socket
 * goes through the relay and the test can break it; matchmaking itself talks to the server.
 */
async function startAdvertisedServer(extra = []) {
  const port = await freePort();
  const relay = await startRelay(port);
  const server = await startServer({ args: ['--public-url', relay.url, ...extra], port });
  return { server, relay };
}

test('a matchmade client resumes in its room through ?room= after a drop: same player, ack continues, checksums verify', { timeout: 60_000 }, async () => {
  requirements();
  const { server, relay } = await startAdvertisedServer();
  const { RecordingWebSocket, sockets } = recordingWebSocket();
  let client = null;
  let stopInputs = () => {};
  try {
    client = await TickcastClient.matchmake(server.base, {
      name: 'roamer',
      reconnectDelayMs: 100,
      deadAfterMs: 1500,
      WebSocket: RecordingWebSocket,
      // Two drops in seconds would send an auto client to HTTP (shortLivedWebSocketMs).
      transport: 'websocket',
    });
    const room = client.roomId;
    assert.ok(room !== null && room !== 'default');
    const seen = watch(client);
    await until('the Welcome', () => client.connected);
    assert.match(sockets[0].url, new RegExp(`^${relay.url}\\?seat=[A-Za-z0-9_-]+$`), 'the seat, through the advertised URL');
    stopInputs = playInputs(client);
    await sleep(1000);

    const reset = await dropAndResume(client, seen, () => relay.reset(), { expectedCloseCode: 1006, resumeWithinMs: 8_000 });
    assert.equal(sockets.length, 2);
    assert.equal(sockets[1].url, roomUrl(relay.url, room), 'back to the room, not a seat');
    assert.equal(sockets[1].protocols, undefined, 'no player token on this server');
    assert.equal(client.roomId, room);
    const silent = await dropAndResume(client, seen, () => relay.silence(), { expectedCloseCode: SILENT_CLOSE_CODE, resumeWithinMs: 8_000 });
    assert.equal(sockets[2].url, roomUrl(relay.url, room));
    assert.equal((await roomsOf(server.base))[room].clients, 1, 'one player in the room, not one per connection');
    console.log(`matchmade resume: room ${room}, welcomed again ${reset.downMs} and ${silent.downMs} ms after the drops`);
  } finally {
    stopInputs();
    client?.close();
    await relay.close();
    await server.stop();
  }
});

test('a matchmade resume the room refuses (no grace left), or a room that is gone (a restart), matchmakes afresh', { timeout: 60_000 }, async () => {
  requirements();
  // The player is removed the moment its connection drops.
  const config = configFile('no-grace.toml', '[limits]\nresume_grace = "0s"\n');
  let { server, relay } = await startAdvertisedServer(['--config', config]);
  const { RecordingWebSocket, sockets } = recordingWebSocket();
  let client = null;
  let stopInputs = () => {};
  try {
    client = await TickcastClient.matchmake(server.base, {
      name: 'phoenix',
      // Long enough for the room to have let the dropped player go.
      reconnectDelayMs: 300,
      maxReconnectDelayMs: 400,
      WebSocket: RecordingWebSocket,
    });
    const seen = watch(client);
    await until('the Welcome', () => client.connected);
    stopInputs = playInputs(client);
    await sleep(500);
    const firstPlayer = client.welcome.player;

    // No grace: the room has let the player go by the time the client comes back.
    relay.reset();
    await until('the refusal of the resume', () =>
      seen.closes.some((close) => close.code === 1008 && close.reason === 'joining a room needs a seat from /matchmake'),
    );
    await until('a fresh Welcome', () => seen.welcomes.length === 2 && client.connected);
    assert.deepEqual(
      sockets.map((socket) => new URL(socket.url).searchParams.keys().next().value),
      ['seat', 'room', 'seat'],
      'seat, back to the room (refused), a new seat',
    );
    assert.equal(client.resumed, false, 'a fresh session');
    assert.notDeepEqual(client.welcome.player, firstPlayer);
    await verifiedSnapshot(client, seen);
    await until('inputs of the new session acknowledged', () => client.mirror.ack !== null && client.mirror.ack > 10);
    assert.ok(client.mirror.ack < 1000, `the seq started over (ack ${client.mirror.ack})`);

    // A restart: the room is gone (404 before the upgrade, a 1006 to the client), and
    // after a second try the client matchmakes on the new server.
    const before = sockets.length;
    const port = server.port;
    await server.stop();
    server = await startServer({ args: ['--public-url', relay.url, '--config', config], port });
    await until('a Welcome from the new server', () => seen.welcomes.length === 3 && client.connected, 15_000);
    const after = sockets.slice(before).map((socket) => new URL(socket.url).searchParams.keys().next().value);
    assert.deepEqual(after.slice(0, 2), ['room', 'room'], `two tries of the room first: ${after}`);
    assert.equal(after.at(-1), 'seat', `then a new seat: ${after}`);
    assert.ok(after.slice(2, -1).every((key) => key === 'seat'), `nothing but seats after giving up on the room: ${after}`);
    assert.equal(client.resumed, false);
    assert.ok((await roomsOf(server.base))[client.roomId], 'the new room is on the new server');
    await verifiedSnapshot(client, seen);
    assert.equal(client.stats().mismatches, 0);
    const failedMatchmaking = seen.closes.filter((close) => close.code === CONNECT_FAILED_CLOSE_CODE);
    assert.ok(failedMatchmaking.every((close) => close.error instanceof MatchmakeError && close.reconnectInMs !== null));
  } finally {
    stopInputs();
    client?.close();
    await relay.close();
    await server.stop();
  }
});

test('with --auth-secret, matchmaking needs the token; the seat needs none; a resume in the room offers it again', { timeout: 60_000 }, async () => {
  requirements();
  const { server, relay } = await startAdvertisedServer(['--auth-secret', SECRET]);
  const { RecordingWebSocket, sockets } = recordingWebSocket();
  let client = null;
  let stopInputs = () => {};
  try {
    const refused = await matchmake(server.base).catch((error) => error);
    assert.ok(refused instanceof MatchmakeError);
    assert.equal(refused.status, 401, refused.message);
    assert.equal(refused.retryable, true, 'a fresh token may pass');

    let minted = 0;
    client = await TickcastClient.matchmake(server.base, {
      name: 'm',
      reconnectDelayMs: 100,
      WebSocket: RecordingWebSocket,
      token: async () => {
        minted += 1;
        return mintToken('m');
      },
    });
    const seen = watch(client);
    await until('the Welcome with the seat', () => client.connected);
    assert.equal(sockets[0].protocols, undefined, 'the seat stands for the token');
    stopInputs = playInputs(client);
    await sleep(1000);
    await dropAndResume(client, seen, () => relay.reset(), { expectedCloseCode: 1006, resumeWithinMs: 8_000 });
    assert.equal(sockets[1].url, roomUrl(relay.url, client.roomId));
    assert.equal(sockets[1].protocols?.[0], 'tickcast');
    assert.match(sockets[1].protocols?.[1] ?? '', /^token\./, 'the token rides as a subprotocol, as on /ws');
    assert.equal(minted, 2, 'a token for the matchmaking, a fresh one for the resume');
  } finally {
    stopInputs();
    client?.close();
    await relay.close();
    await server.stop();
  }
});

/** A quaternion `{x, y, z, w}` from a smallest-three Rotation's world values. */
function quaternionOf(rotation) {
  const others = [rotation.a, rotation.b, rotation.c];
  const dropped = Math.sqrt(Math.max(0, 1 - others.reduce((sum, v) => sum + v * v, 0)));
  const q = [];
  for (let k = 0, next = 0; k < 4; k++) q.push(k === rotation.largest ? dropped : others[next++]);
  return { x: q[0], y: q[1], z: q[2], w: q[3] };
}

test('the cubes game decodes with no code written for it, and its step inputs steer a pusher', { timeout: 60_000 }, async () => {
  requirements();
  // The 3D game: 64 cubes (a grid of 8 x 8), y up, the floor on x/z.
  const server = await startServer({ args: ['--game', 'cubes', '--cube-count', '64'] });
  const client = connect(server.url, { name: 'pusher' });
  let stopInputs = () => {};
  try {
    await until('the Welcome', () => client.connected);
    const schema = client.welcome.schema;
    assert.equal(schema.game, 'cubes');
    assert.deepEqual(schema.components.map((c) => c.name), ['Position', 'Rotation', 'Shape']);
    assert.deepEqual(schema.input.map((f) => [f.name, f.kind, f.min, f.max, f.step]), [
      ['move_x', 'step', -1, 1, 1 / 64],
      ['move_z', 'step', -1, 1, 1 / 64],
      ['buttons', 'bits', 0, 3, 1],
    ]);
    await until('the whole pile and the pusher', () => client.mirror.size === 65);
    const world = client.worldEntities();
    const cubes = world.filter((entity) => entity.components.Shape?.shape === 0);
    assert.equal(cubes.length, 64);
    for (const cube of cubes) {
      // At rest on the floor, turned only about the vertical: its up stays up.
      const { y } = cube.components.Position;
      assert.ok(Math.abs(y - 0.5) < 1e-6, `a cube rests on the floor (y = ${y})`);
      const q = quaternionOf(cube.components.Rotation);
      const upY = 1 - 2 * (q.x * q.x + q.z * q.z);
      assert.ok(upY > 0.999, `a resting cube is upright (${JSON.stringify(cube.components.Rotation)})`);
    }
    const own = () => client.schema.decode(client.player()).components.Position;
    const start = own();
    assert.ok(Math.abs(start.y - 1) < 1e-6, 'the 2 m pusher stands on the floor');
    // Steer into the pile: step fields go as step counts, the SDK rounds the stick.
    stopInputs = client.startInputLoop(() => {
      const at = own();
      const length = Math.hypot(at.x, at.z) || 1;
      return { move_x: -at.x / length, move_z: -at.z / length, buttons: 0 };
    });
    await until('the pusher to reach the pile and knock cubes about', () => {
      const moved = client
        .worldEntities()
        .filter((entity) => entity.components.Shape?.shape === 0)
        .filter((entity) => {
          const before = cubes.find((cube) => cube.id.index === entity.id.index).components.Position;
          const now = entity.components.Position;
          return Math.hypot(now.x - before.x, now.z - before.z) > 0.5;
        });
      return moved.length >= 3;
    });
    const end = own();
    assert.ok(Math.hypot(end.x, end.z) < Math.hypot(start.x, start.z) - 2, 'the pusher drove towards the centre');
    const stats = client.stats();
    assert.equal(stats.mismatches, 0, 'no checksum mismatch');
    assert.equal(stats.divergences, 0);
    assert.ok(client.mirror.ack !== null && client.mirror.ack > 0, 'the inputs were applied');
  } finally {
    stopInputs();
    client.close();
    await server.stop();
  }
});
