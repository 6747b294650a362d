//! Helpers: building blocks and exit arguments from plasma-core and plasma-merkle.

use std::marker::PhantomData;

use alloy::contract::CallBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_signer_local::PrivateKeySigner;
use plasma_core::{Block, Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};

/// Sends a contract call and waits for its receipt, which must show success.
pub(crate) trait Mined {
    async fn mined(self) -> TransactionReceipt;
}

impl<P: Provider, C: SolCall> Mined for CallBuilder<P, PhantomData<C>> {
    async fn mined(self) -> TransactionReceipt {
        let receipt = self.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status(), "transaction reverted");
        receipt
    }
}

/// The only log of type `E` in `receipt`.
pub(crate) fn event<E: SolEvent>(receipt: &TransactionReceipt) -> E {
    let mut found = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data);
    let event = found.next().expect("event emitted");
    assert!(found.next().is_none(), "one event");
    event
}

/// A payment of `amount` wei from `from`'s output at `input` to `to`, with change.
pub(crate) fn payment(
    domain: &Domain,
    from: &PrivateKeySigner,
    input: UtxoPos,
    input_amount: U256,
    to: Address,
    amount: U256,
    fee: U256,
) -> SignedTransaction {
    let change = input_amount - amount - fee;
    let tx = Transaction::payment(
        vec![input],
        vec![
            Output::new(to, ETH, amount),
            Output::new(from.address(), ETH, change),
        ],
    );
    SignedTransaction::sign(tx, domain, from).unwrap()
}

/// `count` unrelated signed transactions, to fill a block around the one under test.
pub(crate) fn fillers(domain: &Domain, count: usize) -> Vec<SignedTransaction> {
    let someone = PrivateKeySigner::from_bytes(&[0x42; 32].into()).unwrap();
    (0..count as u64)
        .map(|i| {
            let input = UtxoPos::new(1, i, 0).unwrap();
            payment(
                domain,
                &someone,
                input,
                U256::from(10),
                Address::repeat_byte(9),
                U256::from(5),
                U256::ZERO,
            )
        })
        .collect()
}

/// `(txBytes, proof)` of transaction `index` of `block`, as `startStandardExit` takes them.
pub(crate) fn exit_args(block: &Block, index: usize) -> (Bytes, Bytes) {
    let proof = block.merkle_tree().unwrap().proof(index).unwrap();
    (
        block.transactions[index].bytes().clone(),
        Bytes::copy_from_slice(&proof.to_bytes()),
    )
}
