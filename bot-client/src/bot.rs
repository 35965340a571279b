//! One bot's session: connect (straight to a URL, or to the seat matchmaking gave it),
//! `Hello`, wait for `Welcome`, then one scripted input per tick while every snapshot goes
//! through a [`ClientMirror`], until the run's deadline.
//!
//! The bot talks to a WebSocket whichever transport is under it ([`transport`]): its
//! own, or an HTTP fallback session. On `--transport auto` a bot whose WebSocket is
//! refused (for any reason but its token) or fails before the `Welcome` joins again over
//! HTTP and stays there, resumes included.
//!
//! Each input is fed to the WebSocket as it is made and flushed with the inputs before
//! it once it completes a write of [`InputsPerWrite`] inputs (see [`PendingWrite`]), so
//! one TCP write carries that many input messages.
//!
//! After a drop (chaos, or a lost connection with `resume_lost`) the bot reconnects with
//! its resume token: to the same URL or, when matchmade, to its room
//! (`ws_url?room=ROOM_ID`, seats being single-use); a room that refuses it sends it back
//! to matchmaking.
//!
//! Every wait is bounded (matchmaking, connecting, the welcome, the play phase by the
//! deadline, the closing handshake), so a bot always ends by itself. Whatever goes wrong
//! ends only that bot and becomes its failure reason; nothing here panics on network
//! input.

use crate::acks::AckTracker;
use crate::config::{InputsPerWrite, MAX_INPUTS_PER_WRITE};
use crate::live::LiveCounters;
use crate::matchmake::{MatchmakeError, Matchmaking, Placement, TargetError, matchmake, refusal_reason};
use crate::outcome::{ACK_GRACE, BotOutcome, RoomStint};
use crate::script::InputScript;
use crate::timeline::{BotRoundTrips, RttTimeline};
use crate::transport::{self, FallbackError, Socket, Transport, Used};
use crate::view::ViewTracker;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use thiserror::Error;
use tickcast_shared::{
    ClientMirror, ClientMsg, DecodeError, EncodeError, Hello, InputAck, InputError, MirrorError, PROTOCOL_VERSION,
    ServerMsg, SnapshotFrame, Spectate, Welcome,
};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

/// Longest wait for the TCP and WebSocket handshakes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for `Welcome` after `Hello`.
pub const WELCOME_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the server's answer to our close frame at the end of the run.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Mirror errors a bot keeps the message of.
const MIRROR_ERROR_SAMPLES: usize = 3;
/// Applied snapshots a bot counts before adding them to the live counters (half a
/// second at 30 snapshots/s: the progress bar redraws every 250 ms and averages over
/// every bot).
const LIVE_BATCH: u64 = 16;
/// Room for encoded inputs; each message splits its bytes off the front, and once
/// tungstenite has copied them all out the buffer is reused from the start.
const OUTGOING_BYTES: usize = 1024;
/// Socket read buffer per bot. tungstenite zero-fills the buffer's free space before
/// every socket read (snapview/tungstenite-rs#547): at its 128 KiB default that memset
/// was over a third of a swarm's CPU, and at 4 KiB still 1.2%, for snapshots of a few
/// hundred bytes (at most ~1 100 under the default budget, so they fit one read).
/// Larger frames still arrive, in several reads.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Where the bots of a run join.
#[derive(Clone, Debug)]
pub enum Route {
    /// Straight to this WebSocket URL: the node's default room.
    Direct(String),
    /// Through `POST /matchmake`, each bot asking for its own seat.
    Matchmake {
        /// The run's HTTP client.
        client: reqwest::Client,
        /// What to ask for, and where.
        matchmaking: Arc<Matchmaking>,
    },
}

/// When and where one bot plays.
#[derive(Clone)]
pub struct BotPlan {
    /// Position in the swarm; names the bot (`bot-{index}`) and seeds its script.
    pub index: usize,
    /// Where it joins.
    pub route: Route,
    /// TLS for `wss://` URLs, shared by the run's bots.
    pub connector: Connector,
    /// The run's seed.
    pub seed: u64,
    /// When to connect.
    pub start_at: Instant,
    /// When to stop sending inputs and close.
    pub deadline: Instant,
    /// Inputs each socket write carries.
    pub inputs_per_write: InputsPerWrite,
    /// Connections dropped and resumed per minute, on average (0: none).
    pub chaos_reconnects_per_minute: u32,
    /// Whether a lost connection is resumed rather than a failure.
    pub resume_lost: bool,
    /// Whether the bot joins as a spectator of the whole world: no player, no inputs.
    pub spectate: bool,
    /// WebSocket, the HTTP fallback, or the first that works.
    pub transport: Transport,
    /// The HTTP fallback's client, shared by the run's bots (`None` for `ws` only).
    pub http: Option<reqwest::Client>,
}

impl BotError {
    /// Whether the connection was lost (reset, cut, ended without a close) rather than
    /// closed or refused by the server.
    fn is_connection_loss(&self) -> bool {
        if let BotError::BothFailed { http, .. } = self {
            return http.is_connection_loss();
        }
        matches!(
            self,
            BotError::ConnectionLost
                | BotError::Transport(_)
                | BotError::Connect(_)
                | BotError::Fallback(FallbackError::Request(_))
        )
    }

    /// Whether a bot on `--transport auto` that got this on its WebSocket should try the
    /// HTTP fallback: an upgrade refused for any reason but the token (401: HTTP would
    /// be refused alike), or a socket that failed or went silent before the `Welcome`.
    fn wants_fallback(&self) -> bool {
        match self {
            BotError::Connect(error) => match &**error {
                tungstenite::Error::Http(response) => response.status() != StatusCode::UNAUTHORIZED,
                _ => true,
            },
            BotError::UpgradeRefused { status, .. } => *status != StatusCode::UNAUTHORIZED,
            BotError::ConnectTimeout(_)
            | BotError::ConnectionLost
            | BotError::Transport(_)
            | BotError::WelcomeTimeout(_)
            | BotError::ServerSilent(_) => true,
            _ => false,
        }
    }

    /// Whether the server turned the bot away: a close frame in answer to `Hello`, or an
    /// HTTP status instead of the upgrade.
    fn is_refusal(&self) -> bool {
        match self {
            BotError::BothFailed { http, .. } => http.is_refusal(),
            _ => matches!(self, BotError::Refused(_) | BotError::UpgradeRefused { .. }),
        }
    }

    /// A failed connect whose upgrade the server answered with an HTTP status becomes
    /// [`BotError::UpgradeRefused`] (of `what`); any other error stays as it is.
    fn upgrade_refused(self, what: &'static str) -> BotError {
        match self {
            BotError::Fallback(FallbackError::Refused { status, reason }) => {
                BotError::UpgradeRefused { what, status, reason }
            }
            BotError::Connect(error) => match *error {
                tungstenite::Error::Http(response) => BotError::UpgradeRefused {
                    what,
                    status: response.status(),
                    reason: response.body().as_deref().map(refusal_reason).unwrap_or_default(),
                },
                error => BotError::Connect(Box::new(error)),
            },
            error => error,
        }
    }
}

fn parenthesized(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// How long a bot waits without any message before it takes the server for dead.
const SERVER_SILENCE: Duration = Duration::from_secs(5);

/// Opens the bot's WebSocket for the game endpoint `url` over `used`: a WebSocket
/// (`ws://` or `wss://` with the run's TLS trust), or an HTTP fallback session.
async fn connect(url: &str, plan: &BotPlan, used: Used) -> Result<Socket, BotError> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let connecting = async {
        match (used, &plan.http) {
            (Used::Ws, _) => transport::connect_ws(url, config, plan.connector.clone())
                .await
                .map_err(|error| BotError::Connect(Box::new(error))),
            (Used::Http, Some(client)) => transport::connect_http(client, url, config)
                .await
                .map_err(BotError::Fallback),
            (Used::Http, None) => Err(BotError::Fallback(FallbackError::Request(
                "no http client for the fallback".to_owned(),
            ))),
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| BotError::ConnectTimeout(CONNECT_TIMEOUT))?
}

/// When a chaos bot next drops its connection: exponential gaps (a Poisson process)
/// at the plan's rate, seeded by the run's seed and the bot's index.
struct Chaos {
    rng: fastrand::Rng,
    per_second: f64,
    next: Option<Instant>,
}

impl Chaos {
    fn new(plan: &BotPlan) -> Chaos {
        let per_second = f64::from(plan.chaos_reconnects_per_minute) / 60.0;
        let mut chaos = Chaos {
            rng: fastrand::Rng::with_seed(plan.seed ^ (plan.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            per_second,
            next: None,
        };
        chaos.next = chaos.after(Instant::now());
        chaos
    }

    fn after(&mut self, now: Instant) -> Option<Instant> {
        (self.per_second > 0.0).then(|| {
            let gap = -(1.0 - self.rng.f64()).ln() / self.per_second;
            now + Duration::from_secs_f64(gap)
        })
    }

    /// Whether a drop is due at `now` (and if so, schedules the next).
    fn due(&mut self, now: Instant) -> bool {
        match self.next {
            Some(next) if now >= next => {
                self.next = self.after(now);
                true
            }
            _ => false,
        }
    }
}

/// Why a bot stopped before the end of the run.
#[derive(Debug, Error)]
pub enum BotError {
    /// TCP or WebSocket handshake failed.
    #[error("connecting: {0}")]
    Connect(Box<tungstenite::Error>),
    /// TCP or WebSocket handshake took too long.
    #[error("connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The HTTP fallback's session could not be opened.
    #[error(transparent)]
    Fallback(FallbackError),
    /// On `--transport auto`: the WebSocket failed, and then the HTTP fallback.
    #[error("{websocket}; then over http: {http}")]
    BothFailed {
        /// Why the WebSocket failed.
        websocket: Box<BotError>,
        /// Why the fallback failed: what decides what happens next.
        http: Box<BotError>,
    },
    /// Matchmaking gave no seat.
    #[error(transparent)]
    Matchmake(#[from] MatchmakeError),
    /// A seat or a room the server answered with a URL the bots cannot use.
    #[error(transparent)]
    BadUrl(#[from] TargetError),
    /// A matchmade bot's WebSocket upgrade was refused with an HTTP status: its seat (used,
    /// expired, forged) or its room (gone, on another node).
    #[error("server refused the {what}: {status}{}", parenthesized(.reason))]
    UpgradeRefused {
        /// What was refused: `seat` or `room`.
        what: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The reason in the response body, if any.
        reason: String,
    },
    /// No `Welcome` in time.
    #[error("no welcome within {0:?} of hello")]
    WelcomeTimeout(Duration),
    /// The server answered `Hello` with a close frame.
    #[error("server refused the session: {0}")]
    Refused(String),
    /// The server closed the connection during the run.
    #[error("server closed the connection: {0}")]
    ClosedByServer(String),
    /// The connection ended without a close frame.
    #[error("connection ended without a close frame")]
    ConnectionLost,
    /// Nothing came from the server for this long: it is dead or the path is.
    #[error("the server was silent for {0:?}")]
    ServerSilent(Duration),
    /// Reading or writing the socket failed.
    #[error("connection error: {0}")]
    Transport(Box<tungstenite::Error>),
    /// A binary frame that is not a `ServerMsg`.
    #[error("undecodable server message: {0}")]
    Undecodable(DecodeError),
    /// A message the protocol does not allow at this point.
    #[error("unexpected {0} from the server")]
    Unexpected(&'static str),
    /// `Welcome` carried another protocol version.
    #[error("server speaks protocol version {server}, the bots speak {PROTOCOL_VERSION}")]
    VersionMismatch {
        /// The server's version.
        server: u16,
    },
    /// `Welcome` announced a tick rate of zero.
    #[error("server announced a tick rate of 0")]
    ZeroTickRate,
    /// The script made an input the server would refuse (a bug in the script).
    #[error("scripted input is invalid: {0}")]
    InvalidInput(InputError),
    /// A message could not be encoded.
    #[error("encoding: {0}")]
    Encode(EncodeError),
}

impl BotError {
    /// The close frame to send when giving up on the connection for this reason, if
    /// the connection is still worth closing politely.
    fn close_frame(&self) -> Option<CloseFrame> {
        let code = match self {
            BotError::Undecodable(_) | BotError::Unexpected(_) | BotError::VersionMismatch { .. } => {
                CloseCode::Protocol
            }
            BotError::ZeroTickRate | BotError::WelcomeTimeout(_) | BotError::InvalidInput(_) | BotError::Encode(_) => {
                CloseCode::Away
            }
            BotError::Connect(_)
            | BotError::ConnectTimeout(_)
            | BotError::Fallback(_)
            | BotError::BothFailed { .. }
            | BotError::Matchmake(_)
            | BotError::BadUrl(_)
            | BotError::UpgradeRefused { .. }
            | BotError::Refused(_)
            | BotError::ClosedByServer(_)
            | BotError::ConnectionLost
            | BotError::ServerSilent(_)
            | BotError::Transport(_) => return None,
        };
        let mut reason = self.to_string();
        // A close reason must fit a control frame (125 bytes less the code).
        while reason.len() > 120 {
            reason.pop();
        }
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// Describes a close frame for a failure reason: `close code 1001 (server shutting down)`.
pub fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        None => "no close code".to_owned(),
        Some(frame) if frame.reason.is_empty() => format!("close code {}", u16::from(frame.code)),
        Some(frame) => format!("close code {} ({})", u16::from(frame.code), frame.reason.as_str()),
    }
}

/// Runs one bot from its start time to the deadline (plus the closing handshake).
pub async fn run_bot(plan: BotPlan, live: Arc<LiveCounters>, timeline: Arc<RttTimeline>) -> BotOutcome {
    tokio::time::sleep_until(plan.start_at).await;
    let mut bot = Bot::new(live, timeline, plan.inputs_per_write);
    if let Err(error) = bot.run(&plan).await {
        tracing::debug!(bot = plan.index, %error, "bot failed");
        bot.live.bot_failed();
        bot.outcome.failure = Some(error.to_string());
    }
    let stopped_sending = bot.stopped_sending.unwrap_or(plan.deadline);
    bot.outcome.inputs_due = stopped_sending
        .checked_sub(ACK_GRACE)
        .map_or(0, |cutoff| bot.acks.inputs_sent_before(cutoff));
    bot.outcome.inputs_sent = bot.acks.inputs_sent();
    bot.outcome.inputs_acked = bot.acks.inputs_acked();
    bot.outcome.got_ack = bot.acks.last_ack().is_some();
    bot.outcome.view = bot.view.into_stats();
    bot.live.snapshots_applied(bot.unreported_snapshots);
    bot.round_trips_this_second.flush();
    bot.outcome
}

struct Bot {
    live: Arc<LiveCounters>,
    mirror: ClientMirror,
    acks: AckTracker,
    outcome: BotOutcome,
    /// Follows the mirror for the snapshot figures.
    view: ViewTracker,
    /// When the play phase ended, by the deadline or a failure.
    stopped_sending: Option<Instant>,
    /// The message being encoded.
    encoded: Vec<u8>,
    /// Encoded messages handed to the socket: no allocation per input.
    outgoing: BytesMut,
    /// Inputs fed to the socket and not yet flushed.
    pending: PendingWrite,
    /// Snapshots applied and not yet added to the live counters.
    unreported_snapshots: u64,
    /// This second's round trips, for the swarm's timeline.
    round_trips_this_second: BotRoundTrips,
    /// The room the bot is in, once it has joined one.
    placement: Option<Placement>,
    /// Whether a bot on `--transport auto` has fallen back to HTTP (for good).
    fell_back: bool,
}

impl Bot {
    fn new(live: Arc<LiveCounters>, timeline: Arc<RttTimeline>, inputs_per_write: InputsPerWrite) -> Bot {
        Bot {
            live,
            mirror: ClientMirror::new(),
            acks: AckTracker::default(),
            outcome: BotOutcome::empty(),
            view: ViewTracker::new(0),
            stopped_sending: None,
            encoded: Vec::new(),
            outgoing: BytesMut::new(),
            pending: PendingWrite::new(inputs_per_write),
            unreported_snapshots: 0,
            round_trips_this_second: BotRoundTrips::new(timeline),
            placement: None,
            fell_back: false,
        }
    }

    async fn run(&mut self, plan: &BotPlan) -> Result<(), BotError> {
        let (mut socket, welcome) = self.join(plan).await?;
        self.outcome.connected = true;
        self.live.bot_connected();
        self.acks = AckTracker::for_tick_rate(welcome.tick_rate);
        self.view = ViewTracker::new(welcome.tick_rate);
        let connected_at = Instant::now();
        let played = self.play(&mut socket, plan, &welcome).await;
        let stopped_sending = Instant::now();
        self.stopped_sending = Some(stopped_sending);
        self.outcome.connected_for = stopped_sending.duration_since(connected_at);
        if !plan.spectate {
            self.outcome.inputs_expected =
                (self.outcome.connected_for.as_secs_f64() * f64::from(welcome.tick_rate)) as u64;
        }
        match played {
            Err(error) => Err(abandon(&mut socket, error).await),
            Ok(()) => {
                self.close(&mut socket).await;
                Ok(())
            }
        }
    }

    /// The transport the bot's next connection uses.
    fn transport(&self, plan: &BotPlan) -> Used {
        match plan.transport {
            Transport::Ws => Used::Ws,
            Transport::Http => Used::Http,
            Transport::Auto if self.fell_back => Used::Http,
            Transport::Auto => Used::Ws,
        }
    }

    /// Whether `error`, on this bot's WebSocket, sends it to the HTTP fallback; if so,
    /// it stays there.
    fn fall_back(&mut self, plan: &BotPlan, error: &BotError) -> bool {
        let falls_back = plan.transport == Transport::Auto && !self.fell_back && error.wants_fallback();
        if falls_back {
            tracing::debug!(bot = plan.index, %error, "websocket failed, falling back to http");
            self.fell_back = true;
        }
        falls_back
    }

    /// [`Bot::join_once`] on the plan's transport; on `auto`, again over HTTP if the
    /// WebSocket failed before the `Welcome` (a matchmade bot asks for a new seat: the
    /// refused one may have been used).
    async fn join(&mut self, plan: &BotPlan) -> Result<(Socket, Welcome), BotError> {
        match self.join_once(plan).await {
            Err(websocket) if self.fall_back(plan, &websocket) => {
                self.join_once(plan).await.map_err(|http| BotError::BothFailed {
                    websocket: Box::new(websocket),
                    http: Box::new(http),
                })
            }
            joined => joined,
        }
    }

    /// Joins a room as a new player (or spectator): connects straight to the plan's URL, or
    /// asks matchmaking for a seat and connects to it; then `Hello` and a checked
    /// `Welcome`. The bot's placement becomes the room joined.
    async fn join_once(&mut self, plan: &BotPlan) -> Result<(Socket, Welcome), BotError> {
        let used = self.transport(plan);
        let (placement, mut socket) = match &plan.route {
            Route::Direct(url) => (Placement::default_room(url), connect(url, plan, used).await?),
            Route::Matchmake { client, matchmaking } => {
                let seat = matchmake(client, matchmaking, plan.deadline).await?;
                let micros = u64::try_from(seat.latency.as_micros()).unwrap_or(u64::MAX);
                self.outcome.matchmake_micros.saturating_record(micros.max(1));
                self.outcome.matchmake_retries += u64::from(seat.retries);
                let url = seat.placement.seat_url(&seat.token)?;
                let socket = connect(url.as_str(), plan, used)
                    .await
                    .map_err(|error| error.upgrade_refused("seat"))?;
                (seat.placement, socket)
            }
        };
        let welcome = tokio::time::timeout(WELCOME_TIMEOUT, self.handshake(&mut socket, plan, None))
            .await
            .unwrap_or(Err(BotError::WelcomeTimeout(WELCOME_TIMEOUT)))
            .and_then(check_welcome);
        match welcome {
            Ok(welcome) => {
                self.enter(placement);
                self.outcome.transport = Some(used);
                Ok((socket, welcome))
            }
            Err(error) => Err(abandon(&mut socket, error).await),
        }
    }

    /// Notes that the bot is now in `placement`'s room: a new stint if it is another room.
    fn enter(&mut self, placement: Placement) {
        let same_room = self
            .outcome
            .rooms
            .last()
            .is_some_and(|stint| stint.room_id == placement.room_id && stint.ws_url == placement.ws_url);
        if !same_room {
            self.outcome.rooms.push(RoomStint {
                room_id: placement.room_id.clone(),
                ws_url: placement.ws_url.clone(),
                checksum_mismatches: 0,
            });
        }
        self.placement = Some(placement);
    }

    /// Sends `Hello` (resuming with `resume`, if given; spectating if the plan says so)
    /// and waits for `Welcome`.
    async fn handshake(
        &mut self,
        socket: &mut Socket,
        plan: &BotPlan,
        resume: Option<&[u8]>,
    ) -> Result<Welcome, BotError> {
        let name = format!("bot-{}", plan.index);
        let hello = match resume {
            _ if plan.spectate => Hello::spectating(name, Spectate::World),
            Some(token) => Hello::resuming(name, token),
            None => Hello::new(name),
        };
        self.send(socket, &ClientMsg::Hello(hello)).await?;
        loop {
            match receive(socket).await? {
                Message::Binary(bytes) => {
                    self.outcome.bytes_down += bytes.len() as u64;
                    return match ServerMsg::decode(&bytes).map_err(BotError::Undecodable)? {
                        ServerMsg::Welcome(welcome) => Ok(welcome),
                        ServerMsg::Snapshot(_) => Err(BotError::Unexpected("snapshot before the welcome")),
                    };
                }
                Message::Close(frame) => return Err(BotError::Refused(describe_close(frame.as_ref()))),
                Message::Text(_) => return Err(BotError::Unexpected("text frame")),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Sends one input per tick and applies every snapshot, until the first tick at or
    /// after the deadline (`Ok`) or an error.
    ///
    /// Each input is fed to the socket on its tick; the one that completes a write is sent
    /// (fed and flushed), which writes the inputs held before it too. Writes are bounded
    /// by the deadline, and whatever is still held at the deadline is flushed then. An
    /// input counts as sent once the write carrying it is flushed, with the time it was
    /// made as its send time: its round trip includes the ticks it was held.
    ///
    /// The tick interval is the bot's only timer: the deadline is checked on each tick
    /// rather than by a timeout around the whole loop, which would be polled again on
    /// every one of the bot's ~90 wake-ups a second.
    async fn play(&mut self, socket: &mut Socket, plan: &BotPlan, welcome: &Welcome) -> Result<(), BotError> {
        let mut script = InputScript::new(&welcome.schema, plan.seed, plan.index, welcome.tick_rate);
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(welcome.tick_rate)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut chaos = Chaos::new(plan);
        let mut welcome = welcome.clone();
        // Snapshots come at the snapshot rate and the server pings every second: this
        // long without a message means the server or the path is dead.
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                at = ticks.tick() => {
                    if at >= plan.deadline {
                        return self.flush_held(socket, plan.deadline).await;
                    }
                    if at.duration_since(last_heard) > SERVER_SILENCE {
                        let silent = BotError::ServerSilent(SERVER_SILENCE);
                        if !plan.resume_lost {
                            return Err(silent);
                        }
                        welcome = self.drop_and_resume(socket, plan, &welcome).await?;
                        last_heard = Instant::now();
                    }
                    if chaos.due(at) {
                        welcome = self.drop_and_resume(socket, plan, &welcome).await?;
                    }
                    if plan.spectate {
                        continue;
                    }
                    let mut input = script.next_input();
                    script.validate(&input).map_err(BotError::InvalidInput)?;
                    input.view_tick = self.view_tick();
                    let made_at = Instant::now();
                    let completes_write = self.pending.hold(input.seq, made_at);
                    let message = ClientMsg::Input(input);
                    let written = if completes_write {
                        before(plan.deadline, self.send(socket, &message)).await
                    } else {
                        // tungstenite only buffers it (its reads flush only to answer a
                        // ping or a close), so it leaves with the write's last input.
                        before(plan.deadline, self.feed(socket, &message)).await
                    };
                    match written {
                        Some(Err(error)) if plan.resume_lost && error.is_connection_loss() => {
                            welcome = self.drop_and_resume(socket, plan, &welcome).await?;
                            continue;
                        }
                        Some(written) => written?,
                        // The socket stayed full until the deadline: the run is over.
                        None => return Ok(()),
                    }
                    if completes_write {
                        self.on_flushed();
                    }
                }
                received = receive(socket) => match received {
                    Err(error) if plan.resume_lost && error.is_connection_loss() => {
                        welcome = self.drop_and_resume(socket, plan, &welcome).await?;
                        last_heard = Instant::now();
                    }
                    received => {
                        last_heard = Instant::now();
                        self.on_message(received?)?;
                    }
                },
            }
        }
    }

    /// Drops the connection without a close handshake, as a network would, reconnects
    /// with the resume token, and starts a new mirror (the server sends a full snapshot).
    /// Inputs held but not yet written are lost, as they would be; the seq goes on, and
    /// the server's ack carries on from the last input it applied.
    ///
    /// A matchmade bot reconnects to its room (`ws_url?room=ROOM_ID`); if the server
    /// refuses that (the room is gone, the resume token too old), it matchmakes again and
    /// joins wherever it is seated as a new player.
    async fn drop_and_resume(
        &mut self,
        socket: &mut Socket,
        plan: &BotPlan,
        welcome: &Welcome,
    ) -> Result<Welcome, BotError> {
        self.outcome.drops += 1;
        let _ = self.pending.take();
        let (resume_url, what) = match (&plan.route, &self.placement) {
            (Route::Direct(url), _) => (url.clone(), None),
            (Route::Matchmake { .. }, Some(placement)) => (placement.room_url()?.to_string(), Some("room")),
            // Not in a room (not reached: play follows a join): a new seat, then.
            (Route::Matchmake { .. }, None) => return self.rejoin(socket, plan).await,
        };
        let mut attempts = 0;
        let resumed = loop {
            attempts += 1;
            let used = self.transport(plan);
            let attempt = async {
                *socket = connect(&resume_url, plan, used).await.map_err(|error| match what {
                    Some(what) => error.upgrade_refused(what),
                    None => error,
                })?;
                tokio::time::timeout(WELCOME_TIMEOUT, self.handshake(socket, plan, Some(&welcome.resume)))
                    .await
                    .unwrap_or(Err(BotError::WelcomeTimeout(WELCOME_TIMEOUT)))
                    .and_then(check_welcome)
            };
            match attempt.await {
                Ok(resumed) => {
                    self.outcome.transport = Some(used);
                    break resumed;
                }
                // The WebSocket is blocked now: resume over HTTP (not an attempt lost).
                Err(error) if self.fall_back(plan, &error) => attempts -= 1,
                // The new connection was lost too (a flaky network): try again, a few times.
                Err(error) if plan.resume_lost && error.is_connection_loss() && attempts < 3 => continue,
                // Seats are single-use: a room that will not take the bot back sends it to
                // matchmaking.
                Err(error) if what.is_some() && error.is_refusal() => {
                    tracing::debug!(bot = plan.index, %error, "resume refused, matchmaking again");
                    return self.rejoin(socket, plan).await;
                }
                Err(error) => return Err(error),
            }
        };
        if resumed.player == welcome.player && (resumed.player.is_some() || plan.spectate) {
            self.outcome.resumes += 1;
        }
        self.mirror = ClientMirror::new();
        Ok(resumed)
    }

    /// Joins afresh after a refused resume (a new seat, a new player) on `socket`, with a
    /// new mirror.
    async fn rejoin(&mut self, socket: &mut Socket, plan: &BotPlan) -> Result<Welcome, BotError> {
        let (joined, welcome) = self.join(plan).await?;
        *socket = joined;
        self.mirror = ClientMirror::new();
        Ok(welcome)
    }

    /// Flushes the inputs still held at the deadline, if the socket takes them at once;
    /// otherwise the close frame, queued behind them, carries them out.
    async fn flush_held(&mut self, socket: &mut Socket, deadline: Instant) -> Result<(), BotError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match before(deadline, socket.flush()).await {
            Some(flushed) => flushed.map_err(|error| BotError::Transport(Box::new(error)))?,
            None => return Ok(()),
        }
        self.on_flushed();
        Ok(())
    }

    /// Counts the held inputs as sent, each at the time it was made.
    fn on_flushed(&mut self) {
        for &(seq, made_at) in self.pending.take() {
            self.acks.on_sent(seq, made_at);
        }
    }

    /// Encodes `message` and sends it: fed, then flushed with whatever was fed before it.
    async fn send(&mut self, socket: &mut Socket, message: &ClientMsg) -> Result<(), BotError> {
        let message = self.encode(message)?;
        socket
            .send(message)
            .await
            .map_err(|error| BotError::Transport(Box::new(error)))
    }

    /// Encodes `message` and feeds it to the socket, which only buffers it until a flush.
    async fn feed(&mut self, socket: &mut Socket, message: &ClientMsg) -> Result<(), BotError> {
        let message = self.encode(message)?;
        socket
            .feed(message)
            .await
            .map_err(|error| BotError::Transport(Box::new(error)))
    }

    fn encode(&mut self, message: &ClientMsg) -> Result<Message, BotError> {
        self.encoded.clear();
        message.encode_into(&mut self.encoded).map_err(BotError::Encode)?;
        self.outcome.bytes_up += self.encoded.len() as u64;
        Ok(Message::Binary(split_off_message(&mut self.outgoing, &self.encoded)))
    }

    fn on_message(&mut self, message: Message) -> Result<(), BotError> {
        match message {
            Message::Binary(bytes) => {
                self.outcome.bytes_down += bytes.len() as u64;
                match ServerMsg::decode(&bytes).map_err(BotError::Undecodable)? {
                    ServerMsg::Snapshot(frame) => {
                        self.on_snapshot(&frame, bytes.len());
                        Ok(())
                    }
                    ServerMsg::Welcome(_) => Err(BotError::Unexpected("second welcome")),
                }
            }
            Message::Close(frame) => Err(BotError::ClosedByServer(describe_close(frame.as_ref()))),
            Message::Text(_) => Err(BotError::Unexpected("text frame")),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    /// The tick the bot views, as its inputs say: its mirror's newest (bots render
    /// nothing, so they see the world as soon as it arrives).
    fn view_tick(&self) -> Option<tickcast_shared::Tick> {
        self.mirror.tick()
    }

    /// Applies one snapshot frame of `payload_bytes` to the mirror and takes its ack.
    fn on_snapshot(&mut self, frame: &SnapshotFrame, payload_bytes: usize) {
        let received_at = Instant::now();
        let result = self.mirror.apply_frame(frame);
        self.view.on_frame(frame, payload_bytes, &result, &self.mirror);
        match result {
            Ok(applied) => {
                self.outcome.snapshots_applied += 1;
                self.outcome.checksums_verified += u64::from(applied.checksum_verified);
                self.unreported_snapshots += 1;
                if self.unreported_snapshots == LIVE_BATCH {
                    self.live.snapshots_applied(LIVE_BATCH);
                    self.unreported_snapshots = 0;
                }
            }
            Err(error) => {
                if matches!(error, MirrorError::ChecksumMismatch { .. }) {
                    self.outcome.checksum_mismatches += 1;
                    if let Some(stint) = self.outcome.rooms.last_mut() {
                        stint.checksum_mismatches += 1;
                    }
                    self.live.checksum_mismatch();
                } else {
                    self.outcome.mirror_errors += 1;
                    self.live.mirror_error();
                }
                if self.outcome.mirror_error_samples.len() < MIRROR_ERROR_SAMPLES {
                    tracing::debug!(%error, "mirror error");
                    self.outcome.mirror_error_samples.push(error.to_string());
                }
            }
        }
        // The mirror resolves relative acks; only a frame that carries one moves it.
        let ack = match frame.input_ack {
            InputAck::None => None,
            InputAck::Absolute(_) | InputAck::Advance(_) => self.mirror.input_ack(),
        };
        let round_trip = ack.and_then(|ack| self.acks.on_ack(ack, received_at));
        if let Some(round_trip) = round_trip {
            let micros = u64::try_from(round_trip.as_micros()).unwrap_or(u64::MAX);
            self.outcome.rtt_micros.saturating_record(micros.max(1));
            self.round_trips_this_second.record(received_at, micros);
        }
    }

    /// Ends a completed run: our close frame (1000), then snapshots still in flight
    /// (their acks count) until the server's close, for at most [`CLOSE_TIMEOUT`].
    async fn close(&mut self, socket: &mut Socket) {
        let closing = async {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "run over".into(),
            };
            socket.close(Some(frame)).await?;
            while let Some(message) = socket.next().await {
                match message? {
                    Message::Binary(bytes) => {
                        // Late snapshots still carry acks; anything else is past caring.
                        self.outcome.bytes_down += bytes.len() as u64;
                        if let Ok(ServerMsg::Snapshot(frame)) = ServerMsg::decode(&bytes) {
                            self.on_snapshot(&frame, bytes.len());
                        }
                    }
                    Message::Close(_) => break,
                    Message::Text(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
            Ok::<(), tungstenite::Error>(())
        };
        match tokio::time::timeout(CLOSE_TIMEOUT, closing).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "closing handshake failed"),
            Err(_) => tracing::debug!("server did not answer the close frame within {CLOSE_TIMEOUT:?}"),
        }
    }
}

/// The inputs of the socket write being put together: fed to the socket, not yet
/// flushed. Which input completes a write is decided here, so it can be tested without a
/// socket. A fixed array: holding inputs allocates nothing.
#[derive(Debug)]
struct PendingWrite {
    /// Inputs per write.
    per_write: usize,
    /// `(seq, made at)` of the inputs held, oldest first, in `inputs[..held]`.
    inputs: [(u32, Instant); MAX_INPUTS_PER_WRITE as usize],
    held: usize,
}

impl PendingWrite {
    fn new(per_write: InputsPerWrite) -> PendingWrite {
        PendingWrite {
            per_write: usize::from(per_write.get()),
            inputs: [(0, Instant::now()); MAX_INPUTS_PER_WRITE as usize],
            held: 0,
        }
    }

    /// Holds input `seq`, made at `made_at`. True if it completes a write: it must then
    /// be sent with a flush, and [`PendingWrite::take`] called once that succeeded.
    fn hold(&mut self, seq: u32, made_at: Instant) -> bool {
        if let Some(slot) = self.inputs.get_mut(self.held) {
            *slot = (seq, made_at);
            self.held += 1;
        }
        self.held >= self.per_write
    }

    /// Whether any input waits for a flush.
    fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// The held inputs, oldest first, once flushed; the next write starts empty.
    fn take(&mut self) -> &[(u32, Instant)] {
        let held = std::mem::take(&mut self.held);
        &self.inputs[..held]
    }
}

/// Runs `future` to completion unless `deadline` passes first (`None`). The timer is only
/// set up if the future does not complete at its first poll: a send into a socket with
/// room almost always does, and then costs no timer at all.
async fn before<T>(deadline: Instant, future: impl Future<Output = T>) -> Option<T> {
    let mut future = std::pin::pin!(future);
    if let Poll::Ready(output) = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        return Some(output);
    }
    tokio::time::timeout_at(deadline, future).await.ok()
}

/// Copies `encoded` into `outgoing` and splits it off as one message. `outgoing` keeps
/// one allocation: when it runs out, it moves back to the start of its buffer if every
/// message split off before has been dropped (tungstenite drops each once it has copied
/// it into its write buffer), and only allocates if one is still held.
fn split_off_message(outgoing: &mut BytesMut, encoded: &[u8]) -> Bytes {
    if outgoing.capacity() < encoded.len() {
        outgoing.reserve(OUTGOING_BYTES.max(encoded.len()));
    }
    outgoing.extend_from_slice(encoded);
    outgoing.split().freeze()
}

/// Validates a `Welcome` before playing by it.
fn check_welcome(welcome: Welcome) -> Result<Welcome, BotError> {
    if welcome.protocol_version != PROTOCOL_VERSION {
        return Err(BotError::VersionMismatch {
            server: welcome.protocol_version,
        });
    }
    if welcome.tick_rate == 0 {
        return Err(BotError::ZeroTickRate);
    }
    Ok(welcome)
}

/// The next message, with the end of the stream and transport errors as errors.
async fn receive(socket: &mut Socket) -> Result<Message, BotError> {
    match socket.next().await {
        Some(Ok(message)) => Ok(message),
        Some(Err(error)) => Err(BotError::Transport(Box::new(error))),
        None => Err(BotError::ConnectionLost),
    }
}

/// Gives up on the connection after `error`: a close frame when the connection is still
/// open and the reason is ours, sent within a short bound. Returns `error`.
async fn abandon(socket: &mut Socket, error: BotError) -> BotError {
    if let Some(frame) = error.close_frame()
        && tokio::time::timeout(CLOSE_TIMEOUT, socket.close(Some(frame)))
            .await
            .is_err()
    {
        tracing::debug!("could not send the close frame within {CLOSE_TIMEOUT:?}");
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_messages_keep_their_bytes_while_the_buffer_is_reused() {
        let mut outgoing = BytesMut::new();
        // Many times the buffer, each message dropped once checked, as a socket would.
        for n in 0..8 * OUTGOING_BYTES / 25 {
            let message = split_off_message(&mut outgoing, &[n as u8; 25]);
            assert_eq!(message.as_ref(), [n as u8; 25]);
        }
        // Messages still held when the buffer runs out are not overwritten.
        let held: Vec<Bytes> = (0..2 * OUTGOING_BYTES / 25)
            .map(|n| split_off_message(&mut outgoing, &[n as u8; 25]))
            .collect();
        for n in 0..4 * OUTGOING_BYTES / 25 {
            split_off_message(&mut outgoing, &[!(n as u8); 25]);
        }
        for (n, message) in held.iter().enumerate() {
            assert_eq!(message.as_ref(), [n as u8; 25]);
        }
        let big = split_off_message(&mut outgoing, &[3; 3 * OUTGOING_BYTES]);
        assert_eq!(big.as_ref(), [3; 3 * OUTGOING_BYTES]);
    }

    /// Which of `inputs` inputs complete a write (are flushed) at `per_write`, and the
    /// seqs each flush counts as sent.
    fn flushes(per_write: u8, inputs: u32) -> (Vec<bool>, Vec<Vec<u32>>) {
        let mut pending = PendingWrite::new(InputsPerWrite::new(per_write).unwrap());
        let made_at = Instant::now();
        let mut completes = Vec::new();
        let mut writes = Vec::new();
        for seq in 0..inputs {
            let flush = pending.hold(seq, made_at + Duration::from_millis(u64::from(seq)));
            completes.push(flush);
            if flush {
                writes.push(pending.take().iter().map(|&(seq, _)| seq).collect());
            }
        }
        (completes, writes)
    }

    #[test]
    fn every_nth_input_completes_a_write_of_the_inputs_before_it() {
        let (completes, writes) = flushes(3, 8);
        assert_eq!(completes, [false, false, true, false, false, true, false, false]);
        assert_eq!(writes, [vec![0, 1, 2], vec![3, 4, 5]]);

        // One per write: every input is flushed at once, as before batching.
        let (completes, writes) = flushes(1, 4);
        assert_eq!(completes, [true; 4]);
        assert_eq!(writes, [[0], [1], [2], [3]]);

        let (completes, _) = flushes(MAX_INPUTS_PER_WRITE, 17);
        let flushed_after: Vec<usize> = (0..17).filter(|&n| completes[n]).collect();
        assert_eq!(flushed_after, [7, 15]);
    }

    #[test]
    fn held_inputs_keep_the_time_they_were_made_until_flushed() {
        let mut pending = PendingWrite::new(InputsPerWrite::new(3).unwrap());
        let start = Instant::now();
        assert!(pending.is_empty());
        assert!(!pending.hold(0, start));
        assert!(!pending.hold(1, start + Duration::from_millis(16)));
        assert!(!pending.is_empty());
        // The deadline flushes what is held, each input with its own time.
        assert_eq!(pending.take(), [(0, start), (1, start + Duration::from_millis(16))]);
        assert!(pending.is_empty());
        assert!(pending.take().is_empty());
        // The next write starts from empty.
        assert!(!pending.hold(2, start));
        assert!(!pending.hold(3, start));
        assert!(pending.hold(4, start));
        assert_eq!(pending.take().len(), 3);
    }

    #[tokio::test]
    async fn before_a_deadline_futures_finish_and_after_it_they_are_dropped() {
        let past = Instant::now();
        assert_eq!(before(past, async { 7 }).await, Some(7), "ready at once: no timer");
        assert_eq!(before(past, std::future::pending::<u8>()).await, None);
        let soon = Instant::now() + Duration::from_millis(5);
        let later = soon + Duration::from_secs(5);
        assert_eq!(
            before(later, async {
                tokio::time::sleep_until(soon).await;
                8
            })
            .await,
            Some(8)
        );
        let started = Instant::now();
        assert_eq!(before(soon, std::future::pending::<u8>()).await, None);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn close_frames_are_described_with_code_and_reason() {
        let away = CloseFrame {
            code: CloseCode::Away,
            reason: "server shutting down".into(),
        };
        assert_eq!(describe_close(Some(&away)), "close code 1001 (server shutting down)");
        let bare = CloseFrame {
            code: CloseCode::Policy,
            reason: "".into(),
        };
        assert_eq!(describe_close(Some(&bare)), "close code 1008");
        assert_eq!(describe_close(None), "no close code");
    }

    #[test]
    fn auto_falls_back_unless_the_token_was_refused() {
        let refused = |status: u16| BotError::UpgradeRefused {
            what: "seat",
            status: StatusCode::from_u16(status).unwrap(),
            reason: String::new(),
        };
        // A proxy's 403, a 502, a refused or reset socket, silence before the Welcome.
        assert!(refused(403).wants_fallback());
        assert!(refused(502).wants_fallback());
        assert!(BotError::ConnectionLost.wants_fallback());
        assert!(BotError::WelcomeTimeout(WELCOME_TIMEOUT).wants_fallback());
        assert!(
            BotError::Connect(Box::new(tungstenite::Error::Io(
                std::io::ErrorKind::ConnectionReset.into()
            )))
            .wants_fallback()
        );
        // HTTP would be refused alike, or the server itself turned the bot away.
        assert!(!refused(401).wants_fallback());
        assert!(!BotError::Refused("close code 1013 (server is full)".into()).wants_fallback());
        assert!(!BotError::ClosedByServer("close code 1001".into()).wants_fallback());
    }

    #[test]
    fn our_close_reasons_fit_a_control_frame() {
        let long =
            BotError::Unexpected("a very long description of what the server did wrong, repeated, repeated, repeated");
        let frame = long.close_frame().unwrap();
        assert_eq!(frame.code, CloseCode::Protocol);
        assert!(frame.reason.len() <= 123, "{} bytes", frame.reason.len());
        assert!(
            BotError::ClosedByServer("close code 1001".into())
                .close_frame()
                .is_none()
        );
    }

    #[test]
    fn a_welcome_of_another_version_or_without_a_tick_rate_is_refused() {
        let welcome = Welcome {
            protocol_version: PROTOCOL_VERSION,
            client_id: 1,
            player: Some(tickcast_shared::NetId::from_parts(0, 1)),
            tick_rate: 60,
            snapshot_rate: 20,
            tick: tickcast_shared::Tick(5),
            schema: tickcast_shared::arena::schema(),
            resume: Vec::new(),
        };
        assert!(check_welcome(welcome.clone()).is_ok());
        let other_version = Welcome {
            protocol_version: PROTOCOL_VERSION + 1,
            ..welcome.clone()
        };
        assert!(matches!(
            check_welcome(other_version),
            Err(BotError::VersionMismatch { .. })
        ));
        let no_ticks = Welcome {
            tick_rate: 0,
            ..welcome
        };
        assert!(matches!(check_welcome(no_ticks), Err(BotError::ZeroTickRate)));
    }
}
