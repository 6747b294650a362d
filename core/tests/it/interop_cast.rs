//! Interoperability with a standard wallet: a transaction exported as `eth_signTypedData_v4`
//! JSON and signed by `cast wallet sign --data` (foundry's cast, from the repo's
//! `node_modules`) recovers in `plasma-core` to the signer — and equals our own signature, as
//! both sign deterministically (RFC 6979).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use alloy_primitives::{Address, B256, U256, address};
use plasma_core::{Domain, Output, SignedTransaction, Transaction, TxSignature};

use crate::common::{key, pos};

/// The cast binary: `$PLASMA_CAST`, or the native binary `scripts/setup` installs.
fn cast() -> PathBuf {
    if let Some(path) = std::env::var_os("PLASMA_CAST") {
        return path.into();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    assert!(
        path.exists(),
        "cast not found at {}: run scripts/setup (or set PLASMA_CAST)",
        path.display()
    );
    path
}

fn cast_sign(typed_data: &serde_json::Value, private_key: &str) -> TxSignature {
    let dir = std::env::temp_dir().join(format!("plasma-core-cast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let file = dir.join(format!("{}.json", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&file, serde_json::to_vec(typed_data).unwrap()).unwrap();
    let out = Command::new(cast())
        .args([
            "wallet",
            "sign",
            "--data",
            "--from-file",
            "--private-key",
            private_key,
        ])
        .arg(&file)
        .output()
        .expect("cast runs");
    std::fs::remove_file(&file).ok();
    assert!(
        out.status.success(),
        "cast failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn transactions() -> Vec<Transaction> {
    let bob = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let token = address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
    vec![
        Transaction::payment(
            vec![pos(1000, 0, 0)],
            vec![
                Output::new(bob, Address::ZERO, U256::from(400_000_000_000_000_000u64)),
                Output::new(Address::repeat_byte(0xaa), Address::ZERO, U256::from(1)),
            ],
        ),
        Transaction {
            inputs: vec![
                pos(2000, 65_535, 3),
                pos(1001, 0, 0),
                pos(3000, 17, 1),
                pos(4000, 1, 2),
            ],
            outputs: vec![
                Output::new(bob, token, U256::MAX),
                Output::new(bob, Address::ZERO, U256::from(u64::MAX) + U256::from(1)),
                Output::new(Address::repeat_byte(1), token, U256::from(3)),
                Output::new(Address::repeat_byte(2), token, U256::from(4)),
            ],
            metadata: B256::repeat_byte(0x5a),
        },
        // A deposit-shaped transaction: no inputs.
        Transaction {
            inputs: vec![],
            outputs: vec![Output::new(bob, Address::ZERO, U256::from(5))],
            metadata: B256::from(U256::from(1001)),
        },
    ]
}

#[test]
fn cast_signs_our_typed_data_and_we_recover_the_signer() {
    let domain = Domain::new(
        31337,
        address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    );
    let separator = domain.separator();
    for (i, tx) in transactions().into_iter().enumerate() {
        let signer = key(i % 3);
        let typed = tx.typed_data(&domain);
        let theirs = cast_sign(&typed, crate::common::ANVIL_KEYS[i % 3]);
        let digest = tx.signing_hash(&separator);
        assert_eq!(theirs.recover(&digest), Ok(signer.address()), "tx {i}");

        // RFC 6979: the same key over the same digest gives the same signature, so cast
        // and plasma-core must agree on the digest byte for byte.
        let ours = SignedTransaction::sign(tx.clone(), &domain, &signer).unwrap();
        if let Some(first) = ours.signatures().first() {
            assert_eq!(*first, theirs, "tx {i}");
        }
        assert_eq!(
            TxSignature::sign(&signer, &digest).unwrap(),
            theirs,
            "tx {i}"
        );
    }
}

#[test]
fn cast_signature_for_another_domain_does_not_recover_to_the_signer() {
    let contract = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    let tx = transactions().remove(0);
    let typed = tx.typed_data(&Domain::new(1, contract));
    let sig = cast_sign(&typed, crate::common::ANVIL_KEYS[0]);
    let here = tx.signing_hash(&Domain::new(31337, contract).separator());
    assert_ne!(sig.recover(&here), Ok(key(0).address()));
}
