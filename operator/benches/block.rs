//! Block production on RocksDB: 65,536 pending transactions (1 input, 2 outputs) made into one
//! block — root, block, transactions, spent and created outputs, removal from pending — and
//! persisted in one write batch. Also: admitting those transactions in batches of 1,000
//! (validation with signature recovery plus the durable write).

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use criterion::{Criterion, criterion_group, criterion_main};
use plasma_core::{Deposit, Domain, ETH, Output, Rules, SignedTransaction, Transaction};
use plasma_operator::chain::{Chain, L1Event, MAX_BLOCK_TXS};
use plasma_operator::metrics::Metrics;
use plasma_operator::store::{Db, RocksStore};

/// A chain on a fresh RocksDB (fsync on, as the daemon's default) holding one deposit per
/// transaction, and the signed transactions spending them.
fn setup(
    domain: &Domain,
    alice: &PrivateKeySigner,
    n: usize,
) -> (tempfile::TempDir, Chain, Vec<SignedTransaction>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(dir.path(), true).expect("rocksdb");
    let rules = Rules {
        domain_separator: domain.separator(),
        min_fee: U256::ZERO,
    };
    let chain = Chain::open(
        Db::new(Arc::new(store)),
        rules,
        4 * MAX_BLOCK_TXS,
        Arc::new(Metrics::default()),
    )
    .expect("chain");
    let deposits: Vec<Deposit> = (1..=n as u64)
        .map(|blknum| Deposit {
            blknum,
            owner: alice.address(),
            token: ETH,
            amount: U256::from(1_000_000u64),
        })
        .collect();
    for (i, chunk) in deposits.chunks(4096).enumerate() {
        let events: Vec<L1Event> = chunk
            .iter()
            .map(|deposit| L1Event::Deposit {
                deposit: *deposit,
                timestamp: 1,
            })
            .collect();
        chain
            .apply_l1_events(&events, i as u64 + 1)
            .expect("deposits");
    }
    let bob = Address::repeat_byte(0xb0);
    let txs = deposits
        .iter()
        .map(|deposit| {
            let tx = Transaction::payment(
                vec![deposit.utxo_pos().expect("position")],
                vec![
                    Output::new(bob, ETH, U256::from(1u64)),
                    Output::new(alice.address(), ETH, U256::from(999_999u64)),
                ],
            );
            SignedTransaction::sign(tx, domain, alice).expect("signs")
        })
        .collect();
    (dir, chain, txs)
}

fn admit(chain: &Chain, txs: &[SignedTransaction]) {
    for chunk in txs.chunks(1000) {
        for result in chain.submit_batch(chunk.to_vec()) {
            result.expect("accepted");
        }
    }
}

fn bench(c: &mut Criterion) {
    // `cargo bench` passes --bench; under `cargo test` (CI runs every target once, unoptimized)
    // a small block exercises the same code.
    let n = if std::env::args().any(|a| a == "--bench") {
        MAX_BLOCK_TXS
    } else {
        256
    };
    let domain = Domain::new(31337, Address::repeat_byte(0xcc));
    let alice = PrivateKeySigner::random();
    let mut group = c.benchmark_group("operator");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("admit_65536_txs_in_batches_of_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, chain, txs) = setup(&domain, &alice, n);
                let start = Instant::now();
                admit(&chain, &txs);
                total += start.elapsed();
            }
            total
        });
    });
    group.bench_function("produce_and_persist_block_of_65536_txs", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, chain, txs) = setup(&domain, &alice, n);
                admit(&chain, &txs);
                let start = Instant::now();
                let block = chain.produce_block().expect("stored").expect("a block");
                total += start.elapsed();
                assert_eq!(block.transactions.len(), n);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
