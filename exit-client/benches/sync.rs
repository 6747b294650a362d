//! The verified sync's speed, beside the signature-recovery ceiling measured in the same run.
//!
//! A chain of 5,461 payments in 7 operator blocks (one deposit split 4 ways, each output split 4
//! ways again, down to a block of 4,096 payments), committed on a real anvil and served by a
//! fake operator over real HTTP. `sync/verified_sync` syncs a fresh watcher's store (no keys) over
//! all of it, `sync/verified_sync_all_coins_owned` one whose key owns every output (a coin with
//! its exit data each);
//! `sync/recover_parallel` and `sync/recover_sequential` recover the same signatures on every
//! core and on one (the ceiling and the unit cost). Run with `cargo bench -p plasma-client
//! --bench sync`; figures and ratios are in docs/PERFORMANCE.md.

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::primitives::utils::parse_ether;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plasma_api::test_utils::FakeOperator;
use plasma_client::l1::L1;
use plasma_client::operator::OperatorClient;
use plasma_client::store::ClientStore;
use plasma_client::sync::Syncer;
use plasma_contracts::test_utils::TestChain;
use plasma_core::{
    Block, Domain, ETH, Output, Rules, SignedTransaction, Transaction, UtxoPos, recover_signers,
};
use rayon::prelude::*;

/// Levels of 4-way splits below the deposit: 1 + 4 + … + 4^6 = 5,461 payments.
const LEVELS: u32 = 7;

struct Fixture {
    chain: TestChain,
    l1: L1,
    _served: FakeOperator,
    operator: OperatorClient,
    txs: Vec<SignedTransaction>,
}

async fn fixture() -> Fixture {
    let chain = TestChain::start(600, parse_ether("0.01").unwrap()).await;
    let l1 = L1::new("anvil", chain.provider.clone(), chain.root_chain);
    let served = FakeOperator::new();
    let operator =
        OperatorClient::new(&served.start("127.0.0.1:0".parse().unwrap()).await.unwrap());
    let alice = &chain.keys[1];
    let domain: Domain = chain.domain();
    let unit = U256::from(1_000_000_000u64); // 1 gwei at the leaves
    let total = unit * U256::from(4u64.pow(LEVELS));
    l1.deposit_eth(alice.address(), total).await.unwrap();
    let mut coins = vec![(UtxoPos::new(1, 0, 0).unwrap(), total)];
    let mut txs = Vec::new();
    for level in 1..=u64::from(LEVELS) {
        let blknum = level * 1000;
        let mut block_txs = Vec::new();
        let mut next = Vec::new();
        for (index, (pos, amount)) in coins.iter().enumerate() {
            let part = *amount / U256::from(4);
            let tx = Transaction::payment(
                vec![*pos],
                (0..4)
                    .map(|_| Output::new(alice.address(), ETH, part))
                    .collect(),
            );
            block_txs.push(SignedTransaction::sign(tx, &domain, alice).unwrap());
            for j in 0..4 {
                next.push((UtxoPos::new(blknum, index as u64, j).unwrap(), part));
            }
        }
        let block = Block::new(blknum, 0, block_txs).unwrap();
        served.put(&block);
        chain
            .contract()
            .submitBlock(block.root)
            .from(chain.keys[0].address())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        txs.extend(block.transactions);
        coins = next;
    }
    Fixture {
        chain,
        l1,
        _served: served,
        operator,
        txs,
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(fixture());
    let alice = f.chain.keys[1].address();
    let chain_id = f.chain.anvil.chain_id();
    let rules = Rules::new(&Domain::new(chain_id, f.chain.root_chain), U256::ZERO);
    let count = f.txs.len() as u64;

    let mut group = c.benchmark_group("sync");
    group.throughput(Throughput::Elements(count));
    group.sample_size(10);
    // A watcher (no keys: it checks every block and records no coins), and a wallet that owns
    // every output of the chain (each one a coin stored with its exit data).
    for (name, owned) in [
        ("verified_sync", vec![]),
        ("verified_sync_all_coins_owned", vec![alice]),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let store =
                        ClientStore::open(dir.path(), chain_id, f.chain.root_chain).unwrap();
                    let syncer = Syncer::new(&store, &f.l1, &f.operator, owned.clone(), chain_id);
                    let start = Instant::now();
                    let report = runtime.block_on(syncer.sync(|_| {})).unwrap();
                    spent += start.elapsed();
                    assert_eq!(
                        report.transactions,
                        count + 1,
                        "every payment and the deposit"
                    );
                }
                spent
            })
        });
    }
    group.bench_function("recover_parallel", |b| {
        b.iter(|| {
            f.txs
                .par_iter()
                .map(|tx| recover_signers(tx, &rules))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("recover_sequential", |b| {
        b.iter(|| {
            f.txs
                .iter()
                .map(|tx| recover_signers(tx, &rules))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

criterion_group!(sync, benches);
criterion_main!(sync);
