// Passive Colyseus clients for the drift scene (benches/peer.py runs it).
//
//   node benches/peer/clients.mjs --url ws://127.0.0.1:2567 --clients 100 --entities 1000 \
//        --warmup 5 --duration 20 [--workers W]
//
// Joins C clients to the "drift" room with the Colyseus SDK; they send nothing after the
// join handshake and decode every patch into their state, like a game client would. The
// clients are spread over W worker threads (default: one per core, at most one per 25
// clients), each with an event loop of its own, so that decoding C copies of every patch
// does not hold this process back behind the server (the tickcast bots are multi-threaded
// too).
//
// Counts the WebSocket message payload bytes each client receives (framing and TCP/IP
// headers excluded, as on the tickcast side), per client across reconnections, over a
// window that opens `warmup` seconds after the last client joined (so the join and the
// full initial state are left out) and lasts `duration` seconds.
//
// Prints one JSON object per line on stdout: {"event":"connected",...} when every client
// has joined (or failed to), {"event":"window_start"} and {"event":"window_end"} at the
// edges of the measured window (the runner samples the server's CPU there), then
// {"event":"result",...} with the figures. Progress and errors go to stderr; the SDK's
// own console lines are not JSON and the runner logs them.

import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

if (isMainThread) {
  await coordinate();
} else {
  await serve(workerData);
}

// --- the main thread: start the workers, time the window, add up ----------------------

async function coordinate() {
  const { values: args } = parseArgs({
    options: {
      url: { type: "string", default: "ws://127.0.0.1:2567" },
      clients: { type: "string", default: "100" },
      entities: { type: "string", default: "1000" },
      warmup: { type: "string", default: "5" },
      duration: { type: "string", default: "20" },
      workers: { type: "string" },
      concurrency: { type: "string", default: "10" },
      "join-timeout": { type: "string", default: "60" },
    },
  });
  const clients = Number.parseInt(args.clients, 10);
  const entities = Number.parseInt(args.entities, 10);
  const warmupS = Number.parseFloat(args.warmup);
  const durationS = Number.parseFloat(args.duration);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const workerCount = Math.max(1, Math.min(clients, Number.parseInt(args.workers ?? "0", 10) ||
    Math.min(cores, Math.ceil(clients / 25))));
  const concurrency = Math.max(1, Math.ceil(Number.parseInt(args.concurrency, 10) / workerCount));

  const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Client i goes to worker i % W.
  const workers = Array.from({ length: workerCount }, (_, w) => {
    const indices = [];
    for (let i = w; i < clients; i += workerCount) indices.push(i);
    const worker = new Worker(new URL(import.meta.url), {
      workerData: {
        url: args.url, indices, concurrency, joinTimeoutS: Number.parseFloat(args["join-timeout"]),
        startedMs: performance.timeOrigin,
      },
    });
    worker.on("error", (error) => {
      console.error(`worker ${w}: ${error?.stack ?? error}`);
      process.exit(1);
    });
    return worker;
  });
  // One request to every worker, their answers in worker order.
  const ask = (request) =>
    Promise.all(workers.map((worker) => new Promise((resolve) => {
      const listen = (reply) => {
        if (reply.type === request.type) {
          worker.off("message", listen);
          resolve(reply);
        }
      };
      worker.on("message", listen);
      worker.postMessage(request);
    })));

  const joinStarted = performance.now();
  const joins = await ask({ type: "join" });
  const joined = joins.reduce((sum, reply) => sum + reply.joined, 0);
  const joinSeconds = (performance.now() - joinStarted) / 1000;
  emit({ event: "connected", clients: joined, failed: clients - joined, join_s: joinSeconds, workers: workerCount });
  console.error(`colyseus clients: ${joined}/${clients} joined in ${joinSeconds.toFixed(1)} s over ${workerCount} threads`);

  let before = [];
  let after = [];
  let windowSeconds = 0;
  if (joined > 0) {
    await sleep(warmupS * 1000);
    before = await ask({ type: "counters", loop: "start" });
    const windowStarted = performance.now();
    emit({ event: "window_start" });
    await sleep(durationS * 1000);
    after = await ask({ type: "counters", loop: "stop" });
    windowSeconds = (performance.now() - windowStarted) / 1000;
    emit({ event: "window_end", seconds: windowSeconds });
  }
  const finals = await ask({ type: "finish" });
  await Promise.all(workers.map((worker) => worker.terminate()));

  const perClient = [];
  const decoded = [];
  for (let w = 0; w < workerCount; w++) {
    decoded.push(...finals[w].decoded);
    if (!before.length) continue;
    // Each worker read its counters at its own instants: a rate over its own interval.
    const seconds = (after[w].atMs - before[w].atMs) / 1000;
    for (const [index, b] of Object.entries(before[w].clients)) {
      const a = after[w].clients[index];
      perClient.push({
        kbps: ((a.bytesIn - b.bytesIn) * 8) / 1000 / seconds,
        messagesPerS: (a.messagesIn - b.messagesIn) / seconds,
      });
    }
  }
  const sum = (values) => values.reduce((total, v) => total + v, 0);
  const mean = (values) => (values.length ? sum(values) / values.length : 0);
  const kbps = perClient.map((c) => c.kbps);
  const rates = perClient.map((c) => c.messagesPerS);
  const over = (replies, field) => sum(replies.map((reply) => reply[field]));
  emit({
    event: "result",
    clients,
    workers: workerCount,
    clients_connected: joined,
    clients_failed: clients - joined,
    entities_expected: entities,
    // Every client must hold the whole world: N entities, decoded from the patches.
    clients_with_all_entities: decoded.filter((count) => count === entities).length,
    entities_decoded_min: decoded.length ? Math.min(...decoded) : 0,
    window_s: windowSeconds,
    down_kbps_per_client: mean(kbps),
    down_kbps_per_client_min: kbps.length ? Math.min(...kbps) : 0,
    down_kbps_per_client_max: kbps.length ? Math.max(...kbps) : 0,
    messages_per_s_per_client: mean(rates),
    messages_per_s_per_client_min: rates.length ? Math.min(...rates) : 0,
    up_bytes_in_window: before.length ? over(after, "bytesOut") - over(before, "bytesOut") : 0,
    drops_in_window: before.length ? over(after, "drops") - over(before, "drops") : 0,
    drops_total: over(finals, "drops"),
    event_loop_delay_ms_p99: Math.max(0, ...after.map((reply) => reply.loopP99Ms)),
    event_loop_delay_ms_max: Math.max(0, ...after.map((reply) => reply.loopMaxMs)),
    failures: finals.flatMap((reply) => reply.failures).slice(0, 5),
  });
  process.exit(0);
}

// --- a worker thread: its share of the clients -----------------------------------------

async function serve({ url, indices, concurrency, joinTimeoutS, startedMs }) {
  // `ws` with a count of what every socket sent. The SDK picks up `globalThis.WebSocket`
  // when it loads, so every socket it opens (reconnections too) is one of these.
  const { default: WebSocket } = await import("ws");
  let bytesOut = 0;
  class CountingWebSocket extends WebSocket {
    send(data, ...rest) {
      bytesOut += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      return super.send(data, ...rest);
    }
  }
  globalThis.WebSocket = CountingWebSocket;
  const { Client, Room } = await import("@colyseus/sdk");
  // Every frame a room receives passes here, whichever socket brought it: count it on
  // the room, so a client's count survives the SDK reconnecting it.
  const dispatch = Room.prototype.onMessageCallback;
  Room.prototype.onMessageCallback = function count(event) {
    this.benchBytesIn = (this.benchBytesIn ?? 0) + event.data.byteLength;
    this.benchMessagesIn = (this.benchMessagesIn ?? 0) + 1;
    return dispatch.call(this, event);
  };

  const httpUrl = url.replace(/^ws/, "http");
  const rooms = new Map();
  const failures = [];
  let drops = 0;
  const at = () => `${((performance.timeOrigin + performance.now() - startedMs) / 1000).toFixed(1)} s`;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });

  async function joinOne(index) {
    const client = new Client(httpUrl);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`join timed out after ${joinTimeoutS} s`)), joinTimeoutS * 1000);
    });
    try {
      const room = await Promise.race([client.join("drift"), timeout]);
      room.onError((code, message) => failures.push(`${at()}: client ${index}: error ${code} ${message ?? ""}`));
      // The SDK reconnects a dropped client by itself; count those, they spoil the window.
      room.onDrop((code) => {
        drops += 1;
        failures.push(`${at()}: client ${index}: dropped with code ${code}`);
        console.error(`${at()}: client ${index}: dropped with code ${code}`);
      });
      room.onLeave((code) => {
        if (!room.benchLeaving) failures.push(`${at()}: client ${index}: left with code ${code}`);
      });
      rooms.set(index, room);
    } catch (error) {
      failures.push(`${at()}: client ${index}: ${error?.message ?? error}`);
    } finally {
      clearTimeout(timer);
    }
  }

  parentPort.on("message", async (request) => {
    if (request.type === "join") {
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, async () => {
        while (next < indices.length) await joinOne(indices[next++]);
      }));
      parentPort.postMessage({ type: "join", joined: rooms.size });
    } else if (request.type === "counters") {
      const clients = {};
      for (const [index, room] of rooms) {
        clients[index] = { bytesIn: room.benchBytesIn ?? 0, messagesIn: room.benchMessagesIn ?? 0 };
      }
      if (request.loop === "start") loopDelay.enable();
      if (request.loop === "stop") loopDelay.disable();
      parentPort.postMessage({
        type: "counters", clients, bytesOut, drops, atMs: performance.timeOrigin + performance.now(),
        loopP99Ms: loopDelay.count ? loopDelay.percentile(99) / 1e6 : 0,
        loopMaxMs: loopDelay.count ? loopDelay.max / 1e6 : 0,
      });
    } else if (request.type === "finish") {
      const decoded = [...rooms.values()].map((room) => room.state?.entities?.size ?? 0);
      for (const room of rooms.values()) room.benchLeaving = true;
      await Promise.race([
        Promise.allSettled([...rooms.values()].map((room) => room.leave(true))),
        new Promise((resolve) => setTimeout(resolve, 3000)),
      ]);
      // Clients that never joined hold nothing.
      for (let i = rooms.size; i < indices.length; i++) decoded.push(0);
      parentPort.postMessage({ type: "finish", decoded, drops, failures: failures.slice(0, 5) });
    }
  });
}
