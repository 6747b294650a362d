//! Criterion benchmarks of the hot path: decode + recover + validate of a 1-input payment, and
//! its parts. Run with `cargo bench -p plasma-core`; figures are in `docs/PERFORMANCE.md`.

#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use criterion::{Criterion, criterion_group, criterion_main};
use plasma_core::{
    Domain, ETH, Output, Rules, SignedTransaction, Transaction, TxSignature, UtxoPos, validate,
};

fn benches(c: &mut Criterion) {
    let alice = PrivateKeySigner::from_bytes(&[0x11; 32].into()).unwrap();
    let domain = Domain::new(31337, Address::repeat_byte(0xcc));
    let rules = Rules {
        domain_separator: domain.separator(),
        min_fee: U256::from(1),
    };
    let coin = UtxoPos::new(1000, 7, 0).unwrap();
    let utxos = HashMap::from([(
        coin,
        Output::new(alice.address(), ETH, U256::from(1_000_000)),
    )]);
    let tx = Transaction::payment(
        vec![coin],
        vec![
            Output::new(Address::repeat_byte(0xb0), ETH, U256::from(400_000)),
            Output::new(alice.address(), ETH, U256::from(599_990)),
        ],
    );
    let signed = SignedTransaction::sign(tx.clone(), &domain, &alice).unwrap();
    let bytes = signed.bytes().clone();
    let signatures: Vec<TxSignature> = signed.signatures().to_vec();
    let digest = tx.signing_hash(&rules.domain_separator);

    let mut group = c.benchmark_group("core");
    group.bench_function("decode_recover_validate_1in_2out", |b| {
        b.iter(|| {
            let tx = SignedTransaction::decode(black_box(&bytes), signatures.clone()).unwrap();
            validate(&tx, &utxos, &rules).unwrap()
        })
    });
    group.bench_function("decode_1in_2out", |b| {
        b.iter(|| Transaction::decode(black_box(&bytes)).unwrap())
    });
    group.bench_function("encode_1in_2out", |b| b.iter(|| black_box(&tx).encode()));
    group.bench_function("eip712_signing_hash_1in_2out", |b| {
        b.iter(|| black_box(&tx).signing_hash(&rules.domain_separator))
    });
    group.bench_function("recover_signer_libsecp256k1", |b| {
        b.iter(|| signatures[0].recover(black_box(&digest)).unwrap())
    });
    // For scale: the pure-Rust k256 recovery alloy uses by default, on the same signature.
    let alloy_signature = alloy_primitives::Signature::from_raw(signatures[0].as_bytes()).unwrap();
    group.bench_function("recover_signer_k256_for_comparison", |b| {
        b.iter(|| {
            alloy_signature
                .recover_address_from_prehash(black_box(&digest))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
