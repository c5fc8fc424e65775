//! The JSON of ethereum/tests GeneralStateTests, as serde types. Numbers and byte strings are
//! hex text; a field that does not parse makes the whole file malformed, with serde's line and
//! column.

use nestedvm::parse::{parse_address, parse_hex, parse_u256};
use nestedvm::{Address, B256, U256};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A test file: test name to test.
pub type TestFile = BTreeMap<String, TestCase>;

/// A 256-bit number written as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(pub U256);

impl Quantity {
    /// The value as a `u64`, saturating (a gas limit past 2^64 is invalid in any block anyway).
    pub fn saturating_u64(self) -> u64 {
        u64::try_from(self.0).unwrap_or(u64::MAX)
    }
}

/// Implements `Deserialize` for a type written as a JSON string, parsed by `$parse`.
macro_rules! deserialize_from_text {
    ($ty:ty, $parse:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let parse: fn(&str) -> Result<$ty, String> = $parse;
                parse(&s).map_err(D::Error::custom)
            }
        }
    };
}

deserialize_from_text!(Quantity, |s| parse_u256("number", s).map(Quantity));

/// Bytes written as hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

deserialize_from_text!(HexBytes, |s| parse_hex("bytes", s).map(HexBytes));

/// An address written as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HexAddress(pub Address);

deserialize_from_text!(HexAddress, |s| parse_address("address", s).map(HexAddress));

/// A 32-byte hash written as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HexHash(pub B256);

deserialize_from_text!(HexHash, |s| {
    let bytes = parse_hex("hash", s)?;
    if bytes.len() != 32 {
        return Err(format!("hash: 32 bytes expected, got {}", bytes.len()));
    }
    Ok(HexHash(B256::from_slice(&bytes)))
});

/// One test: a pre-state, a block, a transaction with variants, and results per fork.
#[derive(Clone, Debug, Deserialize)]
pub struct TestCase {
    /// The block.
    pub env: TestEnv,
    /// Accounts before the transaction.
    pub pre: BTreeMap<HexAddress, TestAccount>,
    /// The transaction, with its data, gas and value variants.
    pub transaction: TestTransaction,
    /// Fork name to the expected results of each variant run at it.
    pub post: BTreeMap<String, Vec<PostEntry>>,
}

/// The block of a test.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestEnv {
    /// COINBASE.
    pub current_coinbase: HexAddress,
    /// Block gas limit.
    pub current_gas_limit: Quantity,
    /// Block number.
    pub current_number: Quantity,
    /// Timestamp.
    pub current_timestamp: Quantity,
    /// Base fee (London on).
    pub current_base_fee: Option<Quantity>,
    /// PREVRANDAO (Paris on).
    pub current_random: Option<Quantity>,
    /// Difficulty (the PREVRANDAO of tests without `currentRandom`).
    pub current_difficulty: Option<Quantity>,
    /// Excess blob gas (Cancun on).
    pub current_excess_blob_gas: Option<Quantity>,
}

/// An account of the pre-state.
#[derive(Clone, Debug, Deserialize)]
pub struct TestAccount {
    /// Balance.
    pub balance: Quantity,
    /// Code.
    #[serde(default)]
    pub code: HexBytes,
    /// Nonce.
    pub nonce: Quantity,
    /// Storage.
    #[serde(default)]
    pub storage: BTreeMap<Quantity, Quantity>,
}

/// An access-list entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListItem {
    /// The address.
    pub address: HexAddress,
    /// Its storage keys.
    pub storage_keys: Vec<Quantity>,
}

/// The transaction of a test: one of each field, or a list indexed by a post entry's
/// `indexes` (data, gas, value).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestTransaction {
    /// Call data (or init code) variants.
    pub data: Vec<HexBytes>,
    /// Gas limit variants.
    pub gas_limit: Vec<Quantity>,
    /// Value variants.
    pub value: Vec<Quantity>,
    /// Access lists, one per data variant (absent: no access list).
    #[serde(default)]
    pub access_lists: Option<Vec<Option<Vec<AccessListItem>>>>,
    /// Legacy gas price.
    pub gas_price: Option<Quantity>,
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: Option<Quantity>,
    /// EIP-1559 priority fee cap.
    pub max_priority_fee_per_gas: Option<Quantity>,
    /// EIP-4844 blob fee cap.
    pub max_fee_per_blob_gas: Option<Quantity>,
    /// EIP-4844 versioned hashes.
    #[serde(default)]
    pub blob_versioned_hashes: Vec<Quantity>,
    /// EIP-7702 authorizations (a set-code transaction).
    pub authorization_list: Option<Vec<TestAuthorization>>,
    /// Nonce.
    pub nonce: Quantity,
    /// The sender; derived from `secretKey` when absent.
    pub sender: Option<HexAddress>,
    /// The sender's secret key.
    pub secret_key: Option<HexBytes>,
    /// The called account; empty for a creation.
    #[serde(default, deserialize_with = "optional_address")]
    pub to: Option<HexAddress>,
}

/// An EIP-7702 authorization tuple.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestAuthorization {
    /// Chain id (0: any).
    pub chain_id: Quantity,
    /// The delegate.
    pub address: HexAddress,
    /// The authority's nonce.
    pub nonce: Quantity,
    /// Signature parity.
    pub y_parity: Option<Quantity>,
    /// Signature parity under its older name.
    pub v: Option<Quantity>,
    /// Signature `r`.
    pub r: Quantity,
    /// Signature `s`.
    pub s: Quantity,
}

fn optional_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HexAddress>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") | Some("0x") => Ok(None),
        Some(t) => parse_address("to", t)
            .map(|a| Some(HexAddress(a)))
            .map_err(D::Error::custom),
    }
}

/// Which variant of the transaction a post entry is for.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Indexes {
    /// Index into `data` (and `accessLists`).
    pub data: usize,
    /// Index into `gasLimit`.
    pub gas: usize,
    /// Index into `value`.
    pub value: usize,
}

/// The expected result of one variant at one fork.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostEntry {
    /// The state root after the transaction.
    pub hash: HexHash,
    /// Keccak of the RLP list of logs.
    pub logs: HexHash,
    /// The variant.
    pub indexes: Indexes,
    /// Set when the transaction must be rejected as invalid.
    pub expect_exception: Option<String>,
}
