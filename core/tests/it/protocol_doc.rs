//! The worked example in `docs/PROTOCOL.md` is computed, not typed: this test rebuilds it and
//! checks every hex value the document shows. Print the current values with
//! `cargo test -p plasma-core --test it protocol_doc -- --nocapture`.

use std::path::PathBuf;

use alloy_primitives::{U256, address, keccak256};
use plasma_core::{Block, Deposit, Domain, ETH, Output, SignedTransaction, Transaction};
use plasma_merkle::leaf_hash;

use crate::common::{key, pos};

/// The example: Alice (anvil key 0) spends her 1 ETH deposit output at block 1001, paying Bob
/// 0.4 ETH and herself 0.59 ETH, with a 0.01 ETH fee, on chain 31337, contract
/// 0x5FbDB2315678afecb367f032d93F642f64180aa3 (anvil's first deployment address).
pub(crate) fn example() -> Vec<(&'static str, String)> {
    let alice = key(0);
    let bob = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let domain = Domain::new(
        31337,
        address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    );
    let eth = |milli: u64| U256::from(milli) * U256::from(10u64.pow(15));
    let deposit = Deposit {
        blknum: 1001,
        owner: alice.address(),
        token: ETH,
        amount: eth(1000),
    };
    let coin = deposit.utxo_pos().unwrap();
    assert_eq!(coin, pos(1001, 0, 0));
    let tx = Transaction::payment(
        vec![coin],
        vec![
            Output::new(bob, ETH, eth(400)),
            Output::new(alice.address(), ETH, eth(590)),
        ],
    );
    let signed = SignedTransaction::sign(tx.clone(), &domain, &alice).unwrap();
    let block = Block::new(2000, 0, vec![signed.clone()]).unwrap();
    // The document says a lone transaction's proof is the zero hashes of levels 0..16.
    let proof = block.merkle_tree().unwrap().proof(0).unwrap();
    assert_eq!(proof.siblings()[..], plasma_merkle::ZERO_HASHES[..16]);
    vec![
        ("deposit utxoPos", coin.to_string()),
        (
            "deposit txBytes",
            deposit.transaction().encode().to_string(),
        ),
        ("deposit block root", deposit.block_root().to_string()),
        ("txBytes", tx.encode().to_string()),
        ("txHash", tx.hash().to_string()),
        ("domain separator", domain.separator().to_string()),
        (
            "hashStruct(tx)",
            plasma_core::eip712::struct_hash(&tx).to_string(),
        ),
        (
            "EIP-712 digest",
            tx.signing_hash(&domain.separator()).to_string(),
        ),
        ("signature", signed.signatures()[0].to_string()),
        ("leaf", leaf_hash(&tx.encode()).to_string()),
        ("block 2000 root", block.root.to_string()),
        ("output 0 utxoPos", pos(2000, 0, 0).to_string()),
        ("keccak256(0x00)", keccak256([0u8]).to_string()),
    ]
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "prints the current values for updating the document"
)]
fn worked_example_in_protocol_md_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md");
    let doc = std::fs::read_to_string(&path).expect("docs/PROTOCOL.md exists");
    let missing: Vec<String> = example()
        .into_iter()
        .inspect(|(name, value)| println!("{name}: {value}"))
        .filter(|(_, value)| !doc.contains(value.as_str()))
        .map(|(name, value)| format!("{name} = {value}"))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/PROTOCOL.md lacks the current values: {missing:#?}"
    );
}
