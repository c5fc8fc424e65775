//! Answering a stream of request lines on several threads, the answers in input order.

use super::{read_line, world_of, Batch, Line, WorldNames, MAX_LINE_LEN};
use crate::{Config, Request, Vm};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};

/// The most lines [`serve`] has read but not yet written (1024): a slow line holds back the
/// answers after it, and this bounds how many wait.
pub const PENDING_LINES: usize = 1024;

/// The most bytes of request lines and answers [`serve`] holds for lines read but not yet
/// written (256 MiB), beyond those of the lines running (one a thread): past it no line is
/// read until answers are written.
pub const PENDING_BYTES: u64 = 256 << 20;

/// Why [`serve`] stopped before the end of its input.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the requests failed.
    Read(io::Error),
    /// Writing the answers failed.
    Write(io::Error),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Read(e) => write!(f, "reading the requests: {e}"),
            StreamError::Write(e) => write!(f, "writing the answers: {e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// What [`serve`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Lines answered (blank lines are not).
    pub answers: u64,
    /// JIT compilations done for the batch.
    pub compiles: u64,
}

/// Answers every request line of `input` on `output`, one answer a line in input order,
/// with `jobs` threads: requests start from `config` and `request` (the flags of
/// `run --batch`).
///
/// With one job the lines are answered on this thread, each written and flushed before the
/// next is read. With more, this thread reads the lines and hands them out: requests of one
/// world always to the same thread (so they run in input order), the others to the thread
/// with the fewest waiting; the threads' VMs share one JIT cache, and one more thread writes
/// the answers in input order, flushing whenever it has nothing more to write. Lines already
/// read in are handed out together, up to [`CHUNK_LINES`] at a time, so a stream of short
/// requests does not wake a thread per line; a line is never held back waiting for more input
/// (lines are handed out whenever the next whole line has not arrived yet).
/// At most [`PENDING_LINES`] lines and [`PENDING_BYTES`] of their text and answers are read
/// and not yet written. The answers are the same whatever `jobs` is.
pub fn serve(
    input: impl io::Read,
    output: &mut (impl Write + Send),
    config: Config,
    request: Request,
    jobs: NonZeroUsize,
) -> Result<Served, StreamError> {
    let mut input = io::BufReader::with_capacity(INPUT_BUFFER, input);
    if jobs.get() == 1 {
        let mut answers = 0;
        let mut batch = Batch::new(Vm::new(), config, request);
        while let Some(line) = read_line(&mut input, MAX_LINE_LEN).map_err(StreamError::Read)? {
            if is_blank(&line) {
                continue;
            }
            writeln!(output, "{}", batch.answer_line(&line))
                .and_then(|_| output.flush())
                .map_err(StreamError::Write)?;
            answers += 1;
        }
        return Ok(Served {
            answers,
            compiles: batch.vm().jit_cache().compiles(),
        });
    }
    let cache = Arc::new(crate::jit::JitCache::new(256));
    let jobs = jobs.get();
    let window = Window::default();
    let failed = AtomicBool::new(false);
    let waiting: Vec<AtomicUsize> = (0..jobs).map(|_| AtomicUsize::new(0)).collect();
    let mut read_error = None;
    let write_result = std::thread::scope(|scope| {
        let (done, answered) = mpsc::channel::<Vec<(u64, String)>>();
        let mut queues = Vec::with_capacity(jobs);
        for queue_waiting in &waiting {
            let (queue, chunks) = mpsc::channel::<Vec<Job>>();
            queues.push(queue);
            let (done, window, cache) = (done.clone(), &window, cache.clone());
            let request = request.clone();
            scope.spawn(move || {
                let mut batch = Batch::new(Vm::with_jit_cache(cache), config, request);
                for chunk in chunks {
                    let mut answers = Vec::with_capacity(chunk.len());
                    let (mut line_bytes, mut answer_bytes) = (0, 0);
                    for job in chunk {
                        let answer = batch.answer_admitted(&job.line, job.refused);
                        queue_waiting.fetch_sub(1, Ordering::Relaxed);
                        line_bytes += job.bytes;
                        answer_bytes += answer.len() as u64;
                        answers.push((job.seq, answer));
                    }
                    window.answered(line_bytes, answer_bytes);
                    if done.send(answers).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let (window, failed) = (&window, &failed);
        let writer = scope.spawn(move || write_in_order(answered, output, window, failed));
        let mut hand_out = HandOut {
            outboxes: (0..jobs).map(|_| Vec::new()).collect(),
            held: 0,
            queues,
            waiting: &waiting,
            names: WorldNames::default(),
            seq: 0,
        };
        while !failed.load(Ordering::Relaxed) {
            let line = match read_line(&mut input, MAX_LINE_LEN) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            };
            if is_blank(&line) {
                continue;
            }
            let bytes = match &line {
                Line::Request(b) => b.len() as u64,
                Line::TooLong(_) => 0,
            };
            if !window.try_acquire(bytes) {
                // The lines held here must go out before waiting: their answers make room.
                hand_out.send();
                window.acquire(bytes);
            }
            hand_out.add(line, bytes);
            // Without a whole line in the buffer the next read may wait for input: what is
            // held goes out first. (The search stops at the next line's end.)
            if !input.buffer().contains(&b'\n') || hand_out.held >= CHUNK_LINES {
                hand_out.send();
            }
        }
        hand_out.send();
        drop(hand_out);
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the thread writing the answers panicked")))
    });
    let answers = write_result.map_err(StreamError::Write)?;
    if let Some(e) = read_error {
        return Err(StreamError::Read(e));
    }
    Ok(Served {
        answers,
        compiles: cache.compiles(),
    })
}

/// The bytes of input [`serve`] reads at a time (64 KiB): the lines already in it are handed
/// out together.
const INPUT_BUFFER: usize = 64 << 10;

/// The most lines [`serve`] hands out at a time (64).
pub const CHUNK_LINES: usize = 64;

/// The lines [`serve`] has read and not yet handed to a thread, and where each goes.
struct HandOut<'a> {
    /// Per thread, the lines for it.
    outboxes: Vec<Vec<Job>>,
    /// Lines in the outboxes.
    held: usize,
    queues: Vec<mpsc::Sender<Vec<Job>>>,
    /// Per thread, the lines handed to it and not yet answered.
    waiting: &'a [AtomicUsize],
    names: WorldNames,
    /// The next line's place in the input.
    seq: u64,
}

impl HandOut<'_> {
    /// Puts a line in the outbox of its thread: its world's, or the least busy.
    fn add(&mut self, line: Line, bytes: u64) {
        let world = world_of(&line);
        let refused = world.as_deref().map(|name| !self.names.admit(name));
        let load = |i: usize| self.waiting[i].load(Ordering::Relaxed) + self.outboxes[i].len();
        let target = match &world {
            Some(name) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                name.hash(&mut hasher);
                (hasher.finish() % self.outboxes.len() as u64) as usize
            }
            None => (0..self.outboxes.len())
                .min_by_key(|&i| load(i))
                .unwrap_or(0),
        };
        self.outboxes[target].push(Job {
            seq: self.seq,
            line,
            refused,
            bytes,
        });
        self.seq += 1;
        self.held += 1;
    }

    /// Hands every outbox to its thread.
    fn send(&mut self) {
        for (i, outbox) in self.outboxes.iter_mut().enumerate() {
            if outbox.is_empty() {
                continue;
            }
            self.waiting[i].fetch_add(outbox.len(), Ordering::Relaxed);
            // A thread gone (it cannot be: they end when the queues close) would leave its
            // lines unanswered; the writer then stops at the first of them.
            let _ = self.queues[i].send(std::mem::take(outbox));
        }
        self.held = 0;
    }
}

/// A line handed to a thread of [`serve`].
struct Job {
    /// Its place in the input, blank lines not counted.
    seq: u64,
    line: Line,
    /// For a line naming a world: whether the world was refused (over [`MAX_WORLDS`]).
    refused: Option<bool>,
    /// Bytes of the line held in the window.
    bytes: u64,
}

fn is_blank(line: &Line) -> bool {
    matches!(line, Line::Request(bytes) if bytes.trim_ascii().is_empty())
}

/// Writes answers as they come, each in its input order, and returns how many. After a write
/// error it writes no more but still takes every answer (so the window keeps moving and the
/// reader sees `failed`).
fn write_in_order(
    answered: mpsc::Receiver<Vec<(u64, String)>>,
    output: &mut impl Write,
    window: &Window,
    failed: &AtomicBool,
) -> io::Result<u64> {
    let mut next = 0u64;
    let mut held = BTreeMap::new();
    let mut error = None;
    while let Ok(first) = answered.recv() {
        held.extend(first);
        // Whatever else is already answered goes out before the flush.
        while let Ok(more) = answered.try_recv() {
            held.extend(more);
        }
        let (mut lines, mut bytes) = (0, 0);
        while let Some(answer) = held.remove(&next) {
            if error.is_none() {
                if let Err(e) = writeln!(output, "{answer}") {
                    error = Some(e);
                    failed.store(true, Ordering::Relaxed);
                }
            }
            lines += 1;
            bytes += answer.len() as u64;
            next += 1;
        }
        if error.is_none() && lines > 0 {
            if let Err(e) = output.flush() {
                error = Some(e);
                failed.store(true, Ordering::Relaxed);
            }
        }
        window.written(lines, bytes);
    }
    match error {
        Some(e) => Err(e),
        None => Ok(next),
    }
}

/// What [`serve`] holds for lines read and not yet written: how many, and the bytes of their
/// text (until answered) and answers (until written).
#[derive(Default)]
struct Window {
    held: Mutex<(usize, u64)>,
    moved: Condvar,
}

impl Window {
    /// Whether a line of `bytes` fits in now (always, when none is held).
    fn fits(held: (usize, u64), bytes: u64) -> bool {
        held.0 == 0 || (held.0 < PENDING_LINES && held.1 + bytes <= PENDING_BYTES)
    }

    /// Takes room for a line of `bytes` if there is some now.
    fn try_acquire(&self, bytes: u64) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let fits = Self::fits(*held, bytes);
        if fits {
            held.0 += 1;
            held.1 += bytes;
        }
        fits
    }

    /// Whether the window has drained to half full: where a reader waiting for room goes on,
    /// so that it then reads many lines at a time rather than one per answer written.
    fn drained(held: (usize, u64)) -> bool {
        held.0 <= PENDING_LINES / 2 && held.1 <= PENDING_BYTES / 2
    }

    /// Waits until a line of `bytes` may be read in (the window [drained](Window::drained),
    /// or empty), and takes its room.
    fn acquire(&self, bytes: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while !(held.0 == 0 || (Self::drained(*held) && Self::fits(*held, bytes))) {
            held = self.moved.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        held.0 += 1;
        held.1 += bytes;
    }

    /// Lines of `line` bytes in all were answered with `answer` bytes.
    fn answered(&self, line: u64, answer: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.1 = held.1.saturating_sub(line) + answer;
        // Only the reader waits, and only for the window to drain: a wake-up costs a system
        // call, so it is made only when the reader may go on.
        if Self::drained(*held) {
            self.moved.notify_all();
        }
    }

    /// `lines` answers of `answer` bytes in all were written.
    fn written(&self, lines: usize, answer: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.0 -= lines;
        held.1 = held.1.saturating_sub(answer);
        if Self::drained(*held) {
            self.moved.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_bounds_what_waits_to_be_written_and_drains_to_half() {
        let window = Window::default();
        for _ in 0..PENDING_LINES {
            assert!(window.try_acquire(1));
        }
        assert!(!window.try_acquire(1));
        // A reader that waits goes on once the writer has brought it down to half.
        std::thread::scope(|s| {
            s.spawn(|| {
                window.answered(PENDING_LINES as u64, 10 * PENDING_LINES as u64);
                for _ in 0..PENDING_LINES / 2 {
                    window.written(1, 10);
                }
            });
            window.acquire(1);
        });
        let half = PENDING_LINES / 2;
        assert_eq!(
            *window.held.lock().expect("lock"),
            (half + 1, 10 * half as u64 + 1)
        );
        // A line over the byte limit is still read when nothing else is held.
        let empty = Window::default();
        empty.acquire(PENDING_BYTES * 2);
        assert_eq!(*empty.held.lock().expect("lock"), (1, PENDING_BYTES * 2));
    }
}
