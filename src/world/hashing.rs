//! Hashing of the world's maps: keys a guest picks land in buckets it cannot aim at.

use nestedvm_interp::U256;
use std::hash::{BuildHasher, Hash, Hasher};

// foldhash rather than std's SipHash: storage and warm-set lookups run on every SLOAD and
// SSTORE, and SipHash was a tenth of snailtracer's run. Its maps are seeded per process, so
// keys a guest picks cannot be aimed at one bucket.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, KeyHashing>;
pub(super) type HashSet<K> = std::collections::HashSet<K, KeyHashing>;

/// foldhash reading the world's keys (20-byte addresses hash as one byte string) sixteen
/// bytes at a time as numbers: two multiplies for an address where foldhash's byte-string
/// path took a loop and ~70 instructions. Storage keys hash as numbers ([`SlotKey`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyHashing(foldhash::fast::RandomState);

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0.build_hasher())
    }
}

pub(crate) struct KeyHasher(foldhash::fast::FoldHasher<'static>);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(16);
        for chunk in &mut chunks {
            let mut le = [0u8; 16];
            le.copy_from_slice(chunk);
            self.0.write_u128(u128::from_le_bytes(le));
        }
        // The length goes in too, so byte strings of different lengths stay apart: in the top
        // byte of a last chunk, which at most 15 bytes leave free (lengths with as many whole
        // chunks differ by less than 256).
        let rest = chunks.remainder();
        let mut le = [0u8; 16];
        le[..rest.len()].copy_from_slice(rest);
        le[15] = bytes.len() as u8;
        self.0.write_u128(u128::from_le_bytes(le));
    }

    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    fn write_u32(&mut self, i: u32) {
        self.0.write_u32(i);
    }

    fn write_u64(&mut self, i: u64) {
        self.0.write_u64(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.0.write_u128(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.0.write_usize(i);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// A storage key as the world's maps hash it: two 128-bit numbers, two multiplies in the
/// hasher, where `U256`'s own `Hash` adds a length prefix and its bytes a length of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SlotKey(pub(super) U256);

impl Hash for SlotKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b, c, d] = self.0 .0;
        state.write_u128(u128::from(a) | u128::from(b) << 64);
        state.write_u128(u128::from(c) | u128::from(d) << 64);
    }
}
