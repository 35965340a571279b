// Helpers for the tests that run the real release server (server.test.mjs,
// server-fallback.test.mjs): where the binary and the token script are, polling, a free
// port, starting the server and stopping it with a check that SIGTERM shut it down
// cleanly, and minting a player token.
//
// Importing this module from a test file registers a node:test `after` hook in that
// file's run: whatever a failing test left running is killed with SIGKILL, so that the
// run ends by itself.
//
// Needs the server (`cargo build --release -p tickcast-server`; TICKCAST_SERVER overrides
// the path) and python3 for the token; the tests fail, not skip, without them.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const root = resolve(here, '../../..');
export const serverBinary = process.env.TICKCAST_SERVER ?? resolve(root, 'target/release/tickcast-server');
export const mintScript = resolve(root, 'docs/examples/mint_token.py');
/** How many drones every server started here runs. */
export const NPCS = 8;
/** The --auth-secret the tests pass, and `mintToken` signs with. */
export const SECRET = 's3cret';

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Polls `probe` every 20 ms until it returns a truthy value; fails after `ms`. */
export async function until(what, probe, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A port nobody listens on right now. */
export async function freePort() {
  const probe = net.createServer();
  await new Promise((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  return port;
}

const running = new Set();

// Whatever a failing test left running goes too.
after(async () => {
  await Promise.all(
    [...running].map((child) => {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      return exited;
    }),
  );
});

/**
 * Starts the release server with `NPCS` drones and room for 100 connections from
 * 127.0.0.1; resolves once /healthz answers.
 *
 * - `args`: more command-line arguments, after the defaults.
 * - `port`: where to listen (a free port by default), for a test that must know it first.
 * - `interestRadius`: the room's interest radius (0, everything, by default).
 *
 * `stop()` sends SIGTERM and asserts the server exited with 0; `log()` is its output so far.
 */
export async function startServer({ args = [], port = null, interestRadius = 0 } = {}) {
  assert.ok(
    existsSync(serverBinary),
    `the server is missing: ${serverBinary} (cargo build --release -p tickcast-server, or TICKCAST_SERVER)`,
  );
  port ??= await freePort();
  const argv = [
    '--bind', `127.0.0.1:${port}`,
    '--npcs', String(NPCS),
    '--interest-radius', String(interestRadius),
    '--max-connections-per-ip', '100',
    ...args,
  ];
  const child = spawn(serverBinary, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  running.add(child);
  exited.then(() => running.delete(child));
  const base = `http://127.0.0.1:${port}`;
  try {
    await until('the server to answer /healthz', async () => {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
      return (await fetch(`${base}/healthz`).catch(() => null))?.ok;
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${error.message}; server log:\n${log}`);
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(code, 0, `the server exits cleanly on SIGTERM (signal ${signal}); log:\n${log}`);
  };
  return { port, base, url: `ws://127.0.0.1:${port}/ws`, stop, log: () => log };
}

/** Runs `python3 docs/examples/mint_token.py` for a player token signed with `SECRET`. */
export function mintToken(player, ttl = 60) {
  return execFileSync('python3', [mintScript, '--secret', SECRET, '--player', player, '--ttl', String(ttl)], {
    encoding: 'utf8',
  }).trim();
}
