//! Shared helpers: keys, a reference ABI definition, proptest strategies.

use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use plasma_core::{Output, Transaction, UtxoPos};
use proptest::prelude::*;

/// The independent definition of the structs, by alloy's `sol!` macro.
pub(crate) mod sol {
    alloy_sol_types::sol! {
        #[derive(Debug, PartialEq)]
        struct Output { uint256 outputType; address owner; address token; uint256 amount; }
        #[derive(Debug, PartialEq)]
        struct Transaction { uint256 txType; uint256[] inputs; Output[] outputs; bytes32 metadata; }
    }
}

/// The same transaction as alloy's `sol!` struct.
pub(crate) fn to_sol(tx: &Transaction) -> sol::Transaction {
    sol::Transaction {
        txType: U256::from(1),
        inputs: tx.inputs.iter().map(|p| p.to_u256()).collect(),
        outputs: tx
            .outputs
            .iter()
            .map(|o| sol::Output {
                outputType: U256::from(1),
                owner: o.owner,
                token: o.token,
                amount: o.amount,
            })
            .collect(),
        metadata: tx.metadata,
    }
}

/// anvil's well-known development keys (public knowledge; never use them with real funds).
pub(crate) const ANVIL_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdba365a",
];

pub(crate) fn key(i: usize) -> PrivateKeySigner {
    ANVIL_KEYS[i].parse().unwrap()
}

pub(crate) fn pos(blknum: u64, tx_index: u64, output_index: u64) -> UtxoPos {
    UtxoPos::new(blknum, tx_index, output_index).unwrap()
}

pub(crate) fn utxo_pos() -> impl Strategy<Value = UtxoPos> {
    (1u64..20_000_000, 0u64..65_536, 0u64..4).prop_map(|(b, t, o)| UtxoPos::new(b, t, o).unwrap())
}

pub(crate) fn output() -> impl Strategy<Value = Output> {
    (
        any::<[u8; 20]>(),
        prop_oneof![Just([0u8; 20]), any::<[u8; 20]>()],
        prop_oneof![
            any::<u64>().prop_map(U256::from),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes)
        ],
    )
        .prop_map(|(owner, token, amount)| {
            Output::new(Address::from(owner), Address::from(token), amount)
        })
}

/// Any transaction obeying the form rules.
pub(crate) fn transaction() -> impl Strategy<Value = Transaction> {
    (
        prop::collection::vec(utxo_pos(), 0..=4),
        prop::collection::vec(output(), 1..=4),
        any::<[u8; 32]>(),
    )
        .prop_map(|(inputs, outputs, metadata)| Transaction {
            inputs,
            outputs,
            metadata: B256::from(metadata),
        })
}
