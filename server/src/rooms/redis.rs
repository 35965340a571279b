//! The directory across nodes: every node registered in Redis, matchmaking on any node
//! placing players on the least-loaded one (`--redis-url`; docs/SCALEOUT.md).
//!
//! What lives in Redis (only the control plane: game traffic goes from a client straight
//! to the node that hosts its room, and rooms never touch Redis):
//! - `tickcast:node:{node}`: the node's [`NodeRecord`] (its WebSocket URL, load, draining
//!   flag, kinds and rooms) as JSON, written every [`HEARTBEAT`] with an expiry of
//!   [`EXPIRY`]. A node that dies stops writing it, and it is gone within the expiry, its
//!   rooms with it. A node that shuts down deletes it at once.
//! - `tickcast:nodes`: a sorted set of node names (score: when the record expires, Unix
//!   ms), the index readers walk instead of scanning the keyspace; the record's own expiry
//!   is what says a node is alive, and entries a minute past theirs are swept.
//! - `tickcast:place:{node}`: the pub/sub channel a node takes placement requests on
//!   ([`Envelope`]); it answers on the asker's `tickcast:reply:{node}` ([`Reply`]). A
//!   `PUBLISH` that reaches no subscriber tells the asker at once that the node is gone.
//!
//! Placement: with a `room_id`, the node whose record lists the room; otherwise the
//! least-loaded live node that hosts the kind and is not draining. This node reserves
//! directly ([`Rooms::reserve`]); another is asked over pub/sub and has [`REQUEST_TIMEOUT`]
//! to answer. Records are a heartbeat old, so a burst of requests would all see the same
//! loads and land on one node: each node therefore counts the seats it has just placed
//! elsewhere on top of the record that predates them ([`Shared::recent`]).
//!
//! When Redis is lost, rooms play on (they never wait on it), while `place` and `rooms`
//! answer [`PlaceError::Unavailable`] (503). The connection manager, the subscriber and
//! the heartbeat reconnect by themselves, so matchmaking comes back with Redis.

use super::{PlaceError, PlaceRequest, Placement, RoomListing, Rooms, directory::Directory};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use ::redis::{AsyncCommands, Client, Msg};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often a node rewrites its record.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a record outlives its last heartbeat: three beats, so one slow write does not
/// drop a live node, and a dead one is gone within three seconds.
pub const EXPIRY: Duration = Duration::from_secs(3);
/// How long a node asked to place a seat has to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for one Redis command: a lost Redis must turn into a 503 well within the
/// matchmaking request's own timeout, not hang it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the heartbeat looks for news worth writing before the next beat: the node
/// started draining (so that it is skipped at once rather than a heartbeat later), or it
/// reserved seats (so that new rooms can be found by id, and loads are fresh, within this
/// rather than a heartbeat); also the most often a busy node rewrites its record.
const POLL: Duration = Duration::from_millis(100);
/// Longest pause between attempts to subscribe again after Redis was lost.
const MAX_RESUBSCRIBE_BACKOFF: Duration = Duration::from_secs(2);
/// How long a node that shuts down waits to delete its record before giving up (it then
/// expires by itself).
const DEREGISTER_TIMEOUT: Duration = Duration::from_millis(500);
/// Index entries this far past their record's expiry are swept (a margin for clocks that
/// differ between hosts: the record's own expiry is what counts).
const INDEX_SWEEP_AFTER_MS: u64 = 60_000;
/// Most nodes one placement tries when the chosen one turns out gone or draining.
const MAX_ATTEMPTS: usize = 3;

/// The index of registered nodes.
const NODES_KEY: &str = "tickcast:nodes";

fn node_key(node: &str) -> String {
    format!("tickcast:node:{node}")
}

fn place_channel(node: &str) -> String {
    format!("tickcast:place:{node}")
}

fn reply_channel(node: &str) -> String {
    format!("tickcast:reply:{node}")
}

/// Why the Redis directory could not start.
#[derive(Debug, Error)]
pub enum RedisStartError {
    /// Not a Redis URL.
    #[error("redis url {url:?} is not valid: {source}")]
    Url {
        /// The URL, its password hidden.
        url: String,
        /// The parse error.
        source: ::redis::RedisError,
    },
    /// Redis did not answer.
    #[error("connecting to redis at {url}: {source}")]
    Connect {
        /// The URL, its password hidden.
        url: String,
        /// What failed.
        source: ::redis::RedisError,
    },
    /// Redis did not answer in time.
    #[error("connecting to redis at {url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL, its password hidden.
        url: String,
        /// How long we waited.
        timeout: Duration,
    },
}

/// A node as it registers itself: what matchmaking on other nodes needs to choose it and
/// to send players to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its name (`--node-id`).
    pub node: String,
    /// The WebSocket URL its rooms are reached at (`--public-url`).
    pub ws_url: String,
    /// Connections and reserved seats over its rooms ([`Rooms::load`]).
    pub load: usize,
    /// Whether it is draining: it takes no new players.
    pub draining: bool,
    /// The room kinds it can host.
    pub kinds: Vec<String>,
    /// Its rooms.
    pub rooms: Vec<RoomListing>,
    /// When it was written, Unix ms (by the node's clock).
    pub at_unix_ms: u64,
}

/// A placement request to another node, on its `tickcast:place:{node}` channel.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// Matches the reply to its request.
    id: u64,
    /// The channel to answer on.
    reply_to: String,
    request: PlaceRequest,
}

/// A node's answer, on the asker's `tickcast:reply:{node}` channel.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    id: u64,
    result: Result<Placement, PlaceError>,
}

/// The directory on Redis.
pub struct RedisDirectory {
    shared: Arc<Shared>,
}

/// What the directory and its tasks share.
struct Shared {
    rooms: Arc<Rooms>,
    /// For the subscriber's own connection (pub/sub takes a connection of its own).
    client: Client,
    /// Every other command, multiplexed; reconnects by itself.
    commands: ConnectionManager,
    /// Requests sent to other nodes awaiting their reply, by id.
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Placement, PlaceError>>>>,
    next_id: AtomicU64,
    /// Set when this node reserved a seat since its record was last written.
    changed: AtomicBool,
    /// Seats this node placed on other nodes lately, with when (Unix ms): added to a
    /// node's load when its record predates them.
    recent: Mutex<VecDeque<(String, u64)>>,
}

impl RedisDirectory {
    /// Connects to Redis at `url`, registers this node and subscribes to its requests;
    /// the heartbeat and the request server then run on `tasks` until `shutdown`, when
    /// the node deletes its record.
    pub async fn start(
        url: &str,
        rooms: Arc<Rooms>,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Result<RedisDirectory, RedisStartError> {
        let shown = redact(url);
        let client = Client::open(url).map_err(|source| RedisStartError::Url {
            url: shown.clone(),
            source,
        })?;
        // Few retries and short timeouts: while Redis is away, a command should fail
        // quickly (a 503) rather than wait out a long backoff; the next command tries
        // to reconnect again.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT));
        let connect_timeout = COMMAND_TIMEOUT * 3;
        let timeout = || RedisStartError::Timeout {
            url: shown.clone(),
            timeout: connect_timeout,
        };
        let connect = |source| RedisStartError::Connect {
            url: shown.clone(),
            source,
        };
        let commands = tokio::time::timeout(
            connect_timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| timeout())?
        .map_err(connect)?;
        let shared = Arc::new(Shared {
            rooms,
            client,
            commands,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(fastrand::u64(..)),
            changed: AtomicBool::new(false),
            recent: Mutex::new(VecDeque::new()),
        });
        // Subscribed and registered before start returns, so a node is reachable the
        // moment it says it is listening.
        let pubsub = tokio::time::timeout(connect_timeout, shared.subscribe())
            .await
            .map_err(|_| timeout())?
            .map_err(connect)?;
        tokio::time::timeout(connect_timeout, shared.register())
            .await
            .map_err(|_| timeout())?
            .map_err(connect)?;
        tracing::info!(redis = %shown, node = %shared.node(), "registered in the redis directory");
        tasks.spawn(Arc::clone(&shared).serve(pubsub, shutdown.clone()));
        tasks.spawn(Arc::clone(&shared).heartbeat(shutdown));
        Ok(RedisDirectory { shared })
    }

    /// Every live node's record (this node's as it is now).
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>, PlaceError> {
        self.shared.nodes().await
    }
}

impl Directory for RedisDirectory {
    fn place(&self, request: PlaceRequest) -> BoxFuture<'_, Result<Placement, PlaceError>> {
        Box::pin(self.shared.place(request))
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<RoomListing>, PlaceError>> {
        Box::pin(async move {
            let nodes = self.shared.nodes().await?;
            Ok(nodes.into_iter().flat_map(|node| node.rooms).collect())
        })
    }
}

/// A Redis failure as matchmaking reports it.
fn unavailable(error: impl std::fmt::Display) -> PlaceError {
    PlaceError::Unavailable(format!("redis: {}", lowercase_first(&error.to_string())))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Runs one Redis command with [`COMMAND_TIMEOUT`], as a matchmaking error.
async fn command<T>(future: impl Future<Output = ::redis::RedisResult<T>>) -> Result<T, PlaceError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, future).await {
        Ok(result) => result.map_err(unavailable),
        Err(_) => Err(PlaceError::Unavailable(format!(
            "redis: no answer within {COMMAND_TIMEOUT:?}"
        ))),
    }
}

/// Why a request to another node did not get an answer from it.
enum Forward {
    /// No node listens on its channel: it is gone.
    Gone,
    /// Its answer, or why there was none.
    Answer(Result<Placement, PlaceError>),
}

impl Shared {
    fn node(&self) -> &str {
        &self.rooms.settings().node
    }

    /// This node's record as it is now.
    fn record(&self) -> NodeRecord {
        let settings = self.rooms.settings();
        NodeRecord {
            node: settings.node.clone(),
            ws_url: settings.ws_url.clone(),
            load: self.rooms.load(),
            draining: self.rooms.draining(),
            kinds: self.rooms.kinds().iter().map(|kind| kind.name.to_owned()).collect(),
            rooms: self.rooms.listings(),
            at_unix_ms: super::seat::now_unix_ms(),
        }
    }

    /// Writes this node's record with its expiry, and its index entry.
    async fn register(&self) -> ::redis::RedisResult<()> {
        let record = self.record();
        let json = serde_json::to_string(&record).expect("a record serializes");
        let expires = record.at_unix_ms + EXPIRY.as_millis() as u64;
        let stale = record.at_unix_ms.saturating_sub(INDEX_SWEEP_AFTER_MS);
        let mut commands = self.commands.clone();
        ::redis::pipe()
            .cmd("SET")
            .arg(node_key(&record.node))
            .arg(json)
            .arg("PX")
            .arg(EXPIRY.as_millis() as u64)
            .ignore()
            .zadd(NODES_KEY, &record.node, expires)
            .ignore()
            .zrembyscore(NODES_KEY, "-inf", stale)
            .ignore()
            .query_async(&mut commands)
            .await
    }

    /// Deletes this node's record, so matchmaking stops choosing it at once.
    async fn deregister(&self) -> ::redis::RedisResult<()> {
        let node = self.node();
        let mut commands = self.commands.clone();
        ::redis::pipe()
            .del(node_key(node))
            .ignore()
            .zrem(NODES_KEY, node)
            .ignore()
            .query_async(&mut commands)
            .await
    }

    /// Every live node's record; this node's is made now rather than read back, so it is
    /// there (and current) even before its first heartbeat after Redis came back.
    async fn nodes(&self) -> Result<Vec<NodeRecord>, PlaceError> {
        let mut commands = self.commands.clone();
        let names: Vec<String> = command(commands.zrange(NODES_KEY, 0, -1)).await?;
        let me = self.node();
        let keys: Vec<String> = names
            .iter()
            .filter(|name| name.as_str() != me)
            .map(|name| node_key(name))
            .collect();
        let mut nodes = vec![self.record()];
        if keys.is_empty() {
            return Ok(nodes);
        }
        // MGET always answers an array, one entry per key: nil for an expired record.
        let values: Vec<Option<String>> = command(::redis::cmd("MGET").arg(&keys).query_async(&mut commands)).await?;
        for value in values.into_iter().flatten() {
            match serde_json::from_str::<NodeRecord>(&value) {
                Ok(record) => nodes.push(record),
                Err(error) => tracing::debug!(%error, "skipping a node record that does not parse"),
            }
        }
        Ok(nodes)
    }

    /// Finds a node for `request` and reserves a seat there.
    async fn place(&self, mut request: PlaceRequest) -> Result<Placement, PlaceError> {
        let nodes = self.nodes().await?;
        if let Some(room) = &request.room_id {
            let host = nodes
                .iter()
                .find(|node| node.rooms.iter().any(|listing| listing.room_id == *room))
                .ok_or_else(|| PlaceError::UnknownRoom(room.clone()))?;
            return match self.ask(host, &request).await {
                Forward::Answer(result) => result,
                Forward::Gone => Err(PlaceError::UnknownRoom(room.clone())),
            };
        }
        // Named here: another node's default kind may differ from this one's.
        let kind = request
            .kind
            .get_or_insert_with(|| self.rooms.settings().default_kind.to_owned())
            .clone();
        let hosts: Vec<&NodeRecord> = nodes.iter().filter(|node| node.kinds.contains(&kind)).collect();
        if hosts.is_empty() {
            let mut known: Vec<&str> = nodes
                .iter()
                .flat_map(|node| node.kinds.iter().map(String::as_str))
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(PlaceError::UnknownKind {
                kind,
                known: known.join(", "),
            });
        }
        let mut candidates: Vec<(usize, u32, &NodeRecord)> = {
            let recent = self.recent_placements();
            hosts
                .into_iter()
                .filter(|node| !node.draining)
                .map(|node| {
                    let placed_since = recent
                        .iter()
                        .filter(|(to, at)| *to == node.node && *at >= node.at_unix_ms)
                        .count();
                    // A random tie-break, so equal nodes share a burst.
                    (node.load + placed_since, fastrand::u32(..), node)
                })
                .collect()
        };
        if candidates.is_empty() {
            return Err(PlaceError::Unavailable(format!(
                "every node that hosts {kind:?} is draining"
            )));
        }
        candidates.sort_unstable_by_key(|(load, tie, _)| (*load, *tie));
        let mut last = None;
        for (_, _, node) in candidates.into_iter().take(MAX_ATTEMPTS) {
            match self.ask(node, &request).await {
                Forward::Answer(Ok(placement)) => return Ok(placement),
                // Draining or full since its record was written: the next one.
                Forward::Answer(Err(error @ (PlaceError::Draining | PlaceError::NodeFull(_)))) => last = Some(error),
                Forward::Answer(Err(error)) => return Err(error),
                Forward::Gone => {
                    last = Some(PlaceError::Unavailable(format!("node {} is gone", node.node)));
                }
            }
        }
        Err(last.unwrap_or(PlaceError::Draining))
    }

    /// The seats this node placed on other nodes within the expiry.
    fn recent_placements(&self) -> Vec<(String, u64)> {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let horizon = super::seat::now_unix_ms().saturating_sub(EXPIRY.as_millis() as u64);
        while recent.front().is_some_and(|(_, at)| *at < horizon) {
            recent.pop_front();
        }
        recent.iter().cloned().collect()
    }

    /// Reserves a seat on this node, and has the record rewritten soon.
    fn reserve(&self, request: &PlaceRequest) -> Result<Placement, PlaceError> {
        let result = self.rooms.reserve(request);
        if result.is_ok() {
            self.changed.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Reserves on `node`: directly when it is this one, else through its channel.
    async fn ask(&self, node: &NodeRecord, request: &PlaceRequest) -> Forward {
        if node.node == self.node() {
            return Forward::Answer(self.reserve(request));
        }
        let sent_at = super::seat::now_unix_ms();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        self.pending_map().insert(id, answer);
        let envelope = Envelope {
            id,
            reply_to: reply_channel(self.node()),
            request: request.clone(),
        };
        let json = serde_json::to_string(&envelope).expect("an envelope serializes");
        let mut commands = self.commands.clone();
        let listeners: Result<usize, PlaceError> = command(commands.publish(place_channel(&node.node), json)).await;
        match listeners {
            Ok(0) => {
                self.pending_map().remove(&id);
                return Forward::Gone;
            }
            Ok(_) => {}
            Err(error) => {
                self.pending_map().remove(&id);
                return Forward::Answer(Err(error));
            }
        }
        let result = match tokio::time::timeout(REQUEST_TIMEOUT, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => {
                self.pending_map().remove(&id);
                Err(PlaceError::Unavailable(format!(
                    "node {} did not answer within {REQUEST_TIMEOUT:?}",
                    node.node
                )))
            }
        };
        if result.is_ok() {
            self.recent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back((node.node.clone(), sent_at));
        }
        Forward::Answer(result)
    }

    fn pending_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Placement, PlaceError>>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A pub/sub connection listening for requests to this node and replies to it.
    async fn subscribe(&self) -> ::redis::RedisResult<PubSub> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(place_channel(self.node())).await?;
        pubsub.subscribe(reply_channel(self.node())).await?;
        Ok(pubsub)
    }

    /// Serves requests addressed to this node and hands replies to their askers, until
    /// `shutdown`; subscribes again (with a growing pause) whenever Redis is lost.
    async fn serve(self: Arc<Self>, pubsub: PubSub, shutdown: CancellationToken) {
        let requests = place_channel(self.node());
        let mut pubsub = Some(pubsub);
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut connection = match pubsub.take() {
                Some(connection) => connection,
                None => match tokio::time::timeout(COMMAND_TIMEOUT, self.subscribe()).await {
                    Ok(Ok(connection)) => {
                        tracing::info!("redis is back: taking placement requests again");
                        backoff = Duration::from_millis(100);
                        connection
                    }
                    _ => {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_RESUBSCRIBE_BACKOFF);
                        continue;
                    }
                },
            };
            let mut messages = connection.on_message();
            loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    message = messages.next() => message,
                };
                let Some(message) = message else {
                    tracing::warn!("lost the redis subscription; subscribing again");
                    break;
                };
                if message.get_channel_name() == requests {
                    tokio::spawn(Arc::clone(&self).answer(message));
                } else {
                    self.deliver(&message);
                }
            }
        }
    }

    /// Reserves a seat for another node's request and publishes the answer.
    async fn answer(self: Arc<Self>, message: Msg) {
        let envelope: Envelope = match serde_json::from_slice(message.get_payload_bytes()) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::debug!(%error, "ignoring a placement request that does not parse");
                return;
            }
        };
        let reply = Reply {
            id: envelope.id,
            result: self.reserve(&envelope.request),
        };
        let json = serde_json::to_string(&reply).expect("a reply serializes");
        let mut commands = self.commands.clone();
        if let Err(error) = command(commands.publish::<_, _, ()>(&envelope.reply_to, json)).await {
            // The asker times out and answers 503; the seat expires unclaimed.
            tracing::debug!(%error, "could not answer a placement request");
        }
    }

    /// Hands a reply to the request waiting for it (if it has not given up).
    fn deliver(&self, message: &Msg) {
        let Ok(reply) = serde_json::from_slice::<Reply>(message.get_payload_bytes()) else {
            tracing::debug!("ignoring a placement reply that does not parse");
            return;
        };
        if let Some(waiting) = self.pending_map().remove(&reply.id) {
            let _ = waiting.send(reply.result);
        }
    }

    /// Rewrites this node's record every [`HEARTBEAT`] (and within [`POLL`] when it
    /// starts draining or reserves seats) until `shutdown`, then deletes it.
    async fn heartbeat(self: Arc<Self>, shutdown: CancellationToken) {
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut draining = self.rooms.draining();
        let mut healthy = true;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = beat.tick() => {}
                _ = poll.tick() => {
                    if self.rooms.draining() == draining && !self.changed.load(Ordering::Relaxed) {
                        continue;
                    }
                }
            }
            draining = self.rooms.draining();
            // Cleared before the write, so a seat reserved during it is written next time.
            self.changed.store(false, Ordering::Relaxed);
            match tokio::time::timeout(COMMAND_TIMEOUT, self.register()).await {
                Ok(Ok(())) => {
                    if !healthy {
                        tracing::info!("redis is back: this node is registered again");
                        healthy = true;
                    }
                }
                failed => {
                    if healthy {
                        let why = match failed {
                            Ok(Err(error)) => lowercase_first(&error.to_string()),
                            _ => format!("no answer within {COMMAND_TIMEOUT:?}"),
                        };
                        tracing::warn!(
                            error = %why,
                            "redis lost: rooms play on, matchmaking answers 503 until it is back"
                        );
                        healthy = false;
                    }
                }
            }
        }
        match tokio::time::timeout(DEREGISTER_TIMEOUT, self.deregister()).await {
            Ok(Ok(())) => tracing::info!("left the redis directory"),
            _ => tracing::warn!("could not leave the redis directory; the record expires within {EXPIRY:?}"),
        }
    }
}

/// `url` with any password replaced, for messages and logs.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("redis://:secret@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact("rediss://user:secret@host/2"), "rediss://user:***@host/2");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn replies_carry_results_both_ways() {
        let reply = Reply {
            id: 7,
            result: Err(PlaceError::Full {
                room: "arena-1".into(),
                capacity: 8,
            }),
        };
        let back: Reply = serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
        assert_eq!(back.id, 7);
        assert_eq!(back.result, reply.result);
    }
}
