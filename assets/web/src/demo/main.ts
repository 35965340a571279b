/**
 * The demo page: the arena in a canvas, played through the SDK; or the cubes game (3D,
 * `?kind=cubes`, or a server whose default game it is) from above, drawn by `cubes.ts`
 * from the world values the SDK decodes with the Welcome schema alone.
 *
 * Remote entities are drawn from the interpolation buffer (a little in the past, smooth);
 * the local player from the predictor (at once, reconciled with the server's acks). The
 * camera follows the player; WASD or the arrows move, the mouse aims, a click or space
 * fires, a right-click or E fires the hitscan rail (lag-compensated on the server). The HUD shows the connection's figures, and `window.tickcast` exposes them to
 * the browser test.
 *
 * The page joins through matchmaking: `POST /matchmake` for the server's default game
 * (`?kind=` asks for another, `?room=ID` for one room), then the room it was given, shown
 * in the HUD; a drop resumes there. `?direct` (or `?room=default`, or `?url=ws://…`)
 * connects to the plain `/ws` instead, the node's default room, as before matchmaking.
 *
 * `?spectate` watches the whole world as a spectator (no player, no inputs): the camera
 * fits the map to the window; `?spectate=x,y` watches the area around that point. Either
 * way a drag, WASD or the arrows pan, the wheel zooms, and F goes back to the first view.
 * Spectators watch the default room unless `?room=ID` names another.
 *
 * The SDK picks the transport (a WebSocket, or the HTTP fallback where WebSockets do not
 * get through), and the HUD shows which; `?transport=http` or `?transport=websocket`
 * forces one.
 */

import {
  ArenaEntity,
  ArenaMap,
  type ArenaPlayerState,
  arenaPredictionModel,
  type ClientStats,
  type ClientTransport,
  type GameInfo,
  type InputValues,
  type MatchRequest,
  matchmake,
  MatchmakeError,
  parseGameInfo,
  type Seat,
  type Spectate,
  TickcastClient,
  type WorldEntity,
} from '../index.js';
import { type CubesInfo, cubesInput, drawCubes, parseCubesInfo, poseOf, Shape } from './cubes.js';

/** Full health by entity kind (the arena's tuning: players 10, drones 3), for the bars. */
const MAX_HEALTH: Record<number, number> = { [ArenaEntity.Player]: 10, [ArenaEntity.Drone]: 3 };
/** World units across the shorter side of the window. */
const VIEW_UNITS = 34;
/** World units of the void the camera may show past the floor's edge. */
const EDGE_MARGIN = 1.5;
/** How often the HUD text is refreshed, ms (figures are per-second means anyway). */
const HUD_EVERY_MS = 250;
/** Spectator camera: the zoom range (pixels per world unit) and the key pan speed (screens per second). */
const MIN_SCALE = 2;
const MAX_SCALE = 120;
const PAN_SCREENS_PER_SECOND = 0.8;

const colors = {
  background: '#090c13',
  floor: '#111724',
  grid: '#18202f',
  border: '#2b3a55',
  wall: '#222d42',
  wallEdge: '#3a4b6b',
  self: '#4fd1c5',
  player: '#7aa2f7',
  drone: '#f7768e',
  projectile: '#ffd166',
  dead: '#4a5470',
  cube: '#5b6b8c',
};

interface Settings {
  /** Matchmaking: the node's HTTP base (the page's origin); direct: the WebSocket URL. */
  readonly url: string;
  /** What to ask the matchmaker for; null: connect to `url` directly. */
  readonly match: MatchRequest | null;
  readonly name: string;
  /** `?spectate` (the whole world) or `?spectate=x,y` (a point); null: play. */
  readonly spectate: Spectate | null;
  /** The room id the HUD shows before a seat says otherwise. */
  readonly room: string;
}

/** `?spectate` alone is the whole world; `?spectate=x,y` a point in world units. */
function parseSpectate(value: string | null): Spectate | null {
  if (value === null) return null;
  if (value.trim() === '') return true;
  const parts = value.split(',').map((part) => part.trim());
  const [x, y] = parts.map(Number);
  if (parts.length !== 2 || parts.includes('') || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new Error(`?spectate=${value}: expected x,y in world units (or ?spectate alone for the whole world)`);
  }
  return { x: x!, y: y! };
}

/** `?transport=http` or `?transport=websocket` forces one; otherwise the SDK chooses (`auto`). */
function transportOption(): ClientTransport {
  const value = new URLSearchParams(location.search).get('transport');
  if (value === null || value === '' || value === 'auto') return 'auto';
  if (value === 'http' || value === 'websocket') return value;
  throw new Error(`?transport=${value}: expected http, websocket or auto`);
}

/** The id of the room plain `/ws` joins; `?room=default` asks for it. */
const DEFAULT_ROOM = 'default';

function settings(): Settings {
  const query = new URLSearchParams(location.search);
  const name = query.get('name') ?? '';
  const spectate = parseSpectate(query.get('spectate'));
  const room = query.get('room');
  const kind = query.get('kind');
  const explicitUrl = query.get('url');
  // A spectator has no seat to take unless it asks for a room: it watches the default
  // room, which plain /ws joins.
  const direct =
    query.has('direct') || explicitUrl !== null || room === DEFAULT_ROOM || (spectate !== null && room === null);
  if (direct) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = explicitUrl ?? `${scheme}://${location.host}/ws`;
    return { url, match: null, name, spectate, room: explicitUrl === null ? DEFAULT_ROOM : '–' };
  }
  const match: { kind?: string; roomId?: string } = {};
  if (kind !== null && kind !== '') match.kind = kind;
  if (room !== null && room !== '') match.roomId = room;
  return { url: location.origin, match, name, spectate, room: '–' };
}

/**
 * Where the game's static data is: `/game.json` of the server the socket goes to, with
 * `?kind=` for a matchmade room of a kind that may not be the default room's.
 */
function gameUrl(config: Settings, kind: string | undefined): string {
  const http = new URL(config.url.replace(/^ws/, 'http'));
  http.pathname = '/game.json';
  http.search = kind === undefined ? '' : `?kind=${encodeURIComponent(kind)}`;
  return http.toString();
}

/**
 * The first seat, taken here rather than by the client so that its kind is known before
 * the map is loaded. A refusal that will not change (an unknown kind or room) ends the
 * page; any other failure leaves the seat to the client, which retries with backoff and
 * shows why in the status line meanwhile.
 */
async function firstSeat(config: Settings, match: MatchRequest): Promise<Seat | null> {
  try {
    return await matchmake(config.url, match);
  } catch (error) {
    if (error instanceof MatchmakeError && !error.retryable) {
      throw new Error(`${error.message} (/?direct plays in the default room)`);
    }
    console.warn('tickcast demo: matchmaking failed, the client retries:', error);
    return null;
  }
}

/** The game's static data: the arena's (map and tuning), or the cubes game's (its floor). */
async function loadGame(url: string): Promise<{ arena: GameInfo | null; cubes: CubesInfo | null }> {
  try {
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    const json: unknown = await response.json();
    const cubes = parseCubesInfo(json);
    return { arena: cubes === null ? parseGameInfo(json) : null, cubes };
  } catch (error) {
    // Without the map the game is still playable: no walls drawn, no prediction.
    console.warn(`tickcast demo: no game description from ${url}:`, error);
    return { arena: null, cubes: null };
  }
}

/** Where an entity is on the floor, drawn as screen x and y: the arena's x, y; the cubes game's x, z. */
function placeOf(entity: WorldEntity): { x: number; y: number } | null {
  const transform = entity.components['Transform2'];
  if (transform !== undefined) {
    const { x, y } = transform;
    return x === undefined || y === undefined ? null : { x, y };
  }
  const pose = poseOf(entity);
  return pose === null ? null : { x: pose.x, y: pose.z };
}

/** Keyboard and mouse, turned into the arena's input each tick. */
class Controls {
  private readonly keys = new Set<string>();
  private mouseDown = false;
  /** The right button: the arena's rail. */
  private railDown = false;
  /** The pointer in CSS pixels. */
  mouseX = 0;
  mouseY = 0;

  constructor(target: HTMLElement) {
    const gameKeys = new Set(['KeyW', 'KeyA', 'KeyS', 'KeyD', 'KeyE', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Space', 'ShiftLeft', 'ShiftRight']);
    addEventListener('keydown', (event) => {
      if (gameKeys.has(event.code)) {
        event.preventDefault();
        this.keys.add(event.code);
      }
    });
    addEventListener('keyup', (event) => this.keys.delete(event.code));
    // A key released while the page had no focus would otherwise stay held.
    addEventListener('blur', () => {
      this.keys.clear();
      this.mouseDown = false;
      this.railDown = false;
    });
    target.addEventListener('pointermove', (event) => {
      this.mouseX = event.clientX;
      this.mouseY = event.clientY;
    });
    target.addEventListener('pointerdown', (event) => {
      this.mouseX = event.clientX;
      this.mouseY = event.clientY;
      if (event.button === 2) {
        this.railDown = true;
      } else {
        this.mouseDown = true;
      }
    });
    addEventListener('pointerup', (event) => {
      if (event.button === 2) {
        this.railDown = false;
      } else {
        this.mouseDown = false;
      }
    });
    target.addEventListener('contextmenu', (event) => event.preventDefault());
  }

  private held(...codes: string[]): boolean {
    return codes.some((code) => this.keys.has(code));
  }

  /** The input for this tick; `aim` toward the pointer from the player's place on screen. */
  input(aim: number): InputValues {
    const x = (this.held('KeyD', 'ArrowRight') ? 1 : 0) - (this.held('KeyA', 'ArrowLeft') ? 1 : 0);
    const y = (this.held('KeyS', 'ArrowDown') ? 1 : 0) - (this.held('KeyW', 'ArrowUp') ? 1 : 0);
    // Bit 0 fires projectiles while held; bit 1 fires the hitscan rail once per press,
    // resolved by the server where this page showed the targets (the input's view tick).
    const fire = this.mouseDown || this.held('Space') ? 1 : 0;
    const rail = this.railDown || this.held('KeyE') ? 2 : 0;
    return { move_x: x, move_y: y, aim, buttons: fire | rail };
  }

  /** The cubes game's input: the keys steer on the floor (down the screen is +z), Shift or a click dashes, space jumps. */
  cubesInput(): InputValues {
    const x = (this.held('KeyD', 'ArrowRight') ? 1 : 0) - (this.held('KeyA', 'ArrowLeft') ? 1 : 0);
    const z = (this.held('KeyS', 'ArrowDown') ? 1 : 0) - (this.held('KeyW', 'ArrowUp') ? 1 : 0);
    return cubesInput(x, z, this.mouseDown || this.held('ShiftLeft', 'ShiftRight'), this.held('Space'));
  }
}

/**
 * The spectator's camera controls: a drag, WASD or the arrows pan, the wheel zooms about
 * the pointer, F (or Home) asks for the first view again. The camera itself is the
 * render loop's; this only collects what the user did since the last frame.
 */
class SpectatorControls {
  private readonly keys = new Set<string>();
  private dragFrom: { x: number; y: number } | null = null;
  /** Pixels dragged since the last frame. */
  dragX = 0;
  dragY = 0;
  /** Zoom factor asked for since the last frame, and about which point (CSS pixels). */
  zoom = 1;
  zoomAtX = 0;
  zoomAtY = 0;
  /** F or Home was pressed. */
  refit = false;

  constructor(target: HTMLElement) {
    const panKeys = new Set(['KeyW', 'KeyA', 'KeyS', 'KeyD', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight']);
    addEventListener('keydown', (event) => {
      if (panKeys.has(event.code)) {
        event.preventDefault();
        this.keys.add(event.code);
      } else if (event.code === 'KeyF' || event.code === 'Home') {
        this.refit = true;
      }
    });
    addEventListener('keyup', (event) => this.keys.delete(event.code));
    addEventListener('blur', () => {
      this.keys.clear();
      this.dragFrom = null;
    });
    target.addEventListener('pointerdown', (event) => {
      this.dragFrom = { x: event.clientX, y: event.clientY };
      target.setPointerCapture(event.pointerId);
      target.style.cursor = 'grabbing';
    });
    target.addEventListener('pointermove', (event) => {
      if (this.dragFrom === null) return;
      this.dragX += event.clientX - this.dragFrom.x;
      this.dragY += event.clientY - this.dragFrom.y;
      this.dragFrom = { x: event.clientX, y: event.clientY };
    });
    const release = () => {
      this.dragFrom = null;
      target.style.cursor = 'grab';
    };
    target.addEventListener('pointerup', release);
    target.addEventListener('pointercancel', release);
    target.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        this.zoom *= Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
        this.zoomAtX = event.clientX;
        this.zoomAtY = event.clientY;
      },
      { passive: false },
    );
    target.addEventListener('contextmenu', (event) => event.preventDefault());
    target.style.cursor = 'grab';
  }

  private held(...codes: string[]): boolean {
    return codes.some((code) => this.keys.has(code));
  }

  /** The direction the keys pan, each of x and y in -1, 0, 1. */
  keyPan(): { x: number; y: number } {
    return {
      x: (this.held('KeyD', 'ArrowRight') ? 1 : 0) - (this.held('KeyA', 'ArrowLeft') ? 1 : 0),
      y: (this.held('KeyS', 'ArrowDown') ? 1 : 0) - (this.held('KeyW', 'ArrowUp') ? 1 : 0),
    };
  }

  /** What the user did since the last call (drag, zoom, refit); clears it. */
  take(): { dragX: number; dragY: number; zoom: number; zoomAtX: number; zoomAtY: number; refit: boolean } {
    const taken = { dragX: this.dragX, dragY: this.dragY, zoom: this.zoom, zoomAtX: this.zoomAtX, zoomAtY: this.zoomAtY, refit: this.refit };
    this.dragX = this.dragY = 0;
    this.zoom = 1;
    this.refit = false;
    return taken;
  }
}

/** Mean frame interval over the last second. */
class FrameTimer {
  private readonly times: number[] = [];

  frame(now: number): void {
    this.times.push(now);
    while (this.times.length > 2 && this.times[0]! < now - 1000) {
      this.times.shift();
    }
  }

  meanMs(): number | null {
    const n = this.times.length;
    return n < 2 ? null : (this.times[n - 1]! - this.times[0]!) / (n - 1);
  }
}

function numberOf(entity: WorldEntity, component: string, field: string): number | undefined {
  return entity.components[component]?.[field];
}

function healthColor(fraction: number): string {
  // Green at full, through amber, to red.
  const hue = Math.round(120 * Math.max(0, Math.min(1, fraction)));
  return `hsl(${hue} 70% 55%)`;
}

async function main(): Promise<void> {
  const canvas = document.getElementById('view') as HTMLCanvasElement;
  const context = canvas.getContext('2d', { alpha: false });
  if (context === null) {
    throw new Error('no 2D canvas');
  }
  const ctx: CanvasRenderingContext2D = context;
  const hud = (id: string) => document.getElementById(id) as HTMLElement;
  const status = hud('status');
  const config = settings();
  const match = config.match;
  const seat = match === null ? null : await firstSeat(config, match);
  const loaded = await loadGame(gameUrl(config, seat?.kind ?? match?.kind));
  const game = loaded.arena;
  const cubes = loaded.cubes;
  /** The floor, whichever the game: the arena's map bounds or the cubes game's x/z. */
  const floor = game?.map.bounds ?? cubes?.bounds ?? null;
  const walls = game?.map.walls ?? [];
  const map = game === null ? null : new ArenaMap(game.map);
  const tuning = game?.tuning;
  const radius = {
    player: tuning?.player_radius ?? 0.6,
    drone: tuning?.drone_radius ?? 0.5,
    projectile: tuning?.projectile_radius ?? 0.15,
  };

  const spectate = config.spectate;
  // Matchmaking: the seat first (if there is one), and after a drop back to its room.
  const matchmaking = {
    ...(match === null ? {} : { matchmake: seat === null ? match : { ...match, seat } }),
    transport: transportOption(),
  };
  const client =
    spectate === null
      ? TickcastClient.connect<ArenaPlayerState>(config.url, {
          ...matchmaking,
          name: config.name,
          prediction: (welcome) =>
            welcome.schema.game === 'arena' && map !== null && tuning !== undefined ? arenaPredictionModel(map, tuning) : null,
        })
      : TickcastClient.connect<ArenaPlayerState>(config.url, { ...matchmaking, name: config.name, spectate });
  const controls = spectate === null ? new Controls(canvas) : null;
  const spectator = spectate === null ? null : new SpectatorControls(canvas);
  const frames = new FrameTimer();
  if (spectate !== null) {
    hud('hud-mode').hidden = false;
    hud('score').hidden = true;
    hud('help').textContent =
      (spectate === true ? 'spectating the whole world' : `spectating around ${spectate.x}, ${spectate.y}`) +
      ' · drag / WASD pan · wheel zooms · F resets the view';
  }

  // Where the camera looks (world units) and the scale, updated every frame.
  let cameraX = floor === null ? 0 : (floor.min[0] + floor.max[0]) / 2;
  let cameraY = floor === null ? 0 : (floor.min[1] + floor.max[1]) / 2;
  let scale = 20;
  let self: ArenaPlayerState | null = null;
  /** Spectating: whether the camera shows the first view (the whole map, or the point) rather than where the user moved it. */
  let spectatorHome = true;
  let lastFrameAt: number | null = null;

  const serverPlayer = (): { x: number; y: number } | null => {
    const entity = client.player();
    const schema = client.schema;
    if (entity === undefined || schema === null) return null;
    return placeOf(schema.decode(entity));
  };
  const playingCubes = () => client.schema?.schema.game === 'cubes';

  if (controls !== null) {
    client.startInputLoop(() => {
      if (playingCubes()) return controls.cubesInput();
      // Aim from the player's predicted place toward the pointer.
      const px = (self?.x ?? cameraX) - cameraX;
      const py = (self?.y ?? cameraY) - cameraY;
      const mx = (controls.mouseX - innerWidth / 2) / scale;
      const my = (controls.mouseY - innerHeight / 2) / scale;
      return controls.input(Math.atan2(my - py, mx - px));
    });
  }

  let statusText = 'connecting…';
  client.on('welcome', (welcome) => {
    statusText = '';
    if (welcome.schema.game === 'cubes') {
      document.querySelector('.title span')!.textContent = 'cubes';
      hud('score').hidden = true;
      if (spectate === null) hud('help').textContent = 'WASD / arrows push · shift or click dashes · space jumps';
    }
  });
  client.on('close', (event) => {
    statusText =
      event.reconnectInMs === null
        ? `disconnected: ${event.reason || event.code}`
        : `connection lost (${event.reason || event.code}); reconnecting…`;
  });
  client.on('divergence', (event) => {
    console.warn('tickcast demo: diverged, reconnecting:', event.reason);
  });

  const demoStats = (): ClientStats & {
    frameMs: number | null;
    player: { x: number; y: number } | null;
    serverPlayer: { x: number; y: number } | null;
    spectating: boolean;
    camera: { x: number; y: number; scale: number };
  } => {
    const state = client.predictor?.state;
    return {
      ...client.stats(),
      frameMs: frames.meanMs(),
      player: state == null ? serverPlayer() : { x: state.x, y: state.y },
      serverPlayer: serverPlayer(),
      spectating: spectate !== null,
      camera: { x: cameraX, y: cameraY, scale },
    };
  };
  (window as unknown as { tickcast: unknown }).tickcast = { client, stats: demoStats };

  const resize = () => {
    const ratio = devicePixelRatio || 1;
    canvas.width = Math.round(innerWidth * ratio);
    canvas.height = Math.round(innerHeight * ratio);
    canvas.style.width = `${innerWidth}px`;
    canvas.style.height = `${innerHeight}px`;
  };
  addEventListener('resize', resize);
  resize();

  let hudAt = 0;
  const updateHud = (now: number) => {
    if (now - hudAt < HUD_EVERY_MS) return;
    hudAt = now;
    const stats = demoStats();
    const fixed = (value: number | null, digits: number) => (value === null ? '–' : value.toFixed(digits));
    hud('hud-rtt').textContent = fixed(stats.rttMs, 0);
    hud('hud-kbps').textContent = fixed(stats.downKbps, 1);
    hud('hud-entities').textContent = String(stats.entities);
    hud('hud-room').textContent = stats.roomId ?? config.room;
    hud('hud-transport').textContent = stats.connected ? stats.transport : '–';
    hud('hud-error').textContent = fixed(stats.predictionError, 3);
    hud('hud-frame').textContent =
      stats.frameMs === null ? '–' : `${Math.round(1000 / stats.frameMs)} fps · ${stats.frameMs.toFixed(1)} ms`;
    const own = client.player();
    const score = own === undefined ? undefined : client.schema?.decode(own).components['Score'];
    hud('hud-kills').textContent = String(score?.['kills'] ?? 0);
    hud('hud-deaths').textContent = String(score?.['deaths'] ?? 0);
    status.textContent = statusText;
    status.hidden = statusText === '';
  };

  const drawFloor = (left: number, top: number, right: number, bottom: number) => {
    if (floor === null) return;
    const { min, max } = floor;
    ctx.fillStyle = colors.floor;
    ctx.fillRect(min[0], min[1], max[0] - min[0], max[1] - min[1]);
    // A faint grid every 5 units gives motion a reference.
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

  const drawHealth = (x: number, y: number, r: number, hp: number, max: number) => {
    if (hp >= max) return; // full bars are clutter
    const width = 1.6;
    const top = y - r - 0.55;
    ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
    ctx.fillRect(x - width / 2, top, width, 0.22);
    ctx.fillStyle = healthColor(hp / max);
    ctx.fillRect(x - width / 2, top, (width * Math.max(0, hp)) / max, 0.22);
  };

  const drawBody = (x: number, y: number, angle: number, r: number, color: string, glow: boolean) => {
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
    // The barrel shows where it aims.
    ctx.strokeStyle = color;
    ctx.lineWidth = 0.22;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(x + Math.cos(angle) * r * 0.6, y + Math.sin(angle) * r * 0.6);
    ctx.lineTo(x + Math.cos(angle) * (r + 0.45), y + Math.sin(angle) * (r + 0.45));
    ctx.stroke();
    ctx.fillStyle = 'rgba(9, 12, 19, 0.55)';
    ctx.beginPath();
    ctx.arc(x, y, r * 0.45, 0, Math.PI * 2);
    ctx.fill();
  };

  const drawDrone = (x: number, y: number, angle: number) => {
    const r = radius.drone;
    ctx.fillStyle = colors.drone;
    ctx.beginPath();
    for (let i = 0; i < 6; i++) {
      const a = angle + (i * Math.PI) / 3;
      ctx.lineTo(x + Math.cos(a) * r * 1.1, y + Math.sin(a) * r * 1.1);
    }
    ctx.closePath();
    ctx.fill();
    ctx.fillStyle = 'rgba(9, 12, 19, 0.6)';
    ctx.beginPath();
    ctx.arc(x + Math.cos(angle) * r * 0.35, y + Math.sin(angle) * r * 0.35, r * 0.3, 0, Math.PI * 2);
    ctx.fill();
  };

  const drawProjectile = (x: number, y: number, angle: number) => {
    const r = radius.projectile;
    ctx.strokeStyle = 'rgba(255, 209, 102, 0.35)';
    ctx.lineWidth = r * 1.6;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x - Math.cos(angle) * 0.9, y - Math.sin(angle) * 0.9);
    ctx.stroke();
    ctx.fillStyle = colors.projectile;
    ctx.beginPath();
    ctx.arc(x, y, r * 1.3, 0, Math.PI * 2);
    ctx.fill();
  };

  const drawMinimap = (entities: readonly WorldEntity[], ownIndex: number | null) => {
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
    ctx.fillStyle = 'rgba(9, 12, 19, 0.8)';
    ctx.fillRect(left - 4 * ratio, top - 4 * ratio, width + 8 * ratio, height + 8 * ratio);
    ctx.fillStyle = colors.floor;
    ctx.fillRect(left, top, width, height);
    ctx.fillStyle = colors.wallEdge;
    for (const wall of walls) {
      ctx.fillRect(left + (wall.min[0] - min[0]) * k, top + (wall.min[1] - min[1]) * k, (wall.max[0] - wall.min[0]) * k, (wall.max[1] - wall.min[1]) * k);
    }
    let own: { x: number; y: number } | null = self;
    for (const entity of entities) {
      const kind = numberOf(entity, 'EntityKind', 'kind');
      const place = placeOf(entity);
      if (place === null || kind === ArenaEntity.Projectile) continue;
      if (entity.id.index === ownIndex) {
        own ??= place;
        continue;
      }
      const shape = numberOf(entity, 'Shape', 'shape');
      ctx.fillStyle = kind === ArenaEntity.Drone ? colors.drone : shape === Shape.Cube ? colors.cube : colors.player;
      ctx.fillRect(left + (place.x - min[0]) * k - ratio, top + (place.y - min[1]) * k - ratio, 2 * ratio, 2 * ratio);
    }
    if (own !== null) {
      ctx.fillStyle = colors.self;
      ctx.beginPath();
      ctx.arc(left + (own.x - min[0]) * k, top + (own.y - min[1]) * k, 3 * ratio, 0, Math.PI * 2);
      ctx.fill();
    }
    // The part of the world on screen.
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.35)';
    ctx.lineWidth = ratio;
    ctx.strokeRect(left + (cameraX - innerWidth / 2 / scale - min[0]) * k, top + (cameraY - innerHeight / 2 / scale - min[1]) * k, (innerWidth / scale) * k, (innerHeight / scale) * k);
    ctx.globalAlpha = 1;
  };

  /** The area the spectator's first view shows: the map, or the entities held without one. */
  const worldBox = (entities: readonly WorldEntity[]): { min: [number, number]; max: [number, number] } | null => {
    if (floor !== null) return { min: [...floor.min], max: [...floor.max] };
    let box: { min: [number, number]; max: [number, number] } | null = null;
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

  /** Spectating: the camera is where the user put it, or the first view. */
  const spectatorCamera = (spectateAt: Spectate, controls: SpectatorControls, entities: readonly WorldEntity[], now: number) => {
    const moved = controls.take();
    const dt = lastFrameAt === null ? 0 : Math.min(0.1, (now - lastFrameAt) / 1000);
    const pan = controls.keyPan();
    if (moved.refit) spectatorHome = true;
    if (moved.dragX !== 0 || moved.dragY !== 0 || moved.zoom !== 1 || pan.x !== 0 || pan.y !== 0) spectatorHome = false;
    if (spectatorHome) {
      if (spectateAt === true) {
        const box = worldBox(entities);
        if (box !== null) {
          const w = Math.max(1, box.max[0] - box.min[0] + 2 * EDGE_MARGIN);
          const h = Math.max(1, box.max[1] - box.min[1] + 2 * EDGE_MARGIN);
          scale = Math.min(innerWidth / w, innerHeight / h);
          cameraX = (box.min[0] + box.max[0]) / 2;
          cameraY = (box.min[1] + box.max[1]) / 2;
        }
      } else {
        scale = Math.min(innerWidth, innerHeight) / VIEW_UNITS;
        cameraX = spectateAt.x;
        cameraY = spectateAt.y;
      }
      return;
    }
    if (moved.zoom !== 1) {
      // Zoom about the pointer: the world point under it stays there.
      const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * moved.zoom));
      const wx = cameraX + (moved.zoomAtX - innerWidth / 2) / scale;
      const wy = cameraY + (moved.zoomAtY - innerHeight / 2) / scale;
      cameraX = wx - (moved.zoomAtX - innerWidth / 2) / next;
      cameraY = wy - (moved.zoomAtY - innerHeight / 2) / next;
      scale = next;
    }
    const speed = (PAN_SCREENS_PER_SECOND * Math.min(innerWidth, innerHeight)) / scale;
    cameraX += -moved.dragX / scale + pan.x * speed * dt;
    cameraY += -moved.dragY / scale + pan.y * speed * dt;
    // The middle of the screen stays over the world.
    const box = worldBox(entities);
    if (box !== null) {
      cameraX = Math.min(box.max[0] + EDGE_MARGIN, Math.max(box.min[0] - EDGE_MARGIN, cameraX));
      cameraY = Math.min(box.max[1] + EDGE_MARGIN, Math.max(box.min[1] - EDGE_MARGIN, cameraY));
    }
  };

  const render = (now: number) => {
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
      // The spectator's camera is set above.
    } else if (self === null && ownRemote !== undefined) {
      // Not predicted (dead, no map, or a game without a prediction model): follow the
      // interpolated copy.
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
      // Near an edge the camera stops (a little past the floor) rather than showing void.
      const { min, max } = floor;
      const keep = (at: number, low: number, high: number, half: number) =>
        high - low + 2 * EDGE_MARGIN <= 2 * half ? (low + high) / 2 : Math.min(high + EDGE_MARGIN - half, Math.max(low - EDGE_MARGIN + half, at));
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
    // Projectiles under bodies, then drones, then players.
    const order = (entity: WorldEntity) => {
      const kind = numberOf(entity, 'EntityKind', 'kind');
      return kind === ArenaEntity.Projectile ? 0 : kind === ArenaEntity.Drone ? 1 : 2;
    };
    entities.sort((a, b) => order(a) - order(b));
    for (const entity of entities) {
      const x = numberOf(entity, 'Transform2', 'x');
      const y = numberOf(entity, 'Transform2', 'y');
      // Not an arena body (the cubes game's are drawn above).
      if (x === undefined || y === undefined) continue;
      if (Math.abs(x - cameraX) > halfW + 2 || Math.abs(y - cameraY) > halfH + 2) continue;
      const angle = numberOf(entity, 'Transform2', 'angle') ?? 0;
      const kind = numberOf(entity, 'EntityKind', 'kind') ?? ArenaEntity.Player;
      const hp = numberOf(entity, 'Health', 'hp');
      if (kind === ArenaEntity.Projectile) {
        drawProjectile(x, y, angle);
      } else if (kind === ArenaEntity.Drone) {
        drawDrone(x, y, angle);
        if (hp !== undefined) drawHealth(x, y, radius.drone, hp, MAX_HEALTH[kind] ?? 3);
      } else if (entity.id.index === ownIndex) {
        if (self === null) {
          drawBody(x, y, angle, radius.player, hp === 0 ? colors.dead : colors.self, hp !== 0);
        }
      } else {
        drawBody(x, y, angle, radius.player, hp === 0 ? colors.dead : colors.player, false);
        if (hp !== undefined && hp > 0) drawHealth(x, y, radius.player, hp, MAX_HEALTH[kind] ?? 10);
      }
    }
    if (spectate !== null && spectate !== true) {
      // The point watched.
      ctx.strokeStyle = 'rgba(79, 209, 197, 0.55)';
      ctx.lineWidth = 2 / scale;
      ctx.beginPath();
      ctx.moveTo(spectate.x - 0.8, spectate.y);
      ctx.lineTo(spectate.x + 0.8, spectate.y);
      ctx.moveTo(spectate.x, spectate.y - 0.8);
      ctx.lineTo(spectate.x, spectate.y + 0.8);
      ctx.stroke();
    }
    if (self !== null && controls !== null) {
      // The local player: predicted, highlighted, aiming at the pointer now.
      const aim = Math.atan2(
        controls.mouseY - (innerHeight / 2 + (self.y - cameraY) * scale),
        controls.mouseX - (innerWidth / 2 + (self.x - cameraX) * scale),
      );
      drawBody(self.x, self.y, aim, radius.player, colors.self, true);
      ctx.strokeStyle = 'rgba(79, 209, 197, 0.35)';
      ctx.lineWidth = 0.08;
      ctx.beginPath();
      ctx.arc(self.x, self.y, radius.player + 0.35, 0, Math.PI * 2);
      ctx.stroke();
      const hp = ownRemote === undefined ? undefined : numberOf(ownRemote, 'Health', 'hp');
      if (hp !== undefined) drawHealth(self.x, self.y, radius.player, hp, MAX_HEALTH[ArenaEntity.Player] ?? 10);
    }
    // The whole map on screen needs no minimap.
    if (!(spectate === true && spectatorHome)) drawMinimap(entities, ownIndex);
    updateHud(now);
    requestAnimationFrame(render);
  };
  requestAnimationFrame(render);
}

main().catch((error: unknown) => {
  const status = document.getElementById('status');
  if (status !== null) {
    status.hidden = false;
    status.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
  }
  console.error(error);
});
