//! One client connection, once upgraded (by `front`) or opened over the HTTP fallback
//! (`fallback`, which runs this same task on an in-memory pipe): `Hello`, then a reader
//! and a writer task.
//!
//! - The **reader** (this task) decodes and validates each frame, rate-limits inputs and
//!   forwards them to the room's input queue. A violation ends reading and asks the writer
//!   to close with the violation's code and reason.
//! - The **writer** waits on the room's snapshot slot. For each new snapshot it takes the
//!   body cached for its baseline (the last snapshot it sent), wraps it in this client's
//!   header and sends it. A client that reads slowly simply skips to the newest
//!   snapshot; one whose send stays blocked past the write timeout is dropped.
//!
//! Either way the connection ends with a `Leave` to the room, so its entity goes too.
//!
//! In steady state neither task allocates per message (`server/tests/alloc.rs` counts):
//! tungstenite hands the reader each payload as `Bytes` split off its reused read buffer,
//! decoding borrows from it, and the input queue is preallocated; the writer encodes into
//! a reused buffer and hands tungstenite payloads split off another.

use super::NetContext;
use super::game_io::GameIo;
use super::rate_limit::{Admission, InputRateLimit};
use super::violation::{Violation, close_frame};
use crate::room::{
    ClientId, ClientView, GroupMembership, InputQueueError, Joined, Place, Resumed, RoomCommand, SnapshotSlot,
};
use crate::rooms::{Occupancy, RoomEntry};
use bytes::BytesMut;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tickcast_shared::protocol::MAX_NAME_BYTES;
use tickcast_shared::{ClientMsg, Hello, NetId, PROTOCOL_VERSION, Schema, ServerMsg, Spectate, Tick, Welcome};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A game connection's WebSocket: over a socket hyper upgraded (TCP or TLS), or over
/// the pipe of an HTTP fallback session; one type, so the tasks below serve both.
pub(crate) type Ws = WebSocketStream<GameIo>;

/// How long a closing connection waits for the peer's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The WebSocket endpoint's path.
pub const WS_PATH: &str = "/ws";

/// What one inbound frame means.
enum Inbound {
    Message(ClientMsg),
    /// A pong carrying the sequence number of one of our pings.
    Pong(u64),
    Control,
    PeerClosed,
    Broken(WsError),
    Violation(Violation),
}

fn classify(frame: Option<Result<Message, WsError>>, context: &NetContext) -> Inbound {
    match frame {
        None => Inbound::PeerClosed,
        Some(Ok(Message::Binary(bytes))) => {
            context.stats.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            match ClientMsg::decode(&bytes) {
                Ok(message) => Inbound::Message(message),
                Err(error) => Inbound::Violation(Violation::Undecodable(error)),
            }
        }
        Some(Ok(Message::Text(text))) => {
            context.stats.bytes_in.fetch_add(text.len() as u64, Ordering::Relaxed);
            Inbound::Violation(Violation::TextFrame)
        }
        Some(Ok(Message::Close(_))) => Inbound::PeerClosed,
        Some(Ok(Message::Pong(payload))) => match <[u8; 8]>::try_from(payload.as_ref()) {
            Ok(sequence) => Inbound::Pong(u64::from_be_bytes(sequence)),
            // Not an answer to one of our pings (a client may send unsolicited pongs).
            Err(_) => Inbound::Control,
        },
        Some(Ok(Message::Ping(_) | Message::Frame(_))) => Inbound::Control,
        Some(Err(WsError::Capacity(
            error @ (CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders),
        ))) => Inbound::Violation(Violation::TooLarge(error.to_string().to_lowercase())),
        // The peer vanished without a close frame: nothing to answer.
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => Inbound::PeerClosed,
        // RFC 6455 §7.1.7: fail the connection with 1002 (a protocol error) or 1007
        // (data that is not what its type says), with the reason.
        Some(Err(WsError::Protocol(error))) => {
            Inbound::Violation(Violation::Protocol(error.to_string().to_lowercase()))
        }
        Some(Err(WsError::Utf8(_))) => Inbound::Violation(Violation::InvalidUtf8),
        Some(Err(error)) => Inbound::Broken(error),
    }
}

/// Decrements the open-connection gauge however the task ends.
struct OpenConnection<'a>(&'a NetContext);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.stats.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Who a connection is, and where it goes, as its upgrade decided.
pub(crate) struct Arrival {
    /// Its fresh client id.
    pub client: ClientId,
    /// The authenticated player (the token's or the seat's `sub`; empty when open).
    pub subject: String,
    /// Its room, and its place there.
    pub occupancy: Occupancy,
    /// Whether it may only resume a player (`/ws?room=`), not join anew.
    pub resume_only: bool,
}

/// Runs one upgraded connection to its end: `Hello` by `deadline`, then the reader
/// and writer.
pub(crate) async fn run(
    mut ws: Ws,
    peer: SocketAddr,
    arrival: Arrival,
    slot: Option<OwnedSemaphorePermit>,
    deadline: Instant,
    context: Arc<NetContext>,
) {
    let Arrival {
        client,
        subject,
        occupancy,
        resume_only,
    } = arrival;
    let room = Arc::clone(occupancy.room());
    context.stats.connections_open.fetch_add(1, Ordering::Relaxed);
    let _open = OpenConnection(&context);
    if slot.is_none() {
        refuse(&mut ws, &context, client, peer, Violation::ServerFull).await;
        return;
    }
    let mut hello = match timeout_at(deadline, read_hello(&mut ws, &context)).await {
        Ok(Ok(Some(hello))) => hello,
        Ok(Ok(None)) => return,
        Ok(Err(violation)) => return refuse(&mut ws, &context, client, peer, violation).await,
        Err(_) => return refuse(&mut ws, &context, client, peer, Violation::HandshakeTimeout).await,
    };
    // The id this connection was given, whichever client id it ends up serving.
    let connection = client;
    // A resuming client takes back its old client id (and with it its player and input
    // acks); a fresh one, or one whose player is gone, joins anew under this one.
    let spectate = hello.spectate;
    // A spectator has no player to take back: it joins anew whatever it presents.
    let resume_token = hello.resume.take().filter(|_| spectate.is_none());
    let (client, joined) = match resume_token {
        None if resume_only => return refuse(&mut ws, &context, client, peer, Violation::SeatNeeded).await,
        None => (client, join(&room, client, hello).await),
        Some(token) => match context.resume.verify(&token, &room.id, &subject) {
            None => return refuse(&mut ws, &context, client, peer, Violation::BadResumeToken).await,
            Some((old, player)) => match resume(&context, &room, old, player, deadline).await {
                Some(joined) => (old, Some(joined)),
                None if resume_only => return refuse(&mut ws, &context, client, peer, Violation::SeatNeeded).await,
                None => (client, join(&room, client, hello).await),
            },
        },
    };
    let Some(joined) = joined else {
        let frame = close_frame(CloseCode::Away, "room is not running");
        return close_and_drain(&mut ws, &context, frame).await;
    };
    let welcome = ServerMsg::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        client_id: client,
        player: joined.player,
        tick_rate: room.handle.rates.tick_rate as u16,
        snapshot_rate: room.handle.rates.snapshot_rate as u16,
        tick: joined.tick,
        schema: Schema::clone(&room.handle.schema),
        resume: joined
            .player
            .map(|player| context.resume.token(client, player, &room.id, &subject))
            .unwrap_or_default(),
    });
    let sent = match welcome.encode() {
        Ok(bytes) => {
            context.stats.bytes_out.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            ws.send(Message::Binary(bytes.into())).await.is_ok()
        }
        Err(_) => false,
    };
    if sent {
        tracing::debug!(client, %peer, player = ?joined.player, "client joined");
        // `connection` (this connection's own fresh id) tells this registration from the
        // next connection of the same client.
        let session = context.sessions.open(client, u64::from(connection));
        let (sink, stream) = ws.split();
        let (close_sender, close_receiver) = oneshot::channel();
        // The writer holds the sender; the reader's receiver resolves when the writer ends.
        // A oneshot, not a `CancellationToken`: the reader polls it after every input, and
        // a token's poll locks a mutex (1.7% of a 500-bot swarm's CPU with both tokens).
        let (writer_done, writer_stopped) = oneshot::channel::<()>();
        let answered = Arc::new(AtomicU64::new(0));
        let view = match (joined.player, spectate) {
            (Some(player), _) => ClientView::new(client, player, room.view),
            (None, spectate) => ClientView::spectating(client, spectate.unwrap_or(Spectate::World), room.view),
        };
        // Held until the writer is done: the room prepares world bodies while any is.
        let _world_viewer = view.sees_whole_world().then(|| room.handle.watch_world());
        let writer = tokio::spawn(write_snapshots(
            sink,
            room.handle.join_snapshot_group(),
            (view, joined.tick),
            Arc::clone(&context),
            Arc::clone(&room),
            Arc::clone(&answered),
            Arc::clone(&session.taken_over),
            close_receiver,
            writer_done,
        ));
        let reader = Reader {
            client,
            spectator: joined.player.is_none(),
        };
        let violation = read_inputs(stream, reader, &context, &room, &answered, close_sender, writer_stopped).await;
        if let Some(violation) = violation {
            log_violation(&context, client, peer, &violation);
        }
        let _ = writer.await;
        context.sessions.close(client, &session);
    }
    // The room must hear of every departure, however the connection ended. It keeps the
    // connection's place while the player is away, so the seat cannot be matchmade to
    // someone else before the player can resume (if the room is gone, the place goes
    // with the unsent command).
    let place = Place::new(occupancy);
    let _ = room.handle.commands.send(RoomCommand::Leave { client, place }).await;
}

/// Counts a violation for the periodic summary; the line per connection is debug only,
/// so a flood of bad clients cannot flood the log.
fn log_violation(context: &NetContext, client: ClientId, peer: SocketAddr, violation: &Violation) {
    context.stats.count_reason(violation.label());
    tracing::debug!(client, %peer, code = u16::from(violation.close_code()), reason = %violation, "closing connection");
}

/// Closes a connection that never joined, with the violation's code and reason.
async fn refuse(ws: &mut Ws, context: &NetContext, client: ClientId, peer: SocketAddr, violation: Violation) {
    log_violation(context, client, peer, &violation);
    close_and_drain(ws, context, violation.close_frame()).await;
}

/// Sends a close frame and waits (briefly) for the peer's reply.
async fn close_and_drain(ws: &mut Ws, context: &NetContext, frame: CloseFrame) {
    context.stats.count_close(frame.code.into());
    let _ = timeout(CLOSE_GRACE, ws.send(Message::Close(Some(frame)))).await;
    let _ = timeout(CLOSE_GRACE, async { while ws.next().await.is_some() {} }).await;
}

/// Waits for the first message, which must be a `Hello` of our protocol version.
async fn read_hello(ws: &mut Ws, context: &NetContext) -> Result<Option<Hello>, Violation> {
    loop {
        return match classify(ws.next().await, context) {
            Inbound::Message(ClientMsg::Hello(hello)) if hello.protocol_version == PROTOCOL_VERSION => Ok(Some(hello)),
            Inbound::Message(ClientMsg::Hello(hello)) => Err(Violation::VersionMismatch {
                client: hello.protocol_version,
                server: PROTOCOL_VERSION,
            }),
            Inbound::Message(_) => Err(Violation::MessageBeforeHello),
            Inbound::Control | Inbound::Pong(_) => continue,
            Inbound::PeerClosed | Inbound::Broken(_) => Ok(None),
            Inbound::Violation(violation) => Err(violation),
        };
    }
}

/// Asks the room for an entity; `None` if the room has stopped.
async fn join(room: &RoomEntry, client: ClientId, hello: Hello) -> Option<Joined> {
    let spectator = hello.spectate.is_some();
    let mut name = hello.name;
    if name.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    let (reply, answer) = oneshot::channel();
    room.handle
        .commands
        .send(RoomCommand::Join {
            client,
            name,
            spectator,
            reply,
        })
        .await
        .ok()?;
    answer.await.ok()
}

/// Asks the room for `client`'s player back. The old connection may not have been seen
/// to end yet (its socket closes a moment after the client reconnects), so a "still
/// connected" answer is asked again until `deadline`. `None`: the player is gone.
async fn resume(
    context: &NetContext,
    room: &RoomEntry,
    client: ClientId,
    player: NetId,
    deadline: Instant,
) -> Option<Joined> {
    loop {
        let (reply, answer) = oneshot::channel();
        let command = RoomCommand::Resume { client, player, reply };
        room.handle.commands.send(command).await.ok()?;
        match answer.await.ok()? {
            Resumed::Yes(joined) => return Some(joined),
            Resumed::Gone => return None,
            Resumed::StillConnected if Instant::now() + RESUME_RETRY < deadline => {
                // The client is back, so the old connection is dead or dying: end it.
                // Its departure makes the player away, and the next ask gets it.
                context.sessions.take_over(client);
                tokio::time::sleep(RESUME_RETRY).await;
            }
            Resumed::StillConnected => return None,
        }
    }
}

/// Who a connection's reader reads for.
struct Reader {
    client: ClientId,
    /// A spectator must send no inputs.
    spectator: bool,
}

/// How long a resume waits before asking again after "still connected".
const RESUME_RETRY: Duration = Duration::from_millis(50);

/// Reads inputs until the peer leaves, breaks a rule, or the writer stops. Returns the
/// violation, if any, after the writer has sent its close frame and the peer answered.
async fn read_inputs(
    mut stream: SplitStream<Ws>,
    Reader { client, spectator }: Reader,
    context: &NetContext,
    room: &RoomEntry,
    answered: &AtomicU64,
    close: oneshot::Sender<Option<CloseFrame>>,
    mut writer_stopped: oneshot::Receiver<()>,
) -> Option<Violation> {
    let mut rate = InputRateLimit::new(context.limits.max_inputs_per_second, std::time::Instant::now());
    let mut previous_seq: Option<u32> = None;
    let violation = loop {
        // The writer's end is checked before every frame (an atomic load), so a peer that
        // never stops sending cannot keep the reader going after the writer has ended.
        if !matches!(writer_stopped.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            break None;
        }
        let frame = tokio::select! {
            biased;
            frame = stream.next() => frame,
            _ = &mut writer_stopped => break None,
        };
        match classify(frame, context) {
            Inbound::Message(ClientMsg::Input(_)) if spectator => break Some(Violation::SpectatorInput),
            Inbound::Message(ClientMsg::Input(input)) => {
                if let Err(error) = input.validate(room.handle.input_fields) {
                    break Some(Violation::InvalidInput(error));
                }
                if let Some(violation) = check_seq(previous_seq, input.seq) {
                    break Some(violation);
                }
                previous_seq = Some(input.seq);
                match rate.admit(std::time::Instant::now()) {
                    Admission::Accept => {}
                    Admission::Drop => {
                        context.stats.inputs_dropped_rate.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Admission::Close => break Some(Violation::Flood(context.limits.max_inputs_per_second * 2)),
                }
                if let Err(InputQueueError::Full) = room.handle.inputs.try_send(client, input) {
                    context.stats.inputs_dropped_inbox.fetch_add(1, Ordering::Relaxed);
                }
            }
            Inbound::Message(ClientMsg::Hello(_)) => break Some(Violation::SecondHello),
            Inbound::Pong(sequence) => {
                answered.fetch_max(sequence, Ordering::Relaxed);
            }
            Inbound::Control => {}
            Inbound::PeerClosed => break None,
            Inbound::Broken(error) => {
                tracing::debug!(client, %error, "connection broke");
                break None;
            }
            Inbound::Violation(violation) => break Some(violation),
        }
    };
    let _ = close.send(violation.as_ref().map(Violation::close_frame));
    // Let the close handshake finish: the peer answers our close frame, or goes away.
    let _ = timeout(CLOSE_GRACE * 2, async { while stream.next().await.is_some() {} }).await;
    violation
}

/// What the writer does on its ping timer.
#[derive(Debug, PartialEq)]
enum PingAction {
    /// A ping is out and not yet overdue.
    Wait,
    /// Send a ping with this sequence number.
    Ping(u64),
    /// The ping out has gone unanswered this long, past the deadline.
    Dead(Duration),
}

/// Liveness and slow-reader detection in one: one ping in flight at a time; a client
/// answers it only once it has read everything sent before it (the stream is ordered,
/// and clients answer pings as they read), so a pong overdue by more than `deadline`
/// means the client is gone or not reading, however much the kernels' buffers could
/// still absorb.
#[derive(Debug)]
struct Liveness {
    deadline: Duration,
    /// The ping out: its sequence number and when it was sent.
    out: Option<(u64, std::time::Instant)>,
    next: u64,
}

impl Liveness {
    fn new(deadline: Duration) -> Liveness {
        Liveness {
            deadline,
            out: None,
            next: 1,
        }
    }

    /// Given the highest sequence number answered so far, what to do `now`.
    fn on_timer(&mut self, answered: u64, now: std::time::Instant) -> PingAction {
        if let Some((sequence, sent)) = self.out
            && answered < sequence
        {
            let waited = now.duration_since(sent);
            return if waited > self.deadline {
                PingAction::Dead(waited)
            } else {
                PingAction::Wait
            };
        }
        let sequence = self.next;
        self.next += 1;
        self.out = Some((sequence, now));
        PingAction::Ping(sequence)
    }
}

/// Farthest an input's `seq` may be from the previous one, either way. A live stream
/// moves by one per input; a resend after a hiccup by a few; the room buffers only
/// `limits.input_buffer`. A seq 2^31 away would read as "older than everything" and
/// freeze the client's own inputs, so anything past this is a protocol violation.
pub const MAX_SEQ_STEP: i64 = 1 << 12;

/// The violation of an input `seq` too far from the previous one, if it is.
fn check_seq(previous: Option<u32>, seq: u32) -> Option<Violation> {
    let previous = previous?;
    let distance = i64::from(seq.wrapping_sub(previous) as i32);
    (distance.abs() > MAX_SEQ_STEP).then_some(Violation::SeqOutOfWindow {
        seq,
        previous,
        distance,
    })
}

/// Sends each new snapshot through this client's view: interest, priority within the
/// byte budget, and a delta against exactly what the client holds.
#[allow(clippy::too_many_arguments)]
async fn write_snapshots(
    mut sink: SplitSink<Ws, Message>,
    (mut snapshots, _membership): (SnapshotSlot, GroupMembership),
    // The view, and the tick of the join: the first snapshot sent is of that tick or a
    // later one, as the Welcome promises. The slot may still hold, or be about to get,
    // a snapshot captured before the room took the client in, without its player.
    (mut view, joined): (ClientView, Tick),
    context: Arc<NetContext>,
    room: Arc<RoomEntry>,
    answered: Arc<AtomicU64>,
    taken_over: Arc<AtomicBool>,
    mut close: oneshot::Receiver<Option<CloseFrame>>,
    // Dropped when the writer ends, however it ends: the reader stops then.
    _done: oneshot::Sender<()>,
) {
    let mut liveness = Liveness::new(context.limits.write_timeout);
    let mut ping_timer = tokio::time::interval_at(
        Instant::now() + context.limits.ping_interval,
        context.limits.ping_interval,
    );
    ping_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut frame = Vec::with_capacity(2048);
    // Outgoing payloads are split off this buffer; once tungstenite has copied a payload
    // into its write buffer and dropped it, `reserve` takes the allocation back, so the
    // steady state allocates nothing per message.
    let mut outgoing = BytesMut::with_capacity(4096);
    let closing = loop {
        // Flags, checked on every wake-up (a snapshot or a ping comes at least once a
        // second), rather than tokens polled in the select: a token's poll locks a mutex.
        if let Some(why) = room.closing() {
            break Some(close_frame(CloseCode::Away, why.reason()));
        }
        if taken_over.load(Ordering::Relaxed) {
            break Some(close_frame(
                CloseCode::Policy,
                "the session was resumed on another connection",
            ));
        }
        tokio::select! {
            biased;
            request = &mut close => match request {
                Ok(Some(frame)) => break Some(frame),
                _ => {
                    // The peer closed: flush tungstenite's queued close reply and stop.
                    let _ = timeout(CLOSE_GRACE, sink.close()).await;
                    return;
                }
            },
            _ = ping_timer.tick() => match liveness.on_timer(answered.load(Ordering::Relaxed), std::time::Instant::now()) {
                PingAction::Wait => {}
                PingAction::Ping(sequence) => {
                    outgoing.extend_from_slice(&sequence.to_be_bytes());
                    let payload = outgoing.split().freeze();
                    if !matches!(timeout(context.limits.write_timeout, sink.send(Message::Ping(payload))).await, Ok(Ok(()))) {
                        context.stats.slow_readers.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
                PingAction::Dead(waited) => {
                    context.stats.slow_readers.fetch_add(1, Ordering::Relaxed);
                    context.stats.count_reason("no pong in time");
                    let reason = format!("no pong for {waited:.1?}: the connection is not being read");
                    break Some(close_frame(CloseCode::Policy, &reason));
                }
            },
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break Some(close_frame(CloseCode::Away, "room stopped"));
                }
                let Some(snapshot) = snapshots.borrow_and_update().clone() else { continue };
                if view.last_tick().is_some_and(|last| !snapshot.tick.is_after(last)) || joined.is_after(snapshot.tick) {
                    continue;
                }
                let frame_stats = view.write_frame(&snapshot, &mut frame);
                drop(snapshot);
                let stats = &context.stats;
                outgoing.reserve(frame.len());
                outgoing.extend_from_slice(&frame);
                let payload = outgoing.split().freeze();
                // `send` is `feed` (into tungstenite's write buffer) and then one `flush`:
                // one frame and one flush per snapshot.
                match timeout(context.limits.write_timeout, sink.send(Message::Binary(payload))).await {
                    Ok(Ok(())) => {
                        stats.bytes_out.fetch_add(frame_stats.bytes as u64, Ordering::Relaxed);
                        stats.frames_sent.fetch_add(1, Ordering::Relaxed);
                        stats.frames_shared.fetch_add(u64::from(frame_stats.shared_body), Ordering::Relaxed);
                        stats.entities_sent.fetch_add(frame_stats.entities_sent as u64, Ordering::Relaxed);
                        stats.entities_deferred.fetch_add(frame_stats.entities_deferred as u64, Ordering::Relaxed);
                        stats.staleness_max_ticks.fetch_max(u64::from(frame_stats.max_staleness_ticks), Ordering::Relaxed);
                    }
                    Ok(Err(_)) => return,
                    Err(_) => {
                        stats.slow_readers.fetch_add(1, Ordering::Relaxed);
                        stats.count_reason("slow reader: send blocked");
                        tracing::debug!(timeout = ?context.limits.write_timeout, "dropping slow reader");
                        return;
                    }
                }
            }
        }
    };
    if let Some(frame) = closing {
        context.stats.count_close(frame.code.into());
        let _ = timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ping_in_flight_and_an_overdue_pong_is_dead() {
        let start = std::time::Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut liveness = Liveness::new(Duration::from_secs(5));
        assert_eq!(liveness.on_timer(0, at(0)), PingAction::Ping(1));
        assert_eq!(liveness.on_timer(0, at(2000)), PingAction::Wait, "not yet overdue");
        assert_eq!(
            liveness.on_timer(1, at(2100)),
            PingAction::Ping(2),
            "answered: the next goes out"
        );
        assert_eq!(liveness.on_timer(1, at(7000)), PingAction::Wait);
        assert_eq!(
            liveness.on_timer(1, at(7200)),
            PingAction::Dead(Duration::from_millis(5100))
        );
    }
}
