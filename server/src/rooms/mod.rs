//! Many rooms in one process: the registry of this node's rooms, their seats and their
//! lifecycle, and the directory that places players across nodes.
//!
//! - [`Rooms`] hosts this node's rooms. The default room (id `default`, the configured
//!   game) starts with the server on a thread of its own and lives as long as it; plain
//!   `/ws` joins it. Matchmade rooms are made on demand by [`Rooms::reserve`], ticked by a
//!   shared [`TickPool`], and disposed after they have been empty for `empty_timeout`.
//! - A reservation is a signed, single-use, expiring seat ([`seat`]); the WebSocket
//!   upgrade claims it ([`Rooms::claim`]) and holds an [`Occupancy`] for as long as the
//!   connection lives, and then the room holds it while the player is away within its
//!   resume grace (`room::Place`): that is what capacity and emptiness count.
//! - [`directory`]: where `POST /matchmake` asks for a seat: this node alone, or every
//!   node through Redis ([`redis`]).
//!
//! The registry is the only writer of its map, under one mutex held for microseconds
//! (a room's thread is started outside it); connections reach a room through the
//! [`RoomEntry`] they were handed, never through the map.

pub mod directory;
pub mod kinds;
pub mod redis;
pub mod seat;

pub use directory::{Directory, LocalDirectory, PlaceError, PlaceRequest, Placement, RoomListing};
pub use kinds::RoomKind;
pub use seat::{Seat, SeatError, SeatKeys, random_key};

use crate::room::{Room, RoomError, RoomHandle, TickPool, ViewSettings};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The id of the room plain `/ws` joins.
pub const DEFAULT_ROOM: &str = "default";

/// Inputs the inbox of a matchmade room holds per seat (a second's worth at 60 Hz).
const INBOX_PER_SEAT: usize = 64;

/// What a connection needs of its room.
pub struct RoomEntry {
    /// The room's id.
    pub id: Arc<str>,
    /// Its kind.
    pub kind: &'static str,
    /// Most players it takes.
    pub capacity: usize,
    /// Its inbox and snapshot slots.
    pub handle: RoomHandle,
    /// How its writers diff and budget.
    pub view: ViewSettings,
    /// Why its connections must close, once they must (see [`RoomEntry::closing`]).
    closing: AtomicU8,
    /// Connections in it now, and players away within their resume grace.
    occupants: AtomicUsize,
}

/// Why a room's connections close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Closing {
    /// The room was disposed.
    RoomClosed = 1,
    /// The server is shutting down.
    ServerShuttingDown = 2,
}

impl Closing {
    /// The close frame's reason.
    pub fn reason(self) -> &'static str {
        match self {
            Closing::RoomClosed => "room closed",
            Closing::ServerShuttingDown => "server shutting down",
        }
    }
}

impl RoomEntry {
    fn new(id: Arc<str>, kind: &'static str, capacity: usize, handle: RoomHandle, view: ViewSettings) -> RoomEntry {
        RoomEntry {
            id,
            kind,
            capacity,
            view: ViewSettings {
                rule: handle.relevance_rule,
                ..view
            },
            handle,
            closing: AtomicU8::new(0),
            occupants: AtomicUsize::new(0),
        }
    }

    /// Whether, and why, the room's connections must close. A flag rather than a
    /// `CancellationToken`: each writer checks it on every wake-up (every snapshot and
    /// ping, so it is seen within a snapshot period), and a token's check locks a mutex
    /// that every writer of the room shares (2% of a 500-bot swarm's CPU).
    pub fn closing(&self) -> Option<Closing> {
        match self.closing.load(Ordering::Relaxed) {
            1 => Some(Closing::RoomClosed),
            2 => Some(Closing::ServerShuttingDown),
            _ => None,
        }
    }

    /// Tells the room's connections to close, with `why`.
    pub fn close(&self, why: Closing) {
        self.closing.store(why as u8, Ordering::Relaxed);
    }
    /// Connections in the room now, and players away within their resume grace.
    pub fn occupants(&self) -> usize {
        self.occupants.load(Ordering::Relaxed)
    }
}

/// A connection's place in its room; gives it back when dropped.
pub struct Occupancy(Arc<RoomEntry>);

impl Occupancy {
    /// The room.
    pub fn room(&self) -> &Arc<RoomEntry> {
        &self.0
    }
}

impl Drop for Occupancy {
    fn drop(&mut self) {
        self.0.occupants.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A room this node hosts.
struct Hosted {
    entry: Arc<RoomEntry>,
    /// Its ticking; stopped when the room is disposed.
    room: Room,
    /// Seats reserved and not yet claimed, by number, with their expiry.
    reserved: HashMap<u64, Instant>,
    /// Since when it has had nobody in it and no seat reserved.
    empty_since: Option<Instant>,
}

impl Hosted {
    fn prune(&mut self, now: Instant) {
        self.reserved.retain(|_, expiry| *expiry > now);
    }

    fn taken(&self) -> usize {
        self.entry.occupants() + self.reserved.len()
    }
}

/// How a node's rooms are run.
#[derive(Clone, Debug)]
pub struct RoomsSettings {
    /// This node's name.
    pub node: String,
    /// The WebSocket URL clients reach this node's rooms at.
    pub ws_url: String,
    /// The game plain `/ws` plays, and matchmaking's kind when none is asked for.
    pub default_kind: &'static str,
    /// Players the default room takes (the server's connection limit).
    pub default_capacity: usize,
    /// How long a reserved seat waits.
    pub seat_ttl: Duration,
    /// How long an empty matchmade room lives on.
    pub empty_timeout: Duration,
    /// Most matchmade rooms the node hosts at once: a bound on what a flood of
    /// matchmaking requests can make it start.
    pub max_rooms: usize,
}

/// This node's rooms.
pub struct Rooms {
    settings: RoomsSettings,
    kinds: Vec<RoomKind>,
    seats: SeatKeys,
    pool: TickPool,
    default: Arc<RoomEntry>,
    live: Mutex<BTreeMap<Arc<str>, Hosted>>,
    draining: AtomicBool,
}

impl Rooms {
    /// Starts the default room of `settings.default_kind` on a thread of its own (or
    /// hosts `default` if given, as tests and benches that build their own room do).
    pub fn start(
        settings: RoomsSettings,
        kinds: Vec<RoomKind>,
        pool: TickPool,
        default: Option<(Room, ViewSettings)>,
    ) -> Result<Rooms, RoomError> {
        let kind = kinds
            .iter()
            .find(|kind| kind.name == settings.default_kind)
            .expect("the default kind is one of the kinds");
        let (room, view) = match default {
            Some(default) => default,
            None => (kind.start(kind.name, None, None)?, kind.view),
        };
        let handle = room.handle();
        let default = Arc::new(RoomEntry::new(
            Arc::from(DEFAULT_ROOM),
            kind.name,
            settings.default_capacity,
            handle,
            view,
        ));
        let hosted = Hosted {
            entry: Arc::clone(&default),
            room,
            reserved: HashMap::new(),
            empty_since: None,
        };
        let live = Mutex::new(BTreeMap::from([(Arc::clone(&default.id), hosted)]));
        Ok(Rooms {
            settings,
            kinds,
            seats: SeatKeys::random(),
            pool,
            default,
            live,
            draining: AtomicBool::new(false),
        })
    }

    /// This node's settings.
    pub fn settings(&self) -> &RoomsSettings {
        &self.settings
    }

    /// The default room.
    pub fn default_room(&self) -> &Arc<RoomEntry> {
        &self.default
    }

    /// The kinds this node can host.
    pub fn kinds(&self) -> &[RoomKind] {
        &self.kinds
    }

    /// The kind named `name`.
    pub fn kind(&self, name: &str) -> Option<&RoomKind> {
        self.kinds.iter().find(|kind| kind.name == name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Arc<str>, Hosted>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops taking players into new seats: matchmaking answers 503.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether the node is draining.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Finds a room for `request` (the fullest of its kind with a free seat, or a new
    /// one), reserves a seat in it, and says where to go.
    pub fn reserve(&self, request: &PlaceRequest) -> Result<Placement, PlaceError> {
        if self.draining() {
            return Err(PlaceError::Draining);
        }
        let kind_name = request.kind.as_deref().unwrap_or(self.settings.default_kind);
        let kind = self.kind(kind_name).ok_or_else(|| PlaceError::UnknownKind {
            kind: kind_name.to_owned(),
            known: self.kinds.iter().map(|kind| kind.name).collect::<Vec<_>>().join(", "),
        })?;
        let now = Instant::now();
        let mut live = self.lock();
        let chosen = match &request.room_id {
            Some(id) => {
                let hosted = live
                    .get_mut(id.as_str())
                    .filter(|hosted| *hosted.entry.id != *DEFAULT_ROOM && hosted.entry.kind == kind.name)
                    .ok_or_else(|| PlaceError::UnknownRoom(id.clone()))?;
                hosted.prune(now);
                if hosted.taken() >= hosted.entry.capacity {
                    return Err(PlaceError::Full {
                        room: id.clone(),
                        capacity: hosted.entry.capacity,
                    });
                }
                Some(Arc::clone(&hosted.entry.id))
            }
            None => live
                .values_mut()
                .filter(|hosted| *hosted.entry.id != *DEFAULT_ROOM && hosted.entry.kind == kind.name)
                .filter_map(|hosted| {
                    hosted.prune(now);
                    let taken = hosted.taken();
                    (taken < hosted.entry.capacity).then_some((taken, Arc::clone(&hosted.entry.id)))
                })
                .max_by_key(|(taken, _)| *taken)
                .map(|(_, id)| id),
        };
        let id = match chosen {
            Some(id) => id,
            None => {
                // The default room is not a matchmade one.
                if live.len() > self.settings.max_rooms {
                    return Err(PlaceError::NodeFull(self.settings.max_rooms));
                }
                // Started under the lock, so two requests cannot both make a room where
                // one would do; starting one is a world build and a channel send.
                let id = self.new_room_id(kind.name, &live);
                let capacity = kind.capacity;
                let inbox = capacity.saturating_mul(INBOX_PER_SEAT).max(INBOX_PER_SEAT);
                let room = kind
                    .start(&id, Some(&self.pool), Some(inbox))
                    .map_err(|error| PlaceError::Start(error.to_string()))?;
                let handle = room.handle();
                let entry = Arc::new(RoomEntry::new(Arc::clone(&id), kind.name, capacity, handle, kind.view));
                tracing::info!(room = %id, kind = kind.name, capacity, "room created");
                live.insert(
                    Arc::clone(&id),
                    Hosted {
                        entry,
                        room,
                        reserved: HashMap::new(),
                        empty_since: None,
                    },
                );
                id
            }
        };
        let hosted = live.get_mut(&id).expect("chosen or just made");
        let seat = loop {
            let seat = fastrand::u64(..);
            if !hosted.reserved.contains_key(&seat) {
                break seat;
            }
        };
        hosted.reserved.insert(seat, now + self.settings.seat_ttl);
        hosted.empty_since = None;
        let ttl_ms = self.settings.seat_ttl.as_millis() as u64;
        let token = self.seats.sign(&Seat {
            room: id.to_string(),
            seat,
            expires_unix_ms: seat::now_unix_ms() + ttl_ms,
            subject: request.subject.clone(),
        });
        Ok(Placement {
            room_id: id.to_string(),
            kind: kind.name.to_owned(),
            ws_url: self.settings.ws_url.clone(),
            seat_token: token,
            expires_in_ms: ttl_ms,
        })
    }

    /// A fresh id for a room of `kind`: the kind and six random hex digits, unique on
    /// this node (and, with 24 random bits, very likely across nodes).
    fn new_room_id(&self, kind: &str, live: &BTreeMap<Arc<str>, Hosted>) -> Arc<str> {
        loop {
            let id: Arc<str> = Arc::from(format!("{kind}-{:06x}", fastrand::u32(..1 << 24)));
            if !live.contains_key(&id) {
                return id;
            }
        }
    }

    /// Takes the seat `token` names: the connection's room and the subject the seat was
    /// reserved for. Each seat is taken once, before it expires.
    pub fn claim(&self, token: &str) -> Result<(Occupancy, String), SeatError> {
        let unverified = SeatKeys::read(token)?;
        let mut live = self.lock();
        let hosted = live.get_mut(unverified.room.as_str()).ok_or(SeatError::NoSuchRoom)?;
        let seat = self.seats.verify(token, seat::now_unix_ms())?;
        if hosted.reserved.remove(&seat.seat).is_none() {
            // Never reserved here, or reserved and already taken (or pruned after
            // expiry, which the signed expiry has already caught).
            return Err(SeatError::AlreadyUsed);
        }
        Ok((occupy(&hosted.entry), seat.subject))
    }

    /// A place in room `id`, for a client coming back to it (`/ws?room=`).
    pub fn rejoin(&self, id: &str) -> Option<Occupancy> {
        self.lock().get(id).map(|hosted| occupy(&hosted.entry))
    }

    /// A place in the default room (plain `/ws`).
    pub fn join_default(&self) -> Occupancy {
        occupy(&self.default)
    }

    /// Every room on this node.
    pub fn listings(&self) -> Vec<RoomListing> {
        let now = Instant::now();
        let mut live = self.lock();
        live.values_mut()
            .map(|hosted| {
                hosted.prune(now);
                RoomListing {
                    room_id: hosted.entry.id.to_string(),
                    kind: hosted.entry.kind.to_owned(),
                    clients: hosted.entry.occupants(),
                    reserved: hosted.reserved.len(),
                    capacity: hosted.entry.capacity,
                    ws_url: self.settings.ws_url.clone(),
                    node: self.settings.node.clone(),
                }
            })
            .collect()
    }

    /// Rooms on this node, the default one included.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Connections over all rooms.
    pub fn connections(&self) -> usize {
        self.lock().values().map(|hosted| hosted.entry.occupants()).sum()
    }

    /// Connections and reserved seats over all rooms: the load the directory balances.
    pub fn load(&self) -> usize {
        self.lock().values().map(Hosted::taken).sum()
    }

    /// Disposes matchmade rooms that have had nobody in them, and no seat reserved, for
    /// `empty_timeout`; returns the rooms to stop (joining their ticking can take a
    /// tick, so the caller does it off the async threads).
    fn sweep(&self, now: Instant) -> Vec<Room> {
        let timeout = self.settings.empty_timeout;
        let mut live = self.lock();
        let mut expired = Vec::new();
        for (id, hosted) in live.iter_mut() {
            if **id == *DEFAULT_ROOM {
                continue;
            }
            hosted.prune(now);
            if hosted.taken() > 0 {
                hosted.empty_since = None;
                continue;
            }
            let since = *hosted.empty_since.get_or_insert(now);
            if now.duration_since(since) >= timeout {
                expired.push(Arc::clone(id));
            }
        }
        expired
            .into_iter()
            .filter_map(|id| live.remove(&id))
            .map(|hosted| {
                tracing::info!(room = %hosted.entry.id, "room disposed after being empty");
                hosted.entry.close(Closing::RoomClosed);
                hosted.room
            })
            .collect()
    }

    /// Sweeps for empty rooms every `period` until `shutdown`.
    pub async fn run_sweeper(self: Arc<Self>, period: Duration, shutdown: CancellationToken) {
        let mut timer = tokio::time::interval(period);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = timer.tick() => {}
            }
            let stopped = self.sweep(Instant::now());
            if !stopped.is_empty() {
                let _ = tokio::task::spawn_blocking(move || stopped.into_iter().for_each(Room::stop)).await;
            }
        }
    }

    /// Whether every matchmade room is empty (for a drain to end early).
    pub fn all_empty(&self) -> bool {
        self.lock().values().all(|hosted| hosted.entry.occupants() == 0)
    }

    /// Tells every room's connections to close with 1001 "server shutting down".
    pub fn close_all(&self) {
        for hosted in self.lock().values() {
            hosted.entry.close(Closing::ServerShuttingDown);
        }
    }

    /// Stops every room and waits for their ticking to end.
    pub fn stop_all(&self) {
        let rooms: Vec<Hosted> = std::mem::take(&mut *self.lock()).into_values().collect();
        for hosted in rooms {
            hosted.entry.close(Closing::ServerShuttingDown);
            hosted.room.stop();
        }
    }
}

impl Drop for Rooms {
    /// Stops the rooms before the pool is dropped: the pool's drop joins its threads,
    /// which would otherwise tick the rooms still registered forever (a test that panics
    /// with a matchmade room alive would hang instead of failing).
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn occupy(entry: &Arc<RoomEntry>) -> Occupancy {
    entry.occupants.fetch_add(1, Ordering::Relaxed);
    Occupancy(Arc::clone(entry))
}
