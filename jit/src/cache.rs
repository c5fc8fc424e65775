//! Compiled code shared across threads, keyed by what the code was compiled for, with its
//! memory freed on eviction (when the last runner using it lets go). Each entry is a
//! [`Tiered`]: the code's heat and whatever has been compiled of it. Code is found by content
//! (a seeded 64-bit hash, then the bytes compared), not by its keccak: a first run of a
//! 20 KiB contract spent more on that keccak than on running.

use crate::compile::{CompileError, CompileOptions, MAX_COMPILE_LEN};
use crate::tiered::Tiered;
use nestedvm_interp::{Bytecode, Fork, Host, Profile, Spec};
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What compiled code depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// [`Bytecode::content_hash`] of the code (entries under one key compare their bytes).
    pub content_hash: u64,
    /// Its length.
    pub len: usize,
    /// Profile.
    pub profile: Profile,
    /// Fork.
    pub fork: Fork,
    /// Memory layout (the verifier build's reserved region).
    pub verifier: bool,
    /// Compile options.
    pub options: CompileOptions,
    /// The host type the builtins were instantiated for.
    pub host: TypeId,
}

/// How many bytes a [`JitCache`] holds before it evicts, unless told otherwise: the native
/// code, heat and plan of its entries ([`Tiered::footprint`]). A 48 KiB code holds a few MB
/// once compiled, so this is room for dozens of the largest codes and thousands of small
/// contracts.
pub const DEFAULT_BYTE_BUDGET: usize = 256 << 20;

/// The most shards a [`JitCache`] is split into.
const MAX_SHARDS: usize = 16;
/// The fewest entries a shard of a [`JitCache`] holds.
const MIN_SHARD: usize = 16;

/// A cache of compiled code, bounded in entries and in bytes.
///
/// Its entries are split into shards by key, each behind its own lock, so that threads
/// running different codes seldom meet on one lock: each shard holds its share of the
/// capacity and evicts on its own. The byte budget is the whole cache's.
pub struct JitCache {
    shards: Box<[Mutex<Entries>]>,
    /// Entries a shard holds before it evicts.
    shard_capacity: usize,
    capacity: usize,
    byte_budget: usize,
    /// What the live entries made by this cache hold ([`Tiered::footprint`] each), entries
    /// evicted but still run by someone included: kept current by the entries themselves.
    held: Arc<AtomicUsize>,
    compiles: Arc<AtomicU64>,
}

/// The entries, by key; codes whose keys collide share a list.
#[derive(Default)]
struct Entries {
    by_key: HashMap<CacheKey, Vec<Arc<Tiered>>, BuildHasherDefault<KeyHasher>>,
    count: usize,
}

/// Hashes a [`CacheKey`] with a multiply-rotate per word: its content hash is already seeded
/// and well mixed, and std's SipHash of the key was a per-run cost of short runs.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u8(&mut self, x: u8) {
        self.write_u64(x.into());
    }

    fn write_u32(&mut self, x: u32) {
        self.write_u64(x.into());
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    fn write_isize(&mut self, x: isize) {
        self.write_u64(x as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Debug for JitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitCache")
            .field("capacity", &self.capacity)
            .field("byte_budget", &self.byte_budget)
            .finish()
    }
}

impl JitCache {
    /// A cache holding at most `capacity` compiled contracts and about
    /// [`DEFAULT_BYTE_BUDGET`] bytes.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Shards of at least `MIN_SHARD` entries: a small cache is one shard, and evicts as
        // one.
        let shards = (capacity / MIN_SHARD).clamp(1, MAX_SHARDS);
        JitCache {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            shard_capacity: capacity.div_ceil(shards),
            capacity,
            byte_budget: DEFAULT_BYTE_BUDGET,
            held: Arc::new(AtomicUsize::new(0)),
            compiles: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The same cache holding about `bytes` at most. The budget is checked when an entry is
    /// made, against what the entries hold then; entries grow as their code is compiled, so
    /// the cache may hold up to one tier-up's worth more until its next miss.
    pub fn with_byte_budget(mut self, bytes: usize) -> Self {
        self.byte_budget = bytes;
        self
    }

    /// The entry of `code` with every segment compiled, compiling it on a miss.
    pub fn get_or_compile<H: Host + 'static>(
        &self,
        spec: &'static Spec,
        code: &Bytecode,
        options: CompileOptions,
    ) -> Result<Arc<Tiered>, CompileError> {
        let tiered = self.tiered::<H>(spec, code, options)?;
        // Compiles outside the cache's lock: other threads keep running.
        tiered.compile_all::<H>(code)?;
        Ok(tiered)
    }

    /// The entry of `code`, made on a miss with nothing compiled yet, for tiered
    /// compilation. `Err` when the code is over the JIT's size limit.
    pub fn tiered<H: Host + 'static>(
        &self,
        spec: &'static Spec,
        code: &Bytecode,
        options: CompileOptions,
    ) -> Result<Arc<Tiered>, CompileError> {
        if code.len() > MAX_COMPILE_LEN {
            return Err(CompileError(format!(
                "{} bytes of code is over the JIT's limit of {MAX_COMPILE_LEN}",
                code.len()
            )));
        }
        let key = CacheKey {
            content_hash: code.content_hash(),
            len: code.len(),
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options,
            host: TypeId::of::<H>(),
        };
        Ok(self.entry(key, spec, code, options))
    }

    /// The entry under `key` whose code is `code`'s, made when there is none. The shard's lock
    /// is held only to look up and insert: a new entry is built, and evicted ones dropped,
    /// outside it, so threads running distinct codes seldom wait for each other.
    fn entry(
        &self,
        key: CacheKey,
        spec: &'static Spec,
        code: &Bytecode,
        options: CompileOptions,
    ) -> Arc<Tiered> {
        let shard = &self.shards[self.shard_of(&key)];
        if let Some(hit) = Self::find(&lock(shard), &key, code) {
            return hit;
        }
        let made = Tiered::new(spec, code.shared_code(), options, self.compiles.clone());
        let needed = made.footprint();
        let mut evicted = Vec::new();
        if self.held.load(Ordering::Relaxed) + needed > self.byte_budget {
            self.make_room(needed, &mut evicted);
        }
        let mut entries = lock(shard);
        // Another thread may have made it meanwhile: there is one entry per code.
        if let Some(hit) = Self::find(&entries, &key, code) {
            return hit;
        }
        if entries.count >= self.shard_capacity {
            Self::evict_cold(&mut entries, &mut evicted);
            if entries.count >= self.shard_capacity {
                Self::evict_all(&mut entries, &mut evicted);
            }
        }
        let tiered = Arc::new(made.counted_in(self.held.clone()));
        entries.by_key.entry(key).or_default().push(tiered.clone());
        entries.count += 1;
        drop(entries);
        drop(evicted);
        tiered
    }

    /// Evicts until `needed` more bytes fit in the budget: codes with nothing compiled first,
    /// in every shard, then everything. A stream of distinct cold codes must not push out a
    /// hot contract's native code.
    fn make_room(&self, needed: usize, evicted: &mut Vec<Arc<Tiered>>) {
        let fits = || self.held.load(Ordering::Relaxed) + needed <= self.byte_budget;
        for shard in &self.shards[..] {
            Self::evict_cold(&mut lock(shard), evicted);
        }
        // An entry is counted until its last handle goes: those evicted so far first.
        evicted.clear();
        if fits() {
            return;
        }
        for shard in &self.shards[..] {
            Self::evict_all(&mut lock(shard), evicted);
        }
    }

    /// Takes the entries of a shard with no native code out of it, into `evicted` (dropping
    /// the map's handles frees each code once no runner holds it).
    fn evict_cold(entries: &mut Entries, evicted: &mut Vec<Arc<Tiered>>) {
        for list in entries.by_key.values_mut() {
            evicted.extend(list.extract_if(.., |t| !t.has_native()));
        }
        entries.by_key.retain(|_, list| !list.is_empty());
        entries.count = entries.by_key.values().map(Vec::len).sum();
    }

    /// Takes every entry of a shard out of it, into `evicted`.
    fn evict_all(entries: &mut Entries, evicted: &mut Vec<Arc<Tiered>>) {
        evicted.extend(entries.by_key.drain().flat_map(|(_, list)| list));
        entries.count = 0;
    }

    /// The shard holding `key`.
    fn shard_of(&self, key: &CacheKey) -> usize {
        // The content hash is seeded and well mixed; its high bits pick the shard, as the
        // map inside it uses the whole key.
        ((key.content_hash >> 32) as usize) % self.shards.len()
    }

    /// The entry under `key` whose code is `code`'s, if there is one.
    fn find(entries: &Entries, key: &CacheKey, code: &Bytecode) -> Option<Arc<Tiered>> {
        entries.by_key.get(key).and_then(|list| {
            list.iter()
                .find(|t| code.holds_same_code(t.code()))
                .cloned()
        })
    }

    /// Compilations started since the cache was made (hits do not count), so callers can
    /// check that code run again is not compiled again.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Bytes held by the live entries this cache made ([`Tiered::footprint`]), evicted ones
    /// still run by someone included.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Compiled contracts held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).count).sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock(shard: &Mutex<Entries>) -> std::sync::MutexGuard<'_, Entries> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestedvm_interp::{Fork, Profile};

    #[test]
    fn codes_whose_keys_collide_get_their_own_entries() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let cache = JitCache::new(8);
        // One key for three codes, as if their content hashes collided.
        let key = CacheKey {
            content_hash: 7,
            len: 2,
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options: CompileOptions::default(),
            host: TypeId::of::<()>(),
        };
        let code = Bytecode::new;
        let a = cache.entry(key, spec, &code(&[0x60, 0x00]), key.options);
        let b = cache.entry(key, spec, &code(&[0x60, 0x01]), key.options);
        // Another VM's analysis of the same bytes, as `run --batch --jobs N` threads have.
        let a_again = cache.entry(key, spec, &code(&[0x60, 0x00]), key.options);
        assert!(!Arc::ptr_eq(&a, &b), "different code, different entry");
        assert!(Arc::ptr_eq(&a, &a_again), "the same bytes find their entry");
        assert_eq!(&b.code()[..], &[0x60, 0x01]);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cache_evicts_when_its_bytes_would_pass_the_budget() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let options = CompileOptions::default();
        let code = |b: u8| Bytecode::new(&[b; 100]);
        // What an entry of a 100-byte code holds uncompiled: two do not fit in one and a half.
        let one = Tiered::new(spec, code(0).shared_code(), options, Arc::default()).footprint();
        assert!(one > 600, "{one} bytes: six per code byte and the entry");
        let cache = JitCache::new(8).with_byte_budget(one * 3 / 2);
        let key = |n: u64| CacheKey {
            content_hash: n,
            len: 100,
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options,
            host: TypeId::of::<()>(),
        };
        let first = cache.entry(key(1), spec, &code(1), options);
        assert_eq!(first.footprint(), one);
        cache.entry(key(2), spec, &code(2), options);
        assert_eq!(
            cache.len(),
            1,
            "the first entry made room, though 8 entries were allowed"
        );
        let roomy = JitCache::new(8);
        roomy.entry(key(1), spec, &code(1), options);
        roomy.entry(key(2), spec, &code(2), options);
        assert_eq!(roomy.len(), 2);
    }

    #[test]
    fn a_large_cache_is_sharded_and_never_holds_more_than_its_capacity() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let options = CompileOptions::default();
        let cache = JitCache::new(64);
        assert_eq!(cache.shards.len(), 4);
        let key = |n: u64| CacheKey {
            // The high bits pick the shard, as a seeded hash's would.
            content_hash: n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            len: 8,
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options,
            host: TypeId::of::<()>(),
        };
        let mut most = 0;
        let mut last = None;
        for n in 0..1000u64 {
            let code = Bytecode::new(&n.to_be_bytes());
            let entry = cache.entry(key(n), spec, &code, options);
            assert_eq!(&entry.code()[..], code.code());
            most = most.max(cache.len());
            last = Some(entry);
        }
        assert!(most <= 64, "{most} entries held");
        assert!(most > 48, "every shard filled before it evicted: {most}");
        // The last code is still found, in its own shard.
        let last_code = Bytecode::new(&999u64.to_be_bytes());
        let again = cache.entry(key(999), spec, &last_code, options);
        assert!(Arc::ptr_eq(&again, &last.expect("an entry")));
    }
}
