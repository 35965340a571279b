// The demo in a real browser: Debian's chromium, headless, driven by playwright-core,
// against the release server, over ws and over wss (a self-signed certificate trusted by
// its public key's fingerprint, which the server logs).
//
// For each transport it checks, from outside the page:
// - the page matchmakes (its default) and plays in the room it was given, not the
//   default room, which the HUD names;
// - holding a key moves the page's player, as a second client (an observer using the SDK
//   from Node, matchmade into the same room by its id) sees it in its own snapshots;
// - the HUD shows the room's entity count: what the observer holds of the whole world,
//   the drones and the two players, with /rooms counting both clients in that room;
// - after 10 s of play, every snapshot's checksum verified (0 mismatches).
// It saves a screenshot per transport under target/e2e/ and prints the page's frame time.
//
// The same play over the HTTP fallback (issue 16), twice: with `window.WebSocket` removed
// by an init script, and with a real WebSocket behind a proxy that refuses every upgrade
// (tools/blocking-proxy.mjs; the server advertises the proxy with --public-url). The
// page's SDK falls back by itself, the HUD says `http`, keys move the player as the
// observer (over a WebSocket, past the proxy) sees it, and every checksum verifies.
//
// Then `/?direct` plays in the default room, as the page did before matchmaking (the
// HUD's entity count is /healthz's). And, briefly, spectating: `/?spectate` on a server
// with an interest radius shows the whole world (the HUD's entity count is /healthz's, a
// player included, 0 mismatches, no input sent) and fits the map to the window;
// `/?spectate=x,y` looks at that point. And `/?kind=cubes` plays the 3D game from above
// in a matchmade cubes room: the pile decodes, D pushes the pusher along +x, 0 mismatches.
//
// Run: npm run e2e (needs `cargo build --release -p tickcast-server` and /usr/bin/chromium;
// TICKCAST_SERVER and CHROMIUM override the paths).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { connect, matchmake, TickcastClient } from '../dist/tickcast.js';
import { startBlockingProxy } from '../tools/blocking-proxy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const serverBinary = process.env.TICKCAST_SERVER ?? resolve(root, 'target/release/tickcast-server');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = resolve(root, 'target/e2e');
const NPCS = 12;

// The wss server's certificate is self-signed: the observer in this process must accept
// it, as the browser does through the fingerprint flag. Only 127.0.0.1 is contacted.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` every 50 ms until it returns a truthy value, or fails after `ms`. */
async function until(what, probe, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Starts the release server; resolves once /healthz answers. */
async function startServer(port, tls, interestRadius = 0, extra = []) {
  const args = ['--bind', `127.0.0.1:${port}`, '--npcs', String(NPCS), '--interest-radius', String(interestRadius), ...extra];
  if (tls) args.push('--tls-self-signed');
  const child = spawn(serverBinary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const scheme = tls ? 'https' : 'http';
  const base = `${scheme}://127.0.0.1:${port}`;
  await until('the server to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}; server log:\n${log}`);
  });
  const spki = /spki_sha256_base64="?([A-Za-z0-9+/=]+)/.exec(log)?.[1];
  if (tls) assert.ok(spki && spki !== '-', `the server logs its key's fingerprint:\n${log}`);
  const stop = async () => {
    child.kill('SIGTERM');
    const code = await new Promise((done) => child.once('exit', done));
    assert.equal(code, 0, `the server exits cleanly on SIGTERM; log:\n${log}`);
  };
  return { base, ws: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`, spki, stop, log: () => log };
}

async function health(base) {
  return (await fetch(`${base}/healthz`)).json();
}

/** GET /rooms, as `{room_id: entry}`. */
async function rooms(base) {
  const { rooms: list } = await (await fetch(`${base}/rooms`)).json();
  return Object.fromEntries(list.map((room) => [room.room_id, room]));
}

/** The observer's view of entity `id`: its Transform2 in world units. */
function positionSeenBy(observer, id) {
  const entity = observer.mirror.get(id);
  return entity === undefined ? undefined : observer.schema.decode(entity).components.Transform2;
}

const BROWSER_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Plays the demo for ten seconds and checks it from outside. `mode`: `ws`, `wss`, `http`
 * (the page has no `window.WebSocket`) or `http-proxy` (its WebSockets are refused by a
 * proxy between the page and the server).
 */
async function play(mode, port) {
  const tls = mode === 'wss';
  const proxyPort = mode === 'http-proxy' ? port + 100 : null;
  // Behind the proxy, the seats the server hands out point at the proxy.
  const server = await startServer(port, tls, 0, proxyPort === null ? [] : ['--public-url', `ws://127.0.0.1:${proxyPort}/ws`]);
  const proxy = proxyPort === null ? null : await startBlockingProxy(port, proxyPort);
  const http = mode.startsWith('http');
  const flags = [...BROWSER_FLAGS];
  if (tls) flags.push(`--ignore-certificate-errors-spki-list=${server.spki}`);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: flags });
  let observer = null;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    if (mode === 'http') {
      // A page where WebSocket does not exist (what a blocked network amounts to).
      await page.addInitScript(() => {
        delete window.WebSocket;
      });
    }
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${proxy?.base ?? server.base}/`);
    await page.waitForFunction(() => window.tickcast?.stats().connected === true, null, { timeout: 15_000 });
    const stats = () => page.evaluate(() => window.tickcast.stats());
    assert.equal((await stats()).transport, http ? 'http' : 'websocket');
    assert.equal((await stats()).secure, tls);
    if (mode === 'http') assert.equal(await page.evaluate(() => typeof window.WebSocket), 'undefined');
    if (proxy !== null) assert.ok(proxy.upgrades >= 1, 'the page tried a WebSocket first, and the proxy refused it');
    await until('the HUD to name the transport', async () => (await page.textContent('#hud-transport')) === (http ? 'http' : 'websocket'));

    // Matchmade: a room of its own, not the default one, named in the HUD.
    const room = (await stats()).roomId;
    assert.ok(typeof room === 'string' && room !== 'default', `the page matchmade: room ${room}`);
    await until('the HUD to name the room', async () => (await page.textContent('#hud-room')) === room);
    assert.equal((await health(server.base)).clients, 0, 'nobody in the default room');
    // The observer takes a seat in the same room.
    // Over a WebSocket, past the proxy: the seat is taken on the server's own address.
    const seat = await matchmake(server.base, { roomId: room });
    observer = TickcastClient.connect(server.base, {
      matchmake: { seat: proxy === null ? seat : { ...seat, wsUrl: server.ws } },
      name: 'observer',
      reconnect: false,
      transport: 'websocket',
    });
    assert.equal(observer.roomId, room);
    await until('the observer to be welcomed', async () => observer.connected);
    assert.equal(observer.stats().secure, tls, 'the seat\'s ws_url has the node\'s scheme');

    // The observer sees the page's player in its own snapshots.
    const player = await page.evaluate(() => window.tickcast.client.welcome.player);
    await until('the observer to see the page player', async () => observer.welcome && positionSeenBy(observer, player));
    const before = positionSeenBy(observer, player);
    await sleep(500);
    const still = positionSeenBy(observer, player);
    assert.deepEqual([still.x, still.y], [before.x, before.y], 'no key held: the player stays put');

    // Hold a direction: right from the western spawn points, left from the eastern ones.
    const key = before.x < 50 ? 'KeyD' : 'KeyA';
    await page.keyboard.down(key);
    await sleep(1200);
    await page.keyboard.up(key);
    await sleep(400);
    const after = positionSeenBy(observer, player);
    const moved = key === 'KeyD' ? after.x - before.x : before.x - after.x;
    assert.ok(moved > 2, `holding ${key} moved the player ${moved.toFixed(2)} units as the observer saw it`);
    assert.ok(Math.abs(after.y - before.y) < 0.5, 'and only sideways');
    // The page's own (predicted) position agrees with what the server sent the observer.
    const seen = (await stats()).player;
    assert.ok(Math.hypot(seen.x - after.x, seen.y - after.y) < 0.5, `page ${JSON.stringify(seen)} vs observer ${JSON.stringify(after)}`);

    // The HUD's entity count is the room's: the drones, the page's player, the observer's,
    // as the observer (whole world: no interest radius) holds them; /rooms counts the two.
    const expected = observer.mirror.size;
    assert.equal(expected, NPCS + 2);
    assert.equal((await rooms(server.base))[room]?.clients, 2, 'the page and the observer in the room');
    await until('the HUD to show the room entity count', async () =>
      Number(await page.textContent('#hud-entities')) === expected,
    );

    // Ten seconds of play with the keys, then every checksum must have verified.
    const keys = ['KeyW', 'KeyA', 'KeyS', 'KeyD'];
    const started = (await stats()).snapshots;
    for (let second = 0; second < 10; second++) {
      const held = keys[second % keys.length];
      await page.keyboard.down(held);
      await sleep(1000);
      await page.keyboard.up(held);
    }
    const end = await stats();
    assert.equal(end.mismatches, 0, 'no checksum mismatch');
    assert.equal(end.divergences, 0, 'no divergence');
    assert.equal(end.reconnects, 0, 'no reconnect');
    assert.ok(end.snapshots - started >= 250, `snapshots kept coming (${end.snapshots - started} in 10 s)`);
    assert.ok(end.rttMs !== null && end.rttMs > 0, 'round trips measured');
    assert.deepEqual(pageErrors, [], 'no errors in the page');

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, `browser-${mode}.png`) });
    console.log(
      `${mode}: frame ${end.frameMs?.toFixed(2)} ms, rtt ${end.rttMs?.toFixed(1)} ms, ` +
        `${end.downKbps.toFixed(1)} kbit/s down, ${end.entities} entities, ` +
        `prediction error ${end.predictionError?.toFixed(3) ?? '-'} units, ${end.snapshots} snapshots`,
    );
    assert.equal(observer.stats().mismatches, 0, 'the observer verified every checksum too');
  } finally {
    observer?.close();
    await browser.close();
    await proxy?.close();
    await server.stop();
  }
}

test('the demo matchmakes and plays over ws in headless chromium', { timeout: 90_000 }, () => play('ws', 17811));
test('the demo matchmakes and plays over wss in headless chromium', { timeout: 90_000 }, () => play('wss', 17812));
test('the demo plays over the HTTP fallback when the page has no WebSocket', { timeout: 90_000 }, () => play('http', 17815));
test('the demo falls back to HTTP behind a proxy that refuses WebSocket upgrades', { timeout: 90_000 }, () => play('http-proxy', 17816));

test('the demo plays in the default room with /?direct', { timeout: 60_000 }, async () => {
  const server = await startServer(17814, false);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: BROWSER_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.base}/?direct`);
    await page.waitForFunction(() => window.tickcast?.stats().connected === true, null, { timeout: 10_000 });
    const stats = () => page.evaluate(() => window.tickcast.stats());
    assert.equal((await stats()).roomId, null, 'no seat: plain /ws');
    // The HUD refreshes a few times a second, not on connect.
    await until('the HUD to show the default room', async () => (await page.textContent('#hud-room')) === 'default');
    const healthz = await health(server.base);
    assert.equal(healthz.clients, 1, 'the page is in the default room');
    assert.equal(healthz.entities, NPCS + 1);
    await until('the HUD to show the server entity count', async () => Number(await page.textContent('#hud-entities')) === healthz.entities);
    await page.keyboard.down('KeyW');
    await sleep(1500);
    await page.keyboard.up('KeyW');
    const end = await stats();
    assert.ok(end.snapshots >= 30, `snapshots came (${end.snapshots})`);
    assert.ok(end.ack !== null, 'inputs acknowledged');
    assert.equal(end.mismatches, 0);
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('the demo plays the cubes game from above with /?kind=cubes', { timeout: 60_000 }, async () => {
  const server = await startServer(17817, false, 0, ['--cube-count', '64']);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: BROWSER_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.base}/?kind=cubes`);
    await page.waitForFunction(() => window.tickcast?.stats().connected === true, null, { timeout: 10_000 });
    const stats = () => page.evaluate(() => window.tickcast.stats());
    const roomId = (await stats()).roomId;
    assert.match(roomId ?? '', /^cubes-/, 'matchmade into a cubes room');
    assert.equal(await page.textContent('.title span'), 'cubes');
    // 64 cubes and the page's pusher, all decoded from the schema.
    await until('the HUD to count the pile', async () => Number(await page.textContent('#hud-entities')) === 65);
    const before = (await stats()).player;
    await page.keyboard.down('KeyD');
    await sleep(1500);
    await page.keyboard.up('KeyD');
    const end = await stats();
    assert.ok(end.player.x > before.x + 3, `D pushes along +x: ${JSON.stringify(before)} -> ${JSON.stringify(end.player)}`);
    assert.ok(end.ack !== null, 'inputs acknowledged');
    assert.equal(end.mismatches, 0);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, 'browser-cubes.png') });
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  } finally {
    await browser.close();
    await server.stop();
  }
});

async function spectate(port) {
  // An interest radius, so that the whole world is more than any one area.
  const server = await startServer(port, false, 15);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: BROWSER_FLAGS });
  // A player in the world, so that the spectator has one to see.
  const player = connect(server.ws, { name: 'player', reconnect: false });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.base}/?spectate`);
    await page.waitForFunction(() => window.tickcast?.stats().connected === true, null, { timeout: 10_000 });
    const stats = () => page.evaluate(() => window.tickcast.stats());
    assert.equal(await page.evaluate(() => window.tickcast.client.welcome.player), null, 'no player for the page');
    assert.equal(await page.isVisible('#hud-mode'), true);
    assert.equal(await page.textContent('#hud-mode'), 'spectating');
    assert.equal(await page.isVisible('#score'), false, 'no kills and deaths of its own');
    await until('the player to join', async () => player.connected);

    // Everything the server holds, whatever the radius: the drones and the player.
    const expected = (await health(server.base)).entities;
    assert.equal(expected, NPCS + 1);
    await until('the HUD to show the server entity count', async () => Number(await page.textContent('#hud-entities')) === expected);
    const started = await stats();
    await sleep(2000);
    const end = await stats();
    assert.equal(end.spectating, true);
    assert.equal(end.mismatches, 0, 'no checksum mismatch');
    assert.equal(end.divergences, 0, 'no divergence');
    assert.ok(end.snapshots - started.snapshots >= 40, `snapshots kept coming (${end.snapshots - started.snapshots} in 2 s)`);
    assert.equal(end.ack, null, 'no input acknowledged: none sent');
    assert.equal(end.upKbps, 0, 'nothing sent after the Hello');
    assert.equal(end.player, null);
    // The camera shows the whole 100 x 60 map.
    assert.deepEqual([end.camera.x, end.camera.y], [50, 30]);
    assert.ok(end.camera.scale * 100 <= 1280 && end.camera.scale * 60 <= 800, `the map fits: ${end.camera.scale} px/unit`);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, 'browser-spectate.png') });

    // A point: the camera looks at it, the snapshots verify.
    await page.goto(`${server.base}/?spectate=20,40`);
    await page.waitForFunction(() => window.tickcast?.stats().snapshots > 10, null, { timeout: 10_000 });
    const at = await stats();
    assert.deepEqual([at.camera.x, at.camera.y], [20, 40]);
    assert.equal(at.mismatches, 0);
    // Only its area: everything held is within the radius of it (and a little, for what moved since).
    const distances = await page.evaluate(() =>
      window.tickcast.client.worldEntities().map((entity) => Math.hypot(entity.components.Transform2.x - 20, entity.components.Transform2.y - 40)),
    );
    assert.ok(distances.every((distance) => distance <= 16), `within 15 units of the point: ${distances.map((d) => d.toFixed(1))}`);
    assert.deepEqual(pageErrors, [], 'no errors in the page');
    console.log(`spectate: ${end.entities} entities, ${end.snapshots} snapshots, frame ${end.frameMs?.toFixed(2)} ms; at 20,40: ${distances.length}`);
  } finally {
    player.close();
    await browser.close();
    await server.stop();
  }
}

test('the demo spectates in headless chromium: ?spectate and ?spectate=x,y', { timeout: 60_000 }, () => spectate(17813));
