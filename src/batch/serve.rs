//! Answering a stream of request lines on several threads, the answers in input order.

use super::{read_line, read_line_into, world_of, Batch, Line, WorldNames, MAX_LINE_LEN};
use crate::jit::JitCache;
use crate::world::source::ForkedChain;
use crate::{Config, Request, Vm};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The most lines [`serve`] has read but not yet written (1024): a slow line holds back the
/// answers after it, and this bounds how many wait.
pub const PENDING_LINES: usize = 1024;

/// The most bytes of request lines and answers [`serve`] holds for lines read but not yet
/// written (256 MiB), beyond those of the lines running (one a thread): past it no line is
/// read until answers are written.
pub const PENDING_BYTES: u64 = 256 << 20;

/// The most lines a thread of [`serve`] reads, or takes to answer, at a time (64).
pub const CHUNK_LINES: usize = 64;

/// The bytes of input [`serve`] reads at a time (64 KiB).
const INPUT_BUFFER: usize = 64 << 10;

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

/// How [`serve`] answers a stream: each request's defaults, the threads, the chain it forks
/// and the JIT cache its VMs share.
#[derive(Clone)]
pub struct Serving {
    /// The configuration a request's fields override.
    pub config: Config,
    /// The request a line's fields override.
    pub request: Request,
    /// The threads answering (`run --batch --jobs`).
    pub jobs: NonZeroUsize,
    /// The forked chain requests read what their state does not give from, if any (see
    /// [`Batch::forking`]): one for all threads, so what one read the others find cached.
    pub chain: Option<Arc<dyn ForkedChain>>,
    /// Where the threads' VMs keep compiled code and heat: a caller serving batch after batch
    /// (a Python `Vm`, a worker) passes its own so that code compiled for one batch runs
    /// native in the next; a new one otherwise.
    pub jit_cache: Option<Arc<JitCache>>,
}

impl Serving {
    /// One thread, no fork, a JIT cache of its own, with these defaults.
    pub fn new(config: Config, request: Request) -> Self {
        Serving {
            config,
            request,
            jobs: NonZeroUsize::MIN,
            chain: None,
            jit_cache: None,
        }
    }
}

/// Answers every request line of `input` on `output`, one answer a line in input order,
/// with `jobs` threads: requests start from `config` and `request` (the flags of
/// `run --batch`).
///
/// With one job the lines are answered on this thread, each written and flushed before the
/// next is read. With more, `jobs` threads (this one among them) share the work and nothing
/// else runs beside them, so that on a machine with as many cores no thread waits for a
/// core. A thread with nothing to answer reads: the lines already in the input buffer, up to
/// [`CHUNK_LINES`], are handed out together, and a line is never held back waiting for more
/// input. A line naming a world goes to the thread that owns the world (one per world, so
/// its requests run in input order), the others to a queue any thread takes from, a fair
/// share at a time. A thread that has answered writes every answer that is next in input
/// order, and flushes, unless another thread is writing. The threads' VMs share one JIT
/// cache. At most [`PENDING_LINES`] lines and [`PENDING_BYTES`] of their text and answers
/// are read and not yet written. The answers are the same whatever `jobs` is, but for a result's
/// `engine` under `auto`, which says when background compilation landed.
///
/// The lines are answered as [`Serving`] says.
pub fn serve(
    input: impl io::Read + Send,
    output: &mut (impl Write + Send),
    serving: Serving,
) -> Result<Served, StreamError> {
    let Serving {
        config,
        request,
        jobs,
        chain,
        jit_cache,
    } = serving;
    // The threads' VMs share one JIT cache (256 codes, unless the caller's).
    let cache = jit_cache.unwrap_or_else(|| Arc::new(JitCache::new(256)));
    let compiled_before = cache.compiles();
    let mut input = io::BufReader::with_capacity(INPUT_BUFFER, input);
    if jobs.get() == 1 {
        let mut answers = 0;
        let mut batch = Batch::new(Vm::with_jit_cache(cache), config, request).forking(chain);
        while let Some(line) = read_line(&mut input, MAX_LINE_LEN).map_err(StreamError::Read)? {
            if line.as_read().is_ok_and(is_blank) {
                continue;
            }
            writeln!(output, "{}", batch.answer_line(&line))
                .and_then(|_| output.flush())
                .map_err(StreamError::Write)?;
            answers += 1;
        }
        return Ok(Served {
            answers,
            compiles: batch.vm().jit_cache().compiles() - compiled_before,
        });
    }
    let shared = Shared {
        state: Mutex::new(State::new(input, jobs.get())),
        changed: Condvar::new(),
        output: Mutex::new(output),
    };
    std::thread::scope(|scope| {
        for thread in 1..jobs.get() {
            let (shared, cache, request) = (&shared, cache.clone(), request.clone());
            let chain = chain.clone();
            scope.spawn(move || {
                let mut batch =
                    Batch::new(Vm::with_jit_cache(cache), config, request).forking(chain);
                shared.work(thread, &mut batch);
            });
        }
        let mut batch =
            Batch::new(Vm::with_jit_cache(cache.clone()), config, request).forking(chain);
        shared.work(0, &mut batch);
    });
    let state = shared.state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = state.write_error {
        return Err(StreamError::Write(e));
    }
    if let Some(e) = state.read_error {
        return Err(StreamError::Read(e));
    }
    Ok(Served {
        answers: state.next,
        compiles: cache.compiles() - compiled_before,
    })
}

/// What the threads of [`serve`] share.
struct Shared<'o, R, W> {
    state: Mutex<State<R>>,
    /// Signalled, when a thread waits, on anything that may give it work: lines handed out,
    /// room in the window, the end.
    changed: Condvar,
    /// Locked only by the thread writing, so never waited for.
    output: Mutex<&'o mut W>,
}

/// The lines [`serve`] has read and not yet written, and the input they come from.
struct State<R> {
    /// The input; `None` while a thread reads it.
    reader: Option<Reader<R>>,
    /// No more lines will be read: the input ended or failed, or writing failed.
    at_end: bool,
    read_error: Option<io::Error>,
    write_error: Option<io::Error>,
    /// A thread panicked (a bug): the others stop too.
    broken: bool,
    /// Per thread, the lines naming one of its worlds, in input order.
    owned: Vec<VecDeque<Job>>,
    /// The lines naming no world, in input order.
    open: VecDeque<Job>,
    /// Answers not yet written, by their line's place in the input.
    answered: BTreeMap<u64, Answer>,
    /// The place of the next answer to write.
    next: u64,
    /// A thread is writing.
    writing: bool,
    /// Lines read and not yet written.
    held_lines: usize,
    /// Bytes of those lines until answered, then of their answers until written.
    held_bytes: u64,
    /// Threads waiting for [`Shared::changed`].
    idle: usize,
}

/// The input and what reading it keeps: taken by the thread reading.
struct Reader<R> {
    input: io::BufReader<R>,
    /// A line read that did not fit in the window, with its bytes: the first handed out once
    /// there is room.
    carried: Option<(Line, u64)>,
    names: WorldNames,
    /// The next line's place in the input, blank lines not counted.
    seq: u64,
}

/// A line handed to a thread of [`serve`].
struct Job {
    /// Its place in the input, blank lines not counted.
    seq: u64,
    /// The lines read with it, in one buffer: a buffer per line would be freed by another
    /// thread than the one that made it, which costs the allocator more than the copy.
    text: Arc<Vec<u8>>,
    /// Where it is in `text`, or for a line over the limit its length.
    line: Result<Range<usize>, usize>,
    /// For a line naming a world: whether the world was refused (over [`MAX_WORLDS`]).
    ///
    /// [`MAX_WORLDS`]: super::MAX_WORLDS
    refused: Option<bool>,
    /// Bytes of the line held in the window.
    bytes: u64,
}

impl Job {
    /// The line as [`Line::as_read`] gives it.
    fn read(&self) -> Result<&[u8], usize> {
        match &self.line {
            Ok(range) => Ok(&self.text[range.clone()]),
            Err(len) => Err(*len),
        }
    }
}

/// An answer waiting to be written: its text, line break included, among the answers a
/// thread gave in one turn (one buffer a turn, for the reason of [`Job::text`]).
struct Answer {
    text: Arc<String>,
    range: Range<usize>,
}

impl Answer {
    fn bytes(&self) -> &[u8] {
        &self.text.as_bytes()[self.range.clone()]
    }
}

/// What a thread of [`serve`] does next.
enum Task {
    Answer(Vec<Job>),
    Read,
    Stop,
}

/// Whether a line of `bytes` fits beside `held` lines of `held_bytes` (always, when none is
/// held).
fn fits(held: usize, held_bytes: u64, bytes: u64) -> bool {
    held == 0 || (held < PENDING_LINES && held_bytes + bytes <= PENDING_BYTES)
}

impl<R> State<R> {
    fn new(input: io::BufReader<R>, jobs: usize) -> Self {
        State {
            reader: Some(Reader {
                input,
                carried: None,
                names: WorldNames::default(),
                seq: 0,
            }),
            at_end: false,
            read_error: None,
            write_error: None,
            broken: false,
            owned: (0..jobs).map(|_| VecDeque::new()).collect(),
            open: VecDeque::new(),
            answered: BTreeMap::new(),
            next: 0,
            writing: false,
            held_lines: 0,
            held_bytes: 0,
            idle: 0,
        }
    }

    /// Whether a thread may read now: nobody is, the input goes on, and the window has
    /// drained to half (or is empty) with room for a line carried over. Waiting for half
    /// rather than one line's room makes a reader read many lines at a time, not one per
    /// answer written.
    fn may_read(&self) -> bool {
        let Some(reader) = &self.reader else {
            return false;
        };
        let drained = self.held_lines <= PENDING_LINES / 2 && self.held_bytes <= PENDING_BYTES / 2;
        !self.at_end
            && !self.broken
            && (self.held_lines == 0
                || (drained
                    && reader
                        .carried
                        .as_ref()
                        .is_none_or(|(_, bytes)| fits(self.held_lines, self.held_bytes, *bytes))))
    }

    /// The next task of thread `me`: the lines of its worlds first, then reading while the
    /// open lines are few, then a share of the open lines.
    fn task(&mut self, me: usize) -> Option<Task> {
        if self.broken {
            return Some(Task::Stop);
        }
        if !self.owned[me].is_empty() {
            return Some(Task::Answer(self.owned[me].drain(..).collect()));
        }
        let jobs = self.owned.len();
        if self.open.len() < jobs * CHUNK_LINES && self.may_read() {
            return Some(Task::Read);
        }
        if !self.open.is_empty() {
            let share = self.open.len().div_ceil(jobs).min(CHUNK_LINES);
            return Some(Task::Answer(self.open.drain(..share).collect()));
        }
        // Lines of this thread's worlds are handed out only by a reader.
        (self.at_end && self.reader.is_some()).then_some(Task::Stop)
    }

    /// Hands out the lines a reader read (and the input back), each to its thread.
    fn hand_out(&mut self, reader: Reader<R>, lines: Vec<(Job, Option<String>)>, end: bool) {
        for (job, world) in lines {
            self.held_lines += 1;
            self.held_bytes += job.bytes;
            match world {
                Some(name) => {
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    name.hash(&mut hasher);
                    let owner = (hasher.finish() % self.owned.len() as u64) as usize;
                    self.owned[owner].push_back(job);
                }
                None => self.open.push_back(job),
            }
        }
        self.reader = Some(reader);
        self.at_end |= end;
    }

    /// Drops every line not yet answered, after a write error: their answers would not be
    /// written.
    fn drop_queued(&mut self) {
        self.open.clear();
        self.owned.iter_mut().for_each(VecDeque::clear);
    }
}

impl<R: io::Read, W: Write> Shared<'_, R, W> {
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the threads waiting, if any: a wake-up is a system call, worth making only
    /// when someone sleeps.
    fn wake(&self, state: &State<R>) {
        if state.idle > 0 {
            self.changed.notify_all();
        }
    }

    /// Thread `me`'s part of [`serve`]: reads, answers and writes until every line is
    /// written.
    fn work(&self, me: usize, batch: &mut Batch) {
        // A panic here (a bug: answering catches its own) must not leave the other threads
        // waiting for lines this one held.
        let _stop_others = StopOnPanic(self);
        let mut state = self.lock();
        loop {
            let Some(task) = state.task(me) else {
                state.idle += 1;
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                state.idle -= 1;
                continue;
            };
            match task {
                Task::Stop => {
                    // Whoever waits may now stop too.
                    self.wake(&state);
                    return;
                }
                Task::Read => {
                    let Some(mut reader) = state.reader.take() else {
                        continue;
                    };
                    let (held, held_bytes) = (state.held_lines, state.held_bytes);
                    drop(state);
                    let read = read_some(&mut reader, held, held_bytes);
                    state = self.lock();
                    let end = match read.error {
                        Some(e) => {
                            state.read_error = Some(e);
                            true
                        }
                        None => read.end,
                    };
                    state.hand_out(reader, read.lines, end);
                    self.wake(&state);
                }
                Task::Answer(jobs) => {
                    drop(state);
                    let mut text = String::new();
                    let mut answered = Vec::with_capacity(jobs.len());
                    let mut line_bytes = 0;
                    for job in &jobs {
                        let start = text.len();
                        text.push_str(&batch.answer_admitted(job.read(), job.refused));
                        text.push('\n');
                        answered.push((job.seq, start..text.len()));
                        line_bytes += job.bytes;
                    }
                    drop(jobs);
                    let answer_bytes = text.len() as u64;
                    let text = Arc::new(text);
                    state = self.lock();
                    state.held_bytes = state.held_bytes.saturating_sub(line_bytes) + answer_bytes;
                    for (seq, range) in answered {
                        let text = text.clone();
                        state.answered.insert(seq, Answer { text, range });
                    }
                    if !state.writing {
                        state = self.write_ready(state);
                    }
                }
            }
        }
    }

    /// Writes the answers next in input order, and those answered meanwhile, then flushes.
    fn write_ready<'s>(&'s self, mut state: MutexGuard<'s, State<R>>) -> MutexGuard<'s, State<R>> {
        state.writing = true;
        loop {
            let mut ready = Vec::new();
            loop {
                let next = state.next;
                let Some(answer) = state.answered.remove(&next) else {
                    break;
                };
                ready.push(answer);
                state.next += 1;
            }
            if ready.is_empty() {
                break;
            }
            let failed = state.write_error.is_some();
            drop(state);
            let result = if failed {
                Ok(())
            } else {
                let mut output = self.output.lock().unwrap_or_else(|e| e.into_inner());
                ready
                    .iter()
                    .try_for_each(|answer| output.write_all(answer.bytes()))
                    .and_then(|()| output.flush())
            };
            let lines = ready.len();
            let bytes = ready.iter().map(|a| a.bytes().len() as u64).sum();
            drop(ready);
            state = self.lock();
            if let Err(e) = result {
                state.write_error = Some(e);
                state.at_end = true;
                state.drop_queued();
            }
            state.held_lines -= lines;
            state.held_bytes = state.held_bytes.saturating_sub(bytes);
            self.wake(&state);
        }
        state.writing = false;
        state
    }
}

/// Makes the other threads of [`serve`] stop when this one panics.
struct StopOnPanic<'a, 'o, R: io::Read, W: Write>(&'a Shared<'o, R, W>);

impl<R: io::Read, W: Write> Drop for StopOnPanic<'_, '_, R, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.broken = true;
            state.at_end = true;
            self.0.changed.notify_all();
        }
    }
}

/// What one turn of reading gave.
struct ReadLines {
    /// The lines, each with the world it names.
    lines: Vec<(Job, Option<String>)>,
    /// The input ended.
    end: bool,
    error: Option<io::Error>,
}

/// Reads up to [`CHUNK_LINES`] lines that fit in the window beside `held` lines of
/// `held_bytes`, stopping before a read that may wait for input once it has a line: a line
/// read that does not fit is carried over to the next turn.
fn read_some<R: io::Read>(reader: &mut Reader<R>, held: usize, held_bytes: u64) -> ReadLines {
    let (mut held, mut held_bytes) = (held, held_bytes);
    let mut read = ReadLines {
        lines: Vec::new(),
        end: false,
        error: None,
    };
    let mut text = Vec::new();
    let mut lines = Vec::new();
    while lines.len() < CHUNK_LINES {
        // The search stops at the next line's end.
        if !lines.is_empty() && !reader.input.buffer().contains(&b'\n') {
            break;
        }
        let line = match reader.carried.take() {
            Some((line, _)) => match line.as_read() {
                Ok(bytes) => {
                    let start = text.len();
                    text.extend_from_slice(bytes);
                    Ok(start..text.len())
                }
                Err(len) => Err(len),
            },
            None => match read_line_into(&mut reader.input, MAX_LINE_LEN, &mut text) {
                Ok(Some(Ok(range))) if is_blank(&text[range.clone()]) => {
                    text.truncate(range.start);
                    continue;
                }
                Ok(Some(line)) => line,
                Ok(None) => {
                    read.end = true;
                    break;
                }
                Err(e) => {
                    read.error = Some(e);
                    break;
                }
            },
        };
        let bytes = line.as_ref().map_or(0, |range| range.len() as u64);
        if !fits(held, held_bytes, bytes) {
            let carried = match line {
                Ok(range) => Line::Request(text.drain(range).collect()),
                Err(len) => Line::TooLong(len),
            };
            reader.carried = Some((carried, bytes));
            break;
        }
        held += 1;
        held_bytes += bytes;
        let world = line.as_ref().ok().and_then(|r| world_of(&text[r.clone()]));
        let refused = world.as_deref().map(|name| !reader.names.admit(name));
        lines.push((reader.seq, line, refused, bytes, world));
        reader.seq += 1;
    }
    let text = Arc::new(text);
    read.lines = lines
        .into_iter()
        .map(|(seq, line, refused, bytes, world)| {
            let text = text.clone();
            let job = Job {
                seq,
                text,
                line,
                refused,
                bytes,
            };
            (job, world)
        })
        .collect();
    read
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.trim_ascii().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(input: &'static [u8]) -> Reader<&'static [u8]> {
        Reader {
            input: io::BufReader::new(input),
            carried: None,
            names: WorldNames::default(),
            seq: 0,
        }
    }

    fn seqs(read: &ReadLines) -> Vec<u64> {
        read.lines.iter().map(|(job, _)| job.seq).collect()
    }

    #[test]
    fn a_reader_stops_at_the_window_and_carries_the_line_over() {
        let mut r = reader(b"{}\n\n{}\n{}\n");
        // Room for one more line: the second is read, kept, and not counted.
        let read = read_some(&mut r, PENDING_LINES - 1, 0);
        assert_eq!(seqs(&read), [0]);
        assert!(!read.end);
        assert!(r.carried.is_some());
        // Nothing held: the carried line comes first, then the rest; blank lines are skipped.
        let read = read_some(&mut r, 0, 0);
        assert_eq!(seqs(&read), [1, 2]);
        let rest = read_some(&mut r, 2, 0);
        assert!(rest.lines.is_empty() && rest.end);
        // A line over the byte limit still goes when nothing else is held.
        assert!(fits(0, 0, PENDING_BYTES * 2));
        assert!(!fits(1, 0, PENDING_BYTES + 1));
        assert!(!fits(PENDING_LINES, 0, 0));
    }

    #[test]
    fn reading_waits_for_the_window_to_drain_to_half() {
        let mut state = State::new(io::BufReader::new(&b""[..]), 2);
        state.held_lines = PENDING_LINES / 2 + 1;
        assert!(!state.may_read());
        state.held_lines = PENDING_LINES / 2;
        assert!(state.may_read());
        state.held_bytes = PENDING_BYTES / 2 + 1;
        assert!(!state.may_read());
        // Half drained, but a carried line too big for the room left waits for more.
        state.held_bytes = PENDING_BYTES / 4;
        if let Some(reader) = &mut state.reader {
            reader.carried = Some((Line::Request(Vec::new()), PENDING_BYTES));
        }
        assert!(!state.may_read());
        state.held_lines = 0;
        assert!(state.may_read());
    }

    #[test]
    fn world_lines_go_to_their_owner_and_the_rest_are_shared() {
        let mut state = State::new(io::BufReader::new(&b""[..]), 2);
        let mut r = reader(b"{\"world\":\"w\"}\n{}\n{\"world\":\"w\"}\n{}\n");
        let read = read_some(&mut r, 0, 0);
        assert!(!read.end, "the end is not looked for with lines in hand");
        let rest = read_some(&mut r, 4, 0);
        assert!(rest.lines.is_empty() && rest.end);
        state.reader.take();
        state.hand_out(r, read.lines, rest.end);
        let owner = (0..2)
            .find(|&i| !state.owned[i].is_empty())
            .expect("an owner");
        let owned: Vec<u64> = state.owned[owner].iter().map(|j| j.seq).collect();
        assert_eq!(owned, [0, 2]);
        let open: Vec<u64> = state.open.iter().map(|j| j.seq).collect();
        assert_eq!(open, [1, 3]);
        // The other thread reads no more (the input ended) and takes its share of the open
        // lines; the owner takes its world's lines first.
        let other = 1 - owner;
        assert!(matches!(state.task(other), Some(Task::Answer(j)) if j.len() == 1));
        assert!(matches!(state.task(owner), Some(Task::Answer(j)) if j.len() == 2));
        assert!(matches!(state.task(owner), Some(Task::Answer(j)) if j.len() == 1));
        assert!(matches!(state.task(owner), Some(Task::Stop)));
    }
}
