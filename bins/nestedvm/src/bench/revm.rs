//! revm as a timed engine (cargo feature `revm`): the oracle's pre-state and transaction,
//! revm's EVM built once, one `transact` per run.

use super::measure::{has_pre_state, Checked, FORK};
use crate::engines::{Oracle, ToolEngine};
use crate::observed::Observed;
use crate::oracle::hyvm_onchain::{self, HyvmRequest};
use crate::oracle::revm::{self as oracle_revm, OracleRequest};
use crate::oracle::PreparedCall;
use nestedvm::{Profile, Request, Status};
use revm::context::result::ExecutionResult;
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::MainnetContext;
use revm::{Context, ExecuteEvm, MainBuilder, MainContext, MainnetEvm};
use std::hint::black_box;

/// revm's EVM over one pre-state, running one transaction again and again.
pub struct RevmRunner {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    tx: TxEnv,
}

impl RevmRunner {
    /// A runner of `request` in `profile` (in `hyvm`, through the deployed hypervisor), and
    /// the top frame's figures as the oracle reports them (its run under an inspector gives
    /// the frame's gas), with the state after the call when `request` has a pre-state (as
    /// [`OurRunner::check`](super::measure::OurRunner::check) dumps ours).
    pub fn new(profile: Profile, request: &Request) -> Result<(Self, Checked), String> {
        let (prepared, outcome, state) = match ToolEngine::Revm.oracle(profile) {
            Some(Oracle::Revm) => {
                let req = OracleRequest::from_request(FORK, request);
                let (outcome, state) = oracle_revm::run_revm_with_state(&req)?;
                let state = has_pre_state(request).then_some(state);
                (oracle_revm::prepare(&req)?, outcome, state)
            }
            _ => {
                let req = HyvmRequest::from_request(FORK, false, request);
                let outcome = hyvm_onchain::run_hyvm(&req)?;
                (hyvm_onchain::prepare(&req)?, outcome, None)
            }
        };
        let checked = Checked {
            observed: Observed::from_oracle_outcome(&outcome, true),
            state,
        };
        let PreparedCall { db, cfg, block, tx } = prepared;
        let evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        Ok((RevmRunner { evm, tx }, checked))
    }

    /// Runs the transaction once and checks it against `observed` (the oracle's figures, as
    /// [`RevmRunner::new`] returned them) on success and output: the inspector the oracle
    /// runs under must not have changed what the timed path does.
    pub fn check(&mut self, observed: &Observed) -> Result<(), String> {
        let result = self.transact()?;
        // A halted hypervisor frame makes the wallet revert with its (empty) return data.
        let (success, output) = match &result {
            ExecutionResult::Success { output, .. } => (true, output.data().to_vec()),
            ExecutionResult::Revert { output, .. } => (false, output.to_vec()),
            ExecutionResult::Halt { .. } => (false, Vec::new()),
        };
        if success != (observed.status == Status::Success) || output != observed.output {
            return Err(format!(
                "revm: the timed transaction ({}, output {}) differs from the oracle's run ({})",
                if success { "success" } else { "failure" },
                nestedvm::output::hex0x(&output),
                observed.result_line()
            ));
        }
        Ok(())
    }

    fn transact(&mut self) -> Result<ExecutionResult, String> {
        self.evm
            .transact(self.tx.clone())
            .map(|r| r.result)
            .map_err(|e| format!("revm rejected the transaction: {e:?}"))
    }

    /// Runs the transaction once (the timed path); its state changes are dropped, never
    /// committed.
    pub fn run(&mut self) {
        let _ = black_box(self.evm.transact(self.tx.clone()));
    }
}
