//! Compiled code shared across threads, keyed by what the code was compiled for, with its
//! memory freed on eviction (when the last runner using it lets go). Each entry is a
//! [`Tiered`]: the code's heat and whatever has been compiled of it.

use crate::compile::{CompileError, CompileOptions, MAX_COMPILE_LEN};
use crate::tiered::Tiered;
use nestedvm_interp::{Bytecode, Fork, Host, Profile, Spec, B256};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What compiled code depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Keccak of the code.
    pub code_hash: B256,
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

/// A bounded cache of compiled code.
pub struct JitCache {
    map: Mutex<HashMap<CacheKey, Arc<Tiered>>>,
    capacity: usize,
    compiles: Arc<AtomicU64>,
}

impl std::fmt::Debug for JitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitCache")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl JitCache {
    /// A cache holding at most `capacity` compiled contracts.
    pub fn new(capacity: usize) -> Self {
        JitCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            compiles: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The entry of `code` (hashed `code_hash`) with every segment compiled, compiling it on
    /// a miss.
    pub fn get_or_compile<H: Host + 'static>(
        &self,
        spec: &'static Spec,
        code_hash: B256,
        code: &Bytecode,
        options: CompileOptions,
    ) -> Result<Arc<Tiered>, CompileError> {
        let tiered = self.tiered::<H>(spec, code_hash, code, options)?;
        // Compiles outside the cache's lock: other threads keep running.
        tiered.compile_all::<H>(code)?;
        Ok(tiered)
    }

    /// The entry of `code` (hashed `code_hash`), made on a miss with nothing compiled yet,
    /// for tiered compilation. `Err` when the code is over the JIT's size limit.
    pub fn tiered<H: Host + 'static>(
        &self,
        spec: &'static Spec,
        code_hash: B256,
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
            code_hash,
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options,
            host: TypeId::of::<H>(),
        };
        let mut map = self.lock();
        if let Some(hit) = map.get(&key) {
            return Ok(hit.clone());
        }
        if map.len() >= self.capacity {
            // Codes with nothing compiled go first: a stream of distinct cold codes must not
            // push out a hot contract's native code. Dropping the map's handles frees each
            // code once no runner holds it.
            map.retain(|_, t| !t.compiled().is_empty());
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        let tiered = Arc::new(Tiered::new(
            spec,
            code.len(),
            options,
            self.compiles.clone(),
        ));
        map.insert(key, tiered.clone());
        Ok(tiered)
    }

    /// Compilations started since the cache was made (hits do not count), so callers can
    /// check that code run again is not compiled again.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Compiled contracts held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<Tiered>>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
