//! Buffers a thread keeps from dropped frames for the next ones: a frame per call, each with
//! a 32 KiB stack and a memory buffer, was an allocation and a free (and the allocator's
//! consolidation) every time, a third of a batch of small runs.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Most buffers a thread keeps in one pool.
const MAX_SPARE: usize = 16;

/// A thread's pool of buffers of one kind (the type of its `thread_local!`).
pub(crate) type Pool<T> = RefCell<Vec<Vec<T>>>;

/// The most recently kept buffer of `pool` that `fits` accepts.
pub(crate) fn take<T>(
    pool: &'static LocalKey<Pool<T>>,
    fits: impl Fn(&Vec<T>) -> bool,
) -> Option<Vec<T>> {
    // `try_with`: nothing is kept or handed out while the thread's locals are destroyed.
    pool.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        let at = spare.iter().rposition(fits)?;
        Some(spare.swap_remove(at))
    })
    .ok()
    .flatten()
}

/// Keeps `buffer` in `pool` for a later frame, made ready by `clean` first, unless the pool
/// is full: [`MAX_SPARE`] buffers, or `max_bytes` allocated for them in all. A buffer not
/// kept is freed without being cleaned.
pub(crate) fn give<T>(
    pool: &'static LocalKey<Pool<T>>,
    mut buffer: Vec<T>,
    max_bytes: usize,
    clean: impl FnOnce(&mut Vec<T>),
) {
    let bytes = |b: &Vec<T>| b.capacity().saturating_mul(std::mem::size_of::<T>());
    let _ = pool.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        let held: usize = spare.iter().map(bytes).sum();
        if spare.len() < MAX_SPARE && held.saturating_add(bytes(&buffer)) <= max_bytes {
            clean(&mut buffer);
            spare.push(buffer);
        }
    });
}
