//! Criterion benchmarks of what the operator does with a submit body before any rule is
//! checked: a batch of 500 payments decoded from the JSON form and from the binary form, beside
//! one signer recovery (the unit cost the operator cannot avoid) measured in the same run. Run
//! with `cargo bench --profile release -p plasma-api --bench submit`; figures in
//! `docs/PERFORMANCE.md`.

#![allow(missing_docs)]

use std::hint::black_box;

use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plasma_api::{Submission, SubmitEncoding, decode_submission_as};
use plasma_core::{Domain, ETH, Output, SignedTransaction, Transaction, UtxoPos};

/// Transactions per batch, as `plasma-loadgen` sends by default.
const BATCH: usize = 500;

fn benches(c: &mut Criterion) {
    let alice = PrivateKeySigner::from_bytes(&[0x11; 32].into()).unwrap();
    let domain = Domain::new(31337, Address::repeat_byte(0xcc));
    let txs: Vec<SignedTransaction> = (0..BATCH as u64)
        .map(|i| {
            let tx = Transaction::payment(
                vec![UtxoPos::new(1000 + i * 1000, i, 0).unwrap()],
                vec![
                    Output::new(Address::repeat_byte(0xb0), ETH, U256::from(1_000)),
                    Output::new(alice.address(), ETH, U256::from(999_000_000 + i)),
                ],
            );
            SignedTransaction::sign(tx, &domain, &alice).unwrap()
        })
        .collect();

    let mut group = c.benchmark_group("submit");
    group.throughput(Throughput::Elements(BATCH as u64));
    for encoding in [SubmitEncoding::Json, SubmitEncoding::Binary] {
        let body = encoding.encode(&txs);
        let media_type = encoding.media_type();
        group.bench_function(format!("decode_batch_of_{BATCH}/{encoding:?}"), |b| {
            b.iter(|| {
                let Ok(Submission::Batch(items)) =
                    decode_submission_as(Some(media_type), black_box(&body))
                else {
                    panic!("the batch decodes");
                };
                assert!(items.iter().all(Result::is_ok));
                items
            })
        });
    }
    group.finish();

    // The unit cost of the same run: one signer recovery over a precomputed digest.
    let separator = domain.separator();
    let digest = txs[0].tx().signing_hash(&separator);
    let signature = txs[0].signatures()[0];
    c.bench_function("submit/recover_one_signer", |b| {
        b.iter(|| black_box(signature).recover(black_box(&digest)).unwrap())
    });
}

criterion_group!(group, benches);
criterion_main!(group);
