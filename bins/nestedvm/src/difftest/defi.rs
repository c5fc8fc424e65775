//! The `revmc` world of `difftest --world revmc`: real contracts from the revmc fixtures
//! (`benches/programs/revmc`) — WETH9, an OpenZeppelin ERC-20 and a Uniswap V2 pair — with a
//! pre-state that makes them usable (balances, allowances, the pair's tokens, reserves and
//! lock), and the generator items that call them with well-formed ABI call data.
//!
//! The fixtures all deploy their contract at `0xcc…cc`; here WETH keeps that address (and its
//! fixture storage: a balance of `0x1111…11`), the token sits at `0xdd…dd` and the pair at
//! `0xee…ee`. The fixtures' token and pair come with empty storage (the pair's `unlocked`
//! would be 0, so every locked function would revert), so their storage is written here, in
//! the contracts' own layouts:
//!
//! | contract | slots |
//! |---|---|
//! | WETH9 | 3 `balanceOf`, 4 `allowance` |
//! | ERC-20 (OpenZeppelin) | 0 `_balances`, 1 `_allowances`, 2 `_totalSupply` |
//! | pair | 0 `totalSupply`, 1 `balanceOf`, 2 `allowance`, 5 `factory`, 6 `token0`, 7 `token1`, 8 reserves (`reserve0`, `reserve1`, `blockTimestampLast` packed), 12 `unlocked` |
//!
//! The pair's factory is a stub whose every call returns a zero word (`feeTo()` is 0: no
//! protocol fee), so `mint` and `burn` run.
//!
//! A program calls them from the executing account (the wallet in `hyvm`, where the guest runs
//! in the wallet's context), so `msg.sender` is that account. Each call records its success
//! flag and the keccak of its return data in the executing account's storage, which every
//! engine's result includes, and the program ends with an audit of the balances and reserves
//! (hashed into one slot): what the contracts' storage became is compared through them and
//! through the logs.

use super::gen::{push, Choices};
use crate::fixture::fixture_calls;
use nestedvm::interp::keccak256_word;
use nestedvm::interp::opcode;
use nestedvm::{Account, Address, U256};
use std::sync::OnceLock;

/// WETH9, at its fixture address.
pub const WETH: Address = Address::repeat_byte(0xcc);
/// The OpenZeppelin ERC-20 of `erc20_transfer.json`.
pub const TOKEN: Address = Address::repeat_byte(0xdd);
/// The Uniswap V2 pair of `uniswap_v2_pair.json`: token0 WETH, token1 the ERC-20.
pub const PAIR: Address = Address::repeat_byte(0xee);
/// The pair's factory: a stub returning a zero word to every call.
pub const FACTORY: Address = Address([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfa, 0xc7,
]);
/// The holder of the WETH fixture's one balance.
pub const FIXTURE_HOLDER: Address = Address::repeat_byte(0x11);

/// The executing account (the wallet in `hyvm`: `Request::new`'s address).
const SELF: u64 = 0xc0de;
/// The default caller and origin.
const ORIGIN: u64 = 0xca11;
/// A holder of nothing.
const NOBODY: u64 = 0xbeef;

/// One ether (10^18 of a token's smallest unit).
fn e18(n: u64) -> U256 {
    U256::from(n) * U256::exp10(18)
}

fn addr(n: u64) -> Address {
    Address::from_low_u64_be(n)
}

fn word(a: Address) -> U256 {
    U256::from_big_endian(a.as_bytes())
}

/// The slot of `mapping[key]` for a mapping at `slot`.
fn mapping_slot(key: U256, slot: U256) -> U256 {
    let mut b = [0u8; 64];
    b[..32].copy_from_slice(&key.to_big_endian());
    b[32..].copy_from_slice(&slot.to_big_endian());
    keccak256_word(&b)
}

/// The slot of `mapping[a][b]` for a nested mapping at `slot`.
fn mapping2_slot(a: Address, b: Address, slot: u64) -> U256 {
    mapping_slot(word(b), mapping_slot(word(a), U256::from(slot)))
}

/// The tokens: WETH, the ERC-20, the pair's liquidity token.
const TOKENS: [Address; 3] = [WETH, TOKEN, PAIR];

/// The world: accounts, and each (token, holder) balance before any call.
pub struct RevmcWorld {
    /// The contracts, the factory stub, and the holders' ether.
    pub accounts: Vec<(Address, Account)>,
    /// Balances before any call: (token, holder, amount).
    balances: Vec<(Address, Address, U256)>,
    /// The pair's reserves before any call.
    reserves: (U256, U256),
}

/// Every address a generated call names as holder, recipient or spender.
fn holders() -> [Address; 8] {
    [
        addr(SELF),
        addr(SELF),
        addr(ORIGIN),
        FIXTURE_HOLDER,
        PAIR,
        addr(NOBODY),
        WETH,
        Address::zero(),
    ]
}

fn fixture_account(file: &str, text: &str) -> Account {
    let calls = fixture_calls(file, text).expect("a revmc fixture parses");
    calls[0]
        .request
        .accounts
        .iter()
        .find(|(a, _)| *a == WETH)
        .expect("the fixture's contract at 0xcc…cc")
        .1
        .clone()
}

impl RevmcWorld {
    fn build() -> RevmcWorld {
        let weth = fixture_account(
            "weth.json",
            include_str!("../../benches/programs/revmc/weth.json"),
        );
        let token = fixture_account(
            "erc20_transfer.json",
            include_str!("../../benches/programs/revmc/erc20_transfer.json"),
        );
        let pair = fixture_account(
            "uniswap_v2_pair.json",
            include_str!("../../benches/programs/revmc/uniswap_v2_pair.json"),
        );
        let (me, origin) = (addr(SELF), addr(ORIGIN));
        let weth_fixture = U256::from(0xf4240);
        let (reserve0, reserve1) = (e18(100), e18(200_000));
        let lp_supply = e18(4472);
        let balances = vec![
            (WETH, me, e18(5)),
            (WETH, origin, e18(1)),
            (WETH, FIXTURE_HOLDER, weth_fixture),
            (WETH, PAIR, reserve0),
            (TOKEN, me, e18(1000)),
            (TOKEN, origin, e18(50)),
            (TOKEN, FIXTURE_HOLDER, e18(500)),
            (TOKEN, PAIR, reserve1),
            (PAIR, me, e18(10)),
            (PAIR, FIXTURE_HOLDER, lp_supply - e18(10) - U256::from(1000)),
            (PAIR, Address::zero(), U256::from(1000)),
        ];
        // Allowances: the fixture holder lets the executing account spend some of each.
        let allowances = [
            (WETH, FIXTURE_HOLDER, me, U256::from(700_000)),
            (TOKEN, FIXTURE_HOLDER, me, e18(300)),
            (TOKEN, me, origin, U256::MAX),
            (PAIR, FIXTURE_HOLDER, me, e18(20)),
        ];
        let layout = |t: Address| {
            if t == WETH {
                (3, 4)
            } else if t == TOKEN {
                (0, 1)
            } else {
                (1, 2)
            }
        };
        let mut storage: Vec<Vec<(U256, U256)>> = vec![Vec::new(); 3];
        for &(t, h, v) in &balances {
            let i = TOKENS.iter().position(|x| *x == t).unwrap_or(0);
            storage[i].push((mapping_slot(word(h), layout(t).0.into()), v));
        }
        for &(t, owner, spender, v) in &allowances {
            let i = TOKENS.iter().position(|x| *x == t).unwrap_or(0);
            storage[i].push((mapping2_slot(owner, spender, layout(t).1), v));
        }
        let supply = |t: Address| -> U256 {
            balances
                .iter()
                .filter(|b| b.0 == t)
                .fold(U256::zero(), |s, b| s + b.2)
        };
        storage[1].push((2.into(), supply(TOKEN)));
        storage[2].extend([
            (0.into(), supply(PAIR)),
            (5.into(), word(FACTORY)),
            (6.into(), word(WETH)),
            (7.into(), word(TOKEN)),
            (
                8.into(),
                reserve0 | (reserve1 << 112) | (U256::from(1000) << 224),
            ),
            (12.into(), 1.into()),
        ]);
        let [weth_s, token_s, pair_s] = [0, 1, 2].map(|i| std::mem::take(&mut storage[i]));
        let accounts = vec![
            (
                WETH,
                // WETH holds the ether behind every balance.
                Account::new(supply(WETH), weth.nonce, weth.code.to_vec())
                    .with_storage(weth.storage().into_iter().chain(weth_s)),
            ),
            (
                TOKEN,
                Account::new(U256::zero(), 1, token.code.to_vec()).with_storage(token_s),
            ),
            (
                PAIR,
                Account::new(U256::zero(), 1, pair.code.to_vec()).with_storage(pair_s),
            ),
            (
                FACTORY,
                Account::new(U256::zero(), 1, vec![0x60, 0x20, 0x5f, 0xf3]),
            ),
            (FIXTURE_HOLDER, Account::new(e18(3), 0, Vec::new())),
        ];
        RevmcWorld {
            accounts,
            balances,
            reserves: (reserve0, reserve1),
        }
    }

    /// The world, built once.
    pub fn get() -> &'static RevmcWorld {
        static WORLD: OnceLock<RevmcWorld> = OnceLock::new();
        WORLD.get_or_init(RevmcWorld::build)
    }

    /// The executing account's ether in this world (the wallet's in `hyvm`).
    pub fn self_balance() -> U256 {
        e18(10)
    }

    fn balance(&self, token: Address, holder: Address) -> U256 {
        self.balances
            .iter()
            .find(|b| b.0 == token && b.1 == holder)
            .map_or(U256::zero(), |b| b.2)
    }

    /// An amount around what `holder` has of `token`.
    fn amount(&self, rng: &mut (impl Choices + ?Sized), token: Address, holder: Address) -> U256 {
        let b = self.balance(token, holder);
        match rng.below(10) {
            0 => U256::zero(),
            1 => U256::from(1 + rng.below(1000)),
            2 => b,
            3 => b.saturating_add(U256::one()),
            4 => b / U256::from(2 + rng.below(10)),
            5 | 6 => {
                if b.is_zero() {
                    U256::from(rng.below(1 << 20))
                } else {
                    U256::from(rng.next()) % b
                }
            }
            7 => e18(rng.below(20)),
            8 => U256::MAX - U256::from(rng.below(2)),
            _ => (b / U256::from(100)).saturating_mul(U256::from(1 + rng.below(100))),
        }
    }

    /// An item: one call (or a short sequence: a swap, a mint, a burn) into the contracts,
    /// each recorded in storage. Leaves the stack as it found it.
    pub fn item(&self, rng: &mut (impl Choices + ?Sized), code: &mut Vec<u8>) {
        let holder = pick(rng, &holders());
        let other = pick(rng, &holders());
        let token = pick(rng, &TOKENS);
        let me = addr(SELF);
        let sel = |s: u32| s.to_be_bytes().to_vec();
        match rng.below(16) {
            0 => {
                // WETH deposit: with value around the account's ether.
                let value = match rng.below(4) {
                    0 => U256::from(rng.below(1000)),
                    1 => e18(1 + rng.below(3)),
                    2 => RevmcWorld::self_balance(),
                    _ => RevmcWorld::self_balance() + U256::one(),
                };
                let data = if rng.chance(80) {
                    sel(0xd0e30db0)
                } else {
                    Vec::new() // the fallback deposits too
                };
                call(rng, code, WETH, value, &data, 32);
            }
            1 => {
                let amount = self.amount(rng, WETH, me);
                call(rng, code, WETH, 0.into(), &abi(0x2e1a7d4d, &[amount]), 0);
            }
            2 | 3 => {
                let amount = self.amount(rng, token, me);
                let data = abi(0xa9059cbb, &[word(holder), amount]);
                call(rng, code, token, 0.into(), &data, 32);
            }
            4 => {
                let amount = self.amount(rng, token, me);
                let data = abi(0x095ea7b3, &[word(holder), amount]);
                call(rng, code, token, 0.into(), &data, 32);
            }
            5 | 6 => {
                let from = if rng.chance(50) {
                    FIXTURE_HOLDER
                } else {
                    holder
                };
                let amount = self.amount(rng, token, from);
                let data = abi(0x23b872dd, &[word(from), word(other), amount]);
                call(rng, code, token, 0.into(), &data, 32);
            }
            7 => {
                let data = abi(0x70a08231, &[word(holder)]);
                call(rng, code, token, 0.into(), &data, 32);
            }
            8 => {
                let data = abi(0xdd62ed3e, &[word(holder), word(other)]);
                call(rng, code, token, 0.into(), &data, 32);
            }
            9 => {
                // A view without arguments: totalSupply, decimals, name, symbol, getReserves,
                // token0, token1, factory, kLast, price0CumulativeLast.
                let (target, s) = [
                    (token, 0x18160ddd),
                    (token, 0x313ce567),
                    (token, 0x06fdde03),
                    (token, 0x95d89b41),
                    (PAIR, 0x0902f1ac),
                    (PAIR, 0x0dfe1681),
                    (PAIR, 0xd21220a7),
                    (PAIR, 0xc45a0155),
                    (PAIR, 0x7464fc3d),
                    (PAIR, 0x5909c0d5),
                ][rng.below(10) as usize];
                call(rng, code, target, 0.into(), &sel(s), 96);
            }
            10 | 11 => self.swap(rng, code, holder),
            12 => {
                // mint: both tokens in about the reserves' ratio, then mint(to).
                // Mostly within what the account holds of both (the pool is 1:2000).
                let a0 = if rng.chance(80) {
                    e18(5) / U256::from(10 + rng.below(90))
                } else {
                    self.amount(rng, WETH, me) / U256::from(4)
                };
                let a1 = if rng.chance(70) {
                    a0.saturating_mul(self.reserves.1) / self.reserves.0
                } else {
                    self.amount(rng, TOKEN, me)
                };
                transfer(rng, code, WETH, PAIR, a0);
                transfer(rng, code, TOKEN, PAIR, a1);
                call(
                    rng,
                    code,
                    PAIR,
                    0.into(),
                    &abi(0x6a627842, &[word(holder)]),
                    32,
                );
            }
            13 => {
                // burn: liquidity to the pair, then burn(to).
                let lp = self.amount(rng, PAIR, me);
                transfer(rng, code, PAIR, PAIR, lp);
                call(
                    rng,
                    code,
                    PAIR,
                    0.into(),
                    &abi(0x89afcb44, &[word(holder)]),
                    64,
                );
            }
            14 => {
                // skim(to) or sync().
                let data = if rng.chance(50) {
                    abi(0xbc25cf77, &[word(holder)])
                } else {
                    sel(0xfff6cae9)
                };
                call(rng, code, PAIR, 0.into(), &data, 0);
            }
            _ => {
                // increaseAllowance / decreaseAllowance (the ERC-20's own).
                let s = if rng.chance(50) {
                    0x39509351
                } else {
                    0xa457c2d7
                };
                let amount = self.amount(rng, TOKEN, me);
                call(
                    rng,
                    code,
                    TOKEN,
                    0.into(),
                    &abi(s, &[word(holder), amount]),
                    32,
                );
            }
        }
    }

    /// A swap: some of one token to the pair, then `swap` asking for about what the
    /// constant-product formula (with the 0.3% fee) gives for it at the initial reserves.
    fn swap(&self, rng: &mut (impl Choices + ?Sized), code: &mut Vec<u8>, to: Address) {
        let me = addr(SELF);
        let zero_for_one = rng.chance(50);
        let (tin, rin, rout) = if zero_for_one {
            (WETH, self.reserves.0, self.reserves.1)
        } else {
            (TOKEN, self.reserves.1, self.reserves.0)
        };
        let amount_in = if rng.chance(80) {
            self.balance(tin, me) / U256::from(1 + rng.below(50))
        } else {
            self.amount(rng, tin, me)
        };
        let with_fee = amount_in.saturating_mul(997.into());
        let exact = with_fee.saturating_mul(rout)
            / (rin.saturating_mul(1000.into()).saturating_add(with_fee)).max(U256::one());
        let out = match rng.below(6) {
            0 | 1 => exact,
            2 => exact.saturating_sub(U256::from(1 + rng.below(1000))),
            3 => exact.saturating_add(U256::one()),
            4 => exact / U256::from(2),
            _ => self.amount(rng, if zero_for_one { TOKEN } else { WETH }, PAIR),
        };
        if rng.chance(90) {
            let data = abi(0xa9059cbb, &[word(PAIR), amount_in]);
            call(rng, code, tin, 0.into(), &data, 32);
        }
        let (out0, out1) = if zero_for_one {
            (U256::zero(), out)
        } else {
            (out, U256::zero())
        };
        let to = if rng.chance(60) { me } else { to };
        // swap(uint amount0Out, uint amount1Out, address to, bytes data), data empty.
        let data = abi(0x022c0d9f, &[out0, out1, word(to), 0x80.into(), 0.into()]);
        call(rng, code, PAIR, 0.into(), &data, 0);
    }

    /// The audit before a program's ending: the balances of the executing account and the
    /// pair in each token and the pair's reserves, their return data hashed into slot
    /// `0x1ff` and the calls' success flags summed into `0x1fe`.
    pub fn audit(&self, code: &mut Vec<u8>) {
        let me = addr(SELF);
        let calls = [
            (WETH, abi(0x70a08231, &[word(me)])),
            (WETH, abi(0x70a08231, &[word(PAIR)])),
            (TOKEN, abi(0x70a08231, &[word(me)])),
            (TOKEN, abi(0x70a08231, &[word(PAIR)])),
            (PAIR, abi(0x70a08231, &[word(me)])),
            (PAIR, 0x0902f1acu32.to_be_bytes().to_vec()),
        ];
        const AUDIT: u64 = 0x400;
        for (i, (target, data)) in calls.iter().enumerate() {
            let out = AUDIT + 32 * i as u64;
            write_memory(code, 0x300, data);
            // CALL(gas, target, 0, 0x300, len, out, 32 or 64)
            push(code, U256::from(if i == 5 { 64 } else { 32 }));
            push(code, out.into());
            push(code, U256::from(data.len()));
            push(code, 0x300.into());
            code.push(opcode::PUSH0);
            push(code, word(*target));
            push(code, 100_000.into());
            code.push(opcode::CALL);
            if i > 0 {
                code.push(opcode::ADD);
            }
        }
        push(code, 0x1fe.into());
        code.push(opcode::SSTORE);
        push(code, U256::from(32 * calls.len() as u64 + 32));
        push(code, AUDIT.into());
        code.push(opcode::KECCAK256);
        push(code, 0x1ff.into());
        code.push(opcode::SSTORE);
    }
}

fn pick(rng: &mut (impl Choices + ?Sized), list: &[Address]) -> Address {
    list[rng.below(list.len() as u64) as usize]
}

/// `token.transfer(to, amount)`, recorded.
fn transfer(
    rng: &mut (impl Choices + ?Sized),
    code: &mut Vec<u8>,
    token: Address,
    to: Address,
    amount: U256,
) {
    call(
        rng,
        code,
        token,
        0.into(),
        &abi(0xa9059cbb, &[word(to), amount]),
        32,
    );
}

/// ABI call data: the selector, then each argument as a word.
fn abi(selector: u32, args: &[U256]) -> Vec<u8> {
    let mut data = selector.to_be_bytes().to_vec();
    for a in args {
        data.extend_from_slice(&a.to_big_endian());
    }
    data
}

/// MSTOREs that write `data` at `base` (the last word zero-padded).
fn write_memory(code: &mut Vec<u8>, base: u64, data: &[u8]) {
    for (i, chunk) in data.chunks(32).enumerate() {
        let mut w = [0u8; 32];
        w[..chunk.len()].copy_from_slice(chunk);
        push(code, U256::from_big_endian(&w));
        push(code, U256::from(base + 32 * i as u64));
        code.push(opcode::MSTORE);
    }
}

/// A call of `target` with `data` (written at a memory base), its output to the same base;
/// the success flag stored at an even slot of `0x100..0x120` and the keccak of the whole
/// return data at the slot after it. A call without value is sometimes a STATICCALL, which
/// a view passes and a state change fails.
fn call(
    rng: &mut (impl Choices + ?Sized),
    code: &mut Vec<u8>,
    target: Address,
    value: U256,
    data: &[u8],
    out_size: u64,
) {
    let base = [0x80u64, 0x200, 0x1000][rng.below(3) as usize];
    let slot = U256::from(0x100 + 2 * rng.below(16));
    write_memory(code, base, data);
    push(code, out_size.into());
    push(code, base.into());
    push(code, U256::from(data.len()));
    push(code, base.into());
    let kind = if value.is_zero() && rng.chance(10) {
        opcode::STATICCALL
    } else {
        push(code, value);
        opcode::CALL
    };
    push(code, word(target));
    match rng.below(4) {
        0 | 1 => code.push(opcode::GAS),
        2 => push(code, 400_000.into()),
        _ => push(code, U256::from(20_000 + rng.below(60_000))),
    }
    code.push(kind);
    push(code, slot);
    code.push(opcode::SSTORE);
    // keccak(return data) at slot + 1.
    code.extend_from_slice(&[opcode::RETURNDATASIZE, opcode::PUSH0]);
    push(code, base.into());
    code.extend_from_slice(&[opcode::RETURNDATACOPY, opcode::RETURNDATASIZE]);
    push(code, base.into());
    code.push(opcode::KECCAK256);
    push(code, slot + U256::one());
    code.push(opcode::SSTORE);
}
