//! The background compiler: tier-ups compiled on threads of their own while the thread that
//! found the hot code goes on interpreting. A simulation then never stalls for the
//! compilation of the contract it runs (hundreds of milliseconds for a large one); it
//! switches to native code at a block boundary once the code is installed.
//!
//! The threads are made on first use and live as long as the process. The queue is bounded:
//! a tier-up asked for while [`MAX_QUEUED`] compilations wait is dropped (`has_room`), and
//! the code goes on in the interpreter or on the baseline tier until it asks again; a run
//! never waits for the queue. Queued jobs hold only weak references to their code, so a
//! code evicted from the caches while its job waits is freed, and its job does nothing.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// A compilation to run, installing its result itself.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// Most compiler threads: compiling is for warming up, the work stays on the callers'
/// threads.
const MAX_THREADS: usize = 4;

/// Most compilations submitted and not finished before tier-ups are dropped. A queue this
/// long already holds seconds of Cranelift work; a longer one would only hold tier-ups for
/// code that has gone cold by the time its turn comes, and their memory meanwhile.
pub const MAX_QUEUED: usize = 16;

struct Compiler {
    /// `None` when no thread could be started: jobs then run on the caller's thread.
    queue: Option<Mutex<Sender<Job>>>,
    /// Jobs submitted and not finished.
    in_flight: Mutex<usize>,
    idle: Condvar,
}

fn compiler() -> &'static Compiler {
    static COMPILER: OnceLock<Compiler> = OnceLock::new();
    COMPILER.get_or_init(|| {
        let (send, receive) = channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        // Leave a core to the threads running code; one thread on a 2-core machine.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get() / 2)
            .clamp(1, MAX_THREADS);
        let started = (0..threads)
            .filter(|k| {
                let receive = receive.clone();
                std::thread::Builder::new()
                    .name(format!("nestedvm-jit-{k}"))
                    .spawn(move || work(&receive))
                    .is_ok()
            })
            .count();
        Compiler {
            queue: (started > 0).then(|| Mutex::new(send)),
            in_flight: Mutex::new(0),
            idle: Condvar::new(),
        }
    })
}

fn work(receive: &Mutex<Receiver<Job>>) {
    loop {
        let job = match lock(receive).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        run(job);
    }
}

/// Runs `job` and counts it finished, even should it panic (compilation catches its own
/// panics; this keeps the count right regardless).
fn run(job: Job) {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            let c = compiler();
            let mut n = lock(&c.in_flight);
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.idle.notify_all();
            }
        }
    }
    let _done = Done;
    #[cfg(test)]
    let _held = lock(&HOLD);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
}

/// Held by a test to keep submitted jobs from running (never on a job's own thread).
#[cfg(test)]
static HOLD: Mutex<()> = Mutex::new(());

/// Keeps every compiler thread from starting a job until the guard is dropped.
#[cfg(test)]
pub(crate) fn hold() -> MutexGuard<'static, ()> {
    lock(&HOLD)
}

/// Held by a test to keep Cranelift tier-ups from starting (baseline jobs still run).
#[cfg(test)]
static HOLD_TIER_UPS: Mutex<()> = Mutex::new(());

/// Keeps Cranelift tier-up jobs (taking this at their start) waiting until the guard is
/// dropped, while jobs queued before them run.
#[cfg(test)]
pub(crate) fn hold_tier_ups() -> MutexGuard<'static, ()> {
    lock(&HOLD_TIER_UPS)
}

/// Whether a tier-up may be queued now: fewer than [`MAX_QUEUED`] compilations wait or run.
/// Callers check before changing any state, and drop the tier-up when there is no room (a
/// few callers racing past the check overshoot the bound by at most one job each).
pub(crate) fn has_room() -> bool {
    *lock(&compiler().in_flight) < MAX_QUEUED
}

/// Compilations submitted and not finished, for tests.
#[cfg(test)]
pub(crate) fn in_flight() -> usize {
    *lock(&compiler().in_flight)
}

/// Held by a test that queues compilations, so that tests sharing the one compiler do not
/// see each other's jobs in the queue.
#[cfg(test)]
pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
    static EXCLUSIVE: Mutex<()> = Mutex::new(());
    lock(&EXCLUSIVE)
}

/// Queues `job` for a compiler thread; runs it here when no thread could be started.
pub(crate) fn submit(job: Job) {
    let c = compiler();
    *lock(&c.in_flight) += 1;
    let rejected = match &c.queue {
        Some(queue) => lock(queue).send(job).err().map(|e| e.0),
        None => Some(job),
    };
    if let Some(job) = rejected {
        run(job);
    }
}

/// Blocks until every compilation submitted so far (by any thread) is installed: for tests,
/// benchmarks and callers that want native code from the next run on.
pub fn wait_idle() {
    let c = compiler();
    let mut n = lock(&c.in_flight);
    while *n > 0 {
        n = c.idle.wait(n).unwrap_or_else(|p| p.into_inner());
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
