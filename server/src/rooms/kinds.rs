//! Room kinds: the games a node can host, each with the settings its rooms start with.
//!
//! A kind is a game (`arena`, `drift`, `cubes`) plus its capacity, rates and client data, made once
//! from the configuration; starting a room of that kind is then a call with no IO (the
//! arena's map is loaded once, here, and cloned into each room).

use crate::config::{GameChoice, ServerConfig};
use crate::game::{Arena, Cubes, Drift, Map, MapError};
use crate::room::{Game, Rates, Room, RoomError, RoomSettings, TickPool, ViewSettings};
use bytes::Bytes;

/// A game rooms can be made of.
pub struct RoomKind {
    /// Its name: the `kind` of `/matchmake` and `/rooms`, and the `Welcome`'s game.
    pub name: &'static str,
    /// Players one of its matchmade rooms holds.
    pub capacity: usize,
    /// Its rooms' settings.
    pub settings: RoomSettings,
    /// Its writers' settings, before the room adds its relevance rule.
    pub view: ViewSettings,
    /// What `GET /game.json?kind=` serves for it.
    pub game_json: Bytes,
    game: GameSetup,
}

/// What a room of a kind is built from.
enum GameSetup {
    Arena {
        map: Map,
        drones: u32,
        seed: u64,
    },
    Drift(Drift),
    Cubes(Cubes),
    /// A game of the embedding program's ([`RoomKind::custom`]).
    Custom(Box<StartCustom>),
}

/// Starts a room of a custom game: on a thread named by the `&str`, or in the pool.
type StartCustom = dyn Fn(&str, Option<&TickPool>, RoomSettings) -> Result<Room, RoomError> + Send + Sync;

impl RoomKind {
    /// Every kind the configuration describes.
    pub fn all(config: &ServerConfig) -> Result<Vec<RoomKind>, MapError> {
        let map = Map::load(&config.map)?;
        Ok(GameChoice::ALL
            .into_iter()
            .map(|game| RoomKind::new(config, game, &map))
            .collect())
    }

    fn new(config: &ServerConfig, choice: GameChoice, map: &Map) -> RoomKind {
        let (tick_rate, snapshot_rate) = config.rates_of(choice);
        let (settings, view) = settings_at(config, tick_rate, snapshot_rate);
        let (game, game_json) = match choice {
            GameChoice::Arena => {
                let arena = Arena {
                    map: map.clone(),
                    drones: config.npcs,
                    seed: config.seed,
                };
                let json = arena.client_info().to_string();
                let Arena { map, drones, seed } = arena;
                (GameSetup::Arena { map, drones, seed }, json)
            }
            GameChoice::Drift => {
                let drift = Drift {
                    bodies: config.drift.entities,
                    speed: config.drift.speed,
                    size: config.drift.size,
                    seed: config.seed,
                };
                (GameSetup::Drift(drift), drift.client_info().to_string())
            }
            GameChoice::Cubes => {
                let cubes = Cubes {
                    cubes: config.cubes.count,
                    size: config.cubes.size,
                    seed: config.seed,
                };
                (GameSetup::Cubes(cubes), cubes.client_info().to_string())
            }
        };
        RoomKind {
            name: choice.name(),
            capacity: config.capacity_of(choice),
            settings,
            view,
            game_json: Bytes::from(game_json),
            game,
        }
    }

    /// A kind of a game the engine does not know: any [`Game`], made afresh by `make` for
    /// each room, with the configuration's rates, limits and capacity (`[rooms]
    /// capacity`), and `client_info` served as its `/game.json?kind=`. Hand it to
    /// [`crate::start_with`]; `docs/GAMES.md` walks through writing one.
    pub fn custom<G: Game>(
        name: &'static str,
        config: &ServerConfig,
        client_info: serde_json::Value,
        make: impl Fn() -> G + Send + Sync + 'static,
    ) -> RoomKind {
        let (settings, view) = settings_at(config, config.tick_rate, config.snapshot_rate);
        RoomKind {
            name,
            capacity: config.rooms.capacity,
            settings,
            view,
            game_json: Bytes::from(client_info.to_string()),
            game: GameSetup::Custom(Box::new(move |thread, pool, settings| match pool {
                Some(pool) => Ok(Room::start_in(pool, make(), settings)),
                None => Room::start(thread, make(), settings),
            })),
        }
    }

    /// Starts a room of this kind: on a thread of its own (`pool: None`, the default
    /// room) or in the shared tick pool. A matchmade room's inbox is sized for its
    /// capacity rather than the default room's thousands.
    pub fn start(&self, name: &str, pool: Option<&TickPool>, inbox: Option<usize>) -> Result<Room, RoomError> {
        let mut settings = self.settings.clone();
        if let Some(inbox) = inbox {
            settings.inbox = inbox;
        }
        match (&self.game, pool) {
            (GameSetup::Arena { map, drones, seed }, pool) => {
                let arena = Arena {
                    map: map.clone(),
                    drones: *drones,
                    seed: *seed,
                };
                match pool {
                    Some(pool) => Ok(Room::start_in(pool, arena, settings)),
                    None => Room::start(name, arena, settings),
                }
            }
            (GameSetup::Drift(drift), Some(pool)) => Ok(Room::start_in(pool, *drift, settings)),
            (GameSetup::Drift(drift), None) => Room::start(name, *drift, settings),
            (GameSetup::Cubes(cubes), Some(pool)) => Ok(Room::start_in(pool, *cubes, settings)),
            (GameSetup::Cubes(cubes), None) => Room::start(name, *cubes, settings),
            (GameSetup::Custom(start), pool) => start(name, pool, settings),
        }
    }
}

/// A kind's room and writer settings at the given rates, the rest from `config`.
fn settings_at(config: &ServerConfig, tick_rate: u32, snapshot_rate: u32) -> (RoomSettings, ViewSettings) {
    let settings = RoomSettings {
        rates: Rates {
            tick_rate,
            snapshot_rate,
        },
        inbox: config.limits.room_inbox,
        input_buffer: config.limits.input_buffer,
        raise_priority: config.raise_tick_priority,
        stagger_snapshots: config.stagger_snapshots,
        resume_grace: config.limits.resume_grace,
        rewind_window: config.rewind_window,
        interest_radius: config.interest_radius(),
        checksums: config.checksums,
    };
    let view = ViewSettings {
        interest_radius: config.interest_radius(),
        budget_bytes: config.budget_bytes_at(snapshot_rate),
        checksums: config.checksums,
        rule: None,
    };
    (settings, view)
}
