// The HTTP fallback against the real server (issue 16), from Node: what only the server
// proves.
//
// - Over HTTP (`transport: 'http'`) the SDK plays as over a WebSocket: Welcome, inputs
//   applied and acknowledged, every checksum verified; a WebSocket observer in the same
//   room sees the HTTP player move (the room cannot tell the transports apart).
// - Through a proxy that refuses every upgrade (a node:http proxy in this process that
//   forwards plain requests, streamed, and answers an upgrade with 403), the default
//   `auto` client falls back by itself with no close event, plays with checksums verified,
//   and after the proxy cuts its connections resumes the session over HTTP, without
//   trying the WebSocket again within `probeWebSocketAfterMs` (and probing it on every
//   reconnection with 0).
// - Through a proxy that lets upgrades through and cuts every WebSocket 300 ms after it
//   (the same proxy with `cutUpgradesAfterMs`), the auto client resumes over a WebSocket
//   once, is cut again, and then goes on over HTTP (`fallbackReason: 'short-lived'`),
//   playing with checksums verified and no WebSocket tried within the probe interval.
// - With --auth-secret, through that proxy: no token is refused, and the close says why
//   (`401 a token is required`, which a WebSocket never sees); a minted token plays.
// - Matchmaking through that proxy (advertised with --public-url): the seat is taken over
//   HTTP, the client plays in its room, and a drop resumes there through `?room=`.
//
// It prints the round trip and the bandwidth of an HTTP client next to a WebSocket one
// on the same server (loopback: the transport's own cost, not a network's).
//
// Needs the server (`cargo build --release -p tickcast-server`; TICKCAST_SERVER overrides
// the path) and python3 for the token; fails, not skips, without them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, TickcastClient } from '../dist/tickcast.js';
import { startBlockingProxy } from '../tools/blocking-proxy.mjs';
import { freePort, mintToken, NPCS, SECRET, sleep, startServer, until } from '../tools/real-server.mjs';

/** Records Welcomes, closes and verified checksums. */
function watch(client) {
  const seen = { welcomes: [], closes: [], verified: 0 };
  client.on('welcome', (welcome) => seen.welcomes.push({ welcome, resumed: client.resumed }));
  client.on('close', (event) => seen.closes.push(event));
  client.on('snapshot', ({ applied }) => {
    if (applied.checksumVerified) seen.verified += 1;
  });
  return seen;
}

/** The position of entity `id` in `client`'s mirror, in world units. */
function positionOf(client, id) {
  const entity = client.mirror.get(id);
  return entity === undefined ? undefined : client.schema.decode(entity).components.Transform2;
}

/** Moves in a slow circle: inputs that change every tick. */
function playInputs(client) {
  let n = 0;
  return client.startInputLoop(() => {
    n += 1;
    return { move_x: Math.cos(n / 60), move_y: Math.sin(n / 60), aim: 0, buttons: 0 };
  });
}

/** Plays `ms` more and checks every snapshot verified and inputs went on being acknowledged. */
async function playsVerified(client, seen, ms = 1500) {
  const snapshots = client.stats().snapshots;
  const verified = seen.verified;
  const ack = client.mirror.ack;
  await sleep(ms);
  const stats = client.stats();
  assert.equal(stats.connected, true);
  assert.equal(stats.mismatches, 0, 'no checksum mismatch');
  assert.equal(stats.divergences, 0, 'no divergence');
  const expected = Math.floor((ms / 1000) * 20);
  assert.ok(stats.snapshots - snapshots >= expected, `snapshots kept coming (${stats.snapshots - snapshots} in ${ms} ms)`);
  assert.ok(seen.verified - verified >= expected, `and their checksums verified (${seen.verified - verified})`);
  assert.ok(client.mirror.ack !== null && client.mirror.ack !== ack, 'inputs acknowledged');
  return stats;
}

test('over HTTP the SDK plays as over a WebSocket, and a WebSocket observer sees the HTTP player move', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const player = connect(server.url, { name: 'http', transport: 'http' });
  const observer = connect(server.url, { name: 'ws', transport: 'websocket' });
  const seen = watch(player);
  const observerSeen = watch(observer);
  let stops = [];
  try {
    await until('both Welcomes', () => player.connected && observer.connected);
    assert.equal(player.stats().transport, 'http');
    assert.equal(observer.stats().transport, 'websocket');
    assert.equal((await (await fetch(`${server.base}/healthz`)).json()).clients, 2, 'one room, both clients');
    const id = player.welcome.player;
    await until('the observer to see the HTTP player', () => positionOf(observer, id));
    const before = positionOf(observer, id);
    const start = player.stats().snapshots;
    // Right for a second, as seen from the other transport.
    const stop = player.startInputLoop(() => ({ move_x: before.x < 50 ? 1 : -1, move_y: 0, aim: 0, buttons: 0 }));
    await sleep(1200);
    stop();
    await sleep(300);
    const after = positionOf(observer, id);
    const moved = Math.abs(after.x - before.x);
    assert.ok(moved > 4, `the observer saw the HTTP player move ${moved.toFixed(2)} units`);
    assert.ok(Math.abs(positionOf(player, id).x - after.x) < 0.5, 'and both mirrors agree');
    assert.ok(player.stats().snapshots - start >= 30, 'snapshots came over the stream');

    // Both play for three seconds: the same checks, and the figures side by side.
    stops = [playInputs(player), playInputs(observer)];
    const [http, ws] = await Promise.all([playsVerified(player, seen, 3000), playsVerified(observer, observerSeen, 3000)]);
    assert.equal(seen.closes.length, 0);
    assert.ok(http.rttMs !== null && ws.rttMs !== null, 'round trips measured on both');
    console.log(
      `loopback, ${NPCS} drones + 2 players: http rtt ${http.rttMs.toFixed(1)} ms, ${http.downKbps.toFixed(1)} kbit/s down, ` +
        `${http.upKbps.toFixed(1)} up (payload); websocket rtt ${ws.rttMs.toFixed(1)} ms, ${ws.downKbps.toFixed(1)} down, ${ws.upKbps.toFixed(1)} up`,
    );
  } finally {
    stops.forEach((stop) => stop());
    player.close();
    observer.close();
    await server.stop();
  }
});

test('through a proxy that refuses upgrades, auto falls back to HTTP by itself, plays, and resumes over HTTP', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const proxy = await startBlockingProxy(server.port);
  // A: the default probe interval; B: a probe on every reconnection.
  const sticky = connect(proxy.url, { name: 'sticky', reconnectDelayMs: 100 });
  const prober = connect(proxy.url, { name: 'prober', reconnectDelayMs: 100, probeWebSocketAfterMs: 0 });
  const seen = watch(sticky);
  const proberSeen = watch(prober);
  const stops = [];
  try {
    await until('the Welcomes', () => sticky.connected && prober.connected);
    assert.equal(proxy.upgrades, 2, 'each tried the WebSocket first');
    for (const client of [sticky, prober]) {
      assert.equal(client.stats().transport, 'http');
      assert.equal(client.stats().reconnects, 0, 'the fallback is not a reconnection');
    }
    assert.deepEqual(seen.closes, [], 'and the app saw no close');
    stops.push(playInputs(sticky), playInputs(prober));
    await playsVerified(sticky, seen);

    // The proxy cuts everything: both resume their session over HTTP.
    const players = [sticky.welcome.player, prober.welcome.player];
    proxy.reset();
    await until('both to be welcomed again', () => seen.welcomes.length === 2 && proberSeen.welcomes.length === 2 && sticky.connected && prober.connected);
    assert.equal(seen.closes[0].code, 1006);
    assert.deepEqual([sticky.welcome.player, prober.welcome.player], players, 'the same players');
    assert.equal(sticky.resumed && prober.resumed, true);
    assert.equal(sticky.stats().transport, 'http');
    assert.equal(prober.stats().transport, 'http');
    assert.equal(proxy.upgrades, 3, 'only the prober tried the WebSocket again');
    await playsVerified(sticky, seen);
    await playsVerified(prober, proberSeen, 500);
  } finally {
    stops.forEach((stop) => stop());
    sticky.close();
    prober.close();
    await proxy.close();
    await server.stop();
  }
});

test('through a proxy that cuts every WebSocket 300 ms after its upgrade, auto moves to HTTP after the second cut and plays', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const proxy = await startBlockingProxy(server.port, 0, { cutUpgradesAfterMs: 300 });
  const client = connect(proxy.url, { name: 'cut', reconnectDelayMs: 100, shortLivedWebSocketMs: 5000 });
  const seen = watch(client);
  const transports = [];
  client.on('welcome', () => transports.push(client.stats().transport));
  const stop = playInputs(client);
  const startedAt = Date.now();
  try {
    await until('a Welcome over HTTP', () => client.connected && client.stats().transport === 'http', 20_000);
    console.log(`cut every 300 ms: welcomed over HTTP ${Date.now() - startedAt} ms after connect(), after ${seen.closes.length} cuts`);
    assert.deepEqual(transports, ['websocket', 'websocket', 'http'], 'welcomed over a WebSocket twice (each cut), then over HTTP');
    assert.deepEqual(
      seen.closes.map(({ code }) => code),
      [1006, 1006],
      'two cuts, no close frame',
    );
    assert.deepEqual(
      seen.welcomes.map(({ resumed }) => resumed),
      [false, true, true],
      'each reconnection resumed the session',
    );
    const player = seen.welcomes[0].welcome.player;
    for (const { welcome } of seen.welcomes) assert.deepEqual(welcome.player, player, 'the same player throughout');
    assert.equal(proxy.upgrades, 2);
    assert.equal(proxy.cuts, 2);
    const stats = await playsVerified(client, seen, 2000);
    assert.equal(stats.transport, 'http');
    assert.equal(stats.fallbackReason, 'short-lived');
    assert.equal(stats.reconnects, 2);
    assert.equal(stats.resumes, 2);
    assert.equal(seen.closes.length, 2, 'HTTP is not cut');
    assert.equal(proxy.upgrades, 2, 'no WebSocket tried again within probeWebSocketAfterMs');
  } finally {
    stop();
    client.close();
    await proxy.close();
    await server.stop();
  }
});

test('with --auth-secret through the proxy: no token is refused with the reason; a minted token plays over HTTP', { timeout: 60_000 }, async () => {
  const server = await startServer({ args: ['--auth-secret', SECRET] });
  const proxy = await startBlockingProxy(server.port);
  const refused = connect(proxy.url, { name: 'nobody', reconnect: false });
  const player = connect(proxy.url, { name: 'alice', token: () => mintToken('alice') });
  const refusedSeen = watch(refused);
  const seen = watch(player);
  let stop = () => {};
  try {
    await until('the refusal', () => refusedSeen.closes.length > 0);
    assert.deepEqual(
      [refusedSeen.closes[0].code, refusedSeen.closes[0].reason],
      [1006, '401 a token is required'],
      'the status and reason a WebSocket cannot see',
    );
    await until('the Welcome', () => player.connected);
    assert.equal(player.stats().transport, 'http');
    stop = playInputs(player);
    await playsVerified(player, seen);
  } finally {
    stop();
    refused.close();
    player.close();
    await proxy.close();
    await server.stop();
  }
});

test('matchmaking through the proxy: the seat is taken over HTTP, and a drop resumes in the room', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const proxy = await startBlockingProxy(port);
  const server = await startServer({ args: ['--public-url', proxy.url], port });
  let client = null;
  let stop = () => {};
  try {
    client = await TickcastClient.matchmake(proxy.base, { name: 'roamer', reconnectDelayMs: 100 });
    const seen = watch(client);
    await until('the Welcome', () => client.connected);
    const room = client.roomId;
    assert.ok(room !== null && room !== 'default', `a room of its own: ${room}`);
    assert.equal(client.stats().transport, 'http');
    const { rooms } = await (await fetch(`${server.base}/rooms`)).json();
    assert.equal(rooms.find((entry) => entry.room_id === room)?.clients, 1, 'the room holds the HTTP client');
    stop = playInputs(client);
    await playsVerified(client, seen);
    const id = client.welcome.player;
    proxy.reset();
    await until('the Welcome after the drop', () => seen.welcomes.length === 2 && client.connected);
    assert.equal(client.resumed, true, 'resumed through ?room=');
    assert.deepEqual(client.welcome.player, id);
    assert.equal(client.roomId, room);
    await playsVerified(client, seen);
  } finally {
    stop();
    client?.close();
    await proxy.close();
    await server.stop();
  }
});
