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
use plasma_core::{Deposit, Domain, ETH, Output, Rules, SignedTransaction, Transaction, UtxoPos};
use plasma_operator::chain::{Chain, L1Event, MAX_BLOCK_TXS};
use plasma_operator::metrics::Metrics;
use plasma_operator::store::{Db, RocksStore};
use rayon::prelude::*;

/// The deposit block numbers of `n` deposits: every number but the operator blocks' (1000,
/// 2000, …), as the root contract numbers them.
fn deposit_blknums(n: usize) -> impl Iterator<Item = u64> {
    (1u64..)
        .filter(|b| *b % plasma_core::CHILD_BLOCK_INTERVAL != 0)
        .take(n)
}

/// `n` payments (1 input, 2 outputs), each spending its own deposit of `alice`, signed once for
/// every run.
fn payments(domain: &Domain, alice: &PrivateKeySigner, n: usize) -> Vec<SignedTransaction> {
    let bob = Address::repeat_byte(0xb0);
    let deposits: Vec<u64> = deposit_blknums(n).collect();
    deposits
        .par_iter()
        .map(|blknum| {
            let tx = Transaction::payment(
                vec![UtxoPos::new(*blknum, 0, 0).expect("position")],
                vec![
                    Output::new(bob, ETH, U256::from(1u64)),
                    Output::new(alice.address(), ETH, U256::from(999_999u64)),
                ],
            );
            SignedTransaction::sign(tx, domain, alice).expect("signs")
        })
        .collect()
}

/// A chain on a fresh RocksDB (fsync on, as the daemon's default) holding the `n` deposits the
/// payments spend.
fn chain_with_deposits(
    domain: &Domain,
    alice: &PrivateKeySigner,
    n: usize,
) -> (tempfile::TempDir, Chain) {
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
    let events: Vec<L1Event> = deposit_blknums(n)
        .map(|blknum| L1Event::Deposit {
            deposit: Deposit {
                blknum,
                owner: alice.address(),
                token: ETH,
                amount: U256::from(1_000_000u64),
            },
            timestamp: 1,
        })
        .collect();
    for (i, chunk) in events.chunks(4096).enumerate() {
        chain
            .apply_l1_events(chunk, i as u64 + 1)
            .expect("deposits");
    }
    (dir, chain)
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
    let txs = payments(&domain, &alice, n);
    let mut group = c.benchmark_group("operator");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("admit_65536_txs_in_batches_of_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, chain) = chain_with_deposits(&domain, &alice, n);
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
                let (_dir, chain) = chain_with_deposits(&domain, &alice, n);
                admit(&chain, &txs);
                let start = Instant::now();
                let block = chain.produce_block().expect("stored").expect("a block");
                total += start.elapsed();
                assert_eq!(block.transactions, n);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
