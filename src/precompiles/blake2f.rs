//! BLAKE2F (EIP-152) in chunks of rounds, the run's deadline checked between chunks: one call
//! may ask for 2^32-1 rounds at one gas each, minutes of work that `revm-precompile`'s
//! `compress` does in one go, with no way to stop it. Calls of up to [`CHUNK`] rounds (every
//! real use: BLAKE2b has 12) are left to `revm-precompile`, so only huge calls run this
//! portable copy of the compression function, whose agreement with revm's the tests check.

use nestedvm_interp::Deadline;

/// Rounds between two looks at the deadline: about a millisecond of work.
pub(super) const CHUNK: u32 = 1 << 16;

/// The input's length (EIP-152).
const INPUT_LEN: usize = 213;

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The message schedule (RFC 7693), row `round % 10` for each round.
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// What a huge BLAKE2F call came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// All rounds done.
    Done {
        /// The 64-byte state.
        state: [u8; 64],
        /// One gas a round.
        gas_used: u64,
    },
    /// The deadline passed first.
    TimedOut,
}

/// A well-formed call of more than [`CHUNK`] rounds that `gas_limit` pays for, run here;
/// `None` for anything else, which `revm-precompile` runs (or refuses) as usual.
pub(super) fn run(input: &[u8], gas_limit: u64, deadline: Deadline) -> Option<Outcome> {
    let input: &[u8; INPUT_LEN] = input.try_into().ok()?;
    let rounds = u32::from_be_bytes(input[..4].try_into().ok()?);
    let last = match input[212] {
        0 => false,
        1 => true,
        _ => return None,
    };
    if rounds <= CHUNK || u64::from(rounds) > gas_limit {
        return None;
    }
    let mut h: [u64; 8] = words(&input[4..68]);
    let m: [u64; 16] = words(&input[68..196]);
    let t: [u64; 2] = words(&input[196..212]);
    if !compress_until(rounds, &mut h, &m, t, last, deadline) {
        return Some(Outcome::TimedOut);
    }
    let mut out = [0u8; 64];
    for (bytes, word) in out.chunks_exact_mut(8).zip(h) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    Some(Outcome::Done {
        state: out,
        gas_used: u64::from(rounds),
    })
}

/// Little-endian words of `bytes` (`N * 8` of them).
fn words<const N: usize>(bytes: &[u8]) -> [u64; N] {
    std::array::from_fn(|i| {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    })
}

/// The compression function F over `rounds` rounds, into `h`; false (and `h` unfinished) when
/// the deadline passed before the last chunk of rounds.
fn compress_until(
    rounds: u32,
    h: &mut [u64; 8],
    m: &[u64; 16],
    t: [u64; 2],
    last: bool,
    deadline: Deadline,
) -> bool {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t[0];
    v[13] ^= t[1];
    if last {
        v[14] = !v[14];
    }
    let mut done = 0u32;
    while done < rounds {
        if deadline.passed() {
            return false;
        }
        // Strides of whole message schedules, so each starts at schedule 0.
        let end = done.saturating_add(STRIDE).min(rounds);
        while end - done >= 10 {
            ten_rounds(&mut v, m);
            done += 10;
        }
        for r in done..end {
            round(&mut v, m, &SIGMA[(r % 10) as usize]);
        }
        done = end;
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
    true
}

/// Rounds run between two looks at the deadline: about a millisecond's work, in whole
/// message schedules of ten rounds.
const STRIDE: u32 = 65_540;

/// The ten rounds of one message schedule, each with its schedule as constants: with the
/// indices known, the state stays in registers (twice as fast as looking the schedule up).
#[inline(always)]
fn ten_rounds(v: &mut [u64; 16], m: &[u64; 16]) {
    round(v, m, &SIGMA[0]);
    round(v, m, &SIGMA[1]);
    round(v, m, &SIGMA[2]);
    round(v, m, &SIGMA[3]);
    round(v, m, &SIGMA[4]);
    round(v, m, &SIGMA[5]);
    round(v, m, &SIGMA[6]);
    round(v, m, &SIGMA[7]);
    round(v, m, &SIGMA[8]);
    round(v, m, &SIGMA[9]);
}

/// One round: the columns, then the diagonals.
#[inline(always)]
fn round(v: &mut [u64; 16], m: &[u64; 16], s: &[usize; 16]) {
    g(v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
    g(v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
    g(v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
    g(v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
    g(v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
    g(v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
    g(v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
    g(v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
}

/// The mixing function G on four words of the state.
#[inline(always)]
fn g(v: &mut [u64; 16], [a, b, c, d]: [usize; 4], x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state, message and counter that vary with `seed`.
    fn state(seed: u64) -> ([u64; 8], [u64; 16], [u64; 2]) {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (
            std::array::from_fn(|_| next()),
            std::array::from_fn(|_| next()),
            [next(), next()],
        )
    }

    #[test]
    fn compression_matches_revm_precompile_at_any_round_count() {
        for (seed, rounds) in [0u32, 1, 9, 10, 11, 12, 13, 20, 21, 1000, CHUNK + 7]
            .into_iter()
            .enumerate()
        {
            let (h, m, t) = state(seed as u64);
            for last in [false, true] {
                let mut ours = h;
                assert!(compress_until(
                    rounds,
                    &mut ours,
                    &m,
                    t,
                    last,
                    Deadline::NEVER
                ));
                let mut theirs = h;
                revm_precompile::blake2::compress(rounds, &mut theirs, &m, &t, last);
                assert_eq!(ours, theirs, "{rounds} rounds, last {last}");
            }
        }
    }

    #[test]
    fn a_passed_deadline_stops_the_rounds() {
        let (mut h, m, t) = state(7);
        assert!(!compress_until(
            u32::MAX,
            &mut h,
            &m,
            t,
            true,
            Deadline::PASSED
        ));
    }

    #[test]
    fn only_huge_well_formed_paid_calls_run_here() {
        let mut input = vec![0u8; INPUT_LEN];
        input[..4].copy_from_slice(&(CHUNK + 1).to_be_bytes());
        input[212] = 1;
        let gas = u64::from(CHUNK) + 1;
        assert!(matches!(
            run(&input, gas, Deadline::NEVER),
            Some(Outcome::Done { .. })
        ));
        assert_eq!(run(&input, gas, Deadline::PASSED), Some(Outcome::TimedOut));
        assert_eq!(run(&input, gas - 1, Deadline::NEVER), None, "out of gas");
        input[212] = 2;
        assert_eq!(run(&input, gas, Deadline::NEVER), None, "bad flag");
        input[212] = 1;
        input[..4].copy_from_slice(&CHUNK.to_be_bytes());
        assert_eq!(run(&input, gas, Deadline::NEVER), None, "few rounds");
        assert_eq!(run(&input[1..], gas, Deadline::NEVER), None, "short");
    }
}
