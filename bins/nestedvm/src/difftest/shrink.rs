//! Delta debugging of a failing program: the smallest program found that still fails, first
//! removing whole instructions (an instruction with its push data), then making push
//! constants small, then removing single bytes. The
//! number of tries is bounded, and nothing depends on time, so a shrink is reproducible.
//!
//! Removing code moves what follows it, so constant jump targets would miss: at the
//! instruction level, a push whose value is the old offset of a kept instruction is rewritten
//! to its new offset (when it fits), so control flow survives the removal.

use nestedvm::interp::analysis::immediate_len;
use nestedvm::interp::opcode;
use std::collections::HashMap;

/// Splits code into instructions, each with its push data (a truncated last push keeps what
/// there is).
pub fn instructions(code: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let end = (pc + 1 + immediate_len(code[pc])).min(code.len());
        out.push(code[pc..end].to_vec());
        pc = end;
    }
    out
}

/// An instruction and where it stood in the original program.
#[derive(Clone)]
struct Placed {
    at: usize,
    bytes: Vec<u8>,
}

/// The code of the kept instructions, pushes of old instruction offsets moved to the new ones.
fn relocated(kept: &[Placed]) -> Vec<u8> {
    let mut moved = HashMap::new();
    let mut pos = 0;
    for p in kept {
        moved.insert(p.at, pos);
        pos += p.bytes.len();
    }
    let mut code = Vec::with_capacity(pos);
    for p in kept {
        let start = code.len();
        code.extend_from_slice(&p.bytes);
        let width = p.bytes.len() - 1;
        let is_push = (opcode::PUSH1..=opcode::PUSH1 + 3).contains(&p.bytes[0]);
        if !is_push || width != immediate_len(p.bytes[0]) {
            continue;
        }
        let old = p.bytes[1..]
            .iter()
            .fold(0usize, |v, b| (v << 8) | usize::from(*b));
        if let Some(&new) = moved.get(&old) {
            if new < 1 << (8 * width) {
                for (i, byte) in code[start + 1..start + 1 + width].iter_mut().enumerate() {
                    *byte = (new >> (8 * (width - 1 - i))) as u8;
                }
            }
        }
    }
    code
}

/// ddmin over `items`: removes chunks, halving their size when no removal keeps `fails`
/// true, until single items cannot be removed or `budget` tries are spent.
fn ddmin<T: Clone>(
    mut items: Vec<T>,
    budget: &mut usize,
    fails: &mut impl FnMut(&[T]) -> bool,
) -> Vec<T> {
    let mut parts = 2usize;
    while !items.is_empty() && *budget > 0 {
        let chunk = items.len().div_ceil(parts);
        let mut removed = false;
        let mut start = 0;
        while start < items.len() && *budget > 0 {
            let end = (start + chunk).min(items.len());
            let mut rest = items[..start].to_vec();
            rest.extend_from_slice(&items[end..]);
            *budget -= 1;
            if fails(&rest) {
                items = rest;
                removed = true;
                // The next chunk now starts where this one did.
            } else {
                start = end;
            }
        }
        if removed {
            parts = parts.saturating_sub(1).max(2);
        } else if chunk <= 1 {
            break;
        } else {
            parts = (parts * 2).min(items.len());
        }
    }
    items
}

/// The smallest program found that still `fails`, and the number of tries spent (at most
/// `budget`). `code` itself is assumed to fail.
pub fn shrink(
    code: &[u8],
    budget: usize,
    mut fails: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, usize) {
    let mut left = budget;
    let mut at = 0;
    let placed: Vec<Placed> = instructions(code)
        .into_iter()
        .map(|bytes| {
            at += bytes.len();
            Placed {
                at: at - bytes.len(),
                bytes,
            }
        })
        .collect();
    let mut kept = ddmin(placed, &mut left, &mut |kept: &[Placed]| {
        fails(&relocated(kept))
    });
    // Simpler constants: each push becomes PUSH0, else a PUSH1 of its low byte.
    for i in 0..kept.len() {
        let bytes = &kept[i].bytes;
        if bytes.len() < 2 || !(opcode::PUSH1..=opcode::PUSH32).contains(&bytes[0]) {
            continue;
        }
        let low = bytes[bytes.len() - 1];
        for simpler in [vec![opcode::PUSH0], vec![opcode::PUSH1, low]] {
            if left == 0 || simpler == kept[i].bytes {
                break;
            }
            let mut candidate = kept.clone();
            candidate[i].bytes = simpler;
            left -= 1;
            if fails(&relocated(&candidate)) {
                kept = candidate;
                break;
            }
        }
    }
    let bytes = ddmin(relocated(&kept), &mut left, &mut |b: &[u8]| fails(b));
    (bytes, budget - left)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when the code holds an ADD (0x01) somewhere after a MUL (0x02).
    fn mul_then_add(code: &[u8]) -> bool {
        code.iter()
            .position(|b| *b == 0x02)
            .is_some_and(|i| code[i..].contains(&0x01))
    }

    #[test]
    fn shrinks_to_the_two_bytes_that_matter() {
        let code = [
            0x60, 0x05, 0x60, 0x03, 0x02, 0x5f, 0x80, 0x60, 0x07, 0x01, 0x00, 0x5b,
        ];
        let (small, tries) = shrink(&code, 1000, mul_then_add);
        assert_eq!(small, vec![0x02, 0x01]);
        assert!(tries > 0 && tries <= 1000);
        // Deterministic: the same input gives the same result in the same number of tries.
        assert_eq!(shrink(&code, 1000, mul_then_add), (small, tries));
    }

    #[test]
    fn push_data_goes_with_its_instruction_first() {
        // PUSH2 0x0201 holds both bytes as data: instruction-level shrinking keeps it whole,
        // byte-level shrinking then strips the opcode.
        let code = [0x5f, 0x61, 0x02, 0x01, 0x5f];
        assert_eq!(
            instructions(&code),
            vec![vec![0x5f], vec![0x61, 0x02, 0x01], vec![0x5f]]
        );
        assert_eq!(shrink(&code, 100, mul_then_add).0, vec![0x02, 0x01]);
        // A truncated push keeps what there is.
        assert_eq!(
            instructions(&[0x01, 0x62, 0xaa]),
            vec![vec![0x01], vec![0x62, 0xaa]]
        );
    }

    #[test]
    fn jump_targets_follow_the_code_they_point_at() {
        // PUSH1 6 JUMP | PUSH1 9 POP | JUMPDEST ADD: what fails is a jump landing on the
        // JUMPDEST just before an ADD; removing the middle must keep the jump on it.
        let lands = |c: &[u8]| {
            let p = c.iter().position(|b| *b == 0x60);
            p.and_then(|p| c.get(p + 1))
                .and_then(|t| c.get(*t as usize..*t as usize + 2))
                .is_some_and(|w| w == [0x5b, 0x01])
                && c.contains(&0x56)
        };
        let code = [0x60, 0x06, 0x56, 0x60, 0x09, 0x50, 0x5b, 0x01];
        assert!(lands(&code));
        let (small, _) = shrink(&code, 500, lands);
        assert_eq!(small, vec![0x60, 0x03, 0x56, 0x5b, 0x01]);
    }

    #[test]
    fn the_budget_bounds_the_tries() {
        let code: Vec<u8> = (0..200u8)
            .map(|i| {
                if i == 150 {
                    0x02
                } else if i == 199 {
                    0x01
                } else {
                    0x5f
                }
            })
            .collect();
        let mut calls = 0;
        let (small, tries) = shrink(&code, 7, |c| {
            calls += 1;
            mul_then_add(c)
        });
        assert_eq!((tries, calls), (7, 7));
        assert!(mul_then_add(&small), "what it returns still fails");
        assert!(small.len() < code.len());
    }
}
