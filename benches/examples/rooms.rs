//! Rooms per process: how many arena rooms of 8 players one process ticks at 60 Hz
//! before the worst room's tick p99 passes 4 ms, with a thread per room and with the
//! shared tick pool (`[rooms] tick_threads`, one thread per core).
//!
//! Each room is started as the server starts a matchmade one (`RoomKind::start`), on a
//! tokio runtime that prepares its snapshots, with 8 players joined through its inbox and
//! sending an input every tick (scripted, from one driver thread). No sockets: this
//! measures what the rooms cost the machine, not the network.
//!
//! Two figures per room, over the last whole second: its tick time (the step alone), and
//! its delay: how long after its deadline each tick finished, which also counts waiting
//! for the thread (behind other rooms on a pool thread, or behind other threads for the
//! OS). The process keeps up while the rooms' mean delay p99 stays under 4 ms; the worst
//! room's is printed beside it (one room's spike on a busy machine is noise, a mean
//! above 4 ms is not).
//!
//! `cargo run --release -p tickcast-benches --example rooms [-- --max 256 --drones 0]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tickcast_server::config::ServerConfig;
use tickcast_server::room::{ClientId, Room, RoomCommand, RoomHandle, TickPool};
use tickcast_server::rooms::RoomKind;
use tickcast_shared::arena::ArenaInput;
use tickcast_shared::input::GameInput;

/// Players per room.
const PLAYERS: u32 = 8;
/// The rooms' mean delay p99 that counts as keeping up, ms.
const LIMIT_MS: f64 = 4.0;
/// Seconds each step runs before it is measured, then measured over.
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(3);

struct Step {
    rooms: usize,
    tick_p99: f64,
    delay_p99: f64,
    worst_delay_p99: f64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut max, mut drones) = (256usize, 0u32);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.parse().ok())
                .expect("a number after the flag")
        };
        match arg.as_str() {
            "--max" => max = value(),
            "--drones" => drones = value() as u32,
            "--bench" => {}
            other => panic!("unknown argument {other}; use --max N, --drones N"),
        }
    }
    let mut config = ServerConfig::embedded();
    config.npcs = drones;
    config.raise_tick_priority = false;
    let kind = RoomKind::all(&config)
        .expect("the embedded map loads")
        .into_iter()
        .find(|kind| kind.name == "arena")
        .expect("an arena kind");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    let sizes: Vec<usize> = [4, 8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
        .into_iter()
        .filter(|&n| n <= max)
        .collect();
    eprintln!("{cores} cores, {PLAYERS} players and {drones} drones per room, 60 Hz");
    let mut results = Vec::new();
    for mode in ["thread per room", "pool"] {
        let pool = (mode == "pool").then(|| TickPool::new(cores, false).expect("tick threads"));
        let mut steps = Vec::new();
        for &count in &sizes {
            let step = measure(&runtime, &kind, pool.as_ref(), count);
            eprintln!(
                "{mode:>16}: {count:>4} rooms  tick p99 {:.2} ms  delay p99 {:.2} ms (worst room {:.2})",
                step.tick_p99, step.delay_p99, step.worst_delay_p99
            );
            let over = step.delay_p99 > LIMIT_MS;
            steps.push(step);
            if over {
                break;
            }
        }
        results.push((mode, steps));
    }
    println!(
        "\n| rooms | thread per room: tick p99 / delay p99 (worst room) ms | pool: tick p99 / delay p99 (worst room) ms |"
    );
    println!("|---:|---|---|");
    for (index, &count) in sizes.iter().enumerate() {
        let cell = |steps: &[Step]| {
            steps.get(index).map_or("-".to_owned(), |s| {
                format!("{:.2} / {:.2} ({:.2})", s.tick_p99, s.delay_p99, s.worst_delay_p99)
            })
        };
        if results.iter().all(|(_, steps)| steps.len() <= index) {
            break;
        }
        println!("| {count} | {} | {} |", cell(&results[0].1), cell(&results[1].1));
    }
    for (mode, steps) in &results {
        let kept = steps.iter().filter(|s| s.delay_p99 <= LIMIT_MS).map(|s| s.rooms).max();
        match kept {
            Some(rooms) => println!("{mode}: kept up with {rooms} rooms (mean delay p99 ≤ {LIMIT_MS} ms)"),
            None => println!("{mode}: did not keep up even with {} rooms", sizes[0]),
        }
    }
}

/// Starts `count` rooms of 8 players, drives them, and reads their figures.
fn measure(runtime: &tokio::runtime::Runtime, kind: &RoomKind, pool: Option<&TickPool>, count: usize) -> Step {
    let rooms: Vec<Room> = (0..count)
        .map(|index| {
            kind.start(&format!("bench-{index}"), pool, Some(1024))
                .expect("a room starts")
        })
        .collect();
    let handles: Vec<RoomHandle> = rooms.iter().map(Room::handle).collect();
    for handle in &handles {
        for client in 0..PLAYERS {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let join = RoomCommand::Join {
                client: client as ClientId,
                name: format!("p{client}"),
                spectator: false,
                reply,
            };
            runtime.block_on(async {
                handle.commands.send(join).await.expect("the room takes joins");
                answer.await.expect("the room answers");
            });
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let driver = std::thread::spawn({
        let (stop, handles) = (Arc::clone(&stop), handles.clone());
        move || drive(&handles, &stop)
    });
    std::thread::sleep(WARMUP + MEASURE);
    let figures: Vec<(f64, f64)> = handles
        .iter()
        .map(|handle| (handle.stats.recent_tick_ms().p99, handle.stats.recent_delay_ms().p99))
        .collect();
    stop.store(true, Ordering::Relaxed);
    driver.join().expect("the driver ends");
    drop(rooms);
    let mean = |pick: fn(&(f64, f64)) -> f64| figures.iter().map(pick).sum::<f64>() / figures.len() as f64;
    Step {
        rooms: count,
        tick_p99: mean(|f| f.0),
        delay_p99: mean(|f| f.1),
        worst_delay_p99: figures.iter().map(|f| f.1).fold(0.0, f64::max),
    }
}

/// Sends every player an input per tick (60 Hz) until `stop`: the players steer in
/// circles and fire now and then, so the rooms have movement, projectiles and hits.
fn drive(handles: &[RoomHandle], stop: &AtomicBool) {
    let period = Duration::from_secs_f64(1.0 / 60.0);
    let mut next = Instant::now();
    let mut seq = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let angle = seq as f32 * 0.05;
        for handle in handles {
            for client in 0..PLAYERS {
                let input = ArenaInput {
                    move_x: (angle + client as f32).cos(),
                    move_y: (angle + client as f32).sin(),
                    aim: angle,
                    buttons: u32::from(seq % 20 == client),
                }
                .to_input(seq, None);
                let _ = handle.inputs.try_send(client as ClientId, input);
            }
        }
        seq += 1;
        next += period;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}
