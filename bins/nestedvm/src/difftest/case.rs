//! One generated case: a program and the environment it runs in (gas, value, call data,
//! storage, the small world), for a profile, fork and hypervisor build.

use super::defi::RevmcWorld;
use super::gen::{program_in, rich_world_accounts, Choices, Rng};
use super::wallet::wallet_code;
use nestedvm::interp::{hyvm, opcode};
use nestedvm::{Account, Fork, Profile, Request, U256};

/// A program and everything else one comparison needs.
#[derive(Clone, Debug)]
pub struct Case {
    /// `hyvm` or `evm`.
    pub profile: Profile,
    /// The host fork.
    pub fork: Fork,
    /// The contract-verifier build (`hyvm` only).
    pub verifier: bool,
    /// The message call: code, gas, value, call data, storage, accounts.
    pub request: Request,
}

/// The contracts a case's program can call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum World {
    /// The small world of [`rich_world_accounts`].
    #[default]
    Small,
    /// The small world and the revmc fixtures' WETH, ERC-20 and Uniswap V2 pair with a
    /// usable pre-state ([`RevmcWorld`]), called with well-formed ABI call data.
    Revmc,
}

impl World {
    /// Every world, by name.
    pub const ALL: [(&'static str, World); 2] = [("small", World::Small), ("revmc", World::Revmc)];

    /// The world called `name`.
    pub fn parse(name: &str) -> Result<World, String> {
        World::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, w)| *w)
            .ok_or_else(|| format!("--world: `{name}` is none of small, revmc"))
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        World::ALL
            .iter()
            .find(|(_, w)| *w == self)
            .map_or("small", |(n, _)| n)
    }
}

/// The seed of case `index` of a campaign started from `seed`. Case 0's is `seed` itself, so
/// `--seed <case seed> --count 1` replays one case; the odd stride keeps nearby campaign seeds
/// from sharing cases (it is not the generator's own increment, which would shift streams).
pub fn case_seed(seed: u64, index: u64) -> u64 {
    seed.wrapping_add(index.wrapping_mul(0xd1b5_4a32_d192_ed03))
}

/// Whether the verifier build may run its call guard, whose gas the profile does not model
/// (docs/hyvm.md: that build is unmaintained on chain): any call opcode byte, push data
/// included, since `hyvm` jumps land inside push data.
pub fn reaches_call_guard(code: &[u8]) -> bool {
    code.iter()
        .any(|b| matches!(*b, opcode::CALL | opcode::STATICCALL | opcode::DELEGATECALL))
}

/// The wallet's storage before a `hyvm` call: sometimes a small slot; in the verifier build
/// also the verifier (usually the allowing one at `0x7e71`), an owner (none, the caller, or a
/// small number) and sometimes the re-entrancy slot.
pub fn hyvm_storage(rng: &mut (impl Choices + ?Sized), verifier: bool) -> Vec<(U256, U256)> {
    let mut storage = if rng.chance(30) {
        vec![(U256::from(rng.below(3)), U256::from(1 + rng.below(3)))]
    } else {
        vec![]
    };
    if verifier {
        if rng.chance(70) {
            storage.push((hyvm::VERIFIER_SLOT, U256::from(0x7e71)));
        }
        match rng.below(3) {
            0 => {}
            1 => storage.push((hyvm::OWNER_SLOT, U256::from(0xca11))),
            _ => storage.push((hyvm::OWNER_SLOT, U256::from(rng.below(3)))),
        }
        if rng.chance(30) {
            storage.push((hyvm::REENTRANCY_SLOT, U256::from(rng.below(4))));
        }
    }
    storage
}

impl Case {
    /// The case `choices` describe. In the verifier build a program that may reach the call
    /// guard is drawn again without GAS, which would see the guard's unmodelled cost, and
    /// runs with 5M gas.
    pub fn generate(
        choices: &mut (impl Choices + ?Sized),
        profile: Profile,
        fork: Fork,
        verifier: bool,
    ) -> Case {
        Case::generate_in(choices, profile, fork, verifier, World::Small)
    }

    /// [`Case::generate`] in `world`. In the revmc world, programs are longer, gas is
    /// 300000, 1M or (half the time) 5M (the contracts' calls cost tens of thousands each), and the
    /// executing account (the wallet in `hyvm`) holds 10 ether.
    pub fn generate_in(
        choices: &mut (impl Choices + ?Sized),
        profile: Profile,
        fork: Fork,
        verifier: bool,
        world: World,
    ) -> Case {
        let revmc = (world == World::Revmc).then(RevmcWorld::get);
        let len = 5 + choices.below(60) as usize;
        let mut code = program_in(choices, len, &[], Some(profile), revmc);
        if verifier && reaches_call_guard(&code) {
            code = program_in(choices, len, &[opcode::GAS], Some(profile), revmc);
        }
        let mut request = Request::new(code);
        request.gas = match revmc {
            None => [30_000, 100_000, 1_000_000, 5_000_000][choices.below(4) as usize],
            Some(_) => [300_000, 1_000_000, 5_000_000, 5_000_000][choices.below(4) as usize],
        };
        if verifier && reaches_call_guard(&request.code) {
            // The guard's unmodelled bookkeeping (copying the call's input into the
            // verifyCall arguments) runs a guest near its gas limit out of gas on chain where
            // ours goes on: its status, not only its gas, would differ. Ample gas keeps the
            // comparison on what is modelled (`tests/difftest.rs` pins the difference).
            request.gas = 5_000_000;
        }
        request.accounts = rich_world_accounts();
        if let Some(world) = revmc {
            request.accounts.extend(world.accounts.iter().cloned());
        }
        let self_balance = match revmc {
            Some(_) => RevmcWorld::self_balance(),
            None => U256::zero(),
        };
        request.value = U256::from(choices.below(3));
        match profile {
            Profile::Evm => {
                if revmc.is_some() {
                    // The executing account's ether; its code is the program's.
                    request
                        .accounts
                        .push((request.address, Account::new(self_balance, 1, Vec::new())));
                }
                request.calldata = (0..choices.below(70))
                    .map(|_| choices.next() as u8)
                    .collect();
                if choices.chance(30) {
                    request.storage =
                        vec![(U256::from(choices.below(4)), U256::from(choices.below(3)))];
                }
            }
            Profile::Hyvm => {
                request.storage = hyvm_storage(choices, verifier);
                // The wallet holds the on-chain harness's code, as the oracle's does.
                request.accounts.push((
                    request.address,
                    Account::new(self_balance, 1, wallet_code(request.gas)),
                ));
            }
        }
        Case {
            profile,
            fork,
            verifier,
            request,
        }
    }

    /// Case `index` of the campaign started from `seed`.
    pub fn nth(seed: u64, index: u64, profile: Profile, fork: Fork, verifier: bool) -> Case {
        Case::nth_in(seed, index, profile, fork, verifier, World::Small)
    }

    /// Case `index` of the campaign started from `seed` in `world`.
    pub fn nth_in(
        seed: u64,
        index: u64,
        profile: Profile,
        fork: Fork,
        verifier: bool,
        world: World,
    ) -> Case {
        let rng = &mut Rng(case_seed(seed, index));
        Case::generate_in(rng, profile, fork, verifier, world)
    }

    /// The same case running other code.
    pub fn with_code(&self, code: Vec<u8>) -> Case {
        let mut case = self.clone();
        case.request.code = code;
        case
    }
}
