//! The hot 256-bit word operations on raw little-endian limbs, inlined into the instructions
//! that use them: primitive-types' operators are out-of-line calls (its comparison was 4% of a
//! tight loop on its own) and do more than the EVM needs (overflow flags, full products).

use crate::U256;

/// `a + b` modulo 2^256.
#[inline(always)]
pub fn add(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut carry = false;
    for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(b.0.iter())) {
        let (s1, c1) = x.overflowing_add(*y);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        *o = s2;
        carry = c1 | c2;
    }
    U256(out)
}

/// `a - b` modulo 2^256.
#[inline(always)]
pub fn sub(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(b.0.iter())) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        *o = d2;
        borrow = b1 | b2;
    }
    U256(out)
}

/// `a * b` modulo 2^256: only the ten partial products below 2^256.
#[inline(always)]
pub fn mul(a: &U256, b: &U256) -> U256 {
    let (a, b) = (&a.0, &b.0);
    let mut out = [0u64; 4];
    for i in 0..4 {
        let mut carry: u64 = 0;
        for j in 0..4 - i {
            let t = a[i] as u128 * b[j] as u128 + out[i + j] as u128 + carry as u128;
            out[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
    }
    U256(out)
}

/// `a < b`, unsigned.
#[inline(always)]
pub fn lt(a: &U256, b: &U256) -> bool {
    for i in (0..4).rev() {
        if a.0[i] != b.0[i] {
            return a.0[i] < b.0[i];
        }
    }
    false
}

/// `a < b`, both as two's-complement signed words.
#[inline(always)]
pub fn slt(a: &U256, b: &U256) -> bool {
    let (sa, sb) = (a.0[3] >> 63, b.0[3] >> 63);
    if sa != sb {
        sa > sb
    } else {
        lt(a, b)
    }
}

/// `a == b`.
#[inline(always)]
pub fn eq(a: &U256, b: &U256) -> bool {
    (a.0[0] ^ b.0[0]) | (a.0[1] ^ b.0[1]) | (a.0[2] ^ b.0[2]) | (a.0[3] ^ b.0[3]) == 0
}

/// `a == 0`.
#[inline(always)]
pub fn is_zero(a: &U256) -> bool {
    a.0[0] | a.0[1] | a.0[2] | a.0[3] == 0
}

/// A comparison's result as a word: 1 or 0.
#[inline(always)]
pub fn flag(b: bool) -> U256 {
    U256([b as u64, 0, 0, 0])
}

/// `a & b`.
#[inline(always)]
pub fn and(a: &U256, b: &U256) -> U256 {
    U256([
        a.0[0] & b.0[0],
        a.0[1] & b.0[1],
        a.0[2] & b.0[2],
        a.0[3] & b.0[3],
    ])
}

/// `a | b`.
#[inline(always)]
pub fn or(a: &U256, b: &U256) -> U256 {
    U256([
        a.0[0] | b.0[0],
        a.0[1] | b.0[1],
        a.0[2] | b.0[2],
        a.0[3] | b.0[3],
    ])
}

/// `a ^ b`.
#[inline(always)]
pub fn xor(a: &U256, b: &U256) -> U256 {
    U256([
        a.0[0] ^ b.0[0],
        a.0[1] ^ b.0[1],
        a.0[2] ^ b.0[2],
        a.0[3] ^ b.0[3],
    ])
}

/// `!a`, every bit flipped.
#[inline(always)]
pub fn not(a: &U256) -> U256 {
    U256([!a.0[0], !a.0[1], !a.0[2], !a.0[3]])
}

/// Limb `i` of `x` for an `i` known only at run time, without indexing memory: a word kept
/// in registers stays there (indexing would spill it, and the reload stalls).
#[inline(always)]
fn limb(x: &[u64; 4], i: usize) -> u64 {
    match i {
        0 => x[0],
        1 => x[1],
        2 => x[2],
        _ => x[3],
    }
}

/// SIGNEXTEND: extends the sign of byte `b` (0 = lowest) of `x`.
#[inline(always)]
pub fn signextend(b: &U256, x: &U256) -> U256 {
    if b.0[1] | b.0[2] | b.0[3] != 0 || b.0[0] >= 31 {
        return *x;
    }
    let bit = b.0[0] as usize * 8 + 7;
    let (sign_limb, offset) = (bit / 64, (bit % 64) as u32);
    // The sign limb extended by two shifts; the limbs above it take its top bit, the ones
    // below stay.
    let unused = 63 - offset;
    let extended = ((limb(&x.0, sign_limb) << unused) as i64 >> unused) as u64;
    let fill = (extended as i64 >> 63) as u64;
    let mut out = x.0;
    for (i, o) in out.iter_mut().enumerate() {
        if i == sign_limb {
            *o = extended;
        } else if i > sign_limb {
            *o = fill;
        }
    }
    U256(out)
}

/// The shift amount of SHL/SHR/SAR as (whole limbs, bits), or `None` from 256 on.
#[inline(always)]
fn shift_amount(shift: &U256) -> Option<(usize, u32)> {
    if shift.0[1] | shift.0[2] | shift.0[3] != 0 || shift.0[0] >= 256 {
        None
    } else {
        Some(((shift.0[0] / 64) as usize, (shift.0[0] % 64) as u32))
    }
}

/// SHL: `x << shift`, 0 from 256 on.
#[inline(always)]
pub fn shl(shift: &U256, x: &U256) -> U256 {
    let Some((limbs, bits)) = shift_amount(shift) else {
        return U256::zero();
    };
    let w = x.0;
    let m = match limbs {
        0 => w,
        1 => [0, w[0], w[1], w[2]],
        2 => [0, 0, w[0], w[1]],
        _ => [0, 0, 0, w[0]],
    };
    if bits == 0 {
        return U256(m);
    }
    let back = 64 - bits;
    U256([
        m[0] << bits,
        m[1] << bits | m[0] >> back,
        m[2] << bits | m[1] >> back,
        m[3] << bits | m[2] >> back,
    ])
}

/// SHR: `x >> shift` (logical), 0 from 256 on.
#[inline(always)]
pub fn shr(shift: &U256, x: &U256) -> U256 {
    let Some((limbs, bits)) = shift_amount(shift) else {
        return U256::zero();
    };
    let w = x.0;
    let m = match limbs {
        0 => w,
        1 => [w[1], w[2], w[3], 0],
        2 => [w[2], w[3], 0, 0],
        _ => [w[3], 0, 0, 0],
    };
    if bits == 0 {
        return U256(m);
    }
    let back = 64 - bits;
    U256([
        m[0] >> bits | m[1] << back,
        m[1] >> bits | m[2] << back,
        m[2] >> bits | m[3] << back,
        m[3] >> bits,
    ])
}

/// SAR: `x >> shift` filling with the sign bit.
#[inline(always)]
pub fn sar(shift: &U256, x: &U256) -> U256 {
    if x.0[3] >> 63 == 0 {
        return shr(shift, x);
    }
    let not = |w: U256| U256([!w.0[0], !w.0[1], !w.0[2], !w.0[3]]);
    not(shr(shift, &not(*x)))
}

/// BYTE: byte `i` (0 = most significant) of `x`, 0 from 32 on.
#[inline(always)]
pub fn byte(i: &U256, x: &U256) -> U256 {
    if i.0[1] | i.0[2] | i.0[3] != 0 || i.0[0] >= 32 {
        return U256::zero();
    }
    let from_low = 31 - i.0[0] as usize;
    U256([
        (limb(&x.0, from_low / 8) >> (8 * (from_low % 8))) & 0xff,
        0,
        0,
        0,
    ])
}

/// `(hi, lo) / d` and its remainder, for `hi < d` so the quotient fits in 64 bits: one
/// hardware divide on x86-64 where a 128-bit `/` would call a software routine.
#[inline(always)]
fn div_2by1(hi: u64, lo: u64, d: u64) -> (u64, u64) {
    debug_assert!(hi < d);
    #[cfg(target_arch = "x86_64")]
    {
        if hi < d {
            let (q, r);
            // SAFETY: `hi < d`, so `d` is not zero and the quotient fits in 64 bits: DIV cannot
            // fault.
            unsafe {
                core::arch::asm!(
                    "div {d}",
                    d = in(reg) d,
                    inout("rax") lo => q,
                    inout("rdx") hi => r,
                    options(pure, nomem, nostack)
                );
            }
            return (q, r);
        }
    }
    let n = (hi as u128) << 64 | lo as u128;
    ((n / d as u128) as u64, (n % d as u128) as u64)
}

// Division by invariant integers (Möller and Granlund, "Improved division by invariant
// integers", IEEE Trans. Computers, 2011): with the divisor's top bit set, a precomputed
// reciprocal turns each quotient digit into two multiplications and a few adds, instead of a
// hardware divide per digit (tens of cycles each) plus Knuth's correction loop. One divide per
// division remains, for the reciprocal. B below is 2^64.

/// The reciprocal `floor((B^2 - 1) / d) - B` of a normalised word `d` (top bit set).
#[inline(always)]
fn reciprocal_2by1(d: u64) -> u64 {
    debug_assert!(d >> 63 == 1);
    // B^2 - 1 - B*d is (!d, B - 1) in two words, and !d < d, so one hardware divide gives it.
    div_2by1(!d, u64::MAX, d).0
}

/// The reciprocal `floor((B^3 - 1) / (d1*B + d0)) - B` of a normalised two-word divisor
/// (`d1`'s top bit set): the paper's algorithm 6, adjusting the reciprocal of `d1` alone.
#[inline(always)]
fn reciprocal_3by2(d1: u64, d0: u64) -> u64 {
    let mut v = reciprocal_2by1(d1);
    let mut p = d1.wrapping_mul(v).wrapping_add(d0);
    if p < d0 {
        v = v.wrapping_sub(1);
        if p >= d1 {
            v = v.wrapping_sub(1);
            p = p.wrapping_sub(d1);
        }
        p = p.wrapping_sub(d1);
    }
    let t = v as u128 * d0 as u128;
    let (t1, t0) = ((t >> 64) as u64, t as u64);
    p = p.wrapping_add(t1);
    if p < t1 {
        v = v.wrapping_sub(1);
        if (p, t0) >= (d1, d0) {
            v = v.wrapping_sub(1);
        }
    }
    v
}

std::thread_local! {
    /// The last normalised top two divisor limbs and their 3-by-2 reciprocal: programs
    /// reduce by one modulus over and over (a curve's field prime), and this saves the
    /// reciprocal's hardware divide. (0, 0) is never a normalised divisor, so it starts empty.
    static LAST_RECIPROCAL: std::cell::Cell<(u64, u64, u64)> = const {
        std::cell::Cell::new((0, 0, 0))
    };
}

/// [`reciprocal_3by2`], from [`LAST_RECIPROCAL`] when the divisor is the last one's.
#[inline(always)]
fn cached_reciprocal_3by2(d1: u64, d0: u64) -> u64 {
    LAST_RECIPROCAL.with(|last| {
        let (c1, c0, v) = last.get();
        if (c1, c0) == (d1, d0) {
            return v;
        }
        let v = reciprocal_3by2(d1, d0);
        last.set((d1, d0, v));
        v
    })
}

/// `(u1, u0) / d` and its remainder for a normalised `d` with reciprocal `v`
/// ([`reciprocal_2by1`]) and `u1 < d`: the paper's algorithm 4.
#[inline(always)]
fn div_2by1_pre(u1: u64, u0: u64, d: u64, v: u64) -> (u64, u64) {
    debug_assert!(u1 < d);
    let q = (v as u128 * u1 as u128).wrapping_add((u1 as u128) << 64 | u0 as u128);
    let (mut q1, q0) = (((q >> 64) as u64).wrapping_add(1), q as u64);
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    // The estimate is one too large or (rarely) one too small; these branches fix either.
    if r > q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 = q1.wrapping_add(1);
        r = r.wrapping_sub(d);
    }
    (q1, r)
}

/// `(u2, u1, u0) / (d1, d0)` and its two-word remainder for a normalised divisor with
/// reciprocal `v` ([`reciprocal_3by2`]) and `(u2, u1) < (d1, d0)`: the paper's algorithm 5.
#[inline(always)]
fn div_3by2(u2: u64, u1: u64, u0: u64, d1: u64, d0: u64, v: u64) -> (u64, u128) {
    debug_assert!((u2, u1) < (d1, d0));
    let d = (d1 as u128) << 64 | d0 as u128;
    let q = (v as u128 * u2 as u128).wrapping_add((u2 as u128) << 64 | u1 as u128);
    let (mut q1, q0) = ((q >> 64) as u64, q as u64);
    let r1 = u1.wrapping_sub(q1.wrapping_mul(d1));
    let mut r = ((r1 as u128) << 64 | u0 as u128)
        .wrapping_sub(d0 as u128 * q1 as u128)
        .wrapping_sub(d);
    q1 = q1.wrapping_add(1);
    if (r >> 64) as u64 >= q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 = q1.wrapping_add(1);
        r = r.wrapping_sub(d);
    }
    (q1, r)
}

/// `x >> (64 - s)` for `s` in 0..64, which is 0 when `s` is 0 (a plain shift by 64 is not).
#[inline(always)]
fn spill(x: u64, s: u32) -> u64 {
    (x >> 1) >> (63 - s)
}

/// `x << (64 - s)` for `s` in 0..64, which is 0 when `s` is 0.
#[inline(always)]
fn unspill(x: u64, s: u32) -> u64 {
    (x << 1) << (63 - s)
}

/// `u << s` into `m + 1` limbs of `un` (the top one takes the bits shifted out).
#[inline(always)]
fn shift_dividend(u: &[u64], m: usize, s: u32) -> [u64; 9] {
    let mut un = [0u64; 9];
    un[m] = spill(u[m - 1], s);
    for i in (1..m).rev() {
        un[i] = u[i] << s | spill(u[i - 1], s);
    }
    un[0] = u[0] << s;
    un
}

/// `u / v` and `u % v` for a dividend of up to eight limbs (little-endian), both 0 when `v`
/// is 0: schoolbook division on 64-bit digits with precomputed reciprocals.
fn divmod_limbs(u: &[u64], v: &[u64; 4]) -> ([u64; 8], [u64; 4]) {
    let n = v.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    let m = u.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    if n == 0 {
        // The EVM's x / 0 and x % 0.
        return ([0; 8], [0; 4]);
    }
    if m < n {
        let mut rem = [0u64; 4];
        rem[..m].copy_from_slice(&u[..m]);
        return ([0; 8], rem);
    }
    match n {
        1 => divmod_1(u, m, v[0]),
        2 => divmod_n::<2>(u, m, v),
        3 => divmod_n::<3>(u, m, v),
        _ => divmod_n::<4>(u, m, v),
    }
}

/// [`divmod_limbs`] for a one-limb divisor `d` and a dividend of `m >= 1` limbs.
#[inline(always)]
fn divmod_1(u: &[u64], m: usize, d: u64) -> ([u64; 8], [u64; 4]) {
    let mut quotient = [0u64; 8];
    let s = d.leading_zeros();
    let d = d << s;
    let v = reciprocal_2by1(d);
    let un = shift_dividend(u, m, s);
    // un[m] holds at most s bits, so it is below the normalised d.
    let mut r = un[m];
    for i in (0..m).rev() {
        (quotient[i], r) = div_2by1_pre(r, un[i], d, v);
    }
    (quotient, [r >> s, 0, 0, 0])
}

/// [`divmod_limbs`] for a divisor of exactly `N` limbs (2 to 4) and a dividend of `m >= N`
/// limbs (its top ones may be zero, at the cost of a zero digit each): Knuth's algorithm D with each quotient digit from a 3-by-2 division, which is never
/// more than one too large, so at most one add-back follows it. One copy per `N` keeps the
/// inner loops fixed-length.
#[inline(always)]
fn divmod_n<const N: usize>(u: &[u64], m: usize, v: &[u64; 4]) -> ([u64; 8], [u64; 4]) {
    let mut quotient = [0u64; 8];
    // Normalise so the divisor's top digit has its high bit set.
    let s = v[N - 1].leading_zeros();
    let mut vn = [0u64; N];
    vn[0] = v[0] << s;
    for i in 1..N {
        vn[i] = v[i] << s | spill(v[i - 1], s);
    }
    let un = shift_dividend(u, m, s);
    let (d1, d0) = (vn[N - 1], vn[N - 2]);
    let inv = cached_reciprocal_3by2(d1, d0);
    // The remainder so far, kept in locals (registers) rather than in the dividend's buffer:
    // at first the spill limb and the N - 1 limbs below it. It is always below vn, so each
    // digit fits in one word and the window's top two limbs are at most (d1, d0).
    let mut r = [0u64; N];
    r.copy_from_slice(&un[m + 1 - N..=m]);
    let mut digits = m + 1 - N;
    // The top digit is zero when the spill limb is and the N limbs below it are under vn (a
    // product of numbers below the modulus, a dividend not far above the divisor): start one
    // digit lower, with those limbs as the remainder.
    let window = &un[m - N..m];
    let below = (0..N)
        .rev()
        .find(|&i| window[i] != vn[i])
        .is_some_and(|i| window[i] < vn[i]);
    if un[m] == 0 && below {
        r.copy_from_slice(window);
        digits -= 1;
    }
    for (digit, &next) in quotient[..digits].iter_mut().zip(&un[..digits]).rev() {
        // The window: the next dividend limb below the remainder (only N + 1 limbs used).
        let mut w = [0u64; 5];
        w[0] = next;
        w[1..=N].copy_from_slice(&r);
        let (u2, u1, u0) = (w[N], w[N - 1], w[N - 2]);
        *digit = if u2 == d1 && u1 == d0 {
            // Outside div_3by2's domain, but then the window is above (B - 1) * vn and below
            // B * vn, so the digit is exactly B - 1 and the subtraction cannot go negative.
            let q = u64::MAX;
            let mut carry: u64 = 0;
            for i in 0..N {
                let p = q as u128 * vn[i] as u128 + carry as u128;
                let (d, b) = w[i].overflowing_sub(p as u64);
                w[i] = d;
                carry = (p >> 64) as u64 + b as u64;
            }
            debug_assert_eq!(w[N], carry);
            q
        } else {
            // The top three limbs over the divisor's top two give the digit and what remains
            // of those limbs; the divisor's other limbs are subtracted below them.
            let (mut q, mut rest) = div_3by2(u2, u1, u0, d1, d0, inv);
            let mut carry: u64 = 0;
            for i in 0..N - 2 {
                let p = q as u128 * vn[i] as u128 + carry as u128;
                let (d, b) = w[i].overflowing_sub(p as u64);
                w[i] = d;
                // At most (B - 1)^2 + B - 1 >> 64 = B - 2, plus the borrow: no overflow.
                carry = (p >> 64) as u64 + b as u64;
            }
            let (r2, negative) = rest.overflowing_sub(carry as u128);
            rest = r2;
            if negative {
                // The digit was one too large: add the divisor back once.
                q = q.wrapping_sub(1);
                let mut c = false;
                for i in 0..N - 2 {
                    let (s1, c1) = w[i].overflowing_add(vn[i]);
                    let (s2, c2) = s1.overflowing_add(c as u64);
                    w[i] = s2;
                    c = c1 | c2;
                }
                rest = rest
                    .wrapping_add((d1 as u128) << 64 | d0 as u128)
                    .wrapping_add(c as u128);
            }
            w[N - 2] = rest as u64;
            w[N - 1] = (rest >> 64) as u64;
            q
        };
        r.copy_from_slice(&w[..N]);
    }
    let mut rem = [0u64; 4];
    for i in 0..N - 1 {
        rem[i] = r[i] >> s | unspill(r[i + 1], s);
    }
    rem[N - 1] = r[N - 1] >> s;
    (quotient, rem)
}

/// `a / b` for a two-limb `b >= B` and `a < B^2`, so the quotient fits in one limb, with its
/// remainder: one hardware divide of `a / 2` by the normalised divisor's top limb gives the
/// quotient or one more (Hacker's Delight, section 9-5), and one multiplication checks it.
#[inline(always)]
fn div_2by2(a: u128, b: u128) -> (u64, u128) {
    debug_assert!(b >> 64 != 0);
    let s = ((b >> 64) as u64).leading_zeros();
    let top = ((b << s) >> 64) as u64;
    // Halving keeps the high word below `top` (whose top bit is set), so the divide is exact.
    let half = a >> 1;
    let estimate = div_2by1((half >> 64) as u64, half as u64, top).0 >> (63 - s);
    // The estimate is the quotient or one more: step one below it, then up again if needed.
    let mut q = estimate.saturating_sub(1);
    let mut r = a - q as u128 * b;
    if r >= b {
        q += 1;
        r -= b;
    }
    (q, r)
}

/// `a / b` and `a % b`, both 0 when `b` is 0. Operands of at most two limbs (the usual ones:
/// fixed-point numbers and small counts) take one or two hardware divides, a power-of-two
/// divisor a shift; the rest go through [`divmod_limbs`].
#[inline(always)]
fn divmod(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], [u64; 4]) {
    if a[2] | a[3] | b[2] | b[3] == 0 {
        let d = b[0];
        if b[1] != 0 {
            let (a, b) = (
                (a[1] as u128) << 64 | a[0] as u128,
                (b[1] as u128) << 64 | d as u128,
            );
            if a < b {
                return ([0; 4], [a as u64, (a >> 64) as u64, 0, 0]);
            }
            let (q, r) = div_2by2(a, b);
            return ([q, 0, 0, 0], [r as u64, (r >> 64) as u64, 0, 0]);
        }
        if d == 0 {
            return ([0; 4], [0; 4]);
        }
        // The high limb's own quotient first (none when it is below d), then the low limb's
        // with its remainder on top.
        let (q1, r1) = if a[1] < d {
            (0, a[1])
        } else {
            (a[1] / d, a[1] % d)
        };
        let (q0, r) = div_2by1(r1, a[0], d);
        return ([q0, q1, 0, 0], [r, 0, 0, 0]);
    }
    // A power of two (a shift written as a division, common in older compilers' output):
    // the quotient is a shift and the remainder a mask.
    let below = sub(&U256(*b), &U256([1, 0, 0, 0])).0;
    if b[0] & below[0] | b[1] & below[1] | b[2] & below[2] | b[3] & below[3] == 0 && b != &[0; 4] {
        let zeros = b
            .iter()
            .rposition(|&l| l != 0)
            .map_or(0, |i| i as u64 * 64 + b[i].trailing_zeros() as u64);
        let q = shr(&U256([zeros, 0, 0, 0]), &U256(*a)).0;
        return (
            q,
            [
                a[0] & below[0],
                a[1] & below[1],
                a[2] & below[2],
                a[3] & below[3],
            ],
        );
    }
    let (q, r) = divmod_limbs(a, b);
    ([q[0], q[1], q[2], q[3]], r)
}

/// DIV: `a / b`, 0 when `b` is 0.
#[inline]
pub fn div(a: &U256, b: &U256) -> U256 {
    if a.0[1] | a.0[2] | a.0[3] | b.0[1] | b.0[2] | b.0[3] == 0 {
        return U256([a.0[0].checked_div(b.0[0]).unwrap_or(0), 0, 0, 0]);
    }
    U256(divmod(&a.0, &b.0).0)
}

/// MOD: `a % b`, 0 when `b` is 0.
#[inline]
pub fn rem(a: &U256, b: &U256) -> U256 {
    if a.0[1] | a.0[2] | a.0[3] | b.0[1] | b.0[2] | b.0[3] == 0 {
        return U256([a.0[0].checked_rem(b.0[0]).unwrap_or(0), 0, 0, 0]);
    }
    U256(divmod(&a.0, &b.0).1)
}

/// `-x` modulo 2^256 (two's complement).
#[inline(always)]
fn negate(x: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for (o, &l) in out.iter_mut().zip(x) {
        let (d1, b1) = 0u64.overflowing_sub(l);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        *o = d2;
        borrow = b1 | b2;
    }
    out
}

/// `|x|` of a two's-complement word and whether `x` was negative (`|MIN|` is MIN, which
/// read unsigned is the right magnitude).
#[inline(always)]
fn magnitude(x: &[u64; 4]) -> ([u64; 4], bool) {
    if x[3] >> 63 == 0 {
        (*x, false)
    } else {
        (negate(x), true)
    }
}

/// SDIV: `a / b` on two's-complement words, rounding toward zero; 0 when `b` is 0, and
/// `MIN / -1` is MIN. Small negative operands (all-ones high limbs) have small magnitudes, so
/// they take the division's short paths too.
#[inline]
pub fn sdiv(a: &U256, b: &U256) -> U256 {
    let ((ma, na), (mb, nb)) = (magnitude(&a.0), magnitude(&b.0));
    let q = divmod(&ma, &mb).0;
    U256(if na != nb { negate(&q) } else { q })
}

/// SMOD: `a % b` on two's-complement words, with the sign of `a`; 0 when `b` is 0.
#[inline]
pub fn smod(a: &U256, b: &U256) -> U256 {
    let ((ma, na), (mb, _)) = (magnitude(&a.0), magnitude(&b.0));
    let r = divmod(&ma, &mb).1;
    U256(if na { negate(&r) } else { r })
}

// Reduction by a full-width modulus used over and over (a curve's field prime): Möller and
// Granlund's 2-by-1 step (algorithm 4, as in `div_2by1_pre`) with 256-bit digits. With the
// modulus normalised and its 256-bit reciprocal computed once, a remainder of up to 512 bits
// costs two multiplications of four limbs by four, where dividing digit by digit costs four
// 3-by-2 steps that each wait for the one before.

/// `x + y` modulo B^4, and whether it carried out.
#[inline(always)]
fn add_4(x: &[u64; 4], y: &[u64; 4]) -> ([u64; 4], bool) {
    let mut out = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s1, c1) = x[i].overflowing_add(y[i]);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        out[i] = s2;
        carry = c1 | c2;
    }
    (out, carry)
}

/// `x - y` modulo B^4.
#[inline(always)]
fn sub_4(x: &[u64; 4], y: &[u64; 4]) -> [u64; 4] {
    sub(&U256(*x), &U256(*y)).0
}

/// `x < y` on four limbs.
#[inline(always)]
fn lt_4(x: &[u64; 4], y: &[u64; 4]) -> bool {
    lt(&U256(*x), &U256(*y))
}

/// The low four limbs of `x * y`.
#[inline(always)]
fn mul_low_4(x: &[u64; 4], y: &[u64; 4]) -> [u64; 4] {
    mul(&U256(*x), &U256(*y)).0
}

/// A modulus of four significant limbs, normalised (`d = n << s`, top bit set), and the
/// reciprocal `v = floor((B^8 - 1) / d) - B^4` of its normalised form.
#[derive(Clone, Copy)]
struct WideModulus {
    s: u32,
    d: [u64; 4],
    v: [u64; 4],
}

impl WideModulus {
    /// The normalised form and reciprocal of `n`, whose top limb must not be zero: one
    /// division of eight limbs by four.
    #[cold]
    #[inline(never)]
    fn new(n: &[u64; 4]) -> Self {
        debug_assert!(n[3] != 0);
        let s = n[3].leading_zeros();
        let d = Self::normalised(n, s);
        // B^4 <= (B^8 - 1) / d < 2 * B^4, so the quotient's fifth limb is the dropped B^4.
        let q = divmod_n::<4>(&[u64::MAX; 8], 8, &d).0;
        debug_assert_eq!(q[4], 1);
        WideModulus {
            s,
            d,
            v: [q[0], q[1], q[2], q[3]],
        }
    }

    /// `n << s`.
    #[inline(always)]
    fn normalised(n: &[u64; 4], s: u32) -> [u64; 4] {
        [
            n[0] << s,
            n[1] << s | spill(n[0], s),
            n[2] << s | spill(n[1], s),
            n[3] << s | spill(n[2], s),
        ]
    }

    /// `(u1 * B^4 + u0) % d` for `u1 < d`: the 2-by-1 step on 256-bit digits.
    #[inline(always)]
    fn rem_2by1(&self, u1: &[u64; 4], u0: &[u64; 4]) -> [u64; 4] {
        let d = &self.d;
        let w = full_product(u1, &self.v);
        // (q1, q0) = v * u1 + (u1, u0), then q1 + 1: the quotient, one more, or one less.
        let (q0, carry) = add_4(&[w[0], w[1], w[2], w[3]], u0);
        let mut q1 = [0u64; 4];
        let mut c = carry as u64 + 1;
        for i in 0..4 {
            let (s1, c1) = w[4 + i].overflowing_add(u1[i]);
            let (s2, c2) = s1.overflowing_add(c);
            q1[i] = s2;
            c = c1 as u64 + c2 as u64;
        }
        let mut r = sub_4(u0, &mul_low_4(&q1, d));
        // q1 one too large (most of the time) shows as a remainder that wrapped above q0: add
        // d back, without a branch the predictor would miss one time in five.
        let back = 0u64.wrapping_sub(lt_4(&q0, &r) as u64);
        r = add_4(&r, &[d[0] & back, d[1] & back, d[2] & back, d[3] & back]).0;
        if !lt_4(&r, d) {
            r = sub_4(&r, d);
        }
        r
    }

    /// `x >> s`: a remainder of the normalised divisor back in `n`'s scale.
    #[inline(always)]
    fn denormalised(&self, r: &[u64; 4]) -> [u64; 4] {
        let s = self.s;
        [
            r[0] >> s | unspill(r[1], s),
            r[1] >> s | unspill(r[2], s),
            r[2] >> s | unspill(r[3], s),
            r[3] >> s,
        ]
    }

    /// `x % n` for an eight-limb `x` whose quotient fits in four limbs (as it does when
    /// `x` is the product of two numbers below `n`), else `None`.
    #[inline(always)]
    fn rem_8(&self, x: &[u64; 8]) -> Option<[u64; 4]> {
        let un = shift_dividend(x, 8, self.s);
        let (u1, u0) = ([un[4], un[5], un[6], un[7]], [un[0], un[1], un[2], un[3]]);
        if un[8] != 0 || !lt_4(&u1, &self.d) {
            return None;
        }
        Some(self.denormalised(&self.rem_2by1(&u1, &u0)))
    }

    /// `x % n` for a five-limb `x` whose top limb is at most 1 (a sum of two words).
    #[inline(always)]
    fn rem_5(&self, x: &[u64; 5]) -> [u64; 4] {
        debug_assert!(x[4] <= 1);
        let un = shift_dividend(x, 5, self.s);
        // With x below 2^257, the shifted top limb is one limb below B^4 <= d.
        debug_assert_eq!(un[5], 0);
        let u0 = [un[0], un[1], un[2], un[3]];
        self.denormalised(&self.rem_2by1(&[un[4], 0, 0, 0], &u0))
    }
}

std::thread_local! {
    /// The last full-width modulus [`wide_modulus`] was asked about.
    static LAST_WIDE: std::cell::Cell<[u64; 4]> = const { std::cell::Cell::new([0; 4]) };
    /// The modulus whose reciprocal is in [`WIDE`] (all zeros, never a full-width modulus,
    /// while there is none).
    static WIDE_N: std::cell::Cell<[u64; 4]> = const { std::cell::Cell::new([0; 4]) };
    /// The normalised form and reciprocal of [`WIDE_N`].
    static WIDE: std::cell::Cell<WideModulus> = const {
        std::cell::Cell::new(WideModulus { s: 0, d: [0; 4], v: [0; 4] })
    };
}

/// The normalised form and reciprocal of a full-width modulus `n` once it comes twice in a
/// row: they cost a division to make, so a modulus used once, or moduli taken in turn, are
/// better off with a plain division.
#[inline(always)]
fn wide_modulus(n: &[u64; 4]) -> Option<WideModulus> {
    if WIDE_N.with(std::cell::Cell::get) == *n {
        return Some(WIDE.with(std::cell::Cell::get));
    }
    if LAST_WIDE.with(|last| last.replace(*n)) != *n {
        return None;
    }
    let m = WideModulus::new(n);
    WIDE.with(|w| w.set(m));
    WIDE_N.with(|w| w.set(*n));
    Some(m)
}

/// ADDMOD: `(a + b) % n` over the full 257-bit sum, 0 when `n` is 0.
#[inline]
pub fn addmod(a: &U256, b: &U256, n: &U256) -> U256 {
    if lt(a, n) && lt(b, n) {
        // Both already reduced (the common case in field arithmetic): the sum is below 2n, so
        // at most one subtraction of n reduces it.
        let (sum, carry) = {
            let s = add(a, b);
            (s, lt(&s, a))
        };
        return if carry || !lt(&sum, n) {
            sub(&sum, n)
        } else {
            sum
        };
    }
    let mut sum = [0u64; 5];
    let mut carry = false;
    for (i, s) in sum.iter_mut().enumerate().take(4) {
        let (s1, c1) = a.0[i].overflowing_add(b.0[i]);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        *s = s2;
        carry = c1 | c2;
    }
    sum[4] = carry as u64;
    if n.0[3] != 0 {
        // Operands not yet reduced by a full-width modulus (curve code adds multiples of p):
        // as in MULMOD, one step with the modulus's reciprocal when it repeats, else the
        // fixed-length copy of the division.
        if let Some(m) = wide_modulus(&n.0) {
            return U256(m.rem_5(&sum));
        }
        return U256(divmod_n::<4>(&sum, 5, &n.0).1);
    }
    U256(divmod_limbs(&sum, &n.0).1)
}

/// MULMOD: `(a * b) % n` over the full 512-bit product, 0 when `n` is 0.
#[inline]
pub fn mulmod(a: &U256, b: &U256, n: &U256) -> U256 {
    if is_zero(a) || is_zero(b) {
        // Common in curve code (zero coordinates), and it skips the 16 partial products.
        return U256::zero();
    }
    if n.0 == [u64::MAX; 4] {
        // 2^256 - 1, which 512-bit multiply-divide code (Uniswap's FullMath) uses to get a
        // product's high word: 2^256 is 1 modulo it, so the product's halves add up.
        return fold_mod_max(&full_product(&a.0, &b.0));
    }
    if n.0[3] != 0 {
        // A full-width modulus, the usual one: one 2-by-1 step on 256-bit digits when it
        // repeats (and the product is not too large for one), else a copy of the division
        // with every length fixed (leading zero limbs of the product only give zero digits),
        // so its loops unroll into registers.
        let product = full_product(&a.0, &b.0);
        if let Some(r) = wide_modulus(&n.0).and_then(|m| m.rem_8(&product)) {
            return U256(r);
        }
        return U256(rem_8_by_4(&product, &n.0));
    }
    U256(divmod_limbs(&full_product(&a.0, &b.0), &n.0).1)
}

/// `x mod (2^256 - 1)` for a 512-bit `x`: with `x = hi * 2^256 + lo` and 2^256 congruent to
/// 1, it is `hi + lo` with the carry added back in, and the modulus itself is 0.
#[inline(always)]
fn fold_mod_max(x: &[u64; 8]) -> U256 {
    let lo = U256([x[0], x[1], x[2], x[3]]);
    let hi = U256([x[4], x[5], x[6], x[7]]);
    let sum = add(&lo, &hi);
    // A carry out is 2^256, which is 1: adding it back cannot carry again, as the sum without
    // it is at most 2^257 - 2 and so its low word is at most 2^256 - 3 after a carry.
    let carried = lt(&sum, &lo);
    let r = if carried {
        add(&sum, &U256::one())
    } else {
        sum
    };
    if r.0 == [u64::MAX; 4] {
        U256::zero()
    } else {
        r
    }
}

/// `x % n` for a full-width `n` by plain division, out of line: the rare path of MULMOD,
/// kept from crowding the common one.
#[cold]
#[inline(never)]
fn rem_8_by_4(x: &[u64; 8], n: &[u64; 4]) -> [u64; 4] {
    divmod_n::<4>(x, 8, n).1
}

/// The 512-bit product `a * b`.
#[inline(always)]
fn full_product(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut product = [0u64; 8];
    for i in 0..4 {
        let mut carry: u64 = 0;
        for j in 0..4 {
            let t = a[i] as u128 * b[j] as u128 + product[i + j] as u128 + carry as u128;
            product[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
        product[i + 4] = carry;
    }
    product
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulmod_by_two_to_the_256_minus_one_folds_the_product() {
        // Products whose folded halves land exactly on the modulus (MAX * 1 and MAX * MAX),
        // just below and above it, and carry out of the sum; then everything else.
        let mut words = edge_words();
        words.extend([U256::MAX - 2, U256::one() << 192, (U256::one() << 255) + 1]);
        for a in &words {
            for b in &words {
                check_division_ops(*a, *b, U256::MAX);
            }
        }
    }

    fn edge_words() -> Vec<U256> {
        let mut v = vec![
            U256::zero(),
            U256::one(),
            U256::MAX,
            U256::MAX - 1,
            U256::one() << 63,
            U256::one() << 64,
            U256::one() << 128,
            U256::one() << 255,
            U256::from(u64::MAX),
            U256::from(u128::MAX),
        ];
        // A few scattered limb patterns.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..12 {
            let mut limbs = [0u64; 4];
            for l in limbs.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *l = x;
            }
            v.push(U256(limbs));
        }
        v
    }

    #[test]
    fn limb_ops_agree_with_primitive_types() {
        for a in edge_words() {
            for b in edge_words() {
                assert_eq!(add(&a, &b), a.overflowing_add(b).0, "{a:x} + {b:x}");
                assert_eq!(sub(&a, &b), a.overflowing_sub(b).0, "{a:x} - {b:x}");
                assert_eq!(mul(&a, &b), a.overflowing_mul(b).0, "{a:x} * {b:x}");
                assert_eq!(lt(&a, &b), a < b, "{a:x} < {b:x}");
                // Signed order is unsigned order with the sign bit flipped.
                let sign = U256::one() << 255;
                assert_eq!(slt(&a, &b), (a ^ sign) < (b ^ sign), "{a:x} <s {b:x}");
                assert_eq!(eq(&a, &b), a == b);
            }
            assert_eq!(is_zero(&a), a.is_zero());
        }
    }

    fn shifts() -> Vec<U256> {
        let mut v: Vec<U256> = [
            0u64, 1, 7, 8, 30, 31, 32, 63, 64, 65, 127, 128, 191, 200, 255, 256, 257, 1000,
        ]
        .iter()
        .map(|&s| U256::from(s))
        .collect();
        v.push(U256::MAX);
        v.push(U256::one() << 64);
        v
    }

    #[test]
    fn shifts_bytes_and_signextend_agree_with_primitive_types() {
        for x in edge_words() {
            for s in shifts() {
                let small = s < U256::from(256);
                let k = s.low_u64() as usize;
                assert_eq!(
                    shl(&s, &x),
                    if small { x << k } else { U256::zero() },
                    "{x:x} << {s}"
                );
                assert_eq!(
                    shr(&s, &x),
                    if small { x >> k } else { U256::zero() },
                    "{x:x} >> {s}"
                );
                let negative = x.bit(255);
                let sar_ref = match (small, negative) {
                    (false, true) => U256::MAX,
                    (false, false) => U256::zero(),
                    (true, true) => !((!x) >> k),
                    (true, false) => x >> k,
                };
                assert_eq!(sar(&s, &x), sar_ref, "{x:x} sar {s}");
                let byte_ref = if s < U256::from(32) {
                    U256::from(x.byte(31 - k))
                } else {
                    U256::zero()
                };
                assert_eq!(byte(&s, &x), byte_ref, "byte {s} of {x:x}");
                let ext_ref = if s >= U256::from(31) {
                    x
                } else {
                    let bit = k * 8 + 7;
                    let mask = (U256::one() << bit) - 1;
                    if x.bit(bit) {
                        x | !mask
                    } else {
                        x & mask
                    }
                };
                assert_eq!(signextend(&s, &x), ext_ref, "signextend {s} of {x:x}");
            }
        }
    }

    /// A word of 1 to 4 limbs, each mostly one of a few boundary digits: limbs at the edges
    /// of the quotient-digit estimate (a digit one too large and the add-back step, a
    /// remainder whose top limbs equal the divisor's) come from digits like these, far more
    /// often than from random words.
    fn boundary_word(next: &mut dyn FnMut() -> u64) -> U256 {
        const DIGITS: [u64; 7] = [0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
        let mut limbs = [0u64; 4];
        let top = (next() % 4) as usize;
        for l in limbs.iter_mut().take(top + 1) {
            let r = next();
            *l = if r % 8 == 7 {
                next()
            } else {
                DIGITS[(r % 7) as usize]
            };
        }
        U256(limbs)
    }

    #[test]
    fn division_agrees_on_words_built_from_boundary_limbs() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let (a, b, n) = (
                boundary_word(&mut next),
                boundary_word(&mut next),
                boundary_word(&mut next),
            );
            check_division_ops(a, b, n);
        }
    }

    /// DIV and MOD of `a` by `b`, ADDMOD and MULMOD of `a` and `b` by `n`, against
    /// primitive-types' 512-bit arithmetic (with the EVM's 0 for a zero divisor).
    fn check_division_ops(a: U256, b: U256, n: U256) {
        use primitive_types::U512;
        let (q, r) = if b.is_zero() {
            (U256::zero(), U256::zero())
        } else {
            (a / b, a % b)
        };
        assert_eq!(div(&a, &b), q, "{a:x} / {b:x}");
        assert_eq!(rem(&a, &b), r, "{a:x} % {b:x}");
        let (am, mm) = if n.is_zero() {
            (U256::zero(), U256::zero())
        } else {
            let n5 = U512::from(n);
            (
                U256::try_from((U512::from(a) + U512::from(b)) % n5).unwrap_or_default(),
                U256::try_from(a.full_mul(b) % n5).unwrap_or_default(),
            )
        };
        assert_eq!(addmod(&a, &b, &n), am, "({a:x} + {b:x}) % {n:x}");
        assert_eq!(mulmod(&a, &b, &n), mm, "({a:x} * {b:x}) % {n:x}");
        for (x, y) in [
            (a, b),
            (negated(a), b),
            (a, negated(b)),
            (negated(a), negated(b)),
        ] {
            check_signed_division(x, y);
        }
    }

    /// Two's complement negation by primitive-types.
    fn negated(x: U256) -> U256 {
        (!x).overflowing_add(U256::one()).0
    }

    /// SDIV and SMOD of `a` by `b` against their definition on magnitudes (truncating toward
    /// zero, the remainder taking the dividend's sign), divided by primitive-types.
    fn check_signed_division(a: U256, b: U256) {
        let (q, r) = if b.is_zero() {
            (U256::zero(), U256::zero())
        } else {
            let (na, nb) = (a.bit(255), b.bit(255));
            // |MIN| read unsigned is 2^255, its true magnitude.
            let (ma, mb) = (
                if na { negated(a) } else { a },
                if nb { negated(b) } else { b },
            );
            let (q, r) = (ma / mb, ma % mb);
            (
                if na != nb { negated(q) } else { q },
                if na { negated(r) } else { r },
            )
        };
        assert_eq!(sdiv(&a, &b), q, "{a:x} sdiv {b:x}");
        assert_eq!(smod(&a, &b), r, "{a:x} smod {b:x}");
    }

    /// A xorshift64 generator: reproducible pseudo-random limbs.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Limbs at the edges of the reciprocal arithmetic's range, then random ones.
    fn edge_and_random_limbs(count: usize, seed: u64) -> Vec<u64> {
        let mut v = vec![
            0,
            1,
            2,
            3,
            (1 << 32) - 1,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            3 << 62,
            u64::MAX - 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut next = xorshift(seed);
        v.extend((0..count).map(|_| next()));
        v
    }

    #[test]
    fn reciprocals_match_their_definitions() {
        let limbs = edge_and_random_limbs(2_000, 0x6a09_e667_f3bc_c908);
        let b = U256::one() << 64;
        let b3_minus_1 = (U256::one() << 192) - 1;
        for &top in &limbs {
            let d1 = top | 1 << 63;
            // floor((B^2 - 1) / d) - B, exactly in 128 bits.
            let expected = u128::MAX / d1 as u128 - (1u128 << 64);
            assert_eq!(reciprocal_2by1(d1) as u128, expected, "1 / {d1:x}");
            for &d0 in limbs.iter().step_by(7) {
                let d = U256([d0, d1, 0, 0]);
                let expected = b3_minus_1 / d - b;
                assert_eq!(
                    U256::from(reciprocal_3by2(d1, d0)),
                    expected,
                    "1 / ({d1:x}, {d0:x})"
                );
            }
        }
    }

    #[test]
    fn reciprocal_division_steps_match_plain_division() {
        let limbs = edge_and_random_limbs(300, 0xbb67_ae85_84ca_a73b);
        for &top in &limbs {
            let d = top | 1 << 63;
            let v = reciprocal_2by1(d);
            for &hi in &limbs {
                // Every high word below d: the edges of that range and the rest reduced into it.
                let u1 = if hi < d { hi } else { hi % d };
                for &u0 in limbs.iter().step_by(5) {
                    let n = (u1 as u128) << 64 | u0 as u128;
                    let (q, r) = div_2by1_pre(u1, u0, d, v);
                    assert_eq!(
                        (q as u128, r as u128),
                        (n / d as u128, n % d as u128),
                        "({u1:x}, {u0:x}) / {d:x}"
                    );
                }
            }
            for &d0 in limbs.iter().step_by(11) {
                let v = reciprocal_3by2(d, d0);
                let divisor = U256([d0, d, 0, 0]);
                for &x in limbs.iter().step_by(5) {
                    // (u2, u1) below (d1, d0): d1 - 1 or less with any u1, or d1 with u1 < d0.
                    let (u2, u1) = match x % 3 {
                        0 if d0 > 0 => (d, x % d0),
                        1 => (d - 1, x),
                        _ => (x % d, x.rotate_left(17)),
                    };
                    for &u0 in limbs.iter().step_by(31) {
                        let n = U256([u0, u1, u2, 0]);
                        let (q, r) = div_3by2(u2, u1, u0, d, d0, v);
                        assert_eq!(
                            (U256::from(q), U256::from(r)),
                            (n / divisor, n % divisor),
                            "({u2:x}, {u1:x}, {u0:x}) / ({d:x}, {d0:x})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reciprocal_cache_tells_moduli_apart() {
        // Moduli used in turn that share their normalised top limb but not the next one (the
        // reciprocals of 2^63 * B + 0 and 2^63 * B + B - 1 are furthest apart), that differ
        // only below those two (and share a reciprocal), or that have them at another shift.
        let top = U256::one() << 255;
        let p = U256::from_dec_str(
            "21888242871839275222246405745257275088696311157297823662689037894645226208583",
        )
        .unwrap_or_default();
        let moduli = [
            top,
            top | U256([0, 0, u64::MAX, 0]),
            top | U256([0, 1, 0, 0]),
            top | U256([0, 0, 1 << 63, 0]),
            top >> 64,
            p,
            p ^ (U256::one() << 189),
            p ^ U256::one(),
            p >> 1,
        ];
        let mut next = xorshift(0x510e_527f_ade6_82d1);
        for i in 0..20_000 {
            let (a, b) = (boundary_word(&mut next), boundary_word(&mut next));
            check_division_ops(a, b, moduli[i % moduli.len()]);
        }
    }

    #[test]
    fn division_agrees_on_random_words_of_every_length() {
        let mut next = xorshift(0x3c6e_f372_fe94_f82b);
        let word = |next: &mut dyn FnMut() -> u64| {
            // 0 to 4 limbs, the top one often small or all ones, the rest random.
            let len = (next() % 5) as usize;
            let mut limbs = [0u64; 4];
            for l in limbs.iter_mut().take(len) {
                *l = next();
            }
            if len > 0 {
                limbs[len - 1] >>= next() % 64;
                if next() % 8 == 7 {
                    limbs[len - 1] = u64::MAX;
                }
            }
            U256(limbs)
        };
        let p = U256::from_dec_str(
            "21888242871839275222246405745257275088696311157297823662689037894645226208583",
        )
        .unwrap_or_default();
        let moduli = [
            U256::zero(),
            U256::one(),
            U256::from(2),
            U256::from(u64::MAX),
            U256::one() << 64,
            (U256::one() << 192) - 1,
            U256::one() << 255,
            U256::MAX,
            p,
        ];
        for i in 0..50_000 {
            let (a, b) = (word(&mut next), word(&mut next));
            let n = if i % 2 == 0 {
                moduli[i / 2 % moduli.len()]
            } else {
                word(&mut next)
            };
            check_division_ops(a, b, n);
            // Operands at or above the modulus, the slow path of ADDMOD.
            check_division_ops(a.overflowing_add(n).0, b, n);
        }
    }

    #[test]
    fn division_and_modular_arithmetic_agree_with_primitive_types() {
        let mut words = edge_words();
        // Divisors of every digit count, with and without their top bit set.
        words.extend([
            U256::from(3),
            U256::from(u64::MAX) + 2,
            (U256::one() << 130) + 12345,
            (U256::one() << 191) - 1,
            (U256::one() << 200) + (U256::one() << 70),
            U256::from_dec_str(
                "21888242871839275222246405745257275088696311157297823662689037894645226208583",
            )
            .unwrap_or_default(),
        ]);
        for &a in &words {
            for &b in &words {
                for &n in &words {
                    check_division_ops(a, b, n);
                }
            }
        }
    }

    /// Words at the edges of DIV's short paths (one or two limbs, 2^64 and 2^128 and their
    /// neighbours), random one- and two-limb words, and all of them negated: the operands of
    /// fixed-point code.
    fn short_words() -> Vec<U256> {
        let mut v: Vec<U256> = [
            0u128,
            1,
            2,
            3,
            7,
            (1 << 32) + 1,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX as u128 - 1,
            u64::MAX as u128,
            1 << 64,
            (1 << 64) + 1,
            (1 << 65) - 1,
            (1 << 127) - 1,
            1 << 127,
            (1 << 127) + (1 << 64),
            u128::MAX - 1,
            u128::MAX,
        ]
        .iter()
        .map(|&x| U256::from(x))
        .collect();
        v.extend([
            U256::one() << 128,
            (U256::one() << 128) + 1,
            U256::one() << 192,
            U256::one() << 255,
        ]);
        let mut next = xorshift(0x9b05_688c_2b3e_6c1f);
        for shift in [0, 13, 40, 64, 70, 101] {
            let x = (next() as u128) << 64 | next() as u128;
            v.push(U256::from(x >> shift));
        }
        let negatives: Vec<U256> = v.iter().map(|&x| negated(x)).collect();
        v.extend(negatives);
        v
    }

    #[test]
    fn short_and_negative_operands_agree_with_primitive_types() {
        let words = short_words();
        let p = U256::from_dec_str(
            "21888242871839275222246405745257275088696311157297823662689037894645226208583",
        )
        .unwrap_or_default();
        for &a in &words {
            for &b in &words {
                check_division_ops(a, b, b);
                check_division_ops(a, b, p);
            }
        }
    }

    #[test]
    fn two_limb_division_matches_u128_division() {
        let limbs = edge_and_random_limbs(60, 0x1f83_d9ab_fb41_bd6b);
        let mut next = xorshift(0x5be0_cd19_137e_2179);
        for &b1 in &limbs {
            if b1 == 0 {
                continue;
            }
            for &b0 in limbs.iter().step_by(3) {
                let b = (b1 as u128) << 64 | b0 as u128;
                // Dividends from b itself to the top: quotients 1, 2, near powers of two
                // and near the largest possible, each with remainders 0, 1 and b - 1.
                let mut dividends = vec![b, u128::MAX, u128::MAX - 1];
                let top = u128::MAX / b;
                for k in [
                    1u128,
                    2,
                    3,
                    top / 2,
                    top.saturating_sub(1),
                    top,
                    next() as u128,
                ] {
                    let k = k.clamp(1, top);
                    let base = k * b;
                    dividends.extend([
                        base,
                        base.saturating_add(1),
                        base + (u128::MAX - base).min(b - 1),
                    ]);
                }
                dividends.push(b + ((next() as u128) << 64 | next() as u128) % (u128::MAX - b + 1));
                for a in dividends {
                    assert_eq!(div_2by2(a, b), ((a / b) as u64, a % b), "{a:x} / {b:x}");
                }
            }
        }
    }

    /// Moduli of four significant limbs: the smallest (2^192) and its neighbour, the
    /// largest, powers of two and their neighbours at every normalisation shift class,
    /// curve primes, and words built from boundary limbs.
    fn wide_moduli() -> Vec<U256> {
        let p = U256::from_dec_str(
            "21888242871839275222246405745257275088696311157297823662689037894645226208583",
        )
        .unwrap_or_default();
        let r = U256::from_dec_str(
            "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        )
        .unwrap_or_default();
        let mut v = vec![
            U256::one() << 192,
            (U256::one() << 192) + 1,
            (U256::one() << 193) - 1,
            U256::one() << 255,
            (U256::one() << 255) - 1,
            (U256::one() << 255) + 1,
            U256::MAX,
            U256::MAX - 1,
            p,
            r,
            p >> 1,
            !p,
        ];
        let mut next = xorshift(0x428a_2f98_d728_ae22);
        while v.len() < 40 {
            let mut n = boundary_word(&mut next);
            n.0[3] = n.0[3].max(1) >> (next() % 64);
            if n.0[3] != 0 {
                v.push(n);
            }
        }
        v
    }

    #[test]
    fn wide_reciprocals_match_their_definition() {
        use primitive_types::U512;
        for n in wide_moduli() {
            let m = WideModulus::new(&n.0);
            let d = n << m.s as usize;
            assert_eq!(d.0, m.d, "{n:x} normalised");
            assert!(d.bit(255), "{n:x} normalised");
            let expected = U512::MAX / U512::from(d) - (U512::one() << 256);
            assert_eq!(U512::from(U256(m.v)), expected, "reciprocal of {d:x}");
        }
    }

    #[test]
    fn wide_remainders_match_plain_division() {
        use primitive_types::U512;
        let mut next = xorshift(0x7137_4491_23ef_65cd);
        for n in wide_moduli() {
            let m = WideModulus::new(&n.0);
            let n5 = U512::from(n);
            let limit = n5 << 256;
            let check8 = |x: U512| {
                let limbs = [
                    x.0[0], x.0[1], x.0[2], x.0[3], x.0[4], x.0[5], x.0[6], x.0[7],
                ];
                // rem_8 declines exactly the products whose quotient needs a fifth limb.
                let expected = (x < limit).then(|| U256::try_from(x % n5).unwrap_or_default().0);
                assert_eq!(m.rem_8(&limbs), expected, "{x:x} % {n:x}");
            };
            // The largest dividend it takes and the smallest it declines, multiples of n and
            // their neighbours, and products of boundary words and of words below n.
            check8(limit - 1);
            check8(limit);
            check8(U512::MAX);
            for k in [1u64, 2, 3, u64::MAX] {
                let base = n5 * U512::from(k);
                check8(base);
                check8(base + 1);
                check8(base - 1);
                check8(base + n5 - 1);
            }
            for _ in 0..3_000 {
                let (a, b) = (boundary_word(&mut next), boundary_word(&mut next));
                check8(a.full_mul(b));
                let (a, b) = (a % n, b % n);
                check8(a.full_mul(b));
                // A top half just below n (where the quotient's last correction happens most),
                // a remainder just below n, and a sum of two words (ADDMOD's dividend).
                let below = U512::from(n - 1 - U256::from(next() % 3)) << 256;
                check8(below + U512::from(boundary_word(&mut next)));
                check8(U512::from(n - 1).max(U512::from(a)) * U512::from(n - 1) + U512::from(b));
                let sum = U512::from(a) + U512::from(boundary_word(&mut next));
                let five = [sum.0[0], sum.0[1], sum.0[2], sum.0[3], sum.0[4]];
                assert_eq!(
                    U256(m.rem_5(&five)),
                    U256::try_from(sum % n5).unwrap_or_default(),
                    "{sum:x} % {n:x}"
                );
            }
        }
    }

    #[test]
    fn repeated_moduli_agree_with_primitive_types() {
        // Each modulus several times in a row (so MULMOD and ADDMOD take its reciprocal),
        // then in turn with others, then back: the cache must follow every change.
        let moduli = wide_moduli();
        let mut next = xorshift(0xb5c0_fbcf_ec4d_3b2f);
        for round in 0..4 {
            for (i, &n) in moduli.iter().enumerate() {
                let run = if round % 2 == 0 { 40 } else { 1 + i % 3 };
                for _ in 0..run {
                    let (a, b) = (boundary_word(&mut next), boundary_word(&mut next));
                    check_division_ops(a, b, n);
                    check_division_ops(a % n, b % n, n);
                }
            }
        }
    }

    #[test]
    fn division_by_powers_of_two_agrees_with_primitive_types() {
        let mut dividends = edge_words();
        dividends.extend(short_words());
        for k in 0..256 {
            let b = U256::one() << k;
            for &a in &dividends {
                check_division_ops(a, b, b);
                // A neighbour of the power, which must not take its shortcut.
                check_division_ops(a, b + 1, b - 1);
            }
        }
    }
}
