// The Colyseus side of the drift scene (benches/peer.py runs it).
//
//   node benches/peer/server.mjs --port 2567 --entities 1000 [--fields float32|quantized]
//
// One room, "drift", created at start and kept alive: N entities, each with x, y and
// angle (its heading), moving at 100 units/s in a 1000 x 1000 box and reflected at the
// walls, from a fixed seed. The simulation runs at 60 Hz (setSimulationInterval) and
// the state is patched to every client at 20 Hz (patchRate 50 ms). No StateView: every
// client sees every entity, and Colyseus encodes each patch once for all of them.
//
// --fields float32 (the default) declares x, y and angle as float32, the usual Colyseus
// way; --fields quantized uses its 0.18 quantized types instead (16-bit x and y over the
// box, a 16-bit wrapping angle), a leaner wire at the cost of precision.
//
// Prints "listening <port>" on stdout once clients may join.

import { Room, Server, matchMaker } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { Encoder, schema, t } from "@colyseus/schema";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "2567" },
    host: { type: "string", default: "127.0.0.1" },
    entities: { type: "string", default: process.env.DRIFT_ENTITIES ?? "1000" },
    fields: { type: "string", default: "float32" },
    seed: { type: "string", default: "1" },
  },
});

const ENTITIES = Number.parseInt(args.entities, 10);
const PORT = Number.parseInt(args.port, 10);
const SEED = Number.parseInt(args.seed, 10) >>> 0;
if (!(ENTITIES >= 0) || !(PORT > 0)) {
  console.error("usage: server.mjs --port PORT --entities N [--fields float32|quantized]");
  process.exit(2);
}
if (args.fields !== "float32" && args.fields !== "quantized") {
  console.error(`--fields must be float32 or quantized, not ${args.fields}`);
  process.exit(2);
}

const BOX = 1000; // world units, square, walls at 0 and BOX
const SPEED = 100; // units per second
const TICK_MS = 1000 / 60; // 60 Hz simulation
const PATCH_MS = 50; // 20 Hz state patches

// Room for the full state of N entities in one go, as the schema package advises when it
// overflows its default 16 KB buffer (a warning on every join otherwise).
Encoder.BUFFER_SIZE = Math.max(Encoder.BUFFER_SIZE, 64 * 1024 + ENTITIES * 40);

const Entity =
  args.fields === "quantized"
    ? schema(
        {
          x: t.quantized({ min: 0, max: BOX, bits: 16 }),
          y: t.quantized({ min: 0, max: BOX, bits: 16 }),
          angle: t.angle({ bits: 16 }),
        },
        "Entity",
      )
    : schema({ x: t.float32(), y: t.float32(), angle: t.float32() }, "Entity");

const DriftState = schema({ entities: t.map(Entity) }, "DriftState");

/** mulberry32: a small seeded PRNG, so every run starts from the same scene. */
function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

class DriftRoom extends Room {
  maxClients = 100_000;
  autoDispose = false;
  patchRate = PATCH_MS;

  onCreate() {
    this.state = new DriftState();
    const random = mulberry32(SEED);
    // Velocities live outside the synchronised state: only x, y and angle go on the wire.
    this.bodies = [];
    for (let i = 0; i < ENTITIES; i++) {
      const heading = random() * Math.PI * 2;
      const entity = new Entity();
      entity.x = random() * BOX;
      entity.y = random() * BOX;
      entity.angle = heading;
      this.state.entities.set(String(i), entity);
      this.bodies.push({ entity, vx: Math.cos(heading) * SPEED, vy: Math.sin(heading) * SPEED });
    }
    this.setSimulationInterval((deltaMs) => this.step(Math.min(deltaMs, 100) / 1000), TICK_MS);
  }

  step(dt) {
    for (const body of this.bodies) {
      const entity = body.entity;
      let x = entity.x + body.vx * dt;
      let y = entity.y + body.vy * dt;
      let bounced = false;
      if (x < 0) { x = -x; body.vx = -body.vx; bounced = true; }
      else if (x > BOX) { x = 2 * BOX - x; body.vx = -body.vx; bounced = true; }
      if (y < 0) { y = -y; body.vy = -body.vy; bounced = true; }
      else if (y > BOX) { y = 2 * BOX - y; body.vy = -body.vy; bounced = true; }
      entity.x = x;
      entity.y = y;
      if (bounced) {
        const heading = Math.atan2(body.vy, body.vx);
        entity.angle = heading < 0 ? heading + Math.PI * 2 : heading;
      }
    }
  }

  // Passive clients: nothing to handle.
  onJoin() {}
  onLeave() {}
}

const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("drift", DriftRoom);
await server.listen(PORT, args.host);
const room = await matchMaker.createRoom("drift", {});
console.log(`listening ${PORT} room ${room.roomId} entities ${ENTITIES} fields ${args.fields}`);
