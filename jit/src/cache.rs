//! Compiled code shared across threads, keyed by what the code was compiled for, with its
//! memory freed on eviction (when the last runner using it lets go).

use crate::compile::{compile, CompileError, CompileOptions, CompiledCode};
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
    map: Mutex<HashMap<CacheKey, Arc<CompiledCode>>>,
    capacity: usize,
    compiles: AtomicU64,
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
            compiles: AtomicU64::new(0),
        }
    }

    /// The compiled code of `code` (hashed `code_hash`), compiling it on a miss.
    pub fn get_or_compile<H: Host + 'static>(
        &self,
        spec: &'static Spec,
        code_hash: B256,
        code: &Bytecode,
        options: CompileOptions,
    ) -> Result<Arc<CompiledCode>, CompileError> {
        let key = CacheKey {
            code_hash,
            profile: spec.profile,
            fork: spec.fork,
            verifier: spec.verifier,
            options,
            host: TypeId::of::<H>(),
        };
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        // Compile outside the lock: other threads keep running.
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let compiled = Arc::new(compile::<H>(spec, code, options)?);
        let mut map = self.lock();
        if map.len() >= self.capacity {
            // Dropping the map's handles frees each code once no runner holds it.
            map.clear();
        }
        Ok(map.entry(key).or_insert(compiled).clone())
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<CompiledCode>>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
