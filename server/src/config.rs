//! Server configuration: embedded defaults, an optional file over them, flags over both.
//!
//! `assets/server.toml` is compiled into the binary, so `tickcast-server` runs from any
//! directory with no files around it. `--config FILE` may set any subset of its keys;
//! command-line flags win over both. Unknown keys are an error, not a silent typo.

use clap::Parser;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// The embedded defaults (`assets/server.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../assets/server.toml");

/// Everything the server needs to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listener address.
    pub bind: SocketAddr,
    /// Simulation steps per second.
    pub tick_rate: u32,
    /// Snapshots per second; divides `tick_rate`.
    pub snapshot_rate: u32,
    /// Whether clients are spread over the ticks between snapshots, each group sent
    /// its snapshots on a tick of its own.
    pub stagger_snapshots: bool,
    /// The game the room plays: `"arena"`, `"drift"` or `"cubes"`.
    pub game: GameChoice,
    /// NPC drones in the arena.
    pub npcs: u32,
    /// The drift scene, when `game = "drift"`.
    pub drift: DriftConfig,
    /// The cubes game, when `game = "cubes"` (and for its matchmade rooms).
    pub cubes: CubesConfig,
    /// Map file, or `"embedded"`.
    pub map: String,
    /// Seed of the game's random number generator.
    pub seed: u64,
    /// Whether snapshots carry a checksum of the client's resulting state.
    pub checksums: bool,
    /// How far back lag compensation may rewind: the history a room keeps of the
    /// components its game tracks, and the oldest view tick an input may ask for.
    #[serde(with = "humantime_serde_compat")]
    pub rewind_window: Duration,
    /// Whether the tick thread asks for the highest scheduling priority.
    pub raise_tick_priority: bool,
    /// Interest management and bandwidth.
    pub replication: ReplicationConfig,
    /// Bounds on what a connection may cost.
    pub limits: Limits,
    /// Logging.
    pub log: LogConfig,
    /// The Prometheus `/metrics` listener.
    pub metrics: MetricsConfig,
    /// TLS on the game port (https and wss), off by default.
    pub tls: TlsConfig,
    /// Who may connect: tokens and origins.
    pub access: AccessConfig,
    /// Rooms made by matchmaking: capacity, seats, lifecycle, the node's address.
    pub rooms: RoomsConfig,
}

/// Rooms beyond the default one, made on demand by `POST /matchmake` (see `rooms`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomsConfig {
    /// Players a matchmade room holds, unless its kind says otherwise.
    pub capacity: usize,
    /// How long a reserved seat waits for its client's WebSocket.
    #[serde(with = "humantime_serde_compat")]
    pub seat_ttl: Duration,
    /// How long a matchmade room stays with nobody in it before it is disposed.
    #[serde(with = "humantime_serde_compat")]
    pub empty_timeout: Duration,
    /// On SIGTERM, how long rooms may play on (taking no new players) before their
    /// clients are closed with 1001; 0s closes them at once.
    #[serde(with = "humantime_serde_compat")]
    pub drain_timeout: Duration,
    /// The WebSocket URL this node tells clients to connect to (e.g.
    /// `wss://node-3.game.example/ws`); empty: made from the bound address.
    pub public_url: String,
    /// A name for this node in `/rooms` and the directory; empty: made at start.
    pub node_id: String,
    /// Tick threads shared by the rooms; 0: one per core.
    pub tick_threads: usize,
    /// Most matchmade rooms this node hosts at once; beyond, matchmaking answers 503.
    pub max_rooms: usize,
    /// The Redis every node of the service registers in (`redis://host:6379`), so that
    /// matchmaking on any node places players on the least-loaded one; empty: this node
    /// alone, with the in-process directory (see docs/SCALEOUT.md).
    pub redis_url: String,
    /// Per kind (`arena`, `drift`, `cubes`): capacity and rates that differ from the
    /// defaults.
    pub kinds: std::collections::BTreeMap<GameChoice, KindConfig>,
}

/// What a room kind changes from the server-wide defaults.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    /// Players a room of this kind holds.
    pub capacity: Option<usize>,
    /// Its ticks per second.
    pub tick_rate: Option<u32>,
    /// Its snapshots per second; divides its tick rate.
    pub snapshot_rate: Option<u32>,
}

/// The games a server can host.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GameChoice {
    /// The reference game: a 2D top-down arena (`game::Arena`).
    #[default]
    Arena,
    /// Bodies bouncing in a box, for measurements (`game::Drift`).
    Drift,
    /// Players push a pile of physics cubes, in 3D (`game::Cubes`).
    Cubes,
}

impl GameChoice {
    /// Every game, in the order `/rooms` and errors list them.
    pub const ALL: [GameChoice; 3] = [GameChoice::Arena, GameChoice::Drift, GameChoice::Cubes];

    /// The game's name: its room kind and its name in the `Welcome` schema.
    pub fn name(self) -> &'static str {
        match self {
            GameChoice::Arena => "arena",
            GameChoice::Drift => "drift",
            GameChoice::Cubes => "cubes",
        }
    }
}

/// The drift scene (see `game::drift`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// Bodies bouncing around.
    pub entities: u32,
    /// Their speed, world units per second.
    pub speed: f32,
    /// Side of the square box, world units.
    pub size: f32,
}

/// The cubes game (see `game::cubes`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CubesConfig {
    /// Cubes in the pile.
    pub count: u32,
    /// Side of the square floor, metres.
    pub size: f32,
}

/// Who may open a game connection (see `net::admission`).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// HS256 secret that signs player tokens; empty: the server is open to anyone.
    pub auth_secret: String,
    /// Origins whose pages may connect (e.g. `https://game.example`); empty: any.
    pub allowed_origins: Vec<String>,
}

impl std::fmt::Debug for AccessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("AccessConfig")
            .field("auth_secret", &if self.auth_secret.is_empty() { "" } else { "<set>" })
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

/// TLS on the game port: a certificate chain and key from PEM files, or a development
/// certificate made at start. With either, the port speaks only https and wss.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// Make a self-signed certificate for `localhost` and the bind address at start
    /// (for development; browsers must be told to trust it).
    pub self_signed: bool,
}

impl TlsConfig {
    /// Whether the port serves TLS.
    pub fn enabled(&self) -> bool {
        self.self_signed || self.cert.is_some()
    }
}

/// Interest management and the per-client bandwidth budget.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationConfig {
    /// Area-of-interest radius in world units; zero sends the whole world.
    pub interest_radius: f32,
    /// Snapshot budget per client in kbit/s.
    pub budget_kbps: u32,
}

/// Bounds on what a connection may cost the server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most simultaneous connections.
    pub max_clients: usize,
    /// Most simultaneous game connections from one IP address.
    pub max_connections_per_ip: usize,
    /// Largest client message or frame, in bytes.
    pub max_message_bytes: usize,
    /// Client inputs accepted per second.
    pub max_inputs_per_second: u32,
    /// Inputs buffered per client in the room.
    pub input_buffer: usize,
    /// Upgrade plus `Hello` must complete within this.
    #[serde(with = "humantime_serde_compat")]
    pub handshake_timeout: Duration,
    /// A snapshot send blocked longer than this, or a ping unanswered this long,
    /// drops the connection.
    #[serde(with = "humantime_serde_compat")]
    pub write_timeout: Duration,
    /// How long a player whose connection dropped waits for its client to resume.
    #[serde(with = "humantime_serde_compat")]
    pub resume_grace: Duration,
    /// How often the server pings each connection.
    #[serde(with = "humantime_serde_compat")]
    pub ping_interval: Duration,
    /// The kernel's send buffer per connection (SO_SNDBUF; Linux doubles it).
    pub socket_send_buffer_bytes: usize,
    /// Capacity of the room's inbox.
    pub room_inbox: usize,
    /// tungstenite's write buffer.
    pub write_buffer_bytes: usize,
    /// tungstenite's hard cap on buffered outgoing bytes.
    pub max_write_buffer_bytes: usize,
}

/// Logging settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Period of the stats line; zero disables it.
    #[serde(with = "humantime_serde_compat")]
    pub stats_interval: Duration,
}

/// The Prometheus `/metrics` listener.
///
/// Off by default: game servers often run several to a host, each would need its own
/// port, and a server's figures should not face the internet unless someone chose so.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Whether to serve `http://BIND/metrics`.
    pub enabled: bool,
    /// The listener's address (a port of its own, apart from the game's).
    pub bind: SocketAddr,
}

/// Durations written the human way in TOML ("5s", "250ms").
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a configuration could not be built.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The TOML did not parse or has unknown or mistyped keys.
    #[error("parsing {origin}: {message}")]
    Parse {
        /// Which document.
        origin: String,
        /// What was wrong.
        message: String,
    },
    /// Values that do not work together.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Command-line flags; each overrides the configuration key of the same name.
#[derive(Clone, Debug, Default, Parser)]
#[command(
    name = "tickcast-server",
    version,
    about = "tickcast game state sync server",
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// Instead of serving: another task.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML file overriding any subset of the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listener address, e.g. 0.0.0.0:7777.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Simulation steps per second.
    #[arg(long)]
    pub tick_rate: Option<u32>,
    /// Snapshots per second (must divide the tick rate).
    #[arg(long)]
    pub snapshot_rate: Option<u32>,
    /// Spread the clients over the ticks between snapshots, each group sent its
    /// snapshots on a tick of its own (the room then captures every tick).
    #[arg(long)]
    pub stagger_snapshots: bool,
    /// The game the room plays.
    #[arg(long, value_enum)]
    pub game: Option<GameChoice>,
    /// NPC drones in the arena.
    #[arg(long)]
    pub npcs: Option<u32>,
    /// Bodies in the drift scene (`--game drift`).
    #[arg(long)]
    pub drift_entities: Option<u32>,
    /// Cubes in the pile of the cubes game (`--game cubes`, and cubes rooms).
    #[arg(long, value_name = "N")]
    pub cube_count: Option<u32>,
    /// Map file (TOML), or "embedded".
    #[arg(long)]
    pub map: Option<String>,
    /// Seed of the game's random number generator.
    #[arg(long)]
    pub seed: Option<u64>,
    /// How far back lag compensation may rewind (e.g. 250ms).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub rewind_window: Option<Duration>,
    /// Most simultaneous connections.
    #[arg(long)]
    pub max_clients: Option<usize>,
    /// Area-of-interest radius in world units (0 = whole world).
    #[arg(long)]
    pub interest_radius: Option<f32>,
    /// Snapshot bandwidth budget per client, kbit/s.
    #[arg(long)]
    pub budget_kbps: Option<u32>,
    /// Write the run's figures (tick times, overruns, clients, entities, bytes, a
    /// one-second timeline) as JSON to this file at shutdown.
    #[arg(long, value_name = "PATH")]
    pub stats_json: Option<PathBuf>,
    /// Turn snapshot checksums off (they are on by default).
    #[arg(long)]
    pub no_checksums: bool,
    /// Serve Prometheus metrics on http://ADDR/metrics, e.g. 127.0.0.1:9477 (off by
    /// default).
    #[arg(long, value_name = "ADDR", conflicts_with = "no_metrics")]
    pub metrics_bind: Option<SocketAddr>,
    /// Turn the metrics listener off even if the config file turns it on.
    #[arg(long)]
    pub no_metrics: bool,
    /// Serve https and wss with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve https and wss with a self-signed certificate made at start (development);
    /// its SHA-256 fingerprints are logged.
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Require a player token signed with this HS256 secret (see docs/AUTH.md).
    #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true, value_name = "SECRET")]
    pub auth_secret: Option<String>,
    /// Let pages from this origin connect (repeatable, e.g. https://game.example);
    /// without any, every origin may.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Most simultaneous game connections from one IP address.
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
    /// Players a matchmade room of any kind holds (over the per-kind capacities).
    #[arg(long, value_name = "N")]
    pub room_capacity: Option<usize>,
    /// How long a matchmade room stays empty before it is disposed, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub room_empty_timeout: Option<Duration>,
    /// On SIGTERM, how long rooms play on before their clients are closed, e.g. 60s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub drain_timeout: Option<Duration>,
    /// The WebSocket URL this node advertises, e.g. wss://node-3.game.example/ws.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// This node's name in /rooms and the directory.
    #[arg(long, value_name = "NAME")]
    pub node_id: Option<String>,
    /// Tick threads shared by the rooms (0: one per core).
    #[arg(long, value_name = "N")]
    pub tick_threads: Option<usize>,
    /// Most matchmade rooms this node hosts at once.
    #[arg(long, value_name = "N")]
    pub max_rooms: Option<usize>,
    /// Join the nodes registered in this Redis (e.g. redis://127.0.0.1:6379): matchmaking
    /// on any node places players on the least-loaded one (see docs/SCALEOUT.md).
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
}

/// Tasks other than serving.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Print a player token signed with the auth secret (what a game backend does
    /// after its own login; see docs/AUTH.md for minting one in any language).
    Token {
        /// The server's --auth-secret.
        #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true, value_name = "SECRET")]
        secret: String,
        /// The player's id (the token's `sub`).
        #[arg(long)]
        player: String,
        /// Admit only to this room (the token's `room`); without it, to any.
        #[arg(long)]
        room: Option<String>,
        /// How long the token is valid.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
}

impl ServerConfig {
    /// The embedded defaults alone.
    pub fn embedded() -> ServerConfig {
        ServerConfig::from_layers(None).expect("embedded defaults are valid")
    }

    /// Defaults, then `--config`, then flags.
    pub fn from_args(args: &Args) -> Result<ServerConfig, ConfigError> {
        let file = match &args.config {
            Some(path) => Some((
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?,
            )),
            None => None,
        };
        let mut config = ServerConfig::from_layers(file.as_ref().map(|(o, t)| (o.as_str(), t.as_str())))?;
        if let Some(bind) = args.bind {
            config.bind = bind;
        }
        if let Some(tick_rate) = args.tick_rate {
            config.tick_rate = tick_rate;
        }
        if let Some(snapshot_rate) = args.snapshot_rate {
            config.snapshot_rate = snapshot_rate;
        }
        if args.stagger_snapshots {
            config.stagger_snapshots = true;
        }
        if let Some(game) = args.game {
            config.game = game;
        }
        if let Some(npcs) = args.npcs {
            config.npcs = npcs;
        }
        if let Some(entities) = args.drift_entities {
            config.drift.entities = entities;
        }
        if let Some(count) = args.cube_count {
            config.cubes.count = count;
        }
        if let Some(map) = &args.map {
            config.map.clone_from(map);
        }
        if let Some(seed) = args.seed {
            config.seed = seed;
        }
        if let Some(window) = args.rewind_window {
            config.rewind_window = window;
        }
        if let Some(max_clients) = args.max_clients {
            config.limits.max_clients = max_clients;
        }
        if let Some(radius) = args.interest_radius {
            config.replication.interest_radius = radius;
        }
        if let Some(budget) = args.budget_kbps {
            config.replication.budget_kbps = budget;
        }
        if args.no_checksums {
            config.checksums = false;
        }
        if let Some(bind) = args.metrics_bind {
            config.metrics = MetricsConfig { enabled: true, bind };
        }
        if args.no_metrics {
            config.metrics.enabled = false;
        }
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            config.tls = TlsConfig {
                cert: Some(cert.clone()),
                key: Some(key.clone()),
                self_signed: false,
            };
        }
        if let Some(secret) = &args.auth_secret {
            config.access.auth_secret.clone_from(secret);
        }
        if !args.allowed_origins.is_empty() {
            config.access.allowed_origins.clone_from(&args.allowed_origins);
        }
        if let Some(limit) = args.max_connections_per_ip {
            config.limits.max_connections_per_ip = limit;
        }
        if let Some(capacity) = args.room_capacity {
            // The flag is the operator's last word: it wins over each kind's capacity.
            config.rooms.capacity = capacity;
            config.rooms.kinds.values_mut().for_each(|kind| kind.capacity = None);
        }
        if let Some(timeout) = args.room_empty_timeout {
            config.rooms.empty_timeout = timeout;
        }
        if let Some(timeout) = args.drain_timeout {
            config.rooms.drain_timeout = timeout;
        }
        if let Some(url) = &args.public_url {
            config.rooms.public_url.clone_from(url);
        }
        if let Some(node) = &args.node_id {
            config.rooms.node_id.clone_from(node);
        }
        if let Some(threads) = args.tick_threads {
            config.rooms.tick_threads = threads;
        }
        if let Some(max_rooms) = args.max_rooms {
            config.rooms.max_rooms = max_rooms;
        }
        if let Some(url) = &args.redis_url {
            config.rooms.redis_url.clone_from(url);
        }
        if args.tls_self_signed {
            config.tls = TlsConfig {
                self_signed: true,
                ..TlsConfig::default()
            };
        }
        config.validate()?;
        Ok(config)
    }

    /// The embedded defaults with an optional `(origin, toml)` document merged over them.
    pub fn from_layers(overrides: Option<(&str, &str)>) -> Result<ServerConfig, ConfigError> {
        let parse = |origin: &str, text: &str| {
            text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
                origin: origin.to_string(),
                message: e.to_string(),
            })
        };
        let mut merged = parse("embedded defaults", DEFAULT_CONFIG)?;
        let origin = match overrides {
            Some((origin, text)) => {
                merge(&mut merged, parse(origin, text)?);
                origin
            }
            None => "embedded defaults",
        };
        let config: ServerConfig =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: origin.to_string(),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that must agree with each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |why: String| Err(ConfigError::Invalid(why));
        if !(1..=1000).contains(&self.tick_rate) {
            return invalid(format!("tick_rate {} is not within 1..=1000", self.tick_rate));
        }
        if self.snapshot_rate == 0 || !self.tick_rate.is_multiple_of(self.snapshot_rate) {
            return invalid(format!(
                "snapshot_rate {} must divide tick_rate {}",
                self.snapshot_rate, self.tick_rate
            ));
        }
        if self.limits.ping_interval.is_zero() {
            return invalid("limits.ping_interval must be positive".to_owned());
        }
        if self.limits.max_connections_per_ip == 0 {
            return invalid("limits.max_connections_per_ip must be at least 1".to_owned());
        }
        let tls = &self.tls;
        if tls.cert.is_some() != tls.key.is_some() {
            return invalid("tls.cert and tls.key go together".to_owned());
        }
        if tls.self_signed && tls.cert.is_some() {
            return invalid("tls.self_signed and tls.cert exclude each other".to_owned());
        }
        let drift = &self.drift;
        // Positions are quantized within ±10 000 units (`arena::POSITION`).
        let size_ok = drift.size > 0.0 && drift.size <= 10_000.0;
        let speed_ok = drift.speed.is_finite() && drift.speed >= 0.0;
        if !size_ok || !speed_ok {
            return invalid("drift.size must be in (0, 10000] and drift.speed finite and not negative".to_owned());
        }
        let cubes = &self.cubes;
        let (min, max) = (crate::game::Cubes::MIN_SIZE, crate::game::Cubes::MAX_SIZE);
        if !(min..=max).contains(&cubes.size) {
            return invalid(format!("cubes.size {} must be within [{min}, {max}]", cubes.size));
        }
        let most = crate::game::Cubes::most_cubes(cubes.size);
        if cubes.count > most {
            return invalid(format!(
                "cubes.count {} does not fit a floor of size {}: at most {most}",
                cubes.count, cubes.size
            ));
        }
        let radius = self.replication.interest_radius;
        if !radius.is_finite() || radius < 0.0 {
            return invalid(format!("replication.interest_radius {radius} must be zero or positive"));
        }
        if self.replication.budget_kbps < 8 {
            return invalid("replication.budget_kbps must be at least 8".into());
        }
        if self.limits.max_message_bytes < 64 {
            return invalid("limits.max_message_bytes must be at least 64".into());
        }
        if self.limits.input_buffer == 0 || self.limits.room_inbox == 0 || self.limits.max_clients == 0 {
            return invalid("limits.input_buffer, room_inbox and max_clients must be positive".into());
        }
        if self.limits.max_write_buffer_bytes <= self.limits.write_buffer_bytes {
            return invalid("limits.max_write_buffer_bytes must exceed write_buffer_bytes".into());
        }
        let rooms = &self.rooms;
        if rooms.capacity == 0 || rooms.seat_ttl.is_zero() {
            return invalid("rooms.capacity and rooms.seat_ttl must be positive".into());
        }
        for game in GameChoice::ALL {
            let (tick_rate, snapshot_rate) = self.rates_of(game);
            let capacity = self.capacity_of(game);
            if !(1..=1000).contains(&tick_rate) || snapshot_rate == 0 || !tick_rate.is_multiple_of(snapshot_rate) {
                return invalid(format!(
                    "rooms.kinds.{}: snapshot_rate {snapshot_rate} must divide tick_rate {tick_rate} (1..=1000)",
                    game.name()
                ));
            }
            if capacity == 0 {
                return invalid(format!("rooms.kinds.{}.capacity must be positive", game.name()));
            }
        }
        Ok(())
    }

    /// A room kind's tick and snapshot rates.
    pub fn rates_of(&self, game: GameChoice) -> (u32, u32) {
        let kind = self.rooms.kinds.get(&game).copied().unwrap_or_default();
        (
            kind.tick_rate.unwrap_or(self.tick_rate),
            kind.snapshot_rate.unwrap_or(self.snapshot_rate),
        )
    }

    /// Players a matchmade room of `game` holds.
    pub fn capacity_of(&self, game: GameChoice) -> usize {
        let kind = self.rooms.kinds.get(&game).copied().unwrap_or_default();
        kind.capacity.unwrap_or(self.rooms.capacity)
    }

    /// The area of interest's radius; `None` (radius 0) sends every client the whole
    /// world.
    pub fn interest_radius(&self) -> Option<f32> {
        let radius = self.replication.interest_radius;
        (radius > 0.0).then_some(radius)
    }

    /// Body bytes each client may be sent per snapshot.
    pub fn budget_bytes_per_snapshot(&self) -> usize {
        self.budget_bytes_at(self.snapshot_rate)
    }

    /// Body bytes each client may be sent per snapshot at `snapshot_rate`.
    pub fn budget_bytes_at(&self, snapshot_rate: u32) -> usize {
        (self.replication.budget_kbps as usize * 1000 / 8 / snapshot_rate.max(1) as usize).max(64)
    }

    /// Ticks between snapshots.
    pub fn ticks_per_snapshot(&self) -> u32 {
        self.tick_rate / self.snapshot_rate
    }
}

/// Merges `over` into `base`, recursing into tables so a file can set one nested key.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse() {
        let config = ServerConfig::embedded();
        assert_eq!(config.tick_rate, 60);
        assert_eq!(config.snapshot_rate, 30);
        assert_eq!(config.ticks_per_snapshot(), 2);
        assert_eq!(config.limits.handshake_timeout, Duration::from_secs(5));
        assert_eq!(config.budget_bytes_per_snapshot(), 1066, "256 kbit/s at 30 snapshots/s");
    }

    #[test]
    fn a_file_overrides_one_nested_key_and_flags_win() {
        let config = ServerConfig::from_layers(Some(("test", "npcs = 5\n[limits]\nmax_clients = 3\n"))).unwrap();
        assert_eq!(config.npcs, 5);
        assert_eq!(config.limits.max_clients, 3);
        assert_eq!(
            config.limits.input_buffer, 16,
            "untouched nested keys keep their defaults"
        );
    }

    #[test]
    fn unknown_keys_and_bad_rates_are_refused() {
        let unknown = ServerConfig::from_layers(Some(("test", "tick_rat = 5"))).unwrap_err();
        assert!(unknown.to_string().contains("tick_rat"), "{unknown}");
        let rates = ServerConfig::from_layers(Some(("test", "snapshot_rate = 7"))).unwrap_err();
        assert_eq!(
            rates.to_string(),
            "invalid configuration: snapshot_rate 7 must divide tick_rate 60"
        );
    }

    #[test]
    fn the_cubes_game_is_chosen_by_flag_and_a_pile_that_does_not_fit_is_refused() {
        let args = Args::parse_from(["tickcast-server", "--game", "cubes", "--cube-count", "100"]);
        let config = ServerConfig::from_args(&args).unwrap();
        assert_eq!((config.game, config.cubes.count), (GameChoice::Cubes, 100));
        assert_eq!(config.capacity_of(GameChoice::Cubes), 16, "[rooms.kinds.cubes]");
        let crowded = ServerConfig::from_layers(Some(("test", "[cubes]\ncount = 785\n"))).unwrap_err();
        assert_eq!(
            crowded.to_string(),
            "invalid configuration: cubes.count 785 does not fit a floor of size 48: at most 784"
        );
        let tiny = ServerConfig::from_layers(Some(("test", "[cubes]\nsize = 4.0\ncount = 0\n"))).unwrap_err();
        assert_eq!(
            tiny.to_string(),
            "invalid configuration: cubes.size 4 must be within [8, 500]"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let args = Args::parse_from([
            "tickcast-server",
            "--npcs",
            "9",
            "--tick-rate",
            "30",
            "--snapshot-rate",
            "10",
        ]);
        let config = ServerConfig::from_args(&args).unwrap();
        assert_eq!((config.npcs, config.tick_rate, config.snapshot_rate), (9, 30, 10));
        assert!(!config.stagger_snapshots, "off unless asked for");
        let staggered = ServerConfig::from_args(&Args::parse_from(["tickcast-server", "--stagger-snapshots"])).unwrap();
        assert!(staggered.stagger_snapshots);
    }

    #[test]
    fn metrics_are_off_by_default_and_a_flag_turns_them_on_or_off() {
        let defaults = ServerConfig::embedded();
        assert!(!defaults.metrics.enabled);
        assert_eq!(defaults.metrics.bind, "127.0.0.1:9477".parse().unwrap());
        let on =
            ServerConfig::from_args(&Args::parse_from(["tickcast-server", "--metrics-bind", "0.0.0.0:9500"])).unwrap();
        assert!(on.metrics.enabled);
        assert_eq!(on.metrics.bind, "0.0.0.0:9500".parse().unwrap());
        let from_file = ServerConfig::from_layers(Some(("test", "[metrics]\nenabled = true\n"))).unwrap();
        assert!(from_file.metrics.enabled);
        assert_eq!(from_file.metrics.bind, defaults.metrics.bind);
        let off = ServerConfig::from_args(&Args::parse_from(["tickcast-server", "--no-metrics"])).unwrap();
        assert!(!off.metrics.enabled);
        assert!(
            Args::try_parse_from(["tickcast-server", "--no-metrics", "--metrics-bind", "127.0.0.1:1"]).is_err(),
            "--no-metrics and --metrics-bind contradict each other"
        );
    }
}
