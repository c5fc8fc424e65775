//! Keccak-256 as Ethereum uses it (Keccak's own padding, not SHA-3's), over a Keccak-f[1600]
//! permutation (FIPS 202, section 3) written for this project: KECCAK256 of mapping keys was
//! half of a token-transfer loop's time under tiny-keccak, whose generic sponge also copied
//! every block through a buffer. With AVX-512 (F and VL), each of the 25 lanes lives in its own
//! vector register, and one three-input logic instruction does a χ step or two XORs of θ.

/// Rounds of Keccak-f[1600].
const ROUNDS: usize = 24;

/// Bytes absorbed per permutation for a 256-bit digest (1600 - 2 × 256 bits).
const RATE: usize = 136;

/// ι's constants, derived from the spec's LFSR rather than transcribed.
const ROUND_CONSTANTS: [u64; ROUNDS] = round_constants();

/// FIPS 202 algorithm 5, rc(t): the output of an LFSR over GF(2)[x] / (x^8 + x^6 + x^5 + x^4
/// + 1), bit i of `r` standing for R[i].
const fn rc(t: usize) -> u64 {
    let mut r: u32 = 1;
    let mut i = 0;
    while i < t % 255 {
        r <<= 1;
        if r & 0x100 != 0 {
            r ^= 0x171;
        }
        i += 1;
    }
    (r & 1) as u64
}

/// FIPS 202 algorithm 6: round `ir`'s constant has rc(j + 7 ir) at bit 2^j - 1.
const fn round_constants() -> [u64; ROUNDS] {
    let mut out = [0u64; ROUNDS];
    let mut ir = 0;
    while ir < ROUNDS {
        let mut j = 0;
        while j < 7 {
            out[ir] |= rc(j + 7 * ir) << ((1 << j) - 1);
            j += 1;
        }
        ir += 1;
    }
    out
}

/// What a round does to one lane, for a lane in a general register or in a vector register.
trait Lane: Copy {
    fn xor(self, b: Self) -> Self;
    /// `self ^ b ^ c`.
    fn xor3(self, b: Self, c: Self) -> Self;
    /// χ of one lane: `self ^ (!b & c)`.
    fn chi(self, b: Self, c: Self) -> Self;
    fn rotl<const N: i32>(self) -> Self;
    fn constant(value: u64) -> Self;
}

impl Lane for u64 {
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        self ^ b
    }
    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        self ^ b ^ c
    }
    #[inline(always)]
    fn chi(self, b: Self, c: Self) -> Self {
        self ^ (!b & c)
    }
    #[inline(always)]
    fn rotl<const N: i32>(self) -> Self {
        self.rotate_left(N as u32)
    }
    #[inline(always)]
    fn constant(value: u64) -> Self {
        value
    }
}

/// The 24 rounds on a state whose lane x + 5y is `a{x}{y}`, one straight line per round so
/// that every lane stays in a register and every offset is an immediate. θ, then ρ and π
/// together (π only renames: lane (x, y) moves to (y, 2x + 3y)), then χ and ι.
#[inline(always)]
fn rounds<L: Lane>(state: [L; 25]) -> [L; 25] {
    let [mut a00, mut a10, mut a20, mut a30, mut a40, mut a01, mut a11, mut a21, mut a31, mut a41, mut a02, mut a12, mut a22, mut a32, mut a42, mut a03, mut a13, mut a23, mut a33, mut a43, mut a04, mut a14, mut a24, mut a34, mut a44] =
        state;
    for rc in ROUND_CONSTANTS {
        // θ: each lane takes in the parities of the columns on either side of its own.
        let c0 = a00.xor3(a01, a02).xor3(a03, a04);
        let c1 = a10.xor3(a11, a12).xor3(a13, a14);
        let c2 = a20.xor3(a21, a22).xor3(a23, a24);
        let c3 = a30.xor3(a31, a32).xor3(a33, a34);
        let c4 = a40.xor3(a41, a42).xor3(a43, a44);
        let d0 = c4.xor(c1.rotl::<1>());
        let d1 = c0.xor(c2.rotl::<1>());
        let d2 = c1.xor(c3.rotl::<1>());
        let d3 = c2.xor(c4.rotl::<1>());
        let d4 = c3.xor(c0.rotl::<1>());
        // ρ rotates each lane by its own offset; π puts lane (x, y) at b{y}{2x + 3y}.
        let b00 = a00.xor(d0);
        let b02 = a10.xor(d1).rotl::<1>();
        let b04 = a20.xor(d2).rotl::<62>();
        let b01 = a30.xor(d3).rotl::<28>();
        let b03 = a40.xor(d4).rotl::<27>();
        let b13 = a01.xor(d0).rotl::<36>();
        let b10 = a11.xor(d1).rotl::<44>();
        let b12 = a21.xor(d2).rotl::<6>();
        let b14 = a31.xor(d3).rotl::<55>();
        let b11 = a41.xor(d4).rotl::<20>();
        let b21 = a02.xor(d0).rotl::<3>();
        let b23 = a12.xor(d1).rotl::<10>();
        let b20 = a22.xor(d2).rotl::<43>();
        let b22 = a32.xor(d3).rotl::<25>();
        let b24 = a42.xor(d4).rotl::<39>();
        let b34 = a03.xor(d0).rotl::<41>();
        let b31 = a13.xor(d1).rotl::<45>();
        let b33 = a23.xor(d2).rotl::<15>();
        let b30 = a33.xor(d3).rotl::<21>();
        let b32 = a43.xor(d4).rotl::<8>();
        let b42 = a04.xor(d0).rotl::<18>();
        let b44 = a14.xor(d1).rotl::<2>();
        let b41 = a24.xor(d2).rotl::<61>();
        let b43 = a34.xor(d3).rotl::<56>();
        let b40 = a44.xor(d4).rotl::<14>();
        // χ along each row, then ι.
        a00 = b00.chi(b10, b20).xor(L::constant(rc));
        a10 = b10.chi(b20, b30);
        a20 = b20.chi(b30, b40);
        a30 = b30.chi(b40, b00);
        a40 = b40.chi(b00, b10);
        a01 = b01.chi(b11, b21);
        a11 = b11.chi(b21, b31);
        a21 = b21.chi(b31, b41);
        a31 = b31.chi(b41, b01);
        a41 = b41.chi(b01, b11);
        a02 = b02.chi(b12, b22);
        a12 = b12.chi(b22, b32);
        a22 = b22.chi(b32, b42);
        a32 = b32.chi(b42, b02);
        a42 = b42.chi(b02, b12);
        a03 = b03.chi(b13, b23);
        a13 = b13.chi(b23, b33);
        a23 = b23.chi(b33, b43);
        a33 = b33.chi(b43, b03);
        a43 = b43.chi(b03, b13);
        a04 = b04.chi(b14, b24);
        a14 = b14.chi(b24, b34);
        a24 = b24.chi(b34, b44);
        a34 = b34.chi(b44, b04);
        a44 = b44.chi(b04, b14);
    }
    [
        a00, a10, a20, a30, a40, a01, a11, a21, a31, a41, a02, a12, a22, a32, a42, a03, a13, a23,
        a33, a43, a04, a14, a24, a34, a44,
    ]
}

/// Keccak-f[1600] in general registers, for any CPU.
fn permute_portable(state: &mut [u64; 25]) {
    *state = rounds(*state);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{rounds, Lane};
    use std::arch::x86_64::{
        __m128i, _mm_cvtsi128_si64, _mm_cvtsi64_si128, _mm_rol_epi64, _mm_setzero_si128,
        _mm_ternarylogic_epi64, _mm_xor_si128,
    };

    /// A lane in the low half of an XMM register.
    #[derive(Clone, Copy)]
    struct Xmm(__m128i);

    // Truth tables of `_mm_ternarylogic_epi64`, its inputs (a, b, c) being the bit patterns
    // (0xf0, 0xcc, 0xaa).
    const XOR3: i32 = 0xf0 ^ 0xcc ^ 0xaa;
    const CHI: i32 = 0xf0 ^ (!0xcc & 0xaa);

    // SAFETY (every unsafe block below): these run only inlined into `permute`, which its
    // caller runs on a CPU with AVX-512 F and VL.
    impl Lane for Xmm {
        #[inline(always)]
        fn xor(self, b: Self) -> Self {
            Xmm(unsafe { _mm_xor_si128(self.0, b.0) })
        }
        #[inline(always)]
        fn xor3(self, b: Self, c: Self) -> Self {
            Xmm(unsafe { _mm_ternarylogic_epi64::<XOR3>(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn chi(self, b: Self, c: Self) -> Self {
            Xmm(unsafe { _mm_ternarylogic_epi64::<CHI>(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn rotl<const N: i32>(self) -> Self {
            Xmm(unsafe { _mm_rol_epi64::<N>(self.0) })
        }
        #[inline(always)]
        fn constant(value: u64) -> Self {
            Xmm(unsafe { _mm_cvtsi64_si128(value as i64) })
        }
    }

    /// Keccak-f[1600] with each lane in a vector register of its own.
    ///
    /// # Safety
    /// The CPU supports AVX-512 F and VL.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub(super) unsafe fn permute(state: &mut [u64; 25]) {
        let mut lanes = [Xmm(_mm_setzero_si128()); 25];
        for (lane, &word) in lanes.iter_mut().zip(state.iter()) {
            *lane = Xmm(_mm_cvtsi64_si128(word as i64));
        }
        let lanes = rounds(lanes);
        for (word, lane) in state.iter_mut().zip(lanes) {
            *word = _mm_cvtsi128_si64(lane.0) as u64;
        }
    }
}

/// Whether this CPU runs [`avx512::permute`].
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
}

/// Keccak-f[1600], the fastest way this CPU has.
#[inline]
fn permute(state: &mut [u64; 25]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has the features the function is compiled for.
        unsafe { avx512::permute(state) };
        return;
    }
    permute_portable(state);
}

/// XORs a block of input into the state's first `RATE / 8` lanes.
#[inline(always)]
fn absorb(state: &mut [u64; 25], block: &[u8; RATE]) {
    for (lane, bytes) in state.iter_mut().zip(block.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(bytes);
        *lane ^= u64::from_le_bytes(le);
    }
}

/// The sponge: the state after absorbing `data`, padded, with `f` as the permutation.
#[inline(always)]
fn sponge(data: &[u8], f: impl Fn(&mut [u64; 25])) -> [u64; 25] {
    let mut state = [0u64; 25];
    let mut blocks = data.chunks_exact(RATE);
    for block in &mut blocks {
        let mut whole = [0u8; RATE];
        whole.copy_from_slice(block);
        absorb(&mut state, &whole);
        f(&mut state);
    }
    // Keccak's pad10*1 after the rest: a 1 bit right after the data, and one at the very end
    // of the block (the same byte when just one is left).
    let rest = blocks.remainder();
    let mut last = [0u8; RATE];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    absorb(&mut state, &last);
    f(&mut state);
    state
}

/// The digest: the state's first four lanes, little-endian.
fn digest_bytes(state: &[u64; 25]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (bytes, lane) in out.chunks_exact_mut(8).zip(state) {
        bytes.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// Keccak-256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    digest_bytes(&sponge(data, permute))
}

/// Keccak-256 of `data` as the big-endian word KECCAK256 pushes, without going through bytes.
/// Digests of 32- and 64-byte inputs are remembered per thread: contracts hash the same
/// storage keys again at every access.
pub fn keccak256_word(data: &[u8]) -> crate::U256 {
    if data.len() == 32 || data.len() == 64 {
        let mut words = [0u64; 8];
        for (w, bytes) in words.iter_mut().zip(data.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes);
            *w = u64::from_le_bytes(le);
        }
        let len = data.len() as u8;
        return MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            let entry = &mut memo.0[Memo::slot(&words)];
            let differs = entry
                .input
                .iter()
                .zip(&words)
                .fold(0, |d, (a, b)| d | (a ^ b));
            if entry.len == len && differs == 0 {
                return entry.digest;
            }
            // Returned from the register, not read back from the entry just written (a
            // chain of hashes would wait on that store each time).
            let digest = word_digest(&words, data.len());
            *entry = MemoEntry {
                len,
                input: words,
                digest,
            };
            digest
        });
    }
    digest_word(&sponge(data, permute))
}

/// Keccak-256 of the first `len` bytes (32 or 64) of `words` (little-endian), padded in
/// registers: the sponge's byte buffer, written a byte at a time and read back by lanes,
/// stalls on store forwarding, which a chain of hashes waits on every time.
fn word_digest(words: &[u64; 8], len: usize) -> crate::U256 {
    let mut state = [0u64; 25];
    let n = len / 8;
    state[..n].copy_from_slice(&words[..n]);
    state[n] ^= 0x01;
    state[RATE / 8 - 1] ^= 0x80 << 56;
    permute(&mut state);
    digest_word(&state)
}

/// The digest as a big-endian word.
fn digest_word(state: &[u64; 25]) -> crate::U256 {
    // Byte-swapping a lane reads its little-endian bytes as a big-endian limb.
    crate::U256([
        state[3].swap_bytes(),
        state[2].swap_bytes(),
        state[1].swap_bytes(),
        state[0].swap_bytes(),
    ])
}

/// Entries in a thread's [`Memo`] (a power of two).
const MEMO_ENTRIES: usize = 64;

/// The digests of the last 32- and 64-byte inputs hashed on a thread, by a hash of the
/// input: those are the storage slots of Solidity's arrays (`keccak256(slot)`) and mappings
/// (`keccak256(key . slot)`), which contracts hash again at every access (snailtracer: 5,547
/// hashes a run of 2 distinct inputs). A miss costs a compare next to a permutation.
struct Memo([MemoEntry; MEMO_ENTRIES]);

#[derive(Clone, Copy)]
struct MemoEntry {
    /// Bytes of the input; 0 for an empty entry.
    len: u8,
    /// The input as little-endian words (the second half zero for 32 bytes).
    input: [u64; 8],
    digest: crate::U256,
}

impl Memo {
    const EMPTY: Memo = Memo(
        [MemoEntry {
            len: 0,
            input: [0; 8],
            digest: crate::U256([0; 4]),
        }; MEMO_ENTRIES],
    );

    /// The entry an input goes in.
    fn slot(words: &[u64; 8]) -> usize {
        // Rotated apart so that equal words in different places do not cancel, folded in
        // parallel, then one multiply to mix: the hash is on every KECCAK256's path.
        let folded = words
            .iter()
            .enumerate()
            .fold(0u64, |h, (i, &w)| h ^ w.rotate_left(9 * i as u32));
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - MEMO_ENTRIES.trailing_zeros()))
            as usize
    }
}

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new(Memo::EMPTY) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8]) -> [u8; 32] {
        use tiny_keccak::{Hasher, Keccak};
        let mut hasher = Keccak::v256();
        hasher.update(data);
        let mut out = [0u8; 32];
        hasher.finalize(&mut out);
        out
    }

    /// Inputs of every length across three blocks, so each padding case (the two pad bits in
    /// one byte, a block exactly full, several blocks) is met.
    fn inputs() -> impl Iterator<Item = Vec<u8>> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut data = Vec::new();
        (0..=3 * RATE + 1).map(move |_| {
            let input = data.clone();
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            data.push((x >> 56) as u8);
            input
        })
    }

    #[test]
    fn each_permutation_agrees_with_tiny_keccak_at_every_length() {
        for input in inputs() {
            let expected = reference(&input);
            assert_eq!(
                digest_bytes(&sponge(&input, permute_portable)),
                expected,
                "portable, {} bytes",
                input.len()
            );
            #[cfg(target_arch = "x86_64")]
            if has_avx512() {
                // SAFETY: checked just above.
                let avx = sponge(&input, |s| unsafe { avx512::permute(s) });
                assert_eq!(
                    digest_bytes(&avx),
                    expected,
                    "avx512, {} bytes",
                    input.len()
                );
            }
            assert_eq!(keccak256(&input), expected);
            assert_eq!(
                keccak256_word(&input),
                crate::U256::from_big_endian(&expected)
            );
        }
    }

    #[test]
    fn the_round_constants_are_the_published_ones() {
        // The first, a middle and the last of FIPS 202's table.
        assert_eq!(ROUND_CONSTANTS[0], 0x0000_0000_0000_0001);
        assert_eq!(ROUND_CONSTANTS[12], 0x0000_0000_8000_808b);
        assert_eq!(ROUND_CONSTANTS[23], 0x8000_0000_8000_8008);
    }

    #[test]
    fn remembered_digests_are_those_of_their_inputs() {
        let word = |d: [u8; 32]| crate::U256::from_big_endian(&d);
        // Many more inputs than entries, each hashed several times in different orders (so
        // entries are hit, missed and evicted), and pairs that differ only in length (32 bytes,
        // and the same with 32 zero bytes after) or in one bit of the second half.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut inputs = Vec::new();
        for i in 0..200 {
            let mut data = vec![0u8; if i % 2 == 0 { 32 } else { 64 }];
            for b in data.iter_mut().take(if i % 5 == 0 { 1 } else { 64 }) {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                *b = (x >> 56) as u8;
            }
            if data.len() == 32 {
                let mut longer = data.clone();
                longer.resize(64, 0);
                inputs.push(longer);
            } else {
                let mut flipped = data.clone();
                flipped[63] ^= 1;
                inputs.push(flipped);
            }
            inputs.push(data);
        }
        for round in 0..3 {
            for k in 0..inputs.len() {
                let input = &inputs[(k * (2 * round + 1)) % inputs.len()];
                assert_eq!(keccak256_word(input), word(reference(input)), "{input:?}");
            }
        }
    }
}
