//! The EIP-712 digest against alloy's independent implementation on a `sol!` struct.

use alloy_primitives::{Address, U256, address};
use alloy_sol_types::{SolStruct, eip712_domain};
use plasma_core::eip712::{output_hash, signing_hashes, struct_hash};
use plasma_core::{Domain, SignedTransaction, Transaction};
use proptest::prelude::*;

use crate::common::{key, to_sol, transaction};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn digest_equals_alloy_eip712_signing_hash(
        tx in transaction(),
        chain_id in any::<u64>(),
        contract in any::<[u8; 20]>(),
    ) {
        let contract = Address::from(contract);
        let ours = Domain::new(chain_id, contract);
        let theirs = eip712_domain! {
            name: "Plasma",
            version: "1",
            chain_id: chain_id,
            verifying_contract: contract,
        };
        let sol = to_sol(&tx);
        prop_assert_eq!(ours.separator(), theirs.separator());
        prop_assert_eq!(struct_hash(&tx), sol.eip712_hash_struct());
        for (output, sol_output) in tx.outputs.iter().zip(&sol.outputs) {
            prop_assert_eq!(output_hash(output), sol_output.eip712_hash_struct());
        }
        prop_assert_eq!(
            tx.signing_hash(&ours.separator()),
            sol.eip712_signing_hash(&theirs)
        );
    }
}

#[test]
fn a_signature_for_another_chain_or_contract_recovers_to_someone_else() {
    let alice = key(0);
    let contract = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    let tx = Transaction::payment(
        vec![crate::common::pos(1000, 0, 0)],
        vec![plasma_core::Output::new(
            alice.address(),
            Address::ZERO,
            U256::from(1),
        )],
    );
    let signed = SignedTransaction::sign(tx.clone(), &Domain::new(1, contract), &alice).unwrap();
    let signature = signed.signatures()[0];
    let here = tx.signing_hash(&Domain::new(1, contract).separator());
    assert_eq!(signature.recover(&here), Ok(alice.address()));
    for other in [
        Domain::new(31337, contract),
        Domain::new(1, Address::repeat_byte(1)),
    ] {
        let digest = tx.signing_hash(&other.separator());
        assert_ne!(signature.recover(&digest), Ok(alice.address()), "{other:?}");
    }
}

proptest! {
    /// The digests of many transactions hashed together are each one's digest: any mix of
    /// input and output counts (inputs may be empty, as in a deposit), any batch size across
    /// the eight-lane groups and the one-by-one tail.
    #[test]
    fn digests_hashed_together_are_each_ones_digest(
        txs in prop::collection::vec(transaction(), 0..40),
        separator in any::<[u8; 32]>(),
    ) {
        let separator = alloy_primitives::B256::from(separator);
        let refs: Vec<&Transaction> = txs.iter().collect();
        let together = signing_hashes(&refs, &separator);
        let one_by_one: Vec<_> = txs.iter().map(|tx| tx.signing_hash(&separator)).collect();
        prop_assert_eq!(together, one_by_one);
    }
}
