//! Differential tests: the contract's canonical decoder and EIP-712 digest (`txDigest`) against
//! `plasma-core` on random and mutated transactions. Both must accept exactly the same byte
//! strings and give the same digest.

use std::cell::Cell;

use alloy::primitives::{Address, B256, Bytes, U256};
use plasma_contracts::test_utils::TestChain;
use plasma_core::{Output, Transaction, UtxoPos};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn transaction() -> impl Strategy<Value = Transaction> {
    let pos = (1u64..20_000_000, 0u64..65_536, 0u64..4)
        .prop_map(|(b, t, o)| UtxoPos::new(b, t, o).unwrap());
    let output =
        (any::<[u8; 20]>(), any::<bool>(), any::<[u8; 32]>()).prop_map(|(owner, eth, amount)| {
            let token = if eth {
                Address::ZERO
            } else {
                Address::repeat_byte(0x70)
            };
            Output::new(Address::from(owner), token, U256::from_be_bytes(amount))
        });
    (
        prop::collection::vec(pos, 0..=4),
        prop::collection::vec(output, 1..=4),
        any::<[u8; 32]>(),
    )
        .prop_map(|(inputs, outputs, metadata)| Transaction {
            inputs,
            outputs,
            metadata: B256::from(metadata),
        })
}

/// A canonical encoding, or one with a flipped byte, a cut or an extension.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        transaction(),
        0u8..4,
        any::<prop::sample::Index>(),
        1u8..=255,
        1usize..40,
    )
        .prop_map(|(tx, mutation, at, flip, n)| {
            let mut bytes = tx.encode().to_vec();
            let len = bytes.len();
            match mutation {
                0 => {}
                1 => bytes[at.index(len)] ^= flip,
                2 => bytes.truncate(len - n.min(len)),
                _ => bytes.extend(std::iter::repeat_n(flip, n)),
            }
            bytes
        })
}

#[test]
fn contract_and_core_accept_the_same_bytes_with_the_same_digest() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let chain = runtime.block_on(TestChain::start(3600, U256::ZERO));
    let contract = chain.contract();
    let separator = chain.domain().separator();
    let mut runner = TestRunner::new(Config {
        cases: 160,
        ..Config::default()
    });
    let (accepted, rejected) = (Cell::new(0), Cell::new(0));
    runner
        .run(&bytes(), |bytes| {
            let ours = Transaction::decode(&bytes);
            let theirs = runtime
                .block_on(async { contract.txDigest(Bytes::from(bytes.clone())).call().await });
            match (&ours, &theirs) {
                (Ok(tx), Ok(digest)) => {
                    accepted.set(accepted.get() + 1);
                    prop_assert_eq!(tx.signing_hash(&separator), *digest);
                }
                (Err(_), Err(_)) => rejected.set(rejected.get() + 1),
                _ => prop_assert!(
                    false,
                    "core {ours:?} vs contract {theirs:?} on {}",
                    Bytes::from(bytes)
                ),
            }
            Ok(())
        })
        .unwrap();
    // Both kinds must have occurred, or the test proved nothing.
    let (accepted, rejected) = (accepted.get(), rejected.get());
    assert!(
        accepted > 20 && rejected > 20,
        "accepted {accepted}, rejected {rejected}"
    );
}
