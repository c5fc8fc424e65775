//! Wall-clock deadlines, checked where code can loop at the cost of one load and a compare.
//!
//! Reading the clock at every jump would cost more than the jump. Instead one process-wide
//! counter, [`EPOCH`], holds the milliseconds since a fixed origin, and a deadline is the value
//! of that counter at which its run must stop. A ticker thread keeps the armed deadlines and
//! sleeps until the earliest one still ahead, then stores the time in [`EPOCH`]: it wakes once
//! per deadline that passes rather than on a fixed beat (a thousand wake-ups a second on a
//! machine shared with the runs), and never while no deadline is armed. Engines compare
//! [`EPOCH`] with their run's deadline where code can loop (the interpreter at block
//! boundaries, native code on jumps back and computed jumps, reading [`EPOCH`] at its fixed
//! address), so a run stops about when its deadline passes plus the time of one block. This is
//! wasmtime's epoch interruption, with an epoch that moves only when it has something to
//! interrupt.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Milliseconds since a fixed origin (when the first deadline was asked for), as the ticker
/// last stored them: never ahead of the clock, and at or past every armed deadline that has
/// passed.
pub static EPOCH: AtomicU64 = AtomicU64::new(0);

/// When a run must stop: a value of [`EPOCH`]. Copy it freely; only an [`Armed`] deadline
/// is ever reached (the ticker knows of it while that lives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Deadline(u64);

impl Deadline {
    /// No deadline: [`EPOCH`] never reaches it.
    pub const NEVER: Deadline = Deadline(u64::MAX);

    /// A deadline that has already passed, whatever the ticker does (for tests, and for a
    /// run that must not start).
    pub const PASSED: Deadline = Deadline(0);

    /// Whether the deadline has passed. One relaxed load: the engines' check.
    #[inline(always)]
    pub fn passed(self) -> bool {
        EPOCH.load(Ordering::Relaxed) >= self.0
    }

    /// The value of [`EPOCH`] at which the deadline passes, for native code to compare with.
    pub fn epoch(self) -> u64 {
        self.0
    }
}

/// A deadline the ticker keeps while this lives: hold it for the whole run.
#[derive(Debug)]
pub struct Armed {
    deadline: Deadline,
}

impl Armed {
    /// A deadline `timeout` from now (to the millisecond, rounded up), armed.
    pub fn after(timeout: Duration) -> Armed {
        let millis = u64::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        let deadline = Deadline(now_ms().saturating_add(millis).min(u64::MAX - 1));
        ticker().arm(deadline.0);
        Armed { deadline }
    }

    /// The deadline.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        ticker().disarm(self.deadline.0);
    }
}

/// Milliseconds since the first time any deadline asked.
fn now_ms() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let elapsed = ORIGIN.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// The thread that advances [`EPOCH`], and the deadlines it keeps.
struct Ticker {
    state: Mutex<Armings>,
    wake: Condvar,
}

/// The armed deadlines (with how many runs armed each), and the one the ticker sleeps until.
#[derive(Default)]
struct Armings {
    deadlines: BTreeMap<u64, usize>,
    waiting_for: Option<u64>,
}

/// The process's ticker, its thread started on first use.
fn ticker() -> &'static Ticker {
    static TICKER: OnceLock<Ticker> = OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    let t = TICKER.get_or_init(|| Ticker {
        state: Mutex::new(Armings::default()),
        wake: Condvar::new(),
    });
    STARTED.call_once(|| {
        std::thread::Builder::new()
            .name("nestedvm-deadline".into())
            .spawn(move || t.tick())
            .expect("start the deadline ticker thread");
    });
    t
}

impl Ticker {
    fn lock(&self) -> MutexGuard<'_, Armings> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `deadline`, waking the ticker only when it must now wake sooner.
    fn arm(&self, deadline: u64) {
        let mut state = self.lock();
        *state.deadlines.entry(deadline).or_default() += 1;
        if state.waiting_for.is_none_or(|w| deadline < w) {
            self.wake.notify_one();
        }
    }

    fn disarm(&self, deadline: u64) {
        let mut state = self.lock();
        if let Some(n) = state.deadlines.get_mut(&deadline) {
            *n -= 1;
            if *n == 0 {
                state.deadlines.remove(&deadline);
            }
        }
    }

    /// The ticker's loop: stores the time once the earliest deadline still ahead of
    /// [`EPOCH`] is due, then sleeps until the next; with none, until one is armed.
    fn tick(&self) {
        let mut state = self.lock();
        loop {
            let now = now_ms();
            let next = state
                .deadlines
                .range(EPOCH.load(Ordering::Relaxed).saturating_add(1)..)
                .next()
                .map(|(&d, _)| d);
            state.waiting_for = next;
            state = match next {
                None => self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(due) if due <= now => {
                    EPOCH.store(now, Ordering::Relaxed);
                    state
                }
                Some(due) => {
                    let wait = Duration::from_millis(due - now);
                    self.wake
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_never_passes_and_passed_always_has() {
        assert!(!Deadline::NEVER.passed());
        assert!(Deadline::PASSED.passed());
    }

    #[test]
    fn an_armed_deadline_passes_once_its_time_is_up() {
        let armed = Armed::after(Duration::from_millis(5));
        let start = Instant::now();
        while !armed.deadline().passed() {
            assert!(start.elapsed() < Duration::from_secs(60), "never passed");
            std::thread::yield_now();
        }
        // A generous deadline armed now has not passed.
        assert!(!Armed::after(Duration::from_secs(3600)).deadline().passed());
    }
}
