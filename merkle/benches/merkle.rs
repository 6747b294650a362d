//! Criterion benchmarks of the tree: a full 65,536-leaf root, all its proofs, one verification;
//! and of many keccak hashes at once against the same hashes one by one.
//! Run with `cargo bench -p plasma-merkle`; figures are recorded in `docs/PERFORMANCE.md`.

#![allow(missing_docs)]

use std::hint::black_box;

use alloy_primitives::keccak256;
use alloy_primitives::{B256, U256};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use plasma_merkle::keccak::keccak256_each;
use plasma_merkle::{MAX_LEAVES, MerkleTree, leaf_hash, node_hash, verify};

fn full_leaves() -> Vec<B256> {
    (0..MAX_LEAVES as u64)
        .map(|i| B256::from(U256::from(i)))
        .collect()
}

fn benches(c: &mut Criterion) {
    let leaves = full_leaves();
    let mut group = c.benchmark_group("merkle");
    group.sample_size(30);

    group.bench_function("root_65536_leaves_all_cores", |b| {
        b.iter(|| MerkleTree::from_leaves(black_box(&leaves)).unwrap().root())
    });

    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    group.bench_function("root_65536_leaves_one_core", |b| {
        single.install(|| b.iter(|| MerkleTree::from_leaves(black_box(&leaves)).unwrap().root()))
    });

    let tree = MerkleTree::from_leaves(&leaves).unwrap();
    group.bench_function("all_65536_proofs_from_built_tree", |b| {
        b.iter(|| black_box(&tree).proofs())
    });
    group.bench_function("build_and_all_65536_proofs", |b| {
        b.iter_batched(
            || leaves.clone(),
            |leaves| MerkleTree::from_leaves(&leaves).unwrap().proofs(),
            BatchSize::LargeInput,
        )
    });

    let proof = tree.proof(40_000).unwrap();
    let root = tree.root();
    group.bench_function("verify_one_proof", |b| {
        b.iter(|| {
            verify(
                black_box(root),
                black_box(leaves[40_000].as_slice()),
                40_000,
                &proof,
            )
        })
    });
    // The unit costs, for scale: a full root is 65,536 leaf hashes plus 65,535 node hashes.
    let (left, right) = (leaves[1], leaves[2]);
    group.bench_function("node_hash_65_bytes", |b| {
        b.iter(|| node_hash(black_box(&left), black_box(&right)))
    });
    group.bench_function("leaf_hash_32_bytes", |b| {
        b.iter(|| leaf_hash(black_box(left.as_slice())))
    });
    group.finish();

    // Many independent hashes (a block's EIP-712 structs, leaves, nodes): eight lanes of
    // AVX-512 at once where the CPU has it, beside the same hashes one by one.
    let messages: Vec<[u8; 160]> = (0..4096u32)
        .map(|i| {
            let mut m = [0u8; 160];
            m[..4].copy_from_slice(&i.to_le_bytes());
            m
        })
        .collect();
    let mut group = c.benchmark_group("keccak");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("4096_messages_of_160_bytes_batched", |b| {
        b.iter(|| keccak256_each(black_box(messages.as_slice())))
    });
    group.bench_function("4096_messages_of_160_bytes_one_by_one", |b| {
        b.iter(|| {
            black_box(&messages)
                .iter()
                .map(keccak256)
                .collect::<Vec<B256>>()
        })
    });
    group.finish();
}

criterion_group!(merkle, benches);
criterion_main!(merkle);
