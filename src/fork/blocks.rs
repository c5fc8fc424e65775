//! One node forked at several blocks: the block pinned at start and every other block a
//! batch request names, each a [`RpcSource`] of its own, made when first named and kept (with
//! what it has read) for the life of the chain.

use super::{BlockTag, RpcSource};
use crate::world::source::{ForkedChain, SourceError, StateSource};
use nestedvm_interp::Env;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The most blocks a chain forks besides the pinned one (64): each keeps what it read, so a
/// batch naming a new block on every line would otherwise grow without bound. A request
/// naming one more is answered with an error.
pub const MAX_FORKED_BLOCKS: usize = 64;

/// How a source at a given block is made (connected, with the same options as the pinned
/// one): a closure, so that options such as a disk cache stay the caller's.
type Connect = dyn Fn(BlockTag) -> Result<RpcSource, SourceError> + Send + Sync;

/// A node forked at the block pinned at start and at any other block asked for.
pub struct RpcChain {
    /// The pinned block's source, as itself (for its header) and as the worlds take it.
    pinned_rpc: Arc<RpcSource>,
    pinned: Arc<dyn StateSource>,
    pinned_number: u64,
    url: String,
    connect: Box<Connect>,
    others: Mutex<HashMap<u64, Arc<RpcSource>>>,
}

impl fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcChain")
            .field("url", &self.url)
            .field("pinned_number", &self.pinned_number)
            .finish_non_exhaustive()
    }
}

impl RpcChain {
    /// The chain of `pinned`'s node, forked at `pinned`'s block; `connect` makes the source
    /// at another block when a request names one.
    pub fn new(
        pinned: Arc<RpcSource>,
        connect: impl Fn(BlockTag) -> Result<RpcSource, SourceError> + Send + Sync + 'static,
    ) -> Self {
        RpcChain {
            pinned_number: pinned.header().number,
            url: pinned.url().to_string(),
            pinned: pinned.clone(),
            pinned_rpc: pinned,
            connect: Box::new(connect),
            others: Mutex::new(HashMap::new()),
        }
    }

    /// The sources made so far for blocks other than the pinned one.
    pub fn forked_blocks(&self) -> usize {
        lock(&self.others).len()
    }
}

impl ForkedChain for RpcChain {
    fn pinned(&self) -> &Arc<dyn StateSource> {
        &self.pinned
    }

    fn pinned_number(&self) -> u64 {
        self.pinned_number
    }

    fn at(&self, number: u64, env: &mut Env) -> Result<Arc<dyn StateSource>, SourceError> {
        if number == self.pinned_number {
            self.pinned_rpc.apply_env(env);
            return Ok(self.pinned.clone());
        }
        if let Some(source) = lock(&self.others).get(&number) {
            source.apply_env(env);
            return Ok(source.clone());
        }
        // Connected outside the lock: a slow node must not hold up the requests of blocks
        // already known. Two threads naming the same new block may both connect; the first
        // kept wins, so every request of a block reads one cache.
        let full = || SourceError {
            location: self.url.clone(),
            call: "eth_getBlockByNumber".into(),
            detail: format!(
                "block {number}: the batch already forks {MAX_FORKED_BLOCKS} blocks besides \
                 the pinned one, the limit"
            ),
        };
        if lock(&self.others).len() >= MAX_FORKED_BLOCKS {
            return Err(full());
        }
        let made = Arc::new((self.connect)(BlockTag::Number(number))?);
        let mut others = lock(&self.others);
        if !others.contains_key(&number) && others.len() >= MAX_FORKED_BLOCKS {
            return Err(full());
        }
        let source = others.entry(number).or_insert(made).clone();
        drop(others);
        source.apply_env(env);
        Ok(source)
    }
}

/// The table, even if a thread panicked holding it: it only ever holds complete sources.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
