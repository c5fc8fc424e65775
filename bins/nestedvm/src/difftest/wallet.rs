//! The wallet of the on-chain harness: the contract at the executing account that
//! DELEGATECALLs the hypervisor with its call data (the guest code). The guest can see it
//! (EXTCODEHASH, calls to itself), so `hyvm` cases hold the same code there as the oracle.

use nestedvm::run::DEFAULT_HYPERVISOR;

/// The wallet's code: forwards its call data to the hypervisor at `0x…4879` by DELEGATECALL
/// with exactly `gas` gas, then returns or reverts with the return data.
/// ```text
/// 00: 36                 CALLDATASIZE
/// 01: 6000 6000          PUSH1 0, PUSH1 0
/// 05: 37                 CALLDATACOPY          mem[0..cds] = calldata
/// 06: 6000 6000          PUSH1 0 (retSize), PUSH1 0 (retOffset)
/// 0a: 36                 CALLDATASIZE (argsSize)
/// 0b: 6000               PUSH1 0 (argsOffset)
/// 0d: 73 <HYPERVISOR>    PUSH20 address
/// 22: 67 <gas>           PUSH8 gas (big-endian)
/// 2b: f4                 DELEGATECALL
/// 2c: 3d 6000 6000 3e    RETURNDATACOPY(0, 0, RETURNDATASIZE)
/// 32: 6039 57            PUSH1 0x39, JUMPI     (success -> 0x39)
/// 35: 3d 6000 fd         REVERT(0, RETURNDATASIZE)
/// 39: 5b 3d 6000 f3      JUMPDEST, RETURN(0, RETURNDATASIZE)
/// ```
pub fn wallet_code(gas: u64) -> Vec<u8> {
    let mut c = vec![0x36, 0x60, 0x00, 0x60, 0x00, 0x37];
    c.extend_from_slice(&[0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00]);
    c.push(0x73);
    c.extend_from_slice(DEFAULT_HYPERVISOR.as_bytes());
    c.push(0x67);
    c.extend_from_slice(&gas.to_be_bytes());
    c.push(0xf4);
    c.extend_from_slice(&[0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e]);
    c.extend_from_slice(&[0x60, 0x39, 0x57]);
    c.extend_from_slice(&[0x3d, 0x60, 0x00, 0xfd]);
    c.extend_from_slice(&[0x5b, 0x3d, 0x60, 0x00, 0xf3]);
    c
}
