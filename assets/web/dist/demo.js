// src/demo/main.ts
import {
  ArenaEntity,
  ArenaMap,
  arenaPredictionModel,
  matchmake,
  MatchmakeError,
  parseGameInfo,
  TickcastClient
} from "./tickcast.js";

// src/demo/cubes.ts
function parseCubesInfo(value) {
  const root = value;
  if (root?.game !== "cubes") return null;
  const point = (v) => Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === "number" && Number.isFinite(n)) ? [v[0], v[1]] : null;
  const min = point(root.map?.bounds?.min);
  const max = point(root.map?.bounds?.max);
  const number = (v, fallback) => typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
  if (min === null || max === null) return null;
  return {
    bounds: { min, max },
    cubeHalf: number(root.tuning?.["cube_half"], 0.5),
    pusherHalf: number(root.tuning?.["pusher_half"], 1)
  };
}
var Shape = { Cube: 0, Pusher: 1 };
var CubesButtons = { Dash: 1, Jump: 2 };
function cubesInput(x, z, dash, jump) {
  const length = Math.hypot(x, z);
  const k = length > 1 ? 1 / length : 1;
  return {
    move_x: x * k,
    move_z: z * k,
    buttons: (dash ? CubesButtons.Dash : 0) | (jump ? CubesButtons.Jump : 0)
  };
}
function quaternion(rotation) {
  const largest = Math.round(rotation["largest"] ?? 3);
  const others = [rotation["a"] ?? 0, rotation["b"] ?? 0, rotation["c"] ?? 0];
  const dropped = Math.sqrt(Math.max(0, 1 - others.reduce((sum, v) => sum + v * v, 0)));
  const q = [];
  for (let k = 0, next = 0; k < 4; k++) q.push(k === largest ? dropped : others[next++]);
  return q;
}
function poseOf(entity) {
  const position = entity.components["Position"];
  if (position === void 0) return null;
  const [x, y, z, w] = quaternion(entity.components["Rotation"] ?? {});
  const frontX = 1 - 2 * (y * y + z * z);
  const frontZ = 2 * (x * z - w * y);
  const upY = 1 - 2 * (x * x + z * z);
  return { x: position["x"] ?? 0, y: position["y"] ?? 0, z: position["z"] ?? 0, yaw: Math.atan2(frontZ, frontX), upright: upY };
}
function shapeOf(entity) {
  return entity.components["Shape"]?.["shape"] ?? null;
}
function drawCubes(ctx, entities, ownIndex, info, camera, colors2) {
  const cubeHalf = info?.cubeHalf ?? 0.5;
  const pusherHalf = info?.pusherHalf ?? 1;
  const drawn = entities.map((entity) => ({ entity, pose: poseOf(entity), shape: shapeOf(entity) })).filter((body) => body.pose !== null).filter(({ pose }) => Math.abs(pose.x - camera.x) < camera.halfW + 3 && Math.abs(pose.z - camera.z) < camera.halfH + 3);
  const rank = (body) => body.shape === Shape.Pusher ? body.entity.id.index === ownIndex ? 2 : 1 : 0;
  drawn.sort((a, b) => rank(a) - rank(b));
  for (const { entity, pose, shape } of drawn) {
    const pusher = shape === Shape.Pusher;
    const own = pusher && entity.id.index === ownIndex;
    const half = pusher ? pusherHalf : cubeHalf;
    const lift = Math.max(0, pose.y - half);
    const size = half * (1 + 0.18 * lift);
    ctx.save();
    ctx.translate(pose.x, pose.z);
    ctx.rotate(pose.yaw);
    if (own) {
      ctx.shadowColor = colors2.self;
      ctx.shadowBlur = 18;
    }
    if (pusher) {
      ctx.fillStyle = own ? colors2.self : colors2.player;
    } else {
      const stir = Math.min(1, (1 - Math.max(0, pose.upright)) * 3 + lift);
      ctx.fillStyle = `hsl(${215 - 25 * stir} ${20 + 45 * stir}% ${38 + 30 * stir}%)`;
    }
    ctx.fillRect(-size, -size, 2 * size, 2 * size);
    ctx.shadowBlur = 0;
    ctx.strokeStyle = "rgba(9, 12, 19, 0.7)";
    ctx.lineWidth = 0.06;
    ctx.strokeRect(-size, -size, 2 * size, 2 * size);
    if (pusher) {
      ctx.fillStyle = "rgba(9, 12, 19, 0.6)";
      ctx.fillRect(size * 0.35, -size * 0.25, size * 0.5, size * 0.5);
    }
    ctx.restore();
  }
}

// src/demo/main.ts
var MAX_HEALTH = { [ArenaEntity.Player]: 10, [ArenaEntity.Drone]: 3 };
var VIEW_UNITS = 34;
var EDGE_MARGIN = 1.5;
var HUD_EVERY_MS = 250;
var MIN_SCALE = 2;
var MAX_SCALE = 120;
var PAN_SCREENS_PER_SECOND = 0.8;
var colors = {
  background: "#090c13",
  floor: "#111724",
  grid: "#18202f",
  border: "#2b3a55",
  wall: "#222d42",
  wallEdge: "#3a4b6b",
  self: "#4fd1c5",
  player: "#7aa2f7",
  drone: "#f7768e",
  projectile: "#ffd166",
  dead: "#4a5470",
  cube: "#5b6b8c"
};
function parseSpectate(value) {
  if (value === null) return null;
  if (value.trim() === "") return true;
  const parts = value.split(",").map((part) => part.trim());
  const [x, y] = parts.map(Number);
  if (parts.length !== 2 || parts.includes("") || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new Error(`?spectate=${value}: expected x,y in world units (or ?spectate alone for the whole world)`);
  }
  return { x, y };
}
function transportOption() {
  const value = new URLSearchParams(location.search).get("transport");
  if (value === null || value === "" || value === "auto") return "auto";
  if (value === "http" || value === "websocket") return value;
  throw new Error(`?transport=${value}: expected http, websocket or auto`);
}
var DEFAULT_ROOM = "default";
function settings() {
  const query = new URLSearchParams(location.search);
  const name = query.get("name") ?? "";
  const spectate = parseSpectate(query.get("spectate"));
  const room = query.get("room");
  const kind = query.get("kind");
  const explicitUrl = query.get("url");
  const direct = query.has("direct") || explicitUrl !== null || room === DEFAULT_ROOM || spectate !== null && room === null;
  if (direct) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = explicitUrl ?? `${scheme}://${location.host}/ws`;
    return { url, match: null, name, spectate, room: explicitUrl === null ? DEFAULT_ROOM : "–" };
  }
  const match = {};
  if (kind !== null && kind !== "") match.kind = kind;
  if (room !== null && room !== "") match.roomId = room;
  return { url: location.origin, match, name, spectate, room: "–" };
}
function gameUrl(config, kind) {
  const http = new URL(config.url.replace(/^ws/, "http"));
  http.pathname = "/game.json";
  http.search = kind === void 0 ? "" : `?kind=${encodeURIComponent(kind)}`;
  return http.toString();
}
async function firstSeat(config, match) {
  try {
    return await matchmake(config.url, match);
  } catch (error) {
    if (error instanceof MatchmakeError && !error.retryable) {
      throw new Error(`${error.message} (/?direct plays in the default room)`);
    }
    console.warn("tickcast demo: matchmaking failed, the client retries:", error);
    return null;
  }
}
async function loadGame(url) {
  try {
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    const json = await response.json();
    const cubes = parseCubesInfo(json);
    return { arena: cubes === null ? parseGameInfo(json) : null, cubes };
  } catch (error) {
    console.warn(`tickcast demo: no game description from ${url}:`, error);
    return { arena: null, cubes: null };
  }
}
function placeOf(entity) {
  const transform = entity.components["Transform2"];
  if (transform !== void 0) {
    const { x, y } = transform;
    return x === void 0 || y === void 0 ? null : { x, y };
  }
  const pose = poseOf(entity);
  return pose === null ? null : { x: pose.x, y: pose.z };
}
var Controls = class {
  keys = /* @__PURE__ */ new Set();
  mouseDown = false;
  /** The right button: the arena's rail. */
  railDown = false;
  /** The pointer in CSS pixels. */
  mouseX = 0;
  mouseY = 0;
  constructor(target) {
    const gameKeys = /* @__PURE__ */ new Set(["KeyW", "KeyA", "KeyS", "KeyD", "KeyE", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space", "ShiftLeft", "ShiftRight"]);
    addEventListener("keydown", (event) => {
      if (gameKeys.has(event.code)) {
        event.preventDefault();
        this.keys.add(event.code);
      }
    });
    addEventListener("keyup", (event) => this.keys.delete(event.code));
    addEventListener("blur", () => {
      this.keys.clear();
      this.mouseDown = false;
      this.railDown = false;
    });
    target.addEventListener("pointermove", (event) => {
      this.mouseX = event.clientX;
      this.mouseY = event.clientY;
    });
    target.addEventListener("pointerdown", (event) => {
      this.mouseX = event.clientX;
      this.mouseY = event.clientY;
      if (event.button === 2) {
        this.railDown = true;
      } else {
        this.mouseDown = true;
      }
    });
    addEventListener("pointerup", (event) => {
      if (event.button === 2) {
        this.railDown = false;
      } else {
        this.mouseDown = false;
      }
    });
    target.addEventListener("contextmenu", (event) => event.preventDefault());
  }
  held(...codes) {
    return codes.some((code) => this.keys.has(code));
  }
  /** The input for this tick; `aim` toward the pointer from the player's place on screen. */
  input(aim) {
    const x = (this.held("KeyD", "ArrowRight") ? 1 : 0) - (this.held("KeyA", "ArrowLeft") ? 1 : 0);
    const y = (this.held("KeyS", "ArrowDown") ? 1 : 0) - (this.held("KeyW", "ArrowUp") ? 1 : 0);
    const fire = this.mouseDown || this.held("Space") ? 1 : 0;
    const rail = this.railDown || this.held("KeyE") ? 2 : 0;
    return { move_x: x, move_y: y, aim, buttons: fire | rail };
  }
  /** The cubes game's input: the keys steer on the floor (down the screen is +z), Shift or a click dashes, space jumps. */
  cubesInput() {
    const x = (this.held("KeyD", "ArrowRight") ? 1 : 0) - (this.held("KeyA", "ArrowLeft") ? 1 : 0);
    const z = (this.held("KeyS", "ArrowDown") ? 1 : 0) - (this.held("KeyW", "ArrowUp") ? 1 : 0);
    return cubesInput(x, z, this.mouseDown || this.held("ShiftLeft", "ShiftRight"), this.held("Space"));
  }
};
var SpectatorControls = class {
  keys = /* @__PURE__ */ new Set();
  dragFrom = null;
  /** Pixels dragged since the last frame. */
  dragX = 0;
  dragY = 0;
  /** Zoom factor asked for since the last frame, and about which point (CSS pixels). */
  zoom = 1;
  zoomAtX = 0;
  zoomAtY = 0;
  /** F or Home was pressed. */
  refit = false;
  constructor(target) {
    const panKeys = /* @__PURE__ */ new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);
    addEventListener("keydown", (event) => {
      if (panKeys.has(event.code)) {
        event.preventDefault();
        this.keys.add(event.code);
      } else if (event.code === "KeyF" || event.code === "Home") {
        this.refit = true;
      }
    });
    addEventListener("keyup", (event) => this.keys.delete(event.code));
    addEventListener("blur", () => {
      this.keys.clear();
      this.dragFrom = null;
    });
    target.addEventListener("pointerdown", (event) => {
      this.dragFrom = { x: event.clientX, y: event.clientY };
      target.setPointerCapture(event.pointerId);
      target.style.cursor = "grabbing";
    });
    target.addEventListener("pointermove", (event) => {
      if (this.dragFrom === null) return;
      this.dragX += event.clientX - this.dragFrom.x;
      this.dragY += event.clientY - this.dragFrom.y;
      this.dragFrom = { x: event.clientX, y: event.clientY };
    });
    const release = () => {
      this.dragFrom = null;
      target.style.cursor = "grab";
    };
    target.addEventListener("pointerup", release);
    target.addEventListener("pointercancel", release);
    target.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.zoom *= Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 15e-4));
        this.zoomAtX = event.clientX;
        this.zoomAtY = event.clientY;
      },
      { passive: false }
    );
    target.addEventListener("contextmenu", (event) => event.preventDefault());
    target.style.cursor = "grab";
  }
  held(...codes) {
    return codes.some((code) => this.keys.has(code));
  }
  /** The direction the keys pan, each of x and y in -1, 0, 1. */
  keyPan() {
    return {
      x: (this.held("KeyD", "ArrowRight") ? 1 : 0) - (this.held("KeyA", "ArrowLeft") ? 1 : 0),
      y: (this.held("KeyS", "ArrowDown") ? 1 : 0) - (this.held("KeyW", "ArrowUp") ? 1 : 0)
    };
  }
  /** What the user did since the last call (drag, zoom, refit); clears it. */
  take() {
    const taken = { dragX: this.dragX, dragY: this.dragY, zoom: this.zoom, zoomAtX: this.zoomAtX, zoomAtY: this.zoomAtY, refit: this.refit };
    this.dragX = this.dragY = 0;
    this.zoom = 1;
    this.refit = false;
    return taken;
  }
};
var FrameTimer = class {
  times = [];
  frame(now) {
    this.times.push(now);
    while (this.times.length > 2 && this.times[0] < now - 1e3) {
      this.times.shift();
    }
  }
  meanMs() {
    const n = this.times.length;
    return n < 2 ? null : (this.times[n - 1] - this.times[0]) / (n - 1);
  }
};
function numberOf(entity, component, field) {
  return entity.components[component]?.[field];
}
function healthColor(fraction) {
  const hue = Math.round(120 * Math.max(0, Math.min(1, fraction)));
  return `hsl(${hue} 70% 55%)`;
}
async function main() {
  const canvas = document.getElementById("view");
  const context = canvas.getContext("2d", { alpha: false });
  if (context === null) {
    throw new Error("no 2D canvas");
  }
  const ctx = context;
  const hud = (id) => document.getElementById(id);
  const status = hud("status");
  const config = settings();
  const match = config.match;
  const seat = match === null ? null : await firstSeat(config, match);
  const loaded = await loadGame(gameUrl(config, seat?.kind ?? match?.kind));
  const game = loaded.arena;
  const cubes = loaded.cubes;
  const floor = game?.map.bounds ?? cubes?.bounds ?? null;
  const walls = game?.map.walls ?? [];
  const map = game === null ? null : new ArenaMap(game.map);
  const tuning = game?.tuning;
  const radius = {
    player: tuning?.player_radius ?? 0.6,
    drone: tuning?.drone_radius ?? 0.5,
    projectile: tuning?.projectile_radius ?? 0.15
  };
  const spectate = config.spectate;
  const matchmaking = {
    ...match === null ? {} : { matchmake: seat === null ? match : { ...match, seat } },
    transport: transportOption()
  };
  const client = spectate === null ? TickcastClient.connect(config.url, {
    ...matchmaking,
    name: config.name,
    prediction: (welcome) => welcome.schema.game === "arena" && map !== null && tuning !== void 0 ? arenaPredictionModel(map, tuning) : null
  }) : TickcastClient.connect(config.url, { ...matchmaking, name: config.name, spectate });
  const controls = spectate === null ? new Controls(canvas) : null;
  const spectator = spectate === null ? null : new SpectatorControls(canvas);
  const frames = new FrameTimer();
  if (spectate !== null) {
    hud("hud-mode").hidden = false;
    hud("score").hidden = true;
    hud("help").textContent = (spectate === true ? "spectating the whole world" : `spectating around ${spectate.x}, ${spectate.y}`) + " · drag / WASD pan · wheel zooms · F resets the view";
  }
  let cameraX = floor === null ? 0 : (floor.min[0] + floor.max[0]) / 2;
  let cameraY = floor === null ? 0 : (floor.min[1] + floor.max[1]) / 2;
  let scale = 20;
  let self = null;
  let spectatorHome = true;
  let lastFrameAt = null;
  const serverPlayer = () => {
    const entity = client.player();
    const schema = client.schema;
    if (entity === void 0 || schema === null) return null;
    return placeOf(schema.decode(entity));
  };
  const playingCubes = () => client.schema?.schema.game === "cubes";
  if (controls !== null) {
    client.startInputLoop(() => {
      if (playingCubes()) return controls.cubesInput();
      const px = (self?.x ?? cameraX) - cameraX;
      const py = (self?.y ?? cameraY) - cameraY;
      const mx = (controls.mouseX - innerWidth / 2) / scale;
      const my = (controls.mouseY - innerHeight / 2) / scale;
      return controls.input(Math.atan2(my - py, mx - px));
    });
  }
  let statusText = "connecting…";
  client.on("welcome", (welcome) => {
    statusText = "";
    if (welcome.schema.game === "cubes") {
      document.querySelector(".title span").textContent = "cubes";
      hud("score").hidden = true;
      if (spectate === null) hud("help").textContent = "WASD / arrows push · shift or click dashes · space jumps";
    }
  });
  client.on("close", (event) => {
    statusText = event.reconnectInMs === null ? `disconnected: ${event.reason || event.code}` : `connection lost (${event.reason || event.code}); reconnecting…`;
  });
  client.on("divergence", (event) => {
    console.warn("tickcast demo: diverged, reconnecting:", event.reason);
  });
  const demoStats = () => {
    const state = client.predictor?.state;
    return {
      ...client.stats(),
      frameMs: frames.meanMs(),
      player: state == null ? serverPlayer() : { x: state.x, y: state.y },
      serverPlayer: serverPlayer(),
      spectating: spectate !== null,
      camera: { x: cameraX, y: cameraY, scale }
    };
  };
  window.tickcast = { client, stats: demoStats };
  const resize = () => {
    const ratio = devicePixelRatio || 1;
    canvas.width = Math.round(innerWidth * ratio);
    canvas.height = Math.round(innerHeight * ratio);
    canvas.style.width = `${innerWidth}px`;
    canvas.style.height = `${innerHeight}px`;
  };
  addEventListener("resize", resize);
  resize();
  let hudAt = 0;
  const updateHud = (now) => {
    if (now - hudAt < HUD_EVERY_MS) return;
    hudAt = now;
    const stats = demoStats();
    const fixed = (value, digits) => value === null ? "–" : value.toFixed(digits);
    hud("hud-rtt").textContent = fixed(stats.rttMs, 0);
    hud("hud-kbps").textContent = fixed(stats.downKbps, 1);
    hud("hud-entities").textContent = String(stats.entities);
    hud("hud-room").textContent = stats.roomId ?? config.room;
    hud("hud-transport").textContent = stats.connected ? stats.transport : "–";
    hud("hud-error").textContent = fixed(stats.predictionError, 3);
    hud("hud-frame").textContent = stats.frameMs === null ? "–" : `${Math.round(1e3 / stats.frameMs)} fps · ${stats.frameMs.toFixed(1)} ms`;
    const own = client.player();
    const score = own === void 0 ? void 0 : client.schema?.decode(own).components["Score"];
    hud("hud-kills").textContent = String(score?.["kills"] ?? 0);
    hud("hud-deaths").textContent = String(score?.["deaths"] ?? 0);
    status.textContent = statusText;
    status.hidden = statusText === "";
  };
  const drawFloor = (left, top, right, bottom) => {
    if (floor === null) return;
    const { min, max } = floor;
    ctx.fillStyle = colors.floor;
    ctx.fillRect(min[0], min[1], max[0] - min[0], max[1] - min[1]);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1 / scale;
    ctx.beginPath();
    for (let x = Math.max(min[0], Math.ceil(left / 5) * 5); x <= Math.min(max[0], right); x += 5) {
      ctx.moveTo(x, min[1]);
      ctx.lineTo(x, max[1]);
    }
    for (let y = Math.max(min[1], Math.ceil(top / 5) * 5); y <= Math.min(max[1], bottom); y += 5) {
      ctx.moveTo(min[0], y);
      ctx.lineTo(max[0], y);
    }
    ctx.stroke();
    ctx.strokeStyle = colors.border;
    ctx.lineWidth = 3 / scale;
    ctx.strokeRect(min[0], min[1], max[0] - min[0], max[1] - min[1]);
    for (const wall of walls) {
      const [x, y] = wall.min;
      const w = wall.max[0] - x;
      const h = wall.max[1] - y;
      ctx.fillStyle = colors.wall;
      ctx.fillRect(x, y, w, h);
      ctx.strokeStyle = colors.wallEdge;
      ctx.lineWidth = 2 / scale;
      ctx.strokeRect(x, y, w, h);
    }
  };
  const drawHealth = (x, y, r, hp, max) => {
    if (hp >= max) return;
    const width = 1.6;
    const top = y - r - 0.55;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(x - width / 2, top, width, 0.22);
    ctx.fillStyle = healthColor(hp / max);
    ctx.fillRect(x - width / 2, top, width * Math.max(0, hp) / max, 0.22);
  };
  const drawBody = (x, y, angle, r, color, glow) => {
    ctx.save();
    if (glow) {
      ctx.shadowColor = color;
      ctx.shadowBlur = 18;
    }
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.restore();
    ctx.strokeStyle = color;
    ctx.lineWidth = 0.22;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(x + Math.cos(angle) * r * 0.6, y + Math.sin(angle) * r * 0.6);
    ctx.lineTo(x + Math.cos(angle) * (r + 0.45), y + Math.sin(angle) * (r + 0.45));
    ctx.stroke();
    ctx.fillStyle = "rgba(9, 12, 19, 0.55)";
    ctx.beginPath();
    ctx.arc(x, y, r * 0.45, 0, Math.PI * 2);
    ctx.fill();
  };
  const drawDrone = (x, y, angle) => {
    const r = radius.drone;
    ctx.fillStyle = colors.drone;
    ctx.beginPath();
    for (let i = 0; i < 6; i++) {
      const a = angle + i * Math.PI / 3;
      ctx.lineTo(x + Math.cos(a) * r * 1.1, y + Math.sin(a) * r * 1.1);
    }
    ctx.closePath();
    ctx.fill();
    ctx.fillStyle = "rgba(9, 12, 19, 0.6)";
    ctx.beginPath();
    ctx.arc(x + Math.cos(angle) * r * 0.35, y + Math.sin(angle) * r * 0.35, r * 0.3, 0, Math.PI * 2);
    ctx.fill();
  };
  const drawProjectile = (x, y, angle) => {
    const r = radius.projectile;
    ctx.strokeStyle = "rgba(255, 209, 102, 0.35)";
    ctx.lineWidth = r * 1.6;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x - Math.cos(angle) * 0.9, y - Math.sin(angle) * 0.9);
    ctx.stroke();
    ctx.fillStyle = colors.projectile;
    ctx.beginPath();
    ctx.arc(x, y, r * 1.3, 0, Math.PI * 2);
    ctx.fill();
  };
  const drawMinimap = (entities, ownIndex) => {
    if (floor === null) return;
    const { min, max } = floor;
    const worldW = max[0] - min[0];
    const worldH = max[1] - min[1];
    const ratio = devicePixelRatio || 1;
    const width = Math.min(200, innerWidth * 0.22) * ratio;
    const k = width / worldW;
    const height = worldH * k;
    const left = canvas.width - width - 16 * ratio;
    const top = canvas.height - height - 16 * ratio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 0.85;
    ctx.fillStyle = "rgba(9, 12, 19, 0.8)";
    ctx.fillRect(left - 4 * ratio, top - 4 * ratio, width + 8 * ratio, height + 8 * ratio);
    ctx.fillStyle = colors.floor;
    ctx.fillRect(left, top, width, height);
    ctx.fillStyle = colors.wallEdge;
    for (const wall of walls) {
      ctx.fillRect(left + (wall.min[0] - min[0]) * k, top + (wall.min[1] - min[1]) * k, (wall.max[0] - wall.min[0]) * k, (wall.max[1] - wall.min[1]) * k);
    }
    let own = self;
    for (const entity of entities) {
      const kind = numberOf(entity, "EntityKind", "kind");
      const place = placeOf(entity);
      if (place === null || kind === ArenaEntity.Projectile) continue;
      if (entity.id.index === ownIndex) {
        own ??= place;
        continue;
      }
      const shape = numberOf(entity, "Shape", "shape");
      ctx.fillStyle = kind === ArenaEntity.Drone ? colors.drone : shape === Shape.Cube ? colors.cube : colors.player;
      ctx.fillRect(left + (place.x - min[0]) * k - ratio, top + (place.y - min[1]) * k - ratio, 2 * ratio, 2 * ratio);
    }
    if (own !== null) {
      ctx.fillStyle = colors.self;
      ctx.beginPath();
      ctx.arc(left + (own.x - min[0]) * k, top + (own.y - min[1]) * k, 3 * ratio, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.strokeStyle = "rgba(255, 255, 255, 0.35)";
    ctx.lineWidth = ratio;
    ctx.strokeRect(left + (cameraX - innerWidth / 2 / scale - min[0]) * k, top + (cameraY - innerHeight / 2 / scale - min[1]) * k, innerWidth / scale * k, innerHeight / scale * k);
    ctx.globalAlpha = 1;
  };
  const worldBox = (entities) => {
    if (floor !== null) return { min: [...floor.min], max: [...floor.max] };
    let box = null;
    for (const entity of entities) {
      const place = placeOf(entity);
      if (place === null) continue;
      const { x, y } = place;
      box ??= { min: [x, y], max: [x, y] };
      box.min = [Math.min(box.min[0], x), Math.min(box.min[1], y)];
      box.max = [Math.max(box.max[0], x), Math.max(box.max[1], y)];
    }
    return box;
  };
  const spectatorCamera = (spectateAt, controls2, entities, now) => {
    const moved = controls2.take();
    const dt = lastFrameAt === null ? 0 : Math.min(0.1, (now - lastFrameAt) / 1e3);
    const pan = controls2.keyPan();
    if (moved.refit) spectatorHome = true;
    if (moved.dragX !== 0 || moved.dragY !== 0 || moved.zoom !== 1 || pan.x !== 0 || pan.y !== 0) spectatorHome = false;
    if (spectatorHome) {
      if (spectateAt === true) {
        const box2 = worldBox(entities);
        if (box2 !== null) {
          const w = Math.max(1, box2.max[0] - box2.min[0] + 2 * EDGE_MARGIN);
          const h = Math.max(1, box2.max[1] - box2.min[1] + 2 * EDGE_MARGIN);
          scale = Math.min(innerWidth / w, innerHeight / h);
          cameraX = (box2.min[0] + box2.max[0]) / 2;
          cameraY = (box2.min[1] + box2.max[1]) / 2;
        }
      } else {
        scale = Math.min(innerWidth, innerHeight) / VIEW_UNITS;
        cameraX = spectateAt.x;
        cameraY = spectateAt.y;
      }
      return;
    }
    if (moved.zoom !== 1) {
      const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * moved.zoom));
      const wx = cameraX + (moved.zoomAtX - innerWidth / 2) / scale;
      const wy = cameraY + (moved.zoomAtY - innerHeight / 2) / scale;
      cameraX = wx - (moved.zoomAtX - innerWidth / 2) / next;
      cameraY = wy - (moved.zoomAtY - innerHeight / 2) / next;
      scale = next;
    }
    const speed = PAN_SCREENS_PER_SECOND * Math.min(innerWidth, innerHeight) / scale;
    cameraX += -moved.dragX / scale + pan.x * speed * dt;
    cameraY += -moved.dragY / scale + pan.y * speed * dt;
    const box = worldBox(entities);
    if (box !== null) {
      cameraX = Math.min(box.max[0] + EDGE_MARGIN, Math.max(box.min[0] - EDGE_MARGIN, cameraX));
      cameraY = Math.min(box.max[1] + EDGE_MARGIN, Math.max(box.min[1] - EDGE_MARGIN, cameraY));
    }
  };
  const render = (now) => {
    frames.frame(now);
    const ratio = devicePixelRatio || 1;
    const interpolator = client.interpolator;
    const entities = interpolator === null ? [] : interpolator.sample(now);
    const ownIndex = client.welcome?.player?.index ?? null;
    self = client.predictor?.render(now) ?? null;
    const ownRemote = entities.find((entity) => entity.id.index === ownIndex);
    if (spectate !== null && spectator !== null) {
      spectatorCamera(spectate, spectator, entities, now);
    } else {
      scale = Math.min(innerWidth, innerHeight) / VIEW_UNITS;
    }
    lastFrameAt = now;
    if (spectate !== null) {
    } else if (self === null && ownRemote !== void 0) {
      const place = placeOf(ownRemote);
      if (place !== null) {
        cameraX = place.x;
        cameraY = place.y;
      }
    } else if (self !== null) {
      cameraX = self.x;
      cameraY = self.y;
    }
    const halfW = innerWidth / 2 / scale;
    const halfH = innerHeight / 2 / scale;
    if (floor !== null && spectate === null) {
      const { min, max } = floor;
      const keep = (at, low, high, half) => high - low + 2 * EDGE_MARGIN <= 2 * half ? (low + high) / 2 : Math.min(high + EDGE_MARGIN - half, Math.max(low - EDGE_MARGIN + half, at));
      cameraX = keep(cameraX, min[0], max[0], halfW);
      cameraY = keep(cameraY, min[1], max[1], halfH);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(scale * ratio, 0, 0, scale * ratio, (innerWidth / 2 - cameraX * scale) * ratio, (innerHeight / 2 - cameraY * scale) * ratio);
    drawFloor(cameraX - halfW, cameraY - halfH, cameraX + halfW, cameraY + halfH);
    if (playingCubes()) {
      drawCubes(ctx, entities, ownIndex, cubes, { x: cameraX, z: cameraY, halfW, halfH }, colors);
    }
    const order = (entity) => {
      const kind = numberOf(entity, "EntityKind", "kind");
      return kind === ArenaEntity.Projectile ? 0 : kind === ArenaEntity.Drone ? 1 : 2;
    };
    entities.sort((a, b) => order(a) - order(b));
    for (const entity of entities) {
      const x = numberOf(entity, "Transform2", "x");
      const y = numberOf(entity, "Transform2", "y");
      if (x === void 0 || y === void 0) continue;
      if (Math.abs(x - cameraX) > halfW + 2 || Math.abs(y - cameraY) > halfH + 2) continue;
      const angle = numberOf(entity, "Transform2", "angle") ?? 0;
      const kind = numberOf(entity, "EntityKind", "kind") ?? ArenaEntity.Player;
      const hp = numberOf(entity, "Health", "hp");
      if (kind === ArenaEntity.Projectile) {
        drawProjectile(x, y, angle);
      } else if (kind === ArenaEntity.Drone) {
        drawDrone(x, y, angle);
        if (hp !== void 0) drawHealth(x, y, radius.drone, hp, MAX_HEALTH[kind] ?? 3);
      } else if (entity.id.index === ownIndex) {
        if (self === null) {
          drawBody(x, y, angle, radius.player, hp === 0 ? colors.dead : colors.self, hp !== 0);
        }
      } else {
        drawBody(x, y, angle, radius.player, hp === 0 ? colors.dead : colors.player, false);
        if (hp !== void 0 && hp > 0) drawHealth(x, y, radius.player, hp, MAX_HEALTH[kind] ?? 10);
      }
    }
    if (spectate !== null && spectate !== true) {
      ctx.strokeStyle = "rgba(79, 209, 197, 0.55)";
      ctx.lineWidth = 2 / scale;
      ctx.beginPath();
      ctx.moveTo(spectate.x - 0.8, spectate.y);
      ctx.lineTo(spectate.x + 0.8, spectate.y);
      ctx.moveTo(spectate.x, spectate.y - 0.8);
      ctx.lineTo(spectate.x, spectate.y + 0.8);
      ctx.stroke();
    }
    if (self !== null && controls !== null) {
      const aim = Math.atan2(
        controls.mouseY - (innerHeight / 2 + (self.y - cameraY) * scale),
        controls.mouseX - (innerWidth / 2 + (self.x - cameraX) * scale)
      );
      drawBody(self.x, self.y, aim, radius.player, colors.self, true);
      ctx.strokeStyle = "rgba(79, 209, 197, 0.35)";
      ctx.lineWidth = 0.08;
      ctx.beginPath();
      ctx.arc(self.x, self.y, radius.player + 0.35, 0, Math.PI * 2);
      ctx.stroke();
      const hp = ownRemote === void 0 ? void 0 : numberOf(ownRemote, "Health", "hp");
      if (hp !== void 0) drawHealth(self.x, self.y, radius.player, hp, MAX_HEALTH[ArenaEntity.Player] ?? 10);
    }
    if (!(spectate === true && spectatorHome)) drawMinimap(entities, ownIndex);
    updateHud(now);
    requestAnimationFrame(render);
  };
  requestAnimationFrame(render);
}
main().catch((error) => {
  const status = document.getElementById("status");
  if (status !== null) {
    status.hidden = false;
    status.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
  }
  console.error(error);
});
