//! The steady-state send and receive paths allocate nothing per message.
//!
//! `allocation-counter` installs a counting global allocator that counts, while
//! `measure` runs, the allocations made *on the measuring thread*:
//! - send: `ClientView::write_frame` (interest query, diff against held state, priority,
//!   budget, bit-packed encode, frame header) over a real arena room's snapshots;
//! - receive, in process: what a connection's reader does with each frame (decode,
//!   validate, rate limit, forward to the room's input queue) and what the tick does with
//!   each input (drain the inbox, buffer by `seq`, make it active, let a system read it),
//!   for many clients at once;
//! - receive, over a real socket: the server's network runs on this thread (a
//!   current-thread runtime: listener, the connection's reader and writer tasks, tokio's
//!   IO driver and timers) while a client on another thread sends it inputs, so the count
//!   covers tungstenite's frame reads and everything the reader does, but neither the
//!   client nor the room thread. The window is one between two snapshots (the first
//!   writer to see a snapshot builds what all clients share from it, which allocates per
//!   snapshot; the send test covers the per-client rest).

use bevy_ecs::prelude::*;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickcast_server::config::ServerConfig;
use tickcast_server::game::{Arena, Map};
use tickcast_server::net::{self, Admission, InputRateLimit, NetStats};
use tickcast_server::room::{
    ActiveInputs, ClientId, ClientView, Controlled, Game, Replicated, ReplicationRegistry, Room, RoomCommand,
    RoomSettings, Simulation, TickPool, TickSystems, ViewSettings, WorldSnapshot,
};
use tickcast_server::rooms::{Directory, LocalDirectory, RoomKind, Rooms, RoomsSettings};
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::GameInput;
use tickcast_shared::{ClientMirror, ClientMsg, Hello, ServerMsg, Spectate, Tick};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Snapshots of an arena room with `drones` wandering, one per snapshot tick.
fn snapshots(drones: u32, count: usize) -> Vec<Arc<WorldSnapshot>> {
    let settings = RoomSettings {
        inbox: 64,
        interest_radius: Some(RADIUS),
        ..RoomSettings::at_rates(60, 30)
    };
    let game = Arena {
        map: Map::load("embedded").unwrap(),
        drones,
        seed: 3,
    };
    let (mut simulation, handle) = Simulation::new(game, &settings);
    // A whole-world viewer, so that the room prepares the shared world bodies too.
    let _viewer = handle.watch_world();
    let mut published = handle.snapshots();
    let mut out = Vec::new();
    while out.len() < count {
        simulation.step();
        if published.has_changed().unwrap() {
            let snapshot = published.borrow_and_update().clone();
            if let Some(snapshot) = &snapshot {
                // Prepared once per snapshot, not per message.
                assert!(snapshot.changes().is_some() || out.is_empty());
            }
            out.extend(snapshot);
        }
    }
    out
}

/// The interest radius of the rooms of these tests.
const RADIUS: f32 = 30.0;

#[test]
fn writing_frames_allocates_nothing_per_message_in_steady_state() {
    let radius = RADIUS;
    let snapshots = snapshots(400, 400);
    // A viewer that owns a drone, so its viewpoint moves through the world.
    let player = snapshots[0].entities[0].id;
    let mut view = ClientView::new(
        1,
        player,
        ViewSettings {
            interest_radius: Some(radius),
            budget_bytes: 1066,
            checksums: true,
            rule: None,
        },
    );
    let mut frame = Vec::with_capacity(2048);
    for snapshot in &snapshots[..300] {
        view.write_frame(snapshot, &mut frame);
    }
    let mut bytes = 0;
    let counted = allocation_counter::measure(|| {
        for snapshot in &snapshots[300..] {
            bytes += view.write_frame(snapshot, &mut frame).bytes;
        }
    });
    let allocations = counted.count_total;
    eprintln!("allocations in 100 frames: {allocations}, bytes {bytes}");
    assert!(bytes > 100 * 7, "the frames carried changes ({bytes} bytes)");
    // Growing a scratch buffer to a new peak is allowed; allocating per frame is not.
    assert!(allocations <= 5, "{allocations} allocations in 100 frames");
}

#[test]
fn sending_the_shared_world_body_allocates_nothing_per_message() {
    let snapshots = snapshots(400, 200);
    let settings = ViewSettings {
        interest_radius: Some(RADIUS),
        budget_bytes: 64 * 1024,
        checksums: true,
        rule: None,
    };
    let mut view = ClientView::spectating(1, Spectate::World, settings);
    let mut frame = Vec::with_capacity(64 * 1024);
    for snapshot in &snapshots[..100] {
        view.write_frame(snapshot, &mut frame);
    }
    let mut shared = 0;
    let counted = allocation_counter::measure(|| {
        for snapshot in &snapshots[100..] {
            shared += usize::from(view.write_frame(snapshot, &mut frame).shared_body);
        }
    });
    assert_eq!(shared, 100, "every frame was the shared body");
    assert_eq!(
        counted.count_total, 0,
        "{} allocations in 100 frames",
        counted.count_total
    );
}

/// The input a test client sends with `seq`.
fn input(seq: u32) -> ClientMsg {
    ClientMsg::Input(
        ArenaInput {
            move_x: 0.5,
            move_y: -0.25,
            aim: 1.0,
            buttons: seq % 2,
        }
        .to_input(seq, Some(Tick(seq))),
    )
}

/// Last input applied to a player's entity.
#[derive(Component, Default)]
struct Steered(u32);

/// A game of nothing but players steered by their inputs, so that a tick does only the
/// room's own work with inputs (and no game work that would allocate on its own).
struct Steering;

impl Game for Steering {
    const NAME: &'static str = "steering";
    type Input = ArenaInput;

    fn build(self, _world: &mut World, schedule: &mut Schedule, _replication: &mut ReplicationRegistry) {
        schedule.add_systems(steer.in_set(TickSystems::ApplyInputs));
    }

    fn spawn_player(world: &mut World, _client: ClientId, _name: &str) -> Entity {
        world.spawn((Replicated::default(), Steered::default())).id()
    }
}

fn steer(active: Res<ActiveInputs>, mut players: Query<(&Controlled, &mut Steered)>) {
    for (controlled, mut steered) in &mut players {
        steered.0 = active.0.get(&controlled.0).map_or(0, |input| input.seq);
    }
}

#[test]
fn receiving_inputs_allocates_nothing_per_message_in_steady_state() {
    const CLIENTS: u32 = 200;
    const TICKS_PER_SNAPSHOT: u32 = 60;
    let settings = RoomSettings {
        inbox: 4096,
        ..RoomSettings::at_rates(60, 60 / TICKS_PER_SNAPSHOT)
    };
    let (mut simulation, handle) = Simulation::new(Steering, &settings);
    let answers: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let name = "alloc".to_string();
            handle
                .commands
                .try_send(RoomCommand::Join {
                    client,
                    name,
                    spectator: false,
                    reply,
                })
                .unwrap();
            answer
        })
        .collect();
    simulation.step();
    for mut answer in answers {
        answer.try_recv().expect("every client joined");
    }
    let mut limits: Vec<_> = (0..CLIENTS)
        .map(|_| InputRateLimit::new(1_000_000, Instant::now()))
        .collect();
    // Inputs arrive as bytes, one frame each: encode them all beforehand.
    let ticks = 3 * TICKS_PER_SNAPSHOT;
    let frames: Vec<Vec<u8>> = (0..ticks).map(|seq| input(seq).encode().unwrap()).collect();
    // One tick: every client's input goes through what a connection's reader does with
    // a frame, then the room ticks.
    let mut tick = |simulation: &mut Simulation, seq: u32, net: &mut u64, room: &mut u64| {
        *net += allocation_counter::measure(|| {
            for (client, limit) in limits.iter_mut().enumerate() {
                let Ok(ClientMsg::Input(input)) = ClientMsg::decode(&frames[seq as usize]) else {
                    panic!("not an input");
                };
                input.validate(ArenaInput::FIELDS).unwrap();
                assert_eq!(limit.admit(Instant::now()), Admission::Accept);
                handle.inputs.try_send(client as ClientId, input).unwrap();
            }
        })
        .count_total;
        *room += allocation_counter::measure(|| simulation.step()).count_total;
    };
    let mut seq = 0;
    let (mut warm_net, mut warm_room) = (0, 0);
    // Warm up over a snapshot period and stop just after a snapshot tick: capturing a
    // snapshot allocates (once per snapshot, not per input), so the window below has none.
    while seq < TICKS_PER_SNAPSHOT || simulation.tick().0 % TICKS_PER_SNAPSHOT != 1 {
        tick(&mut simulation, seq, &mut warm_net, &mut warm_room);
        seq += 1;
    }
    let (mut net, mut room) = (0, 0);
    let first = seq;
    while simulation.tick().0 % TICKS_PER_SNAPSHOT != 0 {
        tick(&mut simulation, seq, &mut net, &mut room);
        seq += 1;
    }
    let messages = (seq - first) * CLIENTS;
    eprintln!(
        "{messages} inputs: {net} allocations receiving, {room} in the room's ticks \
         (warm-up: {warm_net} and {warm_room})"
    );
    assert!(seq - first >= TICKS_PER_SNAPSHOT - 2, "measured only {messages} inputs");
    // Every input reached its player: the next snapshot acknowledges the last one.
    let mut snapshots = handle.snapshots();
    snapshots.mark_unchanged();
    simulation.step();
    let snapshot = snapshots.borrow_and_update().clone().expect("a snapshot tick");
    for client in 0..CLIENTS {
        assert_eq!(snapshot.input_ack(client), Some(seq - 1), "client {client}");
    }
    let mut steered = simulation.world.query::<&Steered>();
    assert!(steered.iter(&simulation.world).all(|steered| steered.0 == seq - 1));
    assert_eq!(net, 0, "{net} allocations decoding and forwarding {messages} inputs");
    assert_eq!(room, 0, "{room} allocations in the ticks that took {messages} inputs");
}

/// Runs the server's runtime until `done` holds, checking every millisecond, at most 10 s.
fn run_until(runtime: &tokio::runtime::Runtime, what: &str, done: impl Fn() -> bool) {
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting: {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

/// A client on a thread of its own (so its allocations are not counted): says hello,
/// then sends inputs, `n` per request, one a millisecond; once `rounds` closes, it waits
/// for the server to acknowledge the last input and returns that acknowledgement.
fn spawn_client(
    address: std::net::SocketAddr,
    mut rounds: tokio::sync::mpsc::UnboundedReceiver<u32>,
) -> std::thread::JoinHandle<Option<u32>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let socket = tokio::net::TcpStream::connect(address).await.unwrap();
            socket.set_nodelay(true).unwrap();
            let url = format!("ws://{address}{}", net::WS_PATH);
            let (ws, _) = tokio_tungstenite::client_async(url, socket).await.unwrap();
            let (mut sink, mut stream) = ws.split();
            let hello = ClientMsg::Hello(Hello::new("alloc"));
            sink.send(Message::Binary(hello.encode().unwrap().into()))
                .await
                .unwrap();
            // Apply every snapshot, as a game client would, and follow the input acks.
            let (acks, mut acked) = tokio::sync::watch::channel(None);
            tokio::spawn(async move {
                let mut mirror = ClientMirror::new();
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Binary(bytes) = message
                        && let ServerMsg::Snapshot(frame) = ServerMsg::decode(&bytes).unwrap()
                    {
                        mirror.apply_frame(&frame).expect("the mirror diverged");
                        acks.send_replace(mirror.input_ack());
                    }
                }
            });
            let mut seq = 0;
            while let Some(count) = rounds.recv().await {
                // A fresh interval per round: one left over from the last round would
                // fire a burst to catch up on the ticks it missed in between.
                let mut pace = tokio::time::interval(Duration::from_millis(1));
                for _ in 0..count {
                    pace.tick().await;
                    sink.send(Message::Binary(input(seq).encode().unwrap().into()))
                        .await
                        .unwrap();
                    seq += 1;
                }
            }
            let last = Some(seq - 1);
            let wait = tokio::time::timeout(Duration::from_secs(10), acked.wait_for(|ack| *ack == last))
                .await
                .map(|ack| ack.map(|ack| *ack));
            let ack = *acked.borrow();
            let _ = sink.close().await;
            assert!(wait.is_ok(), "the last input was never acknowledged (last ack {ack:?})");
            ack
        })
    })
}

#[test]
fn the_server_thread_allocates_nothing_per_input_over_a_real_socket() {
    const WARM_UP: u32 = 300;
    const MEASURED: u32 = 100;
    const ATTEMPTS: u32 = 5;
    let config = {
        let mut config = ServerConfig::embedded();
        // The client paces its inputs faster than a game would, to keep the test short.
        config.limits.max_inputs_per_second = 10_000;
        config
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Two snapshots a second. Each snapshot costs its first writer some allocations for
    // the work all clients share (interest grid, hashes, pre-encoded updates), once per
    // snapshot rather than per message (the send test above covers the per-client part),
    // so the measured window is one without a snapshot: a receive path with nothing else
    // on this thread.
    let room = Room::start(
        "alloc",
        Arena {
            map: Map::load("embedded").unwrap(),
            drones: 16,
            seed: 5,
        },
        RoomSettings {
            inbox: config.limits.room_inbox,
            input_buffer: config.limits.input_buffer,
            interest_radius: Some(config.replication.interest_radius),
            ..RoomSettings::at_rates(60, 2)
        },
    )
    .unwrap();
    let handle = room.handle();
    let view = ViewSettings {
        interest_radius: Some(config.replication.interest_radius),
        budget_bytes: config.budget_bytes_per_snapshot(),
        checksums: true,
        rule: handle.relevance_rule,
    };
    let stats = Arc::new(NetStats::default());
    let (shutdown, tracker) = (CancellationToken::new(), TaskTracker::new());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let front = net::FrontSettings {
        tls: None,
        admission: net::admission::Admission::new(None, &[], "arena", 16),
    };
    let rooms = {
        let _entered = runtime.enter();
        let settings = RoomsSettings {
            node: "alloc".to_owned(),
            ws_url: format!("ws://{address}/ws"),
            default_kind: "arena",
            default_capacity: 16,
            seat_ttl: std::time::Duration::from_secs(15),
            empty_timeout: std::time::Duration::from_secs(30),
            max_rooms: 4,
        };
        let kinds = RoomKind::all(&config).unwrap();
        let pool = TickPool::new(1, false).unwrap();
        Arc::new(Rooms::start(settings, kinds, pool, Some((room, view))).unwrap())
    };
    let directory: Arc<dyn Directory> = Arc::new(LocalDirectory(Arc::clone(&rooms)));
    let serving = runtime.spawn(net::serve(
        listener,
        front,
        Arc::clone(&rooms),
        directory,
        config.limits.clone(),
        Arc::clone(&stats),
        shutdown.clone(),
        tracker.clone(),
    ));
    let (rounds, requests) = tokio::sync::mpsc::unbounded_channel();
    let client = spawn_client(address, requests);
    let bytes_in = || stats.bytes_in.load(Ordering::Relaxed);
    let frames_sent = || stats.frames_sent.load(Ordering::Relaxed);

    // Warm up: the connection's buffers, the writer's scratch, tokio's queues.
    run_until(&runtime, "the first snapshots", || frames_sent() >= 2);
    rounds.send(WARM_UP).unwrap();
    let mut expected_in = bytes_in()
        + (0..WARM_UP)
            .map(|seq| input(seq).encode().unwrap().len() as u64)
            .sum::<u64>();
    run_until(&runtime, "the warm-up inputs", || bytes_in() >= expected_in);
    let mut sent = WARM_UP;
    let mut clean_window = None;
    for _ in 0..ATTEMPTS {
        // Start just after a snapshot went out, so the next is half a second away.
        let frames = frames_sent();
        run_until(&runtime, "a snapshot", || frames_sent() > frames);
        let frames = frames_sent();
        expected_in += (sent..sent + MEASURED)
            .map(|seq| input(seq).encode().unwrap().len() as u64)
            .sum::<u64>();
        sent += MEASURED;
        // The runtime runs only inside `block_on`: nothing is read before `measure`.
        rounds.send(MEASURED).unwrap();
        let counted = allocation_counter::measure(|| run_until(&runtime, "the inputs", || bytes_in() >= expected_in));
        if frames_sent() == frames {
            clean_window = Some(counted.count_total);
            break;
        }
    }
    drop(rounds);
    let acked = runtime.block_on(async {
        // Keep serving while the client waits for its last acknowledgement.
        let acked = tokio::task::spawn_blocking(move || client.join()).await.unwrap();
        shutdown.cancel();
        serving.await.unwrap();
        tracker.close();
        tokio::time::timeout(Duration::from_secs(5), tracker.wait())
            .await
            .unwrap();
        acked.expect("the client failed")
    });
    rooms.stop_all();

    let allocations = clean_window.expect("every measured window had a snapshot in it");
    eprintln!("{MEASURED} inputs over a socket: {allocations} allocations on the server's thread");
    assert_eq!(acked, Some(sent - 1), "every input reached the room");
    assert_eq!(stats.inputs_dropped_rate.load(Ordering::Relaxed), 0);
    assert_eq!(stats.inputs_dropped_inbox.load(Ordering::Relaxed), 0);
    assert_eq!(allocations, 0, "{allocations} allocations receiving {MEASURED} inputs");
}
