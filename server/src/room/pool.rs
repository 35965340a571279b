//! A pool of tick threads that rooms share, so that a process can host many more rooms
//! than it has cores without as many threads competing for them.
//!
//! Each worker thread owns a set of rooms and ticks whichever is due first, sleeping
//! until the earliest deadline (or until a new room arrives). A room joins the worker
//! with the fewest rooms. A stopped room leaves its worker at the worker's next wake-up,
//! at most a tick period later; dropping it there tells [`super::Room::stop`] it is done.
//!
//! Measured against a thread per room in `BENCHMARKS.md` ("Rooms per process").

use super::tick_loop::Ticker;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

/// A room handed to a worker.
pub(crate) struct Pooled {
    pub ticker: Ticker,
    pub stop: Arc<AtomicBool>,
    /// Dropped with the room, which is how its owner learns it stopped.
    pub _done: mpsc::Sender<()>,
}

struct Worker {
    rooms: Arc<AtomicUsize>,
    sender: Option<mpsc::Sender<Pooled>>,
    thread: Option<JoinHandle<()>>,
}

/// Tick threads shared by rooms; dropping the pool waits for its threads, which end
/// once every room in them has stopped.
pub struct TickPool {
    workers: Vec<Worker>,
}

impl TickPool {
    /// A pool of `threads` workers (at least one), at real-time priority if `raise_priority`.
    pub fn new(threads: usize, raise_priority: bool) -> std::io::Result<TickPool> {
        let workers = (0..threads.max(1))
            .map(|index| {
                let (sender, receiver) = mpsc::channel();
                let rooms = Arc::new(AtomicUsize::new(0));
                let thread = std::thread::Builder::new().name(format!("tick-{index}")).spawn({
                    let rooms = Arc::clone(&rooms);
                    move || {
                        if raise_priority {
                            crate::tuning::raise_thread_priority();
                        }
                        work(&receiver, &rooms);
                    }
                })?;
                Ok(Worker {
                    rooms,
                    sender: Some(sender),
                    thread: Some(thread),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(TickPool { workers })
    }

    /// Hands a room to the worker with the fewest.
    pub(crate) fn add(&self, room: Pooled) {
        let worker = self
            .workers
            .iter()
            .min_by_key(|worker| worker.rooms.load(Ordering::Relaxed))
            .expect("a pool has a worker");
        worker.rooms.fetch_add(1, Ordering::Relaxed);
        if let Some(sender) = &worker.sender {
            // A worker ends only when its sender is dropped, below.
            let _ = sender.send(room);
        }
    }
}

impl Drop for TickPool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.sender = None;
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take()
                && thread.join().is_err()
            {
                tracing::error!("tick thread panicked");
            }
        }
    }
}

/// A worker's loop: tick the room due first, sleep until the next deadline.
fn work(receiver: &mpsc::Receiver<Pooled>, count: &AtomicUsize) {
    let mut rooms: Vec<Pooled> = Vec::new();
    let mut open = true;
    loop {
        let before = rooms.len();
        rooms.retain(|room| !room.stop.load(Ordering::Relaxed));
        count.fetch_sub(before - rooms.len(), Ordering::Relaxed);
        let due = rooms
            .iter()
            .enumerate()
            .min_by_key(|(_, room)| room.ticker.deadline)
            .map(|(index, room)| (index, room.ticker.deadline));
        let Some((index, deadline)) = due else {
            if !open {
                return;
            }
            match receiver.recv() {
                Ok(room) => rooms.push(room),
                Err(_) => return,
            }
            continue;
        };
        let now = Instant::now();
        if now < deadline && open {
            match receiver.recv_timeout(deadline - now) {
                Ok(room) => rooms.push(room),
                Err(mpsc::RecvTimeoutError::Timeout) => rooms[index].ticker.tick(),
                Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
            }
        } else if now < deadline {
            std::thread::sleep(deadline - now);
        } else {
            rooms[index].ticker.tick();
        }
    }
}
