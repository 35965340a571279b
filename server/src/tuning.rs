//! Machine tuning: every place tickcast departs from the plain way of doing something to
//! go faster or steadier on the machine it runs on, why, and the measurement that
//! justified it, so the engine reads without it. (Not to be confused with
//! `game::rules`, the arena's gameplay constants.)
//!
//! Each entry says where the tuning lives, what it buys and how to reproduce the figure.
//! Figures are from `BENCHMARKS.md` unless stated; "swarm" means
//! `python3 benches/swarm.py ARGS` (release server and bots on one 2-core machine).
//!
//! # Real-time priority of the tick thread: [`raise_thread_priority`]
//!
//! The room thread calls it when `raise_tick_priority` is set. The tick is a few
//! milliseconds of work every period that must not wait behind the connection tasks. At
//! nice -20 the fair scheduler still preempted the tick thread at the end of its slice
//! (`perf record -e sched:sched_switch -g -t <room thread>`: 17 times a second), and it
//! then waited a whole 4 ms scheduler tick. At `SCHED_FIFO` 1, swarm
//! `--bots 350 --npcs 700 --duration 20s --ramp 5s --map assets/maps/large.toml`:
//! tick p99 6.12 ms to **3.01 ms** (BENCHMARKS.md, "Tuning", "The tick's tail").
//!
//! # mimalloc as the global allocator: [`Allocator`]
//!
//! `#[global_allocator]` stays in `main.rs` (a library that set one would clash with
//! the counting allocator of `tests/alloc.rs`); it installs [`ALLOCATOR`] from here.
//! Snapshots are allocated on the tick thread and freed by connection writers on other
//! threads; glibc's free then locks the tick thread's arena, and a writer preempted
//! holding it stalled the tick. Same swarm as above: tick p50 1.28 to **1.10 ms**, p99
//! 6.74 to 6.25 ms (it did not remove the spikes; real-time priority did).
//!
//! # x86-64-v2: `.cargo/config.toml`
//!
//! Cargo reads `target-cpu` only from there, so it stays there. On x86-64 Linux the build
//! targets x86-64-v2 (SSE4.2 and POPCNT, every x86-64 CPU since 2009): `floor` and
//! `round`, which the tick and the quantizers call for every entity, become single
//! instructions instead of libm calls. `bash benches/callgrind.sh`, 10 000-drone
//! `Simulation::step`: 9.44 M to **7.65 M** instructions (19% fewer). Results do not
//! change: both operations are exact either way and x86-64-v2 has no FMA. For an older
//! CPU, build with `RUSTFLAGS=""`.
//!
//! # The hand-rolled CRC-32 of `entity_hash`: `shared/src/state.rs`
//!
//! It lives in `tickcast-shared` (the server and every client hash alike), so it stays
//! there: `entity_hash` feeds an entity's words straight through four slicing tables,
//! and the same tables give the incremental rehash of a changed entity (`HashChange`,
//! which `crc32fast` cannot do: it exposes no raw register). It is the same hash as
//! `crc32fast` over the same bytes (property test in `state.rs`, golden vectors in
//! `assets/vectors`).
//!
//! Measured against `crc32fast` on the arena's real entities
//! (`cargo bench -p tickcast-benches --bench hash -- --warm-up-time 1 --measurement-time 2`,
//! criterion medians of three runs, 2 busy cores; the inputs are a captured room's
//! drones, and a projectile and a player reshaped from one):
//!
//! | input | hand-rolled | `crc32fast`, one `update` per piece | `crc32fast` over a stack buffer | buffer / hand-rolled |
//! |---|---:|---:|---:|---:|
//! | projectile, 32 B | 20.4 to 22.9 ns | 41 to 48 ns | 25.9 to 26.7 ns | 1.16 to 1.27 |
//! | drone, 38 B | 26.1 to 27.6 ns | 51 to 53 ns | 29.4 to 32.4 ns | 1.12 to 1.17 |
//! | player, 48 B | 34.3 to 36.2 ns | 66 to 78 ns | 28.0 to 29.7 ns | 0.79 to 0.82 |
//! | snapshot of 1 000 drones | 25.2 to 29.3 µs | 51 to 53 µs | 30.2 to 31.0 µs | 1.06 to 1.20 |
//!
//! `crc32fast` is slower on what rooms are made of (drones and shots: 1.1 to 1.2x; the
//! plain hasher, one update per piece, 2x): its per-call set-up dominates inputs this
//! short. It wins only from about 48 bytes (players), which are few. Earlier, switching
//! the mirror from `crc32fast` over a buffer to the tables took `apply_frame` (66 moving
//! entities in view) from 77 090 to 65 379 instructions (`bash benches/callgrind.sh`,
//! `apply_moving`). So the tables stay; rerun the bench if entities grow.
//!
//! # The room's input queue: `room/input.rs` (`input_queue`)
//!
//! A mutex-guarded pair of preallocated vectors swapped once a tick, instead of a
//! channel, for two measured reasons:
//! - tokio's `mpsc` allocated a 32-message block whenever more than three blocks waited
//!   between two ticks (one allocation per 32 inputs with a thousand clients); the
//!   queue allocates nothing per input (`cargo test -p tickcast-server --test alloc`);
//! - `std::sync::mpsc::sync_channel` (and any array queue where a receiver spins on a
//!   claimed but unwritten slot) spun the real-time tick thread behind a preempted
//!   sender: a tick of 90 to 200 ms in 3 of 6 swarm runs at 1 000 bots, none over
//!   17 ms in 10 runs since (BENCHMARKS.md, "Tuning": swarm
//!   `--bots 1000 --npcs 2000 --duration 20s --ramp 10s --map assets/maps/large.toml`;
//!   `perf record -F 1000 -g -t <room thread>` caught one: 182 of its 185 samples in
//!   `Channel::try_recv`).
//!
//! It is not a drop-in for any crate's queue, so it stays beside the room; its reasons
//! are this entry and the comment on `InputSender`.

/// Raises the calling thread's scheduling priority: the tick is a few milliseconds of
/// work every period that must not wait behind the connection tasks or other processes.
///
/// First choice is the lowest real-time priority (`SCHED_FIFO` 1): above every normal
/// thread, so nothing of theirs preempts a tick. Nice -20 alone is not enough: the
/// kernel's fair scheduler still preempts a nice -20 thread at the end of its time slice
/// whenever others are runnable, and the tick then waited a whole slice (4 ms at 250 Hz)
/// about once a second under load. The tick thread sleeps between ticks, and the kernel
/// keeps 5% of each second for normal threads (`sched_rt_runtime_us`) even if a tick ran
/// away. Falls back to nice -20, then to normal priority, logging which it got.
pub fn raise_thread_priority() {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_current_thread_priority,
        set_thread_priority_and_policy, thread_native_id,
    };
    let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, fifo).is_ok() {
        tracing::info!("tick thread runs at real-time priority (SCHED_FIFO 1)");
        return;
    }
    match set_current_thread_priority(ThreadPriority::Max) {
        Ok(()) => tracing::info!("tick thread runs at raised priority (nice -20; real-time was refused)"),
        Err(error) => tracing::info!(
            ?error,
            "could not raise the tick thread's priority (needs CAP_SYS_NICE); it runs at normal priority"
        ),
    }
}

/// The server binary's global allocator: mimalloc, which frees across threads without a
/// lock (see the module docs). `main.rs` installs [`ALLOCATOR`].
pub type Allocator = mimalloc::MiMalloc;

/// The value `main.rs` installs with `#[global_allocator]`.
pub const ALLOCATOR: Allocator = mimalloc::MiMalloc;

#[cfg(test)]
mod tests {
    /// The calling thread's nice value and scheduling policy, from
    /// `/proc/thread-self/stat` (fields 19 and 41).
    fn own_nice_and_policy() -> (i64, i64) {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("linux /proc");
        // Fields after the parenthesised command name: nice is the 17th, policy the 39th.
        let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
        let field = |at: usize| -> i64 {
            after_name
                .split(' ')
                .nth(at)
                .expect("stat has the field")
                .parse()
                .expect("a number")
        };
        (field(16), field(38))
    }

    /// Whether this process may raise priorities (CAP_SYS_NICE, bit 23 of CapEff).
    fn may_raise_priority() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").expect("linux /proc");
        let caps = status
            .lines()
            .find_map(|line| line.strip_prefix("CapEff:"))
            .expect("status lists effective capabilities");
        u64::from_str_radix(caps.trim(), 16).expect("capabilities are hex") & (1 << 23) != 0
    }

    #[test]
    fn the_tick_thread_gets_real_time_priority_when_allowed() {
        // `SCHED_OTHER` and `SCHED_FIFO` in the policy field.
        const OTHER: i64 = 0;
        const FIFO: i64 = 1;
        let ours = own_nice_and_policy();
        let (before, after) = std::thread::spawn(|| {
            let before = own_nice_and_policy();
            super::raise_thread_priority();
            (before, own_nice_and_policy())
        })
        .join()
        .unwrap();
        assert_eq!(before.1, OTHER);
        if may_raise_priority() {
            assert_eq!(after.1, FIFO, "real-time, above every normal thread");
        } else {
            assert_eq!(after, before, "left alone without CAP_SYS_NICE");
        }
        assert_eq!(own_nice_and_policy(), ours, "only the calling thread changes");
    }
}
